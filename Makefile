# hedgedesk: the two quick-start commands are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: demo test bootstrap build lint bench clean-test-data

## demo: open the console on a scratch desk in target/demo (the full live demo arrives with issue #10)
demo: bootstrap
	$(CARGO) build
	mkdir -p target/demo
	./target/debug/hedgedesk --data-dir target/demo/data --config target/demo/config.toml

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
