# Two commands do everything: `make demo` and `make test`. Each installs what it needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Build output lives outside the clone so fresh clones (CI) reuse earlier builds.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/ticketing-waiting-room/target
VENV := $(CURDIR)/.venv
export MOTO_PYTHON := $(VENV)/bin/python
export PATH := $(VENV)/bin:$(PATH)
# Dummy credentials: nothing here talks to real AWS.
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_REGION ?= us-east-1
export AWS_EC2_METADATA_DISABLED := true
# SAM CLI and checkov would otherwise phone home (telemetry, update checks, policy downloads).
export SAM_CLI_TELEMETRY := 0
export CKV_SKIP_PACKAGE_UPDATE_CHECK := true
export BC_SKIP_MAPPING := TRUE

# checkov pins boto3/botocore versions that conflict with aws-sam-cli and moto: its own venv.
CHECKOV_VENV := $(CURDIR)/.venv-checkov
# Template checks record success here and rerun only when their inputs change.
CHECKS := $(CURDIR)/.aws-sam/checks
# `make sam-build` builds here, not in .aws-sam/build, so `sam deploy` never picks up a check
# build made for another architecture than the one it deploys.
CHECK_BUILD := $(CURDIR)/.aws-sam/check-build

# The benchmark's Python contender (Powertools, awslambdaric, boto3 pinned): its own venv.
BENCH_VENV := $(CURDIR)/.venv-bench
# The functions' binaries: `make release-bins` builds each as `sam build` does.
LAMBDA_BINS := ticket-processor notification-sender dlq-redrive
# What `make bench` adds to them: the baseline and the init breakdown probe.
BENCH_BINS := hello-world init-probe

.PHONY: help venv checkov-venv test fmt-check clippy rustdoc cargo-tests template-lint checkov sam-build demo up down \
	release-bins faketime chaos-short chaos fuzz bench-venv bench-node bench-build bench-levers perf bench-profile bench bench-smoke flash-sale flash-sale-baseline \
	flash-sale-short

help:
	@echo "make demo   run the whole system locally against the AWS emulator (moto)"
	@echo "make test   every check: fmt, clippy, rustdoc, unit and integration tests, template lint, checkov, sam build, short chaos run"
	@echo "make up     the local stack in the background, with commands to poke it; make down stops it"
	@echo "make fmt-check, clippy, rustdoc, cargo-tests   the Rust parts of make test, one at a time"
	@echo "make template-lint   cfn-lint and sam validate --lint on template.yaml"
	@echo "make checkov         checkov on template.yaml and its SAM-transformed form"
	@echo "make sam-build       sam build of every function (x86_64, and arm64 when its Rust target is installed)"
	@echo "make bench           the workers vs Powertools handlers (Python, TypeScript) on moto, also over TLS at Lambda's CPU share; writes BENCHMARKS.md (~20-25 min)"
	@echo "make bench-profile   where a warm batch's CPU goes: ticket-processor with symbols under perf (summary in \$$CARGO_TARGET_DIR/profile/summary.txt)"
	@echo "make bench-smoke     one batch of each contender through the whole benchmark harness (no report)"
	@echo "make chaos           the full chaos run (docs/chaos.md): 5,000 requests under faults, kills, duplicates, then 500 on FIFO queues"
	@echo "make chaos-short     the short chaos run make test does"
	@echo "make flash-sale      one event's sale (1,000 seats, 2,000 people, slow motion × 6) on the limits model; writes FLASH-SALE.md (~16 min)"
	@echo "make flash-sale-baseline   the same, kept as the baseline (docs/flash-sale/baseline.json)"
	@echo "make flash-sale-short      the short sale make test does: 500 people, 100 seats, scale 1, invariants only"
	@echo "make fuzz            each cargo-fuzz target for FUZZ_SECONDS (default 45) on nightly"

$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

checkov-venv: $(CHECKOV_VENV)/.installed

# The '*' .gitignore inside keeps the venv out of git status, as Python 3.13's venv does itself.
$(BENCH_VENV)/.installed: requirements-bench.txt
	python3 -m venv $(BENCH_VENV)
	echo '*' > $(BENCH_VENV)/.gitignore
	$(BENCH_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $@

bench-venv: $(BENCH_VENV)/.installed

# The benchmark's TypeScript contender (bench/typescript: Powertools for AWS Lambda (TypeScript),
# aws-lambda-ric, AWS SDK v3, pinned in package-lock.json) on Node.js. aws-lambda-ric builds its
# native part at install (cmake, autotools, a C++ compiler): installed from Debian's packages
# when missing.
BENCH_TS := $(CURDIR)/bench/typescript
RIC_BUILD_TOOLS := cmake autoconf automake libtool g++ make
$(BENCH_TS)/node_modules/.installed: $(BENCH_TS)/package.json $(BENCH_TS)/package-lock.json
	@command -v node >/dev/null || { echo "make bench needs Node.js (20 or later): apt-get install nodejs npm"; exit 1; }
	@for tool in cmake autoconf automake libtoolize g++ make; do command -v $$tool >/dev/null || missing=1; done; \
	if [ -n "$${missing:-}" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(RIC_BUILD_TOOLS); fi
	cd $(BENCH_TS) && npm ci --no-audit --no-fund
	touch $@

bench-node: $(BENCH_TS)/node_modules/.installed

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets --locked -- -D warnings

# The crates' documentation, with every broken or private link an error: docs that cannot drift.
rustdoc:
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

# Every crate's tests: unit tests, integration tests against moto, the cross-function tests (tests/e2e),
# the template checks and the local stack end to end.
cargo-tests: venv
	cargo test --workspace --locked

# ticket-processor's event source in provisioned mode, the branch the defaults do not take:
# linted and scanned too.
PROVISIONED_MODE := TicketProcessorScaling=provisioned-pollers

# cfn-lint's exit code is a bitmask: 2 errors, 4 warnings, 8 informational. Errors and warnings fail.
$(CHECKS)/template-lint: template.yaml requirements-dev.txt $(VENV)/.installed
	@mkdir -p $(CHECKS)
	rc=0; cfn-lint template.yaml || rc=$$?; \
	if (( rc & ~8 )); then echo "cfn-lint failed (exit code $$rc: 2 = errors, 4 = warnings)"; exit 1; fi
	rc=0; cfn-lint template.yaml --parameters $(PROVISIONED_MODE) SenderEmail=tickets@example.com || rc=$$?; \
	if (( rc & ~8 )); then echo "cfn-lint ($(PROVISIONED_MODE)) failed (exit code $$rc)"; exit 1; fi
	sam validate --lint --template-file template.yaml
	touch $@

template-lint: $(CHECKS)/template-lint

# checkov reads AWS::Serverless::Function itself; the transformed template adds what SAM
# generates from it (AWS::Lambda::Function, event source mappings).
$(CHECKS)/checkov: template.yaml local/sam_transform.py $(VENV)/.installed $(CHECKOV_VENV)/.installed
	@mkdir -p $(CHECKS)
	$(VENV)/bin/python local/sam_transform.py template.yaml $(CHECKS)/transformed.json
	$(VENV)/bin/python local/sam_transform.py template.yaml $(CHECKS)/transformed-provisioned.json $(PROVISIONED_MODE)
	$(CHECKOV_VENV)/bin/checkov -f template.yaml -f $(CHECKS)/transformed.json -f $(CHECKS)/transformed-provisioned.json \
		--framework cloudformation --compact --quiet --skip-download
	touch $@

checkov: $(CHECKS)/checkov

# Always runs: cargo decides what is stale, and with the target directory kept in
# CARGO_TARGET_DIR an unchanged workspace rebuilds in seconds. (SAM's --cached would hash the
# whole clone, the functions' CodeUri, which is slower than that.)
sam-build: venv
	sam build --template-file template.yaml --build-dir $(CHECK_BUILD)/x86_64 --no-cached --parallel \
		--parameter-overrides Architecture=x86_64
	if rustup target list --installed 2>/dev/null | grep -x aarch64-unknown-linux-gnu >/dev/null; then \
		sam build --template-file template.yaml --build-dir $(CHECK_BUILD)/arm64 --no-cached --parallel \
			--parameter-overrides Architecture=arm64; \
	else \
		echo "sam-build: arm64 skipped (rustup target add aarch64-unknown-linux-gnu to build it)"; \
	fi

# The release binaries the chaos run and the benchmark start, built exactly as `sam build`
# builds them: the template's CodeUri is the workspace root, where SAM's rust-cargolambda runs
# `cargo lambda build --release --bin <bin>` (features unified over the workspace). After
# sam-build, these are up to date.
release-bins: venv
	for bin in $(LAMBDA_BINS); do cargo lambda build --release --bin $$bin; done

# The chaos run (tests/chaos; method and figures in docs/chaos.md). Every CHAOS_* variable in the
# environment overrides these; the same CHAOS_SEED reproduces the load and the fault draws.
# Per-process clock offsets need libfaketime (Debian's faketime package): installed when missing.
FAKETIME_LIB := /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
faketime:
	@test -e $(FAKETIME_LIB) || { apt-get update -qq && apt-get install -y -qq faketime; }

# The runners (chaos, flash-sale) are the binaries `cargo test --workspace` builds (it links each
# package's binaries for its integration tests, into $(CARGO_TARGET_DIR)/debug): after
# cargo-tests this is a no-op of a second. `cargo run -p chaos` would resolve features for that
# package alone (no dev-dependencies, no other members), a feature set of its own: on a cold
# machine a second debug build of the AWS SDK and ~70 other crates (docs/chaos.md, "Time").
RUNNERS := cargo test --workspace --locked --no-run --quiet
RUNNER_DIR := $(CARGO_TARGET_DIR)/debug

chaos-short: release-bins faketime
	$(RUNNERS)
	$(RUNNER_DIR)/chaos

chaos: release-bins faketime
	$(RUNNERS)
	CHAOS_REQUESTS=$${CHAOS_REQUESTS:-5000} CHAOS_EVENTS=$${CHAOS_EVENTS:-8} \
	CHAOS_DUPLICATE_RATE=$${CHAOS_DUPLICATE_RATE:-0.2} CHAOS_FAULT_RATE=$${CHAOS_FAULT_RATE:-0.1} \
	CHAOS_KILL_INTERVAL_MS=$${CHAOS_KILL_INTERVAL_MS:-3000} CHAOS_POISON=$${CHAOS_POISON:-30} \
	CHAOS_TIME_LIMIT_S=$${CHAOS_TIME_LIMIT_S:-2400} CHAOS_FIFO_REQUESTS=$${CHAOS_FIFO_REQUESTS:-500} \
		$(RUNNER_DIR)/chaos

# The flash sale (flash-sale/; FLASH-SALE.md, docs/limits.md): one event's sale through the
# release binaries, the template's event sources and the limits model of AWS. Options go in
# FLASH_SALE_ARGS (see `cargo run -p flash-sale -- --help`), e.g. FLASH_SALE_ARGS="--bin-dir DIR"
# to measure another build of the workers, FLASH_SALE_ARGS="--render FIGURES.json" to render the
# report again from a run's figures. The runner is the debug build make test also uses, so no
# second build of it stands between a developer and the sale's 16 minutes.
FLASH_SALE_ARGS ?=
flash-sale: release-bins
	$(RUNNERS)
	$(RUNNER_DIR)/flash-sale $(FLASH_SALE_ARGS)

# The baseline is the workers as they were before the flash-sale work (commit
# FLASH_SALE_BASELINE_COMMIT): their sources are exported from git, built as `sam build` builds
# them in a target directory of their own (a shared one would let the two workspaces' binaries
# overwrite each other's), and measured on one counter (they predate sharding).
FLASH_SALE_BASELINE_COMMIT := c68e255
BASELINE_SRC := $(CARGO_TARGET_DIR)/flash-sale-baseline/src
BASELINE_BINS := $(CARGO_TARGET_DIR)/flash-sale-baseline/lambda
flash-sale-baseline: venv
	rm -rf $(BASELINE_SRC) && mkdir -p $(BASELINE_SRC)
	git archive $(FLASH_SALE_BASELINE_COMMIT) | tar -x -C $(BASELINE_SRC)
	cd $(BASELINE_SRC) && for bin in $(LAMBDA_BINS); do \
		CARGO_TARGET_DIR=$(CARGO_TARGET_DIR)/flash-sale-baseline/target \
			cargo lambda build --release --locked --bin $$bin --lambda-dir $(BASELINE_BINS); done
	$(RUNNERS)
	$(RUNNER_DIR)/flash-sale --save-baseline --label baseline \
		--bin-dir $(BASELINE_BINS) --shards 1 $(FLASH_SALE_ARGS)

# The short sale make test runs: invariants only (no oversell, no double ticket, every request
# accounted for). A 20 s visibility timeout so requests handed back to SQS come back within it;
# at scale 1 (production's pace), so its 500 emails take 36 s rather than the default scale's 214 s.
flash-sale-short: release-bins
	$(RUNNERS)
	$(RUNNER_DIR)/flash-sale --check --requests 500 --seats 100 --scale 1 \
		--visibility-timeout 20 --function-timeout 15

# Fuzz targets (fuzz/, its own workspace and target directory). Safe Rust gains nothing from
# AddressSanitizer, and building the AWS SDK with it takes far longer: no sanitizer.
FUZZ_SECONDS ?= 45
FUZZ_TARGETS := ticket_request notification batch_processor
fuzz:
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd fuzz && for target in $(FUZZ_TARGETS); do \
		CARGO_TARGET_DIR=$(CARGO_TARGET_DIR)-fuzz cargo +nightly fuzz run --sanitizer none $$target -- \
			-max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

test: venv fmt-check clippy rustdoc cargo-tests template-lint checkov sam-build chaos-short flash-sale-short
	@echo "make test: all checks passed"

# The whole app on this machine: template.yaml provisioned in moto, the functions under
# cargo lambda watch, SQS event source mappings emulated, a scenario checked end to end.
demo: venv
	cargo run --quiet -p local-stack -- demo

# The same stack, left running in the background for development; `make down` stops it.
up: venv
	@mkdir -p .local
	@if [ -f .local/up.pid ] && kill -0 "$$(cat .local/up.pid)" 2>/dev/null; then \
		echo "already up (pid $$(cat .local/up.pid)); make down to stop it"; cat .local/commands.txt; exit 0; fi
	cargo build --quiet -p local-stack
	@rm -f .local/commands.txt
	@nohup "$(CARGO_TARGET_DIR)/debug/local-stack" up > .local/up.log 2>&1 & echo $$! > .local/up.pid
	@echo "starting (log: .local/up.log)"
	@until [ -f .local/commands.txt ]; do \
		if ! kill -0 "$$(cat .local/up.pid)" 2>/dev/null; then cat .local/up.log; rm -f .local/up.pid; echo "make up failed"; exit 1; fi; \
		sleep 1; done
	@cat .local/commands.txt

down:
	@if [ -f .local/up.pid ]; then \
		pid=$$(cat .local/up.pid); kill "$$pid" 2>/dev/null || true; \
		while kill -0 "$$pid" 2>/dev/null; do sleep 0.5; done; rm -f .local/up.pid; echo "local stack stopped"; \
	else echo "local stack is not running"; fi

# The benchmark's own binaries, built the same way as the workers.
bench-build: release-bins
	for bin in $(BENCH_BINS); do cargo lambda build --release --bin $$bin; done

# The levers (issue 18): ticket-processor built otherwise in one respect, each measured beside
# the default build in the same run (BENCHMARKS.md, "Levers"). A profile setting or a build
# script's variable rebuilds every crate, so those builds get a target directory of their own
# (the first build of each takes as long as a cold release build); a feature only relinks.
# The default build has aws-lc without CPU jitter entropy (.cargo/config.toml's [env]); its
# lever is the aws-lc default, jitter entropy built in (AWS_LC_SYS_NO_JITTER_ENTROPY=0 in the
# environment overrides the config's value).
LEVERS := $(CARGO_TARGET_DIR)/levers
LEVER_BUILD := cargo lambda build --release --locked --bin ticket-processor
bench-levers: venv
	CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_TARGET_DIR=$(LEVERS)/opt-level-3 \
		$(LEVER_BUILD) --lambda-dir $(LEVERS)/opt-level-3/lambda
	AWS_LC_SYS_NO_JITTER_ENTROPY=0 CARGO_TARGET_DIR=$(LEVERS)/jitter-entropy \
		$(LEVER_BUILD) --lambda-dir $(LEVERS)/jitter-entropy/lambda
	$(LEVER_BUILD) --features ticket-processor/mimalloc --lambda-dir $(LEVERS)/mimalloc/lambda
	mkdir -p $(dir $(THIRD_PARTY_OFF))
	printf '#!/bin/sh\nTHIRD_PARTY_LOG_LEVEL=off exec %s "$$@"\n' \
		"$(CARGO_TARGET_DIR)/lambda/ticket-processor/bootstrap" > $(THIRD_PARTY_OFF)
	chmod +x $(THIRD_PARTY_OFF)
# The default build with the SDK's, hyper's and lambda_runtime's logs and spans filtered out
# (shared::logging's THIRD_PARTY_LOG_LEVEL=off; the application's stay at INFO): the runtime
# cost of their tracing. A script that sets the variable and execs the binary, as the bench's
# levers are binaries; its shell start-up is in this lever's init.
THIRD_PARTY_OFF := $(LEVERS)/third-party-logs-off/bootstrap
LEVER_ARGS := --lever "opt-level 3=$(LEVERS)/opt-level-3/lambda/ticket-processor/bootstrap" \
	--lever "aws-lc with jitter entropy=$(LEVERS)/jitter-entropy/lambda/ticket-processor/bootstrap" \
	--lever "mimalloc=$(LEVERS)/mimalloc/lambda/ticket-processor/bootstrap" \
	--lever "SDK and runtime logs off=$(THIRD_PARTY_OFF)"

# Where a warm batch's CPU goes: ticket-processor with symbols under perf (bench/profile-warm-batch;
# the summary in $(CARGO_TARGET_DIR)/profile/summary.txt). perf is Debian's linux-perf.
perf:
	@command -v perf >/dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf; }

bench-profile: venv perf
	bench/profile-warm-batch

# Not part of `make test`: it takes minutes and its numbers are the product, not a pass/fail.
# BENCH_MICRO=0 leaves out section 5's criterion micro-benchmark, whose first build is a release
# build of the bench crate's whole dependency tree (the report then says it was not run).
BENCH_MICRO ?= 1
# Options for the bench binary (`cargo run -p bench --bin bench -- --help`), e.g. fewer runs.
BENCH_ARGS ?=
CRITERION_DIR := $(if $(filter 0,$(BENCH_MICRO)),$(CARGO_TARGET_DIR)/criterion-not-run,$(CARGO_TARGET_DIR)/criterion)
bench: venv bench-venv bench-node bench-build bench-levers
	$(if $(filter 0,$(BENCH_MICRO)),@echo "bench: BENCH_MICRO=0 so no micro-benchmark",cargo bench -p bench --bench batch_overhead --locked)
	cargo run -p bench --bin bench --locked -- --bench-python $(BENCH_VENV)/bin/python \
		--lambda-dir $(CARGO_TARGET_DIR)/lambda --criterion-dir $(CRITERION_DIR) $(LEVER_ARGS) $(BENCH_ARGS)

bench-smoke: venv bench-venv bench-node bench-build
	cargo run -p bench --bin bench --locked -- --smoke --bench-python $(BENCH_VENV)/bin/python \
		--lambda-dir $(CARGO_TARGET_DIR)/lambda
