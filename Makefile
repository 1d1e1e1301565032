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

.PHONY: help venv test fmt-check clippy unit-tests demo

help:
	@echo "make demo   run the whole system locally against the AWS emulator (moto)"
	@echo "make test   every check: fmt, clippy, unit and integration tests"

$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets --locked -- -D warnings

unit-tests: venv
	cargo test --workspace --locked

test: venv fmt-check clippy unit-tests
	@echo "make test: all checks passed"

demo:
	@echo "make demo is coming with the local stack (issue: Local stack)."; exit 1
