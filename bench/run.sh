#!/usr/bin/env bash
# `make bench`: every scenario against Sori and the peers, in alternating rounds, the server
# pinned to core 0 and the generator to core 1, then bench/RESULTS.md. Loopback only; every
# run is bounded in clients and seconds. Not part of `make test` (a small fan-out smoke run is).
#
#   bench/run.sh             every scenario
#   bench/run.sh instances   only the deployment: two instances on one PostgreSQL database
#                            (`make bench-instances`), beside the same load on one instance
#                            on SQLite; RESULTS.md keeps the other numbers of the last full run
#
# SORI_BENCH_BIN=DIR measures the `sori` and `sori-bench` in DIR instead of building them
# (where several checkouts share one CARGO_TARGET_DIR, a copy taken right after building
# keeps another checkout's build from replacing the binary mid-run). Before each run, how
# busy the machine is and any build or browser process on it are recorded, and the report
# says what else was running. BENCH_QUIET_WAIT=SECONDS makes each run wait up to that long
# for a quiet machine (under 10 % busy, no cargo or rustc) first, on a machine others build on.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${ROUNDS:-3}"
mode="${1:-all}"
case "$mode" in
  all | instances) ;;
  *) echo "usage: bench/run.sh [instances]" >&2; exit 2 ;;
esac
bench/setup-peers.sh
target_dir="${CARGO_TARGET_DIR:-target}"
if [[ -n ${SORI_BENCH_BIN:-} ]]; then
  bin=$SORI_BENCH_BIN
else
  bin=$target_dir/release
  cargo build --release -p bench
  [[ -x $bin/sori && -f $target_dir/site/pkg/sori.wasm ]] || cargo leptos build --release
fi

# Ten thousand sockets on each side of loopback.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

mkdir -p bench/results
stamp=$(date -u +%Y%m%dT%H%M%SZ)
case "$mode" in
  all) out="bench/results/$stamp.jsonl" ;;
  instances) out="bench/results/$stamp-instances.jsonl" ;;
esac
: >"$out"
model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo "{\"scenario\":\"meta\",\"target\":\"sori\",\"commit\":\"$(git rev-parse --short HEAD)\",\"machine\":\"$(nproc) cores, ${model//\"/}, Linux $(uname -r)\"}" >>"$out"
gen=(taskset -c 1 "$bin/sori-bench")
pin=(--server-core 0 --server "$bin/sori")

# What else is running, before each run (other people's work shares these two cores): how
# busy the machine was over one second while nothing of the bench ran, and which builds,
# browsers and servers were there.
cpu_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat; }
busy_pct() {
  local busy0 idle0 busy1 idle1
  read -r busy0 idle0 < <(cpu_ticks)
  sleep 1
  read -r busy1 idle1 < <(cpu_ticks)
  echo $((100 * (busy1 - busy0) / (busy1 - busy0 + idle1 - idle0 + 1)))
}
note_load() {
  local busy others waited=0
  busy=$(busy_pct)
  while ((waited < ${BENCH_QUIET_WAIT:-0})) \
    && { ((busy >= 10)) || pgrep -x 'cargo|rustc' >/dev/null; }; do
    sleep 4
    waited=$((waited + 5))
    busy=$(busy_pct)
  done
  # Zombies (a stopped server's processes not yet reaped by init) use no CPU: skipped.
  others=$(ps -eo stat=,comm= | awk '$1 !~ /^Z/ {print $2}' \
    | grep -E '^(cargo|rustc|cc|ld|node|chromium|wasm-opt|postgres|sori|daphne|redis-server)$' \
    | sort | uniq -c | awk '{printf "%s%s×%s", sep, $2, $1; sep=", "}' || true)
  echo "{\"scenario\":\"load\",\"target\":\"sori\",\"before\":\"$1\",\"busy_pct\":$busy,\"waited_s\":$waited,\"others\":\"$others\"}" >>"$out"
}

run() {
  note_load "$1"
  echo "bench: $*" >&2
  if ! "${gen[@]}" "$@" "${pin[@]}" | grep '^RESULT ' | sed 's/^RESULT //' >>"$out"; then
    echo "bench: failed: $*" >&2
  fi
}

# A scenario that opens the store in its own process (no server to pin): search.
run_in_process() {
  note_load "$1"
  echo "bench: $* (in process)" >&2
  if ! "${gen[@]}" "$@" | grep '^RESULT ' | sed 's/^RESULT //' >>"$out"; then
    echo "bench: failed: $*" >&2
  fi
}

# The deployment's scenarios, each on a throwaway PostgreSQL of its own. Only the generator
# is pinned (core 1, inside the script, so PostgreSQL is not): the two instances and
# PostgreSQL share the machine as a small deployment on one host would.
run_deployment() {
  note_load "$1"
  echo "bench: $* (on PostgreSQL)" >&2
  if ! scripts/with-postgres.sh "${gen[@]}" "$@" --server "$bin/sori" \
      | grep '^RESULT ' | sed 's/^RESULT //' >>"$out"; then
    echo "bench: failed: $*" >&2
  fi
}

# Two instances on PostgreSQL, and the same load on one instance on SQLite (the SQLite posts
# are the full run's `posts`). 20 s of posting: at 20 posts/s the p99 of the deliveries is
# the fan-out of the slowest 1 % of the posts, which a shorter run leaves to two or three.
deployment_round() {
  run fanout --clients 1000 --rate 20 --seconds 20 --drain 10
  run_deployment instances --clients 1000 --rate 20 --seconds 20 --drain 10
  run_deployment instances-posts --posters 32 --rooms 8 --seconds 10
}

targets=(sori socketio django-redis django-memory)
for ((round = 1; round <= ROUNDS; round++)); do
  if [[ $mode == instances ]]; then
    run posts --seconds 5
    deployment_round
    continue
  fi
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
  run_in_process search --messages 100000 --rounds 20
  deployment_round
done

if [[ $mode == instances ]]; then
  # The single-instance tables come from the last full run; where both measured the same
  # scenario (the SQLite posts), this run's numbers are the ones reported.
  full=$(ls bench/results/*Z.jsonl 2>/dev/null | sort | tail -n 1 || true)
  python3 bench/report.py ${full:+"$full"} "$out" >bench/RESULTS.md
  echo "bench: wrote bench/RESULTS.md from ${full:+$full and }$out" >&2
  exit 0
fi

wasm=$target_dir/site/pkg/sori.wasm
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
br=$(brotli -q 11 -c "$wasm" | wc -c)
echo "{\"scenario\":\"wasm\",\"target\":\"sori\",\"raw_kb\":$((raw / 1024)),\"gzip_kb\":$((gz / 1024)),\"brotli_kb\":$((br / 1024))}" >>"$out"

python3 bench/report.py "$out" >bench/RESULTS.md
echo "bench: wrote bench/RESULTS.md from $out" >&2
