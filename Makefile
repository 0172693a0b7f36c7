# hedgedesk: the two quick-start commands are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: demo test bootstrap build lint bench clean-test-data

## demo: a devnet (anvil + test tokens) on 127.0.0.1:8545 and the console on a scratch desk in
## target/demo; quitting the console stops the devnet (the full live demo arrives with issue #10)
demo: bootstrap
	$(CARGO) build
	mkdir -p target/demo
	@set -e; \
	hd="./target/debug/hedgedesk --data-dir target/demo/data --config target/demo/config.toml"; \
	$$hd devnet up >target/demo/devnet.log 2>&1 & devnet=$$!; \
	trap 'kill $$devnet 2>/dev/null; wait $$devnet 2>/dev/null || true' EXIT; \
	for i in $$(seq 100); do grep -q "Ctrl-C stops" target/demo/devnet.log && break; \
	  kill -0 $$devnet 2>/dev/null || { cat target/demo/devnet.log; exit 1; }; sleep 0.2; done; \
	$$hd

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
