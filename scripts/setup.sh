#!/usr/bin/env bash
# Installs every tool Sori's build and tests need, skipping what is already present.
# Versions are the ones verified on this kind of machine (see the README's "Requirements").
#
#   scripts/setup.sh          toolchain for building and serving (wasm target, cargo-leptos,
#                             wasm-bindgen CLI, npm packages incl. wasm-opt)
#   scripts/setup.sh --fuzz   also the nightly toolchain and cargo-fuzz, for `make fuzz`
#   scripts/setup.sh --test   also Chromium and the Playwright packages for the end-to-end suite,
#                             PostgreSQL for the store's tests (scripts/with-postgres.sh), and
#                             nginx for the end-to-end test of two instances behind a balancer,
#                             Caddy, openssl and systemd-analyze for the deployment tests
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130

want_test=0
[ "${1:-}" = "--test" ] && want_test=1
want_fuzz=0
[ "${1:-}" = "--fuzz" ] && want_fuzz=1

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

export PATH="$HOME/.cargo/bin:$PATH"

if ! command -v cargo >/dev/null; then
  say "cargo is missing: install Rust with rustup first (https://rustup.rs)"; exit 1
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 14 minutes on 2 cores, once)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (must equal the crate in Cargo.lock)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# wasm-opt comes from the npm package binaryen (Debian's is too old); cargo-leptos puts
# ./node_modules/.bin first on PATH. Playwright is in the same package.json.
if ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    say "installing node and npm from Debian"
    apt-get update -qq && apt-get install -y -qq nodejs npm
  else
    say "npm is missing: install Node.js 20 (as root: apt-get install nodejs npm)"; exit 1
  fi
fi
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -x node_modules/.bin/playwright ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (binaryen for wasm-opt, @playwright/test)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi

if [ "$want_test" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing Chromium from Debian for the end-to-end tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else
    say "Chromium is missing and this is not root: run 'sudo apt-get install chromium'"; exit 1
  fi
fi

# Debian's server packages start their service when installed. The tests start servers of
# their own on free loopback ports, so the packaged services are not wanted: while installing,
# a policy-rc.d that refuses every start keeps them stopped (unless the machine has its own).
install_without_starting() {
  local policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    # Removed however the installation ends: left behind, it would refuse every service.
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# The PostgreSQL store's tests run against a throwaway server that scripts/with-postgres.sh
# makes from these binaries.
if [ "$want_test" = 1 ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    say "installing PostgreSQL from Debian for the store's tests (its service stays stopped)"
    install_without_starting postgresql
  else
    say "PostgreSQL is missing and this is not root: run 'sudo apt-get install postgresql'"; exit 1
  fi
fi

# The end-to-end test of two instances puts them behind an nginx that it starts itself (a
# generated configuration, a free loopback port, end2end/support/deployment.ts).
if [ "$want_test" = 1 ] && [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing nginx from Debian for the end-to-end tests (its service stays stopped)"
    install_without_starting nginx
    # A machine's own policy-rc.d may have let the service start: it would hold port 80
    # and start again at boot.
    if [ -d /run/systemd/system ]; then
      systemctl disable --now --quiet nginx.service
    elif [ -s /run/nginx.pid ]; then
      say "stopping the packaged nginx service"
      /usr/sbin/nginx -s quit
    fi
  else
    say "nginx is missing and this is not root: run 'sudo apt-get install nginx'"; exit 1
  fi
fi

# The deployment tests (server/tests/api/deploy.rs) run the shipped Caddyfile with a Caddy of
# their own (admin off, its internal CA, data in a temp dir), make their certificates with
# openssl and check the service unit with systemd-analyze (Debian's `systemd` package; only
# the tool is used, nothing is started).
if [ "$want_test" = 1 ]; then
  missing=()
  [ -x /usr/bin/caddy ] || missing+=(caddy)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v systemd-analyze >/dev/null || missing+=(systemd)
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      say "installing ${missing[*]} from Debian for the deployment tests (no service stays running)"
      install_without_starting "${missing[@]}"
      # As for nginx: a machine's own policy-rc.d may have let Caddy start on ports 80/443.
      if [[ " ${missing[*]} " == *" caddy "* ]]; then
        if [ -d /run/systemd/system ]; then
          systemctl disable --now --quiet caddy.service
        elif caddy stop >/dev/null 2>&1; then
          # Answered on the packaged service's admin endpoint (localhost:2019): it was running.
          say "stopped the packaged Caddy service"
        fi
      fi
    else
      say "${missing[*]} missing and this is not root: run 'sudo apt-get install ${missing[*]}'"; exit 1
    fi
  fi
fi

# `make fuzz` only: libFuzzer's instrumentation needs a nightly compiler.
CARGO_FUZZ_VERSION=0.13.2
if [ "$want_fuzz" = 1 ]; then
  if ! rustup toolchain list | grep -q '^nightly'; then
    say "installing the nightly toolchain for cargo-fuzz"
    rustup toolchain install nightly --profile minimal
  fi
  if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
  fi
fi

say "tools ready"
