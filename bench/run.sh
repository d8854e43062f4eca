#!/usr/bin/env bash
# `make bench`: every scenario against Sori and the peers, in alternating rounds, the server
# pinned to core 0 and the generator to core 1, then bench/RESULTS.md. Loopback only; every
# run is bounded in clients and seconds. Not part of `make test` (a small fan-out smoke run is).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-3}"
bench/setup-peers.sh
cargo build --release -p bench
[[ -x target/release/sori && -f target/site/pkg/sori.wasm ]] || cargo leptos build --release

# Ten thousand sockets on each side of loopback.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

mkdir -p bench/results
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ).jsonl"
: >"$out"
echo "{\"scenario\":\"meta\",\"target\":\"sori\",\"commit\":\"$(git rev-parse --short HEAD)\"}" >>"$out"
gen=(taskset -c 1 target/release/sori-bench)
pin=(--server-core 0)

run() {
  echo "bench: $*" >&2
  if ! "${gen[@]}" "$@" "${pin[@]}" | grep '^RESULT ' | sed 's/^RESULT //' >>"$out"; then
    echo "bench: failed: $*" >&2
  fi
}

targets=(sori socketio django-redis django-memory)
for ((round = 1; round <= ROUNDS; round++)); do
  # Alternate the order, so no target always runs on a warmer machine.
  shift_by=$(((round - 1) % ${#targets[@]}))
  order=("${targets[@]:shift_by}" "${targets[@]:0:shift_by}")
  for target in "${order[@]}"; do
    run fanout --target "$target" --clients 100 --rate 50 --seconds 10 --drain 10
    run fanout --target "$target" --clients 1000 --rate 50 --seconds 5 --drain 10
    case "$target" in
      # The saturated run offers far more than each can take; Django's queue would take
      # minutes to drain, so it is offered less (its rate is measured, not its backlog).
      django-*) run fanout --target "$target" --clients 1000 --rate 10 --seconds 3 --drain 15 ;;
      *) run fanout --target "$target" --clients 1000 --rate 400 --seconds 3 --drain 15 ;;
    esac
    run rooms --target "$target" --clients 1000 --rooms 50 --rate 2 --seconds 5 --drain 10
    case "$target" in
      django-*) run connect --target "$target" --clients 2000 ;;
      *) run connect --target "$target" --clients 10000 ;;
    esac
  done
  run posts --seconds 5
  run ssr --seconds 5 --client-core 1
  run startup --runs 5
done

wasm=target/site/pkg/sori.wasm
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
br=$(brotli -q 11 -c "$wasm" | wc -c)
echo "{\"scenario\":\"wasm\",\"target\":\"sori\",\"raw_kb\":$((raw / 1024)),\"gzip_kb\":$((gz / 1024)),\"brotli_kb\":$((br / 1024))}" >>"$out"

python3 bench/report.py "$out" >bench/RESULTS.md
echo "bench: wrote bench/RESULTS.md from $out" >&2
