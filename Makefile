# Thin wrapper around CMake. `make` builds into build/ (dependencies must be
# installed: `make deps`), `make test` runs every test, `make bench` the
# benchmarks.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps test unit e2e asan fuzz clean format api-doc bench

all:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

deps:
	./scripts/deps

# Everything CI runs: unit + end-to-end tests on the normal build, the same
# under ASan+UBSan, and a bounded fuzz run of the parser.
test:
	./scripts/run-tests

unit: all
	cd $(BUILD) && ctest --output-on-failure

e2e: all
	tests/run-e2e --build-dir $(BUILD)

asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DOSP_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)

fuzz:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DOSP_SANITIZE=ON -DOSP_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_parser

# Osprey side by side with Kamailio (bench/README.md). Narrow with
# ENGINE=lua WORKLOAD=register; QUICK=1 finishes in under two minutes.
bench:
	ENGINE="$(ENGINE)" WORKLOAD="$(WORKLOAD)" QUICK="$(QUICK)" \
		WORKERS="$(WORKERS)" PHASES="$(PHASES)" python3 bench/run

api-doc: all
	$(BUILD)/osprey --api md > docs/ksr-api.md

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) build-lua54 build-bench
