# hedgedesk: the two quick-start commands are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: demo test bootstrap build lint bench clean-test-data

## demo: the live demo: a devnet anvil with every contract, a simulated market (seed: SEED=N)
## and the console with every desk busy; quitting the console stops it all. Data in target/demo.
SEED ?= 1
demo: bootstrap
	$(CARGO) build
	PATH="$(CURDIR)/.tools/bin:$$PATH" ./target/debug/hedgedesk --data-dir target/demo demo --seed $(SEED)

## test: the whole suite (unit, snapshot, CLI, headless, tmux), then prove no test secret was written
test: bootstrap clean-test-data
	PATH="$(CURDIR)/.tools/bin:$$PATH" $(CARGO) test --all-targets
	scripts/check-no-secrets

bootstrap:
	scripts/bootstrap

build:
	$(CARGO) build --release

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

## bench: criterion benchmarks (figures go in BENCHMARKS.md)
bench:
	$(CARGO) bench

clean-test-data:
	rm -rf target/test-data
