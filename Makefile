# hilbench: `make demo` and `make test` set up everything they need, then run.
# Set-up is idempotent: a second run installs nothing.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
APT_PACKAGES := qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system-deps demo test bench clean

# QEMU's instruction-counting plugin is built for the host by hilbench itself, in one
# place (hilbench/targets/qemu_plugin.py), on first use or here.
setup: system-deps $(STAMP)
	@$(PY) -c "from hilbench.targets.qemu_plugin import ensure_plugin; ensure_plugin()"

# Debian packages for the firmware side; --no-install-recommends keeps ~1.5 GB out.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

DEMO_MODEL := hilbench/data/kws_ds_cnn_int8.tflite

demo: setup
	$(VENV)/bin/hilbench inspect $(DEMO_MODEL)
	$(VENV)/bin/hilbench run --json build/demo/run.json

# The HTML report's test opens it in a real headless browser: Debian's chromium, for tests only.
TEST_APT_PACKAGES := chromium

test: setup
	@missing=""; for p in $(TEST_APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	$(PY) -m pytest -q

bench: setup
	$(PY) bench/bench_reference.py
	$(PY) bench/bench_link.py
	$(PY) bench/bench_kernels.py

clean:
	rm -rf $(VENV) build .pytest_cache
