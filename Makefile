# Satchel: the two commands of the README's quick start, and the rest of the developer loop.
# Each target installs what it needs on a fresh Debian 12 machine (as root, or with sudo).

SHELL := /bin/bash
CARGO ?= cargo
SHARED_DATA ?= $(CURDIR)/../shared/data
DEMO_URLS := 'https://www.bbc.co.uk/bitesize' 'https://www.cbeebies.com/grownups' \
	'https://www.google.co.uk/search?q=dinosaurs&safe=off' 'https://search.yahoo.com/search?p=dinosaurs' \
	'https://www.topmarks.co.uk/maths-games/5-7-years' 'https://example.net/' 'http://2130706433/'

.PHONY: demo test bench fuzz toolchain

## demo: decide a few URLs against the shipped KS1 list, in words.
demo: toolchain
	$(CARGO) run --release --quiet -- check --strict --explain --list allowlists/ks1.list $(DEMO_URLS)

## test: every test (unit, data-driven, property, end-to-end).
test: toolchain
	SATCHEL_SHARED_DATA=$(SHARED_DATA) $(CARGO) test --locked

## bench: the policy decision benchmark against Brave's adblock engine.
bench: toolchain
	SATCHEL_SHARED_DATA=$(SHARED_DATA) $(CARGO) bench --locked --bench policy

## fuzz: run the list-parser and decision fuzz targets (needs cargo-fuzz).
fuzz: toolchain
	command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run decide -- -max_total_time=$${FUZZ_SECONDS:-120}

toolchain:
	@command -v $(CARGO) >/dev/null || { echo "Rust's cargo is needed: https://rustup.rs (or apt-get install cargo)"; exit 1; }
	@command -v cc >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential; }
