# Makefile: a thin wrapper over meson for the usual chores. The build itself
# is meson's (meson.build); nothing here compiles anything.
#
#   make deps     install the Debian/Ubuntu packages that are missing
#   make build    configure build/ once, then compile (the default)
#   make test     build, then run the whole test suite
#   make demo     fetch the bundled demo set from a local server
#   make asan     build and test in build-asan/ with ASan + UBSan
#   make tsan     build and test in build-tsan/ with ThreadSanitizer
#   make fuzz     build the libFuzzer targets in build-fuzz/ with clang and
#                 run each for FUZZ_SECONDS (default 60)
#   make install  install build/ (DESTDIR and PREFIX are honoured)
#   make deb      build the Debian package fetchmany_VERSION_ARCH.deb in
#                 build-deb/ with Debian's tools, and check it with lintian
#   make clean    remove build/, build-asan/, build-tsan/, build-fuzz/ and
#                 demo-out/

MESON     ?= meson
BUILDDIR  ?= build
ASANDIR   ?= build-asan
TSANDIR   ?= build-tsan
FUZZDIR   ?= build-fuzz
DEBDIR    ?= build-deb
PYTHON    ?= python3
# Extra options for `meson setup`, e.g. MESON_SETUP_ARGS=-Dtests=false.
MESON_SETUP_ARGS ?=
# Extra fetchmany options for the demo, e.g. DEMO_ARGS=--json.
DEMO_ARGS ?=
# Sanitised code runs a few times slower: stretch meson's test timeouts.
ASAN_TEST_ARGS ?= --timeout-multiplier=3
# libFuzzer is clang's; each target runs this long (seconds).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60

DEB_PACKAGES = meson ninja-build pkg-config gcc libcurl4-openssl-dev \
	libuv1-dev libcjson-dev libcmocka-dev libssl-dev python3 valgrind \
	strace
# Only `make deb` needs these: Debian's packaging tools.
DEB_TOOL_PACKAGES ?= build-essential debhelper dpkg-dev lintian
# Only `make fuzz` needs these: clang and its runtime (libFuzzer, ASan);
# elsewhere than Debian 12 the runtime package may be named differently.
FUZZ_DEB_PACKAGES ?= clang libclang-rt-14-dev

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.DEFAULT_GOAL := build
.PHONY: all deps build test demo asan tsan fuzz install deb clean

all: build

# Installs only what dpkg does not already list as installed, so that a
# machine that has everything never needs root or the network. Without
# dpkg (another distribution) it only says what it would need.
deps:
	@if ! command -v dpkg-query >/dev/null 2>&1; then \
		echo "deps: no dpkg-query here; make sure these (or your" \
			"distribution's equivalents) are installed:"; \
		echo "  $(DEB_PACKAGES)"; \
		exit 0; \
	fi; \
	missing=; \
	for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${db:Status-Abbrev}' "$$p" 2>/dev/null \
			| grep -q '^ii' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then \
		echo "deps: all $(words $(DEB_PACKAGES)) packages installed"; \
		exit 0; \
	fi; \
	echo "deps: installing$$missing"; \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q \
		</dev/null && \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $$missing </dev/null

build: deps
	@if [ ! -f $(BUILDDIR)/build.ninja ]; then \
		echo "$(MESON) setup $(BUILDDIR) $(MESON_SETUP_ARGS)"; \
		$(MESON) setup $(BUILDDIR) $(MESON_SETUP_ARGS); \
	fi
	$(MESON) compile -C $(BUILDDIR)

test: build
	$(MESON) test -C $(BUILDDIR) --print-errorlogs

demo: build
	FETCHMANY=$(BUILDDIR)/src/fetchmany DEMO_LIST=$(BUILDDIR)/demo-urls.txt \
		PYTHON=$(PYTHON) bash data/demo.sh $(DEMO_ARGS)

# A separate tree, so that the sanitised build never mixes with build/.
# Meson's own defaults for these variables would abort without a leak
# check; ours keep the leak check and stop at the first UBSan report.
asan: deps
	@if [ ! -f $(ASANDIR)/build.ninja ]; then \
		echo "$(MESON) setup $(ASANDIR) -Db_sanitize=address,undefined" \
			"-Db_lundef=false $(MESON_SETUP_ARGS)"; \
		$(MESON) setup $(ASANDIR) -Db_sanitize=address,undefined \
			-Db_lundef=false $(MESON_SETUP_ARGS); \
	fi
	$(MESON) compile -C $(ASANDIR)
	ASAN_OPTIONS=detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(MESON) test -C $(ASANDIR) --print-errorlogs $(ASAN_TEST_ARGS)

# The worker threads and the scheduler share only mailboxes and a lock or
# two; ThreadSanitizer checks that. A report makes the process exit 66,
# which fails the test that ran it. valgrind cannot run a TSan binary: the
# suite's valgrind test skips itself there. tests/tsan.supp says which
# reports are not races of ours, and why.
tsan: deps
	@if [ ! -f $(TSANDIR)/build.ninja ]; then \
		echo "$(MESON) setup $(TSANDIR) -Db_sanitize=thread" \
			"-Db_lundef=false $(MESON_SETUP_ARGS)"; \
		$(MESON) setup $(TSANDIR) -Db_sanitize=thread \
			-Db_lundef=false $(MESON_SETUP_ARGS); \
	fi
	$(MESON) compile -C $(TSANDIR)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp \
		$(MESON) test -C $(TSANDIR) --print-errorlogs $(ASAN_TEST_ARGS)

# libFuzzer targets (tests/fuzz/README.md) in their own clang-built tree.
# `make deps` is reused with the clang packages added; tests/fuzz/run.sh
# replays the saved reproducers, then fuzzes a temporary copy of each seed
# corpus, so the repository is never written to.
fuzz:
	@$(MAKE) --no-print-directory deps \
		DEB_PACKAGES="$(DEB_PACKAGES) $(FUZZ_DEB_PACKAGES)"
	@if [ ! -f $(FUZZDIR)/build.ninja ]; then \
		echo "CC=$(FUZZ_CC) $(MESON) setup $(FUZZDIR) -Dfuzz=enabled" \
			"-Dtests=false $(MESON_SETUP_ARGS)"; \
		CC=$(FUZZ_CC) $(MESON) setup $(FUZZDIR) -Dfuzz=enabled \
			-Dtests=false $(MESON_SETUP_ARGS); \
	fi
	$(MESON) compile -C $(FUZZDIR)
	bash tests/fuzz/run.sh $(FUZZDIR) $(FUZZ_SECONDS)

# PREFIX, when given, reconfigures build/ first (default /usr/local).
# The package is built from a copy of the tree (no build directories, no
# .git) in $(DEBDIR), where dpkg-buildpackage leaves its files; the unit
# tests run during the build (DEB_BUILD_OPTIONS=nocheck skips them).
# lintian must find nothing above "info" (debian/ explains any override).
deb:
	@$(MAKE) --no-print-directory deps \
		DEB_PACKAGES="$(DEB_PACKAGES) $(DEB_TOOL_PACKAGES)"
	@set -e; \
	version=$$(dpkg-parsechangelog -S Version); \
	src=$(DEBDIR)/fetchmany-$$version; \
	rm -rf $(DEBDIR); mkdir -p $$src; \
	tar --exclude='./build*' --exclude=./.git --exclude=./demo-out \
		-cf - . | tar -C $$src -xf -; \
	(cd $$src && dpkg-buildpackage -b -us -uc); \
	deb=$$(ls $(DEBDIR)/fetchmany_$${version}_*.deb); \
	lintian --fail-on warning,error $$deb; \
	echo "deb: $$deb"

install: build
	@if [ -n "$(PREFIX)" ]; then \
		echo "$(MESON) configure $(BUILDDIR) -Dprefix=$(PREFIX)"; \
		$(MESON) configure $(BUILDDIR) -Dprefix=$(PREFIX) && \
		$(MESON) compile -C $(BUILDDIR); \
	fi
	$(MESON) install -C $(BUILDDIR) --no-rebuild

clean:
	rm -rf $(BUILDDIR) $(ASANDIR) $(TSANDIR) $(FUZZDIR) $(DEBDIR) demo-out
