# Makefile - the project's entry points (see README.md).
# SPDX-License-Identifier: MIT
#
#   make setup   install every system and Python dependency (idempotent)
#   make test    setup, then C tests under ASan+UBSan (CTest) and pytest
#   make demo    setup, then generate the test world, serve it over HTTP on
#                loopback and run examples/demo.py
#   make build   optimised library and `lazycogs` command in build/release
#   make bench   Release build of the benchmarks, then run them (bench/)
#   make format  reformat the C sources with clang-format
#
# -Werror is on when CI is set (CI=true), never in builds for users.

PY := .venv/bin/python
WERROR := $(if $(CI),ON,OFF)
CMAKE_GENERATOR := $(if $(shell command -v ninja),Ninja,Unix Makefiles)

.PHONY: setup test test-c test-python python-install demo build bench format clean

setup:
	bash tools/setup.sh

test: setup
	$(MAKE) --no-print-directory test-c
	$(MAKE) --no-print-directory test-python

test-c:
	cmake -S . -B build/asan -G "$(CMAKE_GENERATOR)" -DCMAKE_BUILD_TYPE=Debug \
	    -DLC_ASAN=ON -DLC_UBSAN=ON -DLC_WERROR=$(WERROR) > build-asan.log
	cmake --build build/asan
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

format:
	clang-format -i $$(find include src tests/c python fuzz bench -name '*.[ch]' 2>/dev/null)

clean:
	rm -rf build build-asan.log
