#!/usr/bin/env bash
# Installs what the benchmarks need besides Sori, skipping what is present: wrk, brotli,
# redis-server and PostgreSQL (for the scenarios of several instances, run under
# scripts/with-postgres.sh) from Debian; Django Channels (daphne, channels-redis) in
# bench/.venv from PyPI; Socket.IO in bench/peers/socketio from npm. Only loopback servers are
# started by the bench.
set -euo pipefail
cd "$(dirname "$0")"

need_apt=()
for tool in wrk brotli redis-server taskset; do
  command -v "$tool" >/dev/null 2>&1 || need_apt+=("$tool")
done
# PostgreSQL's server binaries are not on PATH; scripts/with-postgres.sh looks here.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
if ((${#need_apt[@]})); then
  packages=()
  for tool in "${need_apt[@]}"; do
    case "$tool" in
      taskset) packages+=(util-linux) ;;
      *) packages+=("$tool") ;;
    esac
  done
  echo "bench: installing ${packages[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q "${packages[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/daphne ]]; then
  echo "bench: installing Django Channels into bench/.venv"
  python3 -m venv .venv
  .venv/bin/pip install -q -r peers/django/requirements.txt
fi

if [[ ! -d peers/socketio/node_modules/socket.io ]]; then
  echo "bench: installing Socket.IO into bench/peers/socketio"
  (cd peers/socketio && npm install --silent --no-audit --no-fund)
fi
