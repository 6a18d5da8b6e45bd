# A thin wrapper over CMake.  Every variant has its own build directory under
# build/; each target configures (cheap when nothing changed), builds, and
# runs what it names.
#
#   make                  release build (-O2 -g)                 build/release
#   make test             release build + ctest                  build/release
#   make demo             release build + run examples/demo      build/release
#   make install          builds what it installs (build/install: library, debug
#                         library, recycle-top; no tests) + installs into PREFIX (/usr/local)
#   make debug            RC_DEBUG=ON (-O0 -g) + ctest           build/debug
#   make asan             ASan + UBSan (-O1 -g) + ctest          build/asan
#   make valgrind         RC_VALGRIND=ON (-O1 -g), tests under valgrind  build/valgrind
#   make tsan             ThreadSanitizer (RC_TSAN=ON) + test_threads    build/tsan
#   make fuzz             libFuzzer target (clang), fuzzes FUZZ_SECONDS  build/fuzz
#   make bench            release build + bench/ (see the hook below)
#   make clean            remove build/
#
# Variables: CMAKE_ARGS (extra configure arguments, e.g. -DRC_WERROR=ON, as
# CI passes), CTEST_ARGS (e.g. "-R test_gc"), PREFIX, JOBS, BUILD_DIR;
# FUZZ_SECONDS (60), FUZZ_CC (clang), FUZZ_ARGS (extra libFuzzer flags).
# Note that CMake caches options: an option given once stays set in that
# build directory until changed or the directory is removed.

MAKEFLAGS  += --no-print-directory

CMAKE      ?= cmake
CTEST      ?= ctest
BUILD_DIR  ?= build
PREFIX     ?= /usr/local
JOBS       ?= $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
CMAKE_ARGS ?=
CTEST_ARGS ?=

RELEASE_DIR  := $(BUILD_DIR)/release
DEBUG_DIR    := $(BUILD_DIR)/debug
ASAN_DIR     := $(BUILD_DIR)/asan
VALGRIND_DIR := $(BUILD_DIR)/valgrind
TSAN_DIR     := $(BUILD_DIR)/tsan
FUZZ_DIR     := $(BUILD_DIR)/fuzz
INSTALL_DIR  := $(BUILD_DIR)/install

RELEASE_ARGS  := -DCMAKE_BUILD_TYPE=RelWithDebInfo '-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g -DNDEBUG' \
                 -DCMAKE_INSTALL_PREFIX=$(PREFIX)
# Debug builds follow every reference through the collector's prefetch ring
# (RC_RING_MIN=0; release builds skip it for ranges of at most 16,384 slots),
# and cap a full collection's mark stack at 16 entries (RC_MARK_STACK_MAX;
# release builds grow it as far as memory allows, then rescan), and page
# at most 64 old objects into the array for a full collection (RC_PAGE_IN_MAX;
# release builds 16,384), so both paths of each run the whole suite in CI.
# make install: a release build of what gets installed, and nothing else.
INSTALL_ARGS  := $(RELEASE_ARGS) -DRC_BUILD_TESTS=OFF -DRC_BUILD_EXAMPLES=OFF
DEBUG_ARGS    := -DCMAKE_BUILD_TYPE=Debug '-DCMAKE_C_FLAGS_DEBUG=-O0 -g -DRC_RING_MIN=0 -DRC_MARK_STACK_MAX=16 -DRC_PAGE_IN_MAX=64' \
                 -DRC_DEBUG=ON -DRC_SANITIZE=OFF -DRC_VALGRIND=OFF
ASAN_ARGS     := -DCMAKE_BUILD_TYPE=Debug '-DCMAKE_C_FLAGS_DEBUG=-O1 -g' \
                 -DRC_SANITIZE=ON -DRC_DEBUG=OFF -DRC_VALGRIND=OFF
VALGRIND_ARGS := -DCMAKE_BUILD_TYPE=Debug '-DCMAKE_C_FLAGS_DEBUG=-O1 -g' \
                 -DRC_VALGRIND=ON -DRC_DEBUG=OFF -DRC_SANITIZE=OFF
TSAN_ARGS     := -DCMAKE_BUILD_TYPE=Debug '-DCMAKE_C_FLAGS_DEBUG=-O1 -g' \
                 -DRC_TSAN=ON -DRC_SANITIZE=OFF -DRC_DEBUG=OFF -DRC_VALGRIND=OFF

# $(call build,DIR,ARGS): configure and build DIR.
define build
	$(CMAKE) -S . -B $(1) $(2) $(CMAKE_ARGS)
	$(CMAKE) --build $(1) --parallel $(JOBS)
endef
# $(call check,DIR): run DIR's tests.
define check
	cd $(1) && $(CTEST) --output-on-failure -j2 $(CTEST_ARGS)
endef

.PHONY: all release test demo install debug asan valgrind tsan fuzz bench bench-release bench-debug clean help

all: release

release:
	$(call build,$(RELEASE_DIR),$(RELEASE_ARGS))

test: release
	$(call check,$(RELEASE_DIR))

demo: release
	$(CMAKE) --build $(RELEASE_DIR) --target demo

install:
	$(call build,$(INSTALL_DIR),$(INSTALL_ARGS))
	$(CMAKE) --install $(INSTALL_DIR) --prefix $(PREFIX)

debug:
	$(call build,$(DEBUG_DIR),$(DEBUG_ARGS))
	$(call check,$(DEBUG_DIR))

asan:
	$(call build,$(ASAN_DIR),$(ASAN_ARGS))
	$(call check,$(ASAN_DIR))

valgrind:
	$(call build,$(VALGRIND_DIR),$(VALGRIND_ARGS))
	$(call check,$(VALGRIND_DIR))

# ThreadSanitizer: the threads test only (any report fails it).
tsan:
	$(call build,$(TSAN_DIR),$(TSAN_ARGS))
	cd $(TSAN_DIR) && $(CTEST) --output-on-failure -R '^test_threads$$' $(CTEST_ARGS)

# libFuzzer: tests/fuzz/fuzz_ops.c and the library, compiled together with
# the same flags; new inputs go to build/fuzz/corpus, crashes to build/fuzz/.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_ARGS    ?=
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_SRCS    := $(wildcard src/*.c src/tools/*.c) tests/fuzz/fuzz_ops.c

$(FUZZ_DIR)/fuzz_ops: $(FUZZ_SRCS) $(wildcard src/*.h src/tools/*.h include/*.h) tests/model_ops.h
	@mkdir -p $(FUZZ_DIR)/corpus
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Iinclude -Isrc $(FUZZ_SRCS) -o $@ -lpthread

fuzz: $(FUZZ_DIR)/fuzz_ops
	$(FUZZ_DIR)/fuzz_ops -max_total_time=$(FUZZ_SECONDS) -max_len=1024 -timeout=30 \
	    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_ARGS) \
	    $(FUZZ_DIR)/corpus tests/fuzz/corpus

# The benchmark hook: bench/run, called as `bench/run BUILD_DIR [BENCH_ARGS]`
# with the RECYCLE_* variables below in its environment (a bench/Makefile
# would be called with them instead; see bench/README.md).  BENCH_BUILD picks
# the library build it runs against: release (default) or debug, for CI's
# shortened correctness run (`make bench BENCH_BUILD=debug BENCH_ARGS=--quick`).
BENCH_BUILD ?= release
BENCH_ARGS  ?=
BENCH_DIR   := $(abspath $(BUILD_DIR)/$(BENCH_BUILD))
# RECYCLE_CFLAGS carries what users of that build must compile with
# (-DRC_DEBUG=1 for the debug build: the header's inline paths switch on it).
BENCH_CFLAGS := $(if $(filter debug,$(BENCH_BUILD)),-DRC_DEBUG=1,)
BENCH_VARS  := RECYCLE_BUILD_DIR=$(BENCH_DIR) RECYCLE_SOURCE_DIR=$(CURDIR) \
               RECYCLE_INCLUDE=$(CURDIR)/include RECYCLE_LIB=$(BENCH_DIR)/librecycle.a \
               RECYCLE_CFLAGS='$(BENCH_CFLAGS)' BENCH_ARGS='$(BENCH_ARGS)'
define bench_run
	@if [ -f bench/run ]; then \
	    echo "bench/run $(BENCH_DIR) $(BENCH_ARGS)"; \
	    if [ -x bench/run ]; then $(BENCH_VARS) ./bench/run $(BENCH_DIR) $(BENCH_ARGS); \
	    else $(BENCH_VARS) bash bench/run $(BENCH_DIR) $(BENCH_ARGS); fi; \
	else \
	    $(MAKE) -C bench $(BENCH_VARS); \
	fi
endef

bench:
	@if [ -f bench/run ] || [ -f bench/Makefile ]; then \
	    $(MAKE) --no-print-directory bench-$(BENCH_BUILD); \
	else \
	    echo "make bench: no benchmarks yet (add bench/run or bench/Makefile; see the hook in Makefile)"; \
	fi

bench-release: release
	$(bench_run)

bench-debug:
	$(call build,$(DEBUG_DIR),$(DEBUG_ARGS))
	$(bench_run)

clean:
	@if [ -f bench/Makefile ]; then $(MAKE) -C bench clean $(BENCH_VARS); fi
	rm -rf $(BUILD_DIR)

help:
	@sed -n '/^#   make/s/^# *//p' Makefile
