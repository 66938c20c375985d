# Two commands set up a fresh machine: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run serve test weights bench debian dot clean

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed dot
	$(PY) -m deploy.start run app.py --server.port $(PORT)

# Graphviz's dot lays out the Network graph page
dot:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && apt-get install -y -qq graphviz >/dev/null; \
	  else echo "install Debian's graphviz package"; fi; }

# REPLICAS copies of the app behind HAProxy with cookie affinity, on $(PORT) (see deploy/)
REPLICAS ?= 2
serve: $(VENV)/.installed debian
	$(PY) -m deploy.serve --replicas $(REPLICAS) --port $(PORT)

# Debian packages: Chromium drives the browser tests (Playwright never downloads a browser), with a
# CJK font so the 中文 screenshots show characters, not boxes; HAProxy balances `make serve`'s replicas;
# Graphviz lays out the network graph.
debian:
	@{ command -v chromium && command -v haproxy && command -v dot && fc-list :lang=zh | grep -q .; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei haproxy graphviz >/dev/null; \
	  else echo "install Debian's chromium, fonts-wqy-microhei and haproxy packages"; fi; }

test: $(VENV)/.installed-dev debian
	$(PY) -m pytest -q

weights: $(VENV)/.installed
	$(PY) -m explorer weights fetch

bench: $(VENV)/.installed-dev debian
	$(PY) -m bench --json

clean:
	rm -rf $(VENV) tests/artifacts
