# Sori's two commands. Both install whatever is missing first (scripts/setup.sh skips what is
# present), so they work on a fresh machine.
#
#   make run    build in release mode and serve at http://127.0.0.1:3000 (data in ./data/)
#   make test   format, lints (ssr and hydrate), unit and integration tests, the release
#               build, a fan-out smoke run of the load generator, and the Playwright
#               end-to-end suite against the built binary

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(HOME)/.cargo/bin:$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: run test setup setup-test build fmt lint unit smoke e2e watch fanout bench bench-instances chaos fuzz

run: setup build
	./target/release/sori

test: setup-test fmt lint unit build smoke e2e
	@echo "make test: every check passed"

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --test

# The release build: the server binary and the optimised wasm bundle in target/site.
# (`cargo leptos end-to-end` would hide a failed build behind exit 0, so we build first.)
build:
	cargo leptos build --release

fmt:
	cargo fmt --all --check

# Leptos forbids `ssr` and `hydrate` in one build, so each target is linted on its own.
lint:
	cargo clippy -p app -p server -p bench --features app/ssr --all-targets -- -D warnings
	cargo clippy -p app -p frontend --features app/hydrate --target wasm32-unknown-unknown -- -D warnings

# The PostgreSQL store's tests need a server: scripts/with-postgres.sh starts a throwaway one
# for the run and removes it afterwards, whatever the outcome.
unit:
	scripts/with-postgres.sh cargo test -p app -p server -p bench --features app/ssr

# A small fan-out run so the load generator never rots: it asserts only that every message
# reached every subscriber exactly once (timings are for `make fanout` and `make bench`).
smoke:
	cargo run -p bench --bin sori-bench -- fanout --clients 50 --rate 20 --seconds 3 --require-all

# The spec of two instances behind nginx puts them on a database of a throwaway PostgreSQL
# (the other specs use SQLite files and ignore it).
e2e:
	cd end2end && npx tsc -p .
	scripts/with-postgres.sh npx playwright test --config end2end/playwright.config.ts

watch: setup
	cargo leptos watch

# The fan-out scenario of the load generator against the release build: 100 subscribers in
# one room, 50 posts/s for 10 s (override with FANOUT_ARGS).
FANOUT_ARGS ?= --clients 100 --rate 50 --seconds 10
fanout: setup build
	cargo run --release -p bench --bin sori-bench -- fanout $(FANOUT_ARGS)

# Every benchmark scenario against Sori and the peers (Django Channels, Socket.IO), in
# alternating rounds (ROUNDS=3), then bench/RESULTS.md. Not part of `make test`.
bench: setup build
	bench/run.sh

# Only the deployment: two instances on one throwaway PostgreSQL (1,000 clients split over
# them, posts through both; durable posts), beside the same load on one instance on SQLite,
# in ROUNDS=3 rounds; bench/RESULTS.md keeps the other numbers of the last full run.
bench-instances: setup build
	bench/run.sh instances

# Kill -9 trials (server/tests/api/chaos.rs): 100 per store (CHAOS_TRIALS), on SQLite and on
# PostgreSQL (killed too, -m immediate, in every other trial). Each prints "N passed, M
# failed" with the acknowledged messages checked and its seed (replay: SORI_CHAOS_SEED).
# `make test` runs 5 per store.
CHAOS_TRIALS ?= 100
chaos: setup-test
	SORI_CHAOS_TRIALS=$(CHAOS_TRIALS) scripts/with-postgres.sh cargo test -p server \
		--features app/ssr --test api -- chaos:: --nocapture

# cargo-fuzz targets for the decoders at the edge (app/fuzz: socket frames, form fields and
# next paths), FUZZ_SECONDS each, on nightly with libFuzzer (no sanitizer: the code under test
# is safe Rust, and a panic is what is looked for). Prints each target's executions; a crash
# leaves its input in app/fuzz/artifacts/ and fails the run.
FUZZ_SECONDS ?= 120
fuzz:
	scripts/setup.sh --fuzz
	cd app && for target in client_frame form_fields; do \
		cargo +nightly fuzz run --sanitizer none $$target -- -max_total_time=$(FUZZ_SECONDS) \
			-max_len=4096 2>&1 | tee fuzz/$$target.log | grep -E '^(Done|==|INFO: Seed)' ; \
	done
