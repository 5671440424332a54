# playsync — `make run` serves the demo, `make test` runs everything CI runs.
.PHONY: install install-node install-web run test lint bench clean

VENV := .venv
PY := $(VENV)/bin/python
# Python 3.13 is pinned (Quart 0.23 needs it; on 3.11 pip silently picks Quart 0.22).
# pyenv's python3.13 shim exists even when 3.13 is not the active version, so test each candidate.
PYTHON313 ?= $(shell for p in python3.13 $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) /usr/local/bin/python3.13 /usr/bin/python3.13; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)

install: $(VENV)/.installed install-web

$(VENV)/.installed: pyproject.toml requirements.lock
	@test -n "$(PYTHON313)" || { echo "Python 3.13 not found: install it or pass PYTHON313=/path/to/python3.13"; exit 1; }
	$(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e '.[test,examples]'
	touch $@

install-node: tests/interop/node_modules/.installed

tests/interop/node_modules/.installed: tests/interop/package.json tests/interop/package-lock.json
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The web client served at / (examples/web): npm ci, then the esbuild bundle into dist/.
install-web: examples/web/dist/.built

examples/web/node_modules/.installed: examples/web/package.json examples/web/package-lock.json
	cd examples/web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

examples/web/dist/.built: examples/web/node_modules/.installed examples/web/build.mjs $(wildcard examples/web/src/* examples/web/public/*)
	cd examples/web && node build.mjs
	touch $@

run: install
	$(VENV)/bin/playsync serve

lint: install
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The whole suite on SQLite, then the server-level tests again with every server on a fresh
# PostgreSQL database (tests/conftest.py); both need PostgreSQL and Redis running (.ci/run).
test: install install-node lint
	$(PY) -m pytest -q -p no:cacheprovider
	PLAYSYNC_TEST_DATABASE=postgresql $(PY) -m pytest -q -p no:cacheprovider \
		tests/api tests/realtime tests/interop tests/test_smoke.py

# The benchmarks' own Node package: the fan-out load generator's peers and the reference
# server (@y/websocket-server 0.1.1), pinned by bench/package-lock.json.
bench/node_modules/.installed: bench/package.json bench/package-lock.json
	cd bench && npm ci --no-audit --no-fund --loglevel=error
	touch $@

bench: install install-node bench/node_modules/.installed
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) tests/interop/node_modules examples/web/node_modules examples/web/dist playsync.db
