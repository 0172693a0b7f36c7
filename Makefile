# hedgedesk: the two quick-start commands are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: demo test bootstrap build lint bench crash clean-test-data

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

## soak: the demo at scale for five minutes (10,000 margin, 1,000 DePerp, 1,000 AnyHedge
## seeded first): prints seeding time, RSS and CPU of hedgedesk and anvil, and each desk's
## cycle mean/p50/p95/p99 against its target; fails past them. Figures go in BENCHMARKS.md.
.PHONY: soak
soak: bootstrap
	PATH="$(CURDIR)/.tools/bin:$$PATH" $(CARGO) test --test demo_soak -- --ignored --nocapture

## crash: SIGKILL the headless desks 10 times during the demo, then check the journal against
## the chain (seed: CRASH_SEED=N; figures go in BENCHMARKS.md)
crash: bootstrap
	PATH="$(CURDIR)/.tools/bin:$$PATH" $(CARGO) test --test demo_crash -- --ignored --nocapture

clean-test-data:
	rm -rf target/test-data
