# The two commands of the README:
#   make demo   build, then run the demo (threads bumping per-CPU counters)
#   make test   build and run the whole test suite: the default build, then
#               ASan+UBSan and TSan builds, then the tool built against LLVM 14
#               (the oldest supported) with its golden tests (ctest underneath),
#               then the arm64 build with its tests under qemu-user
#               (test-aarch64), then the .deb in a fresh Debian root (test-package)
# Both install missing Debian packages first (scripts/install-deps.sh).
# Other targets: make bench (benchmarks with ratios), make bench-loader-vs
# BASE=COMMIT (the loader's and check's speed against an earlier commit's, in one run), make corpus (the Linux
# kernel's modules through check/layout/patch; downloads them), make install PREFIX=...,
# make package (the .deb, build/default/percpu_VERSION_ARCH.deb), make
# test-package (that .deb installed and used in a fresh debootstrap root) and
# make test-debian (the README's two commands in a fresh debootstrap root;
# about 40 minutes).
PRESETS ?= default asan tsan llvm14
PREFIX ?= /usr/local
JOBS ?= 2

.PHONY: demo test test-aarch64 bench bench-loader-vs corpus deps build install package test-package test-debian clean

deps:
	@scripts/install-deps.sh

# The default build, which most targets start from (stale parts only).
build:
	@cmake --preset default >/dev/null
	@cmake --build --preset default -j $(JOBS)

demo: deps build
	@scripts/demo.sh build/default

test: deps
	@set -e; for p in $(PRESETS); do \
	  echo "=== $$p build ==="; \
	  cmake --preset $$p >/dev/null; \
	  cmake --build --preset $$p -j $(JOBS); \
	  echo "=== $$p tests ==="; \
	  ctest --preset $$p; \
	done
	@echo "=== aarch64: cross-built, its tests under qemu-user ==="
	@$(MAKE) --no-print-directory test-aarch64
	@echo "=== package: the .deb installed and used in a fresh Debian 12 root ==="
	@$(MAKE) --no-print-directory test-package

# The arm64 build (cmake --preset aarch64: cross gcc/g++ and clang, arm64
# libraries unpacked from Debian's packages into build/aarch64/sysroot) and
# its tests, each binary run by qemu-aarch64-static.
test-aarch64: deps
	@cmake --preset aarch64 >/dev/null
	@cmake --build --preset aarch64 -j $(JOBS)
	@ctest --preset aarch64

# Benchmarks need the packages only to build: `bash run.sh bench` installs
# them first; a plain `make bench` never runs apt-get in a measurement.
bench: build
	@bench/run.sh build/default

# The loader and check against an earlier commit's, interleaved in one run:
#   make bench-loader-vs BASE=HEAD~1   (any commit; built in build/bench-base)
BASE ?= HEAD~1
bench-loader-vs:
	@cmake --preset default >/dev/null
	@cmake --build --preset default -j $(JOBS) --target percpu-loader-bench percpu-elfpatch
	@rm -rf build/bench-base && git worktree prune && \
	  git worktree add --detach -f build/bench-base $(BASE) >/dev/null
	@cmake --preset default -S build/bench-base >/dev/null
	@cmake --build build/bench-base/build/default -j $(JOBS) --target percpu-loader-bench percpu-elfpatch
	@bench/compare_loader.sh build/bench-base/build/default build/default
	@bench/compare_check.sh build/bench-base/build/default build/default

# The kernel's own modules (Debian's linux-image packages, downloaded once
# into build/kernel-corpus) through check, layout and patch, then check's
# speed against llvm-readelf over them.  Not part of `test`: it needs the
# network and ~130 MB.
corpus: deps build
	@tests/kernel_corpus.sh $(CURDIR)/build/default/src/elfpatch/percpu-elfpatch \
	  /usr/lib/llvm-$${PERCPU_LLVM_VERSION:-19}/bin $(CURDIR)/build/kernel-corpus $(CURDIR); \
	  rc=$$?; [ $$rc = 77 ] && exit 0; [ $$rc = 0 ] || exit $$rc
	@echo "check over the corpus against llvm-readelf:"
	@bench/elfpatch/kernel_corpus.sh build/default build/kernel-corpus

install: deps build
	@cmake --install build/default --prefix $(PREFIX)

package: deps build
	@cmake --build build/default --target package

test-package: package
	@tests/debian/package.sh build/default . build/debian

test-debian: deps
	@tests/debian/bare.sh . build/debian $(COMMANDS)

clean:
	rm -rf build
