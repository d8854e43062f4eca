#!/usr/bin/env bash
# Runs one command against a throwaway PostgreSQL server, then stops and removes the server,
# whether the command passed, failed or was interrupted.
#
#   scripts/with-postgres.sh cargo test -p app --features app/ssr --lib -- backend::store
#
# The server is Debian's PostgreSQL (scripts/setup.sh --test installs it), initialised in a
# new temporary directory, listening on a free port of 127.0.0.1 only, with trust
# authentication and fsync off: it holds test data and nothing else. The command sees
#
#   SORI_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/postgres
#
# and the script exits with the command's status. As root, the server runs as the
# `postgres` user (initdb refuses to run as root). It is not the system service, which this
# script never starts or touches. A SIGKILL of this script is the one way to leave the
# server behind (nothing can run after it); its directory is /tmp/sori-postgres.*.
set -euo pipefail

say() { printf '\033[1mwith-postgres:\033[0m %s\n' "$*" >&2; }

if [ $# -eq 0 ]; then
  say "usage: scripts/with-postgres.sh COMMAND [ARGUMENT...]"; exit 2
fi

# The newest installed major version, unless PG_BIN names the binaries' directory.
if [ -z "${PG_BIN:-}" ]; then
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
  say "PostgreSQL is not installed: run 'scripts/setup.sh --test' as root" \
      "(or 'apt-get install postgresql'), or point PG_BIN at its bin directory"
  exit 1
fi

dir=$(mktemp -d /tmp/sori-postgres.XXXXXX)
data="$dir/data"

# As root, everything that touches the data directory runs as `postgres`.
as_server_user=()
if [ "$(id -u)" = 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    say "running as root, but there is no 'postgres' user to run the server as" \
        "(Debian's postgresql package creates it)"
    rm -rf "$dir"; exit 1
  fi
  chown postgres: "$dir"
  as_server_user=(runuser -u postgres --)
fi

cleanup() {
  local status=$?
  # The pid file exists from the server's start until it stops, so this also stops a server
  # that pg_ctl gave up waiting for.
  if [ -f "$data/postmaster.pid" ]; then
    # Immediate: the data is thrown away next, so a clean shutdown would be wasted time.
    "${as_server_user[@]}" "$PG_BIN/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 \
      || say "could not stop the server in $dir; its log: $dir/log"
  fi
  rm -rf "$dir"
  exit "$status"
}
trap cleanup EXIT
# An interrupted run still reaches the EXIT trap, with the conventional status.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if ! "${as_server_user[@]}" "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust --no-sync \
     -E UTF8 >"$dir/initdb.log" 2>&1; then
  say "initdb failed:"; cat "$dir/initdb.log" >&2; exit 1
fi

port_is_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port that nothing answers on may still be taken by the time the server binds it (by
# another run doing the same), so a failed start is retried on another port.
started=0
for attempt in 1 2 3 4 5; do
  port=$(( 20000 + RANDOM % 40000 ))
  port_is_taken "$port" && continue
  # fsync off and no full-page writes: a crash loses nothing anyone wants to keep. Enough
  # connections for parallel tests that each hold a small pool.
  settings="-p $port -k $dir -c listen_addresses=127.0.0.1"
  settings+=" -c fsync=off -c full_page_writes=off -c max_connections=200"
  if "${as_server_user[@]}" "$PG_BIN/pg_ctl" -D "$data" -w -t 60 -l "$dir/log" \
       -o "$settings" start >/dev/null 2>&1; then
    started=1
    break
  fi
  say "the server did not start on port $port (attempt $attempt)"
done
if [ "$started" = 0 ]; then
  say "could not start PostgreSQL; its log:"; cat "$dir/log" >&2 || true; exit 1
fi

export SORI_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
version=$("$PG_BIN/postgres" --version | awk '{print $3}')
say "PostgreSQL $version on 127.0.0.1:$port (data in $dir)"

# Not exec: the trap must outlive the command to remove the server.
set +e
"$@"
exit $?
