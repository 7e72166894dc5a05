# hilbench: `make demo` and `make test` set up everything they need, then run.
# Set-up is idempotent: a second run installs nothing.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# The demo needs only the core package; the test suite adds the `test` extra (the TFLM
# oracle, onnx/onnxruntime for the quantizer, torch for the fixtures, jsonschema).
INSTALL_CORE := -e .
INSTALL_TEST := -e '.[test]'
APT_PACKAGES := qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup test-deps system-deps demo test bench fuzz clean

# QEMU's instruction-counting plugin is built for the host by hilbench itself, in one
# place (hilbench/targets/qemu_plugin.py), on first use or here.
setup: system-deps $(STAMP)
	@$(PY) -c "from hilbench.targets.qemu_plugin import ensure_plugin; ensure_plugin()"

# Debian packages that are missing, installed with --no-install-recommends (it keeps
# about 1.5 GB out); $(1) is the list.
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

# Debian packages for the firmware side.
system-deps:
	$(call apt_install,$(APT_PACKAGES))

$(STAMP): pyproject.toml setup.py
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(INSTALL_CORE)
	@touch $@

test-deps: setup $(TEST_STAMP)

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install -q $(INSTALL_TEST)
	@touch $@

DEMO_MODEL := hilbench/data/kws_ds_cnn_int8.tflite

demo: setup
	$(VENV)/bin/hilbench inspect $(DEMO_MODEL)
	$(VENV)/bin/hilbench run --json out/demo/run.json

# The HTML report's test opens it in a real headless browser: Debian's chromium, for tests only.
# The board-farm tests' labgrid exporters serve QEMU's UARTs through ser2net.
TEST_APT_PACKAGES := chromium ser2net

test: test-deps
	$(call apt_install,$(TEST_APT_PACKAGES))
	$(PY) -m pytest -q

# Every benchmark runs and prints its figures; a missed target fails `make bench` at the end
# instead of hiding the benchmarks after it.
BENCHES := bench/bench_reference.py bench/bench_link.py bench/bench_kernels.py bench/bench_memory.py bench/fuzz.py

bench: test-deps
	@status=0; for b in $(BENCHES); do $(PY) $$b || status=1; done; exit $$status

# The full fuzz campaigns (10^4 mutated models, 10^6 frames, 10^6 hostile-device frames,
# 10^6 inputs per frame size through the firmware's decoder under ASan/UBSan);
# `make test` runs a bounded slice of each (tests/test_fuzz.py).
fuzz: test-deps
	$(PY) bench/fuzz.py

clean:
	rm -rf $(VENV) build out .pytest_cache
