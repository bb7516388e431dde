# Makefile - the project's entry points (see README.md).
# SPDX-License-Identifier: MIT
#
#   make setup   install every system and Python dependency (idempotent)
#   make test    setup, then C tests under ASan+UBSan (CTest) and pytest
#   make demo    setup, then generate the test world, serve it over HTTP on
#                loopback and run examples/demo.py
#   make build   optimised library and `lazycogs` command in build/release
#   make bench   Release build of the benchmarks, then run them (bench/)
#   make bench-setup  the peers' venvs for bench/run (bench/setup)
#   make bench-run    setup, python-install, bench-setup, then bench/run
#                     (BENCH_ARGS, e.g. "--size ci --reps 1")
#   make format  reformat the C sources with clang-format
#   make fuzz-build  every libFuzzer target (clang, ASan+UBSan) in build/fuzz
#   make fuzz-run    fuzz-build, then each target for FUZZ_SECONDS (600)
#                    in turn (fuzz/README.md)
#   make test-tsan      the multithreaded C tests under ThreadSanitizer
#   make test-valgrind  a subset of the C tests under valgrind memcheck
#   make test-python-asan  pytest against an ASan+UBSan build of the
#                    extension (PYTEST_ARGS; docs/sanitizers.md)
#
# -Werror is on when CI is set (CI=true), never in builds for users.

PY := .venv/bin/python
WERROR := $(if $(CI),ON,OFF)
CMAKE_GENERATOR := $(if $(shell command -v ninja),Ninja,Unix Makefiles)

.PHONY: setup test test-c test-python python-install demo build bench format clean \
	fuzz-build fuzz-run bench-setup bench-run test-tsan test-valgrind \
	test-python-asan

setup:
	bash tools/setup.sh

test: setup
	$(MAKE) --no-print-directory test-c
	$(MAKE) --no-print-directory test-python

test-c:
	cmake -S . -B build/asan -G "$(CMAKE_GENERATOR)" -DCMAKE_BUILD_TYPE=Debug \
	    -DLC_ASAN=ON -DLC_UBSAN=ON -DLC_TEST_HOOKS=ON -DLC_WERROR=$(WERROR) \
	    > build-asan.log
	cmake --build build/asan
	# Some C tests read the ci world (they skip without it).
	$(PY) tools/make_world.py --size ci --out _world/ci > /dev/null
	ctest --test-dir build/asan --output-on-failure -j2

python-install:
	$(PY) -m pip install -q --no-build-isolation --no-deps \
	    -Ccmake.define.LC_WERROR=$(WERROR) .

# The Python tests also drive C helper programs of the sanitizer build.
test-python: python-install
	LAZYCOGS_BUILD_DIR=$(CURDIR)/build/asan $(PY) -m pytest

demo: setup python-install
	$(PY) tools/run_demo.py

build: setup
	cmake -S . -B build/release -G "$(CMAKE_GENERATOR)" \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLC_WERROR=$(WERROR)
	cmake --build build/release

bench: setup python-install
	cmake -S . -B build/bench -G "$(CMAKE_GENERATOR)" -DCMAKE_BUILD_TYPE=Release \
	    -DLC_BUILD_BENCH=ON -DLC_BUILD_TESTS=OFF -DLC_BUILD_CLI=OFF > /dev/null
	cmake --build build/bench
	build/bench/bench/bench_codec
	build/bench/bench/bench_rtree
	build/bench/bench/bench_warp
	$(PY) bench/bench_warp_rasterio.py
	$(PY) bench/bench_cog_read.py
	$(PY) bench/bench_http.py
	$(PY) bench/bench_items.py

# libFuzzer targets under ASan+UBSan; clang only (fuzz/README.md).
FUZZ_SECONDS := 600
fuzz-build:
	CC=clang cmake -S . -B build/fuzz -G "$(CMAKE_GENERATOR)" \
	    -DCMAKE_BUILD_TYPE=Debug -DLC_BUILD_FUZZERS=ON -DLC_ASAN=ON \
	    -DLC_UBSAN=ON -DLC_BUILD_CLI=OFF > /dev/null
	cmake --build build/fuzz --target fuzz_targets

fuzz-run: fuzz-build
	fuzz/run.sh -t $(FUZZ_SECONDS)

# ThreadSanitizer (no ASan: they cannot be combined) over every C test
# that starts threads; tools/tsan.supp has the third-party suppressions.
empty :=
space := $(empty) $(empty)
TSAN_TESTS := test_cog_threads test_header_cache test_http test_geo \
	test_parquet test_stac_parquet test_collection test_collection_read \
	test_collection_plan test_alloc_fail test_geokeys test_block_cache \
	test_cog_par test_common_internal
test-tsan:
	cmake -S . -B build/tsan -G "$(CMAKE_GENERATOR)" \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLC_TSAN=ON -DLC_BUILD_CLI=OFF \
	    -DLC_WERROR=$(WERROR) > /dev/null
	cmake --build build/tsan --target $(TSAN_TESTS)
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tools/tsan.supp" \
	    ctest --test-dir build/tsan --output-on-failure -j2 \
	    -R '^($(subst $(space),|,$(strip $(TSAN_TESTS))))$$'

# valgrind memcheck of a representative subset (Debug, no sanitizers):
# COG reads, Parquet, STAC JSON, CQL2, collection open + read, HTTP.
VG := valgrind -q --leak-check=full --error-exitcode=1 \
	--errors-for-leak-kinds=definite,indirect \
	--show-leak-kinds=definite,indirect
VGB := build/valgrind/tests/c
test-valgrind:
	cmake -S . -B build/valgrind -G "$(CMAKE_GENERATOR)" \
	    -DCMAKE_BUILD_TYPE=Debug -DLC_BUILD_CLI=OFF \
	    -DLC_WERROR=$(WERROR) > /dev/null
	cmake --build build/valgrind --target test_cog_bad test_cog_alloc \
	    test_parquet test_stac_json test_cql2 test_collection \
	    test_collection_read test_http
	$(VG) $(VGB)/test_cog_bad tests/data/bad
	$(VG) $(VGB)/test_cog_alloc tests/data/good/small_jpeg_rgb.tif
	$(VG) $(VGB)/test_parquet tests/data/parquet
	$(VG) $(VGB)/test_stac_json ../shared/realdata/stac
	$(VG) $(VGB)/test_cql2
	$(VG) $(VGB)/test_collection tests/data/good
	$(VG) $(VGB)/test_collection_read _world/ci; \
	    rc=$$?; [ $$rc = 0 ] || [ $$rc = 77 ]
	sh tools/with_server.sh tests/data/good $(VG) $(VGB)/test_http \
	    tests/data/good/small_jpeg_rgb.tif small_jpeg_rgb.tif

# The extension built with ASan+UBSan, run by the venv's python with
# libasan preloaded (python itself is not instrumented), and libstdc++
# (else ASan's __cxa_throw interceptor is unset when PROJ throws); the
# sitecustomize keeps the preload away from other programs the tests
# start; leak checking is off because CPython leaves memory allocated at
# exit.
PYASAN := build/pyasan
test-python-asan:
	cmake -S . -B $(PYASAN) -G "$(CMAKE_GENERATOR)" -DCMAKE_BUILD_TYPE=Debug \
	    -DLC_ASAN=ON -DLC_UBSAN=ON -DLC_BUILD_PYTHON=ON \
	    -DLC_WERROR=$(WERROR) > /dev/null
	cmake --build $(PYASAN)
	rm -rf $(PYASAN)/site && mkdir -p $(PYASAN)/site/lazycogs
	cp python/lazycogs/*.py $(PYASAN)/python/_ext*.so $(PYASAN)/site/lazycogs/
	cp tools/pyasan_sitecustomize.py $(PYASAN)/site/sitecustomize.py
	LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libstdc++.so)" \
	    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    PYTHONPATH=$(CURDIR)/$(PYASAN)/site \
	    PATH=$(CURDIR)/$(PYASAN):$$PATH LAZYCOGS_CLI=$(CURDIR)/$(PYASAN)/lazycogs \
	    LAZYCOGS_BUILD_DIR=$(CURDIR)/$(PYASAN) $(PY) -m pytest $(PYTEST_ARGS)

bench-setup:
	sh bench/setup

bench-run: setup python-install bench-setup
	bench/run $(BENCH_ARGS)

format:
	clang-format -i $$(find include src tests/c python fuzz bench -name '*.[ch]' 2>/dev/null)

clean:
	rm -rf build build-asan.log
