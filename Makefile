# shoal - the commands a newcomer types. The real build is CMake (CMakeLists.txt).
#   make        build everything into build/
#   make run    install missing packages, build, start what exists
#   make test   install missing packages, build, run every test
#   make asan   the whole suite under AddressSanitizer + UBSan (build-asan/)
#   make bench  shoal against redis-server on this box (bench/compare.sh)
#   make bench-aae  anti-entropy bytes against differing bytes (bench/aae.sh)
#   make soak   SOAK_SEEDS seeds of shoal-sim cluster with every fault kind
#   make fuzz   every libFuzzer target for FUZZ_SECONDS (clang, build-fuzz/)
#   make format clang-format every source file

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
SOAK_SEEDS ?= 200
FUZZ_MERGE ?= 0
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build run test asan bench bench-aae soak fuzz format clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: deps build
	@./scripts/run.sh $(BUILD)

test: deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSHOAL_ASAN=ON -DSHOAL_UBSAN=ON

asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

bench: deps build
	./bench/compare.sh $(BUILD)

bench-aae: build
	./bench/aae.sh $(BUILD)/shoal-sim

soak: deps build
	sh ./tests/sim/soak.sh $(BUILD)/shoal-sim 1 $(SOAK_SEEDS)

$(FUZZ_BUILD)/CMakeCache.txt:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHOAL_FUZZ=ON

fuzz: deps $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers fuzz-gen-corpus
	./tests/fuzz/run_fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(if $(filter 1,$(FUZZ_MERGE)),--merge)

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
