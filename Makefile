# ferrovs: the two commands a fresh machine needs are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
export CLANG ?= clang-19
export LLC ?= llc-19

.PHONY: all build release test test-unit test-fuzz-corpus lint fmt bench bench-rate bench-classifier demo deps-test deps-demo deps-bench fuzz clean

all: build

build:
	$(CARGO) build --workspace --locked

release:
	$(CARGO) build --workspace --release --locked

# Everything CI runs: formatting, lints, every unit/property/integration test, and the fuzz
# corpora replayed as ordinary tests.
test: deps-test
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) test --workspace --locked

lint:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

# Criterion micro-benchmarks (figures go to BENCHMARKS.md by hand, with the command).
bench:
	$(CARGO) bench -p benches

# Packet rate, ferrovs vs Open vSwitch vs kernel XDP forwarding in one run (root; see
# BENCHMARKS.md "Packet rate"). RATE_ARGS e.g. "--switch ferrovs,ovs --scenario 64b-1flow --duration 2".
RATE_ARGS ?=
RATE_OUT ?= $${CARGO_TARGET_DIR:-target}/rate.md
bench-rate: deps-bench
	$(CARGO) build --release --locked -p ctl -p benches --bins
	$${CARGO_TARGET_DIR:-target}/release/rate --out $(RATE_OUT) $(RATE_ARGS)

# Classifier lookup, ferrovs vs Open vSwitch's own lib/classifier.c on the same rules and keys
# (see BENCHMARKS.md "Classifier lookup"; builds Open vSwitch's library once, from its source).
bench-classifier: deps-bench
	bash benches/scripts/classifier_vs_ovs.sh

# Run every fuzz target for FUZZ_SECONDS each (cargo-fuzz on stable: no sanitizer).
FUZZ_SECONDS ?= 60
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for t in $$(cargo fuzz list); do \
	  cargo fuzz run -s none $$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; done

deps-test:
	@bash .ci/deps.sh test

deps-demo:
	@bash .ci/deps.sh demo

deps-bench:
	@bash .ci/deps.sh bench

demo: deps-demo release
	bash .ci/demo.sh

clean:
	$(CARGO) clean
