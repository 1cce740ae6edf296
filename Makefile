# colony - the developer's entry points. Everything heavy is in CMake (build) and scripts/ (test, bench, fuzz).
.PHONY: all build run test unit api bench fuzz fmt clean deps

BUILD_RELEASE := build/release
BUILD_TEST    := build/test
BUILD_FUZZ    := build/fuzz
GENERATOR     := -G Ninja

all: build

# Installs the Debian packages that are missing (quick no-op once they are there).
deps:
	@bash scripts/deps.sh

$(BUILD_RELEASE)/build.ninja: | deps
	@cmake -S . -B $(BUILD_RELEASE) $(GENERATOR) -DCMAKE_BUILD_TYPE=Release -DCOLONY_TESTS=OFF >/dev/null

build: deps $(BUILD_RELEASE)/build.ninja
	@cmake --build $(BUILD_RELEASE)

$(BUILD_TEST)/build.ninja: | deps
	@cmake -S . -B $(BUILD_TEST) $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug -DCOLONY_SANITIZE=ON >/dev/null

# Starts colony on SQLite (./colony.db) with the demo org, on loopback in the local development posture (the
# Molecule canvas works against it unchanged), and prints its URL: the console.
run: build
	@scripts/run.sh $(BUILD_RELEASE)/colony

# Unit tests (cmocka) and API tests (pytest, on SQLite and PostgreSQL), under ASan+UBSan.
test: deps $(BUILD_TEST)/build.ninja
	@cmake --build $(BUILD_TEST)
	@scripts/test.sh $(BUILD_TEST)

# Every benchmark row in one run (a few minutes on 2 cores); rewrites bench/RESULTS.md. BENCH_SECONDS per wrk run.
bench: build
	@cmake --build $(BUILD_RELEASE) --target bench_tools
	@/usr/bin/python3 bench/run.py $(BUILD_RELEASE)

fuzz: deps
	@CC=clang-14 cmake -S . -B $(BUILD_FUZZ) $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug -DCOLONY_FUZZ=ON -DCOLONY_TESTS=OFF >/dev/null
	@cmake --build $(BUILD_FUZZ)
	@scripts/fuzz.sh $(BUILD_FUZZ)

fmt:
	@clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'bench/*.c')

clean:
	rm -rf build
