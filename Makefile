# dagctl: the two commands of the quick start, and the steps they are made of.
#   make demo   install what is missing, build, run a pipeline, show where to look
#   make test   install what is missing, build, run every test (also under
#               ASan+UBSan, valgrind and the fuzzers)

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
CTEST_JOBS ?= 3
DEMO_HOME  ?= $(CURDIR)/.dagctl
DEMO_PORT  ?= 8080

.PHONY: all deps demo-deps test-deps build demo demo-stop test test-build test-asan test-fuzz clean

all: build

deps:
	@.ci/install-deps.sh build

demo-deps:
	@.ci/install-deps.sh demo

test-deps:
	@.ci/install-deps.sh test

# The binary and its plugins; the tests (and cmocka) are only for make test.
build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAGCTL_TESTS=OFF >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target dagctl

demo: demo-deps build
	@DAGCTL_BIN=$(CURDIR)/$(BUILD)/dagctl DAGCTL_HOME=$(DEMO_HOME) DEMO_PORT=$(DEMO_PORT) \
	  DAGCTL_DAGS=$(CURDIR)/dags .ci/demo.sh

demo-stop:
	@if [ -f $(DEMO_HOME)/demo-scheduler.pid ]; then \
	  kill $$(cat $(DEMO_HOME)/demo-scheduler.pid) 2>/dev/null || true; \
	  rm -f $(DEMO_HOME)/demo-scheduler.pid; echo "demo scheduler stopped"; fi

test: test-deps test-build test-asan test-fuzz
	@echo "all test suites passed"

# The normal build: unit, integration and valgrind tests.
test-build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAGCTL_TESTS=ON -DDAGCTL_VALGRIND=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@cd $(BUILD) && ctest --output-on-failure -j $(CTEST_JOBS)

# The same suite built with AddressSanitizer and UndefinedBehaviorSanitizer.
# The sanitized binaries carry the runtime options every run needs
# (cmake/sanitizer_options.c): these only add to them.
test-asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DDAGCTL_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(CTEST_JOBS) -LE slow

# libFuzzer targets (clang), each run briefly over its seed corpus.
test-fuzz:
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  -DDAGCTL_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	@cd $(FUZZ_BUILD) && ctest --output-on-failure -R '^fuzz/'

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
