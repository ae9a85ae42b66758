# Satchel: the two commands of the README's quick start, and the rest of the developer loop.
# Each target installs what it needs on a fresh Debian 12 machine (as root, or with sudo).

SHELL := /bin/bash
CARGO ?= cargo
SHARED_DATA ?= $(CURDIR)/../shared/data
DEMO_URLS := 'https://www.bbc.co.uk/bitesize' 'https://www.cbeebies.com/grownups' \
	'https://www.google.co.uk/search?q=dinosaurs&safe=off' 'https://search.yahoo.com/search?p=dinosaurs' \
	'https://www.topmarks.co.uk/maths-games/5-7-years' 'https://example.net/' 'http://2130706433/'

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# What the kiosk builds against, and what the tests run it and the packages with: Xvfb,
# cage, lintian, debootstrap; espeak-ng speaks Listen, sox measures what it said; the server's
# suites run a second time on PostgreSQL (Debian 12 package names).
KIOSK_PACKAGES := pkg-config libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev \
	xvfb xauth openbox webkit2gtk-driver xdotool imagemagick cage xwayland grim \
	lintian debootstrap systemd-container \
	fonts-noto-color-emoji fonts-sil-andika fonts-noto-core \
	espeak-ng sox chromium chromium-driver postgresql
# What runs on both databases: the kiosk API, the console, monitoring, limits and quotas.
POSTGRES_SUITES := --test server_api --test server_console --test server_hardening --test server_activity --test server_schools \
	--test server_monitoring --test server_quotas --test server_limits --test console_chromium
# The console's accessibility check runs axe-core (from npm) in Chromium.
AXE := target/npm/node_modules/axe-core/axe.min.js

.PHONY: demo check-demo test lint bench bench-kiosk deb fuzz toolchain deps

## demo: a local school server with demo data and a kiosk enrolled to it; prints the
## console's address and the teacher's login (leave the kiosk: Ctrl+Alt+Shift+T, PIN 1234).
demo: toolchain deps
	@[ -n "$$DISPLAY$$WAYLAND_DISPLAY" ] || { echo "make demo opens a window: run it on a desktop (or under xvfb-run)"; exit 1; }
	$(CARGO) build --release --locked --quiet
	bash demo/run.sh

## check-demo: decide a few URLs against the shipped KS1 list, in words.
check-demo: toolchain
	$(CARGO) run --release --quiet -- check --strict --explain --list allowlists/ks1.list $(DEMO_URLS)

## test: every test (unit, data-driven, property, proxy, the kiosk end to end under Xvfb,
## the server and console (Chromium, axe-core), the Debian packages), then the server's and
## console's suites again with PostgreSQL as the database (a cluster of their own, started
## and stopped by the tests).
test: toolchain deps
	SATCHEL_SHARED_DATA=$(SHARED_DATA) SATCHEL_AXE=$(CURDIR)/$(AXE) $(CARGO) test --locked --no-fail-fast --features automation
	SATCHEL_TEST_DATABASE=postgres SATCHEL_AXE=$(CURDIR)/$(AXE) $(CARGO) test --locked --no-fail-fast --features automation $(POSTGRES_SUITES)

## lint: the baseline CI holds the code to: rustfmt's layout (rustfmt.toml), no clippy
## warnings on any target or feature (the [lints] table in Cargo.toml), and the library
## building without the kiosk and server features.
lint: toolchain
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets --all-features -- -D warnings
	$(CARGO) check --locked --lib --no-default-features

## bench: the policy decisions against Brave's adblock engine, the server under load, and
## monitoring (activity ingest and search; its 10-million-event log is built once under target/).
bench: toolchain
	SATCHEL_SHARED_DATA=$(SHARED_DATA) $(CARGO) bench --locked --bench policy
	$(CARGO) bench --locked --bench server_load
	$(CARGO) bench --locked --bench monitoring

## deb: the Debian packages satchel (the kiosk) and satchel-server, in target/debian/.
deb: toolchain deps
	$(CARGO) deb --locked
	$(CARGO) deb --locked --variant server

## bench-kiosk: the kiosk's start-up time and memory against Chromium --kiosk.
bench-kiosk: toolchain deps
	$(CARGO) build --release --locked
	python3 bench/kiosk_startup.py

## fuzz: run the list-parser and decision fuzz targets, from their seeds (needs cargo-fuzz).
fuzz: toolchain
	command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	cd fuzz && for target in parse_list decide; do \
		mkdir -p corpus/$$target && \
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$target corpus/$$target seeds/$$target -- -max_total_time=$${FUZZ_SECONDS:-120} || exit 1; \
	done

## deps: install the kiosk's system packages that are missing.
deps:
	@missing=$$(for p in $(KIOSK_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
	@[ -f $(AXE) ] || npm install --prefix target/npm --no-audit --no-fund --silent axe-core@4
	@command -v cargo-deb >/dev/null || $(CARGO) install --locked --quiet cargo-deb

toolchain:
	@command -v $(CARGO) >/dev/null || { echo "Rust's cargo is needed: https://rustup.rs (or apt-get install cargo)"; exit 1; }
	@command -v cc >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential; }
