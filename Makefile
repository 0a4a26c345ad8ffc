# genxfer build. `make` builds libgenxfer.a, libgenxfer.so and the genxfer tool; `make test` runs
# the tests, the model tests again on oneDNN's AVX2 kernels, then all again under AddressSanitizer
# + UndefinedBehaviorSanitizer, then each fuzz target briefly; `make fuzz` fuzzes every reader (below); `make install PREFIX=...` installs
# them (below). See README.md.

CC      ?= cc
BUILD   ?= build
PKGS    := openblas hdf5 libcjson cairo zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# oneDNN (libdnnl-dev) ships no pkg-config file
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ldnnl

OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CPPFLAGS_ALL := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc -Iinclude $(PKG_CFLAGS)
# -fno-math-errno, -fno-trapping-math: sqrtf becomes one instruction and conditional expressions
# can become vector selects, so that the element-wise loops vectorise. Neither changes a result:
# errno and the floating-point exception flags are simply not kept (nothing here reads them).
# (Not -ffast-math, which would.)
ALL_CFLAGS = $(CPPFLAGS_ALL) $(WARN) -fopenmp -fno-math-errno -fno-trapping-math -fPIC $(CFLAGS) $(SANFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -fopenmp -lm $(SANFLAGS)

ifeq ($(SAN),1)
# float-cast-overflow is not part of gcc's -fsanitize=undefined: a double beyond int's range
# converted before its range is checked (a bug the fuzzers found twice) must fail here too.
SANFLAGS := -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=undefined,float-cast-overflow -fno-omit-frame-pointer
BUILD    := build/san
endif

LIB_SRCS  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRCS  := $(sort $(wildcard src/cli/*.c))
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/%.o)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)

LIB := $(BUILD)/libgenxfer.a
BIN := $(BUILD)/genxfer

# The shared library: the same (position-independent) objects, exporting only the functions of
# the public header include/genxfer.h, which also holds the version.
VERSION := $(shell sed -n 's/^\#define GENXFER_VERSION "\(.*\)"/\1/p' include/genxfer.h)
SONAME  := libgenxfer.so.$(firstword $(subst ., ,$(VERSION)))
SO      := $(BUILD)/libgenxfer.so.$(VERSION)
SO_MAP  := src/api/libgenxfer.map
SO_LDFLAGS := -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(SO_MAP)
ifneq ($(SAN),1)
SO_LDFLAGS += -Wl,--no-undefined
endif

# `make install PREFIX=... [DESTDIR=...]`; `make uninstall` with the same variables.
PREFIX       ?= /usr/local
BINDIR       = $(PREFIX)/bin
LIBDIR       = $(PREFIX)/lib
INCLUDEDIR   = $(PREFIX)/include
MANDIR       = $(PREFIX)/share/man
PKGCONFIGDIR = $(LIBDIR)/pkgconfig
INSTALL      ?= install

.PHONY: all deps test test-plain test-avx2 test-san test-fuzz fuzz demo e1 controls clean bench bench-compare bench-profile bench-profile-cnn bench-gemm-shapes install uninstall valgrind
all: $(LIB) $(SO) $(BIN) genxfer

# The tool at the project root, for the commands in the README.
genxfer: $(BUILD)/genxfer
	@if [ "$(BUILD)" = "build" ]; then ln -sf build/genxfer genxfer; fi

# `make V=1` shows the full commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "  AR    $@"
	$(Q)$(AR) rcs $@ $^

$(SO): $(LIB_OBJS) $(SO_MAP)
	@echo "  LD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(SO_LDFLAGS) -o $@ $(LIB_OBJS) $(LDLIBS_ALL)

$(BIN): $(CLI_OBJS) $(LIB)
	@echo "  LD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(CLI_OBJS) $(LIB) $(LDLIBS_ALL)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(LIB)
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(LIB) $(LDLIBS_ALL) -lcmocka

deps:
	@scripts/install-deps.sh

# Plain build and tests, the model tests on AVX2, then the sanitizer build and the same tests; one
# summary line at the end.
# The builds of `make test` use every core (the test programs run two at a time anyway).
NPROC := $(shell nproc 2>/dev/null || echo 2)
test: deps
	@$(MAKE) --no-print-directory -j$(NPROC) test-plain
	@$(MAKE) --no-print-directory test-avx2
	@$(MAKE) --no-print-directory -j$(NPROC) SAN=1 test-san
	@$(MAKE) --no-print-directory -j$(NPROC) test-fuzz
	@scripts/run-tests.sh --summary build/test-results.txt build/test-results-avx2.txt \
	    build/san/test-results.txt \
	    $(FUZZ_BUILD)/test-results.txt

test-plain: $(TEST_BINS) $(BIN) $(SO)
	@scripts/run-tests.sh $(BUILD)

# The model tests again with oneDNN held to AVX2: the kernels of a machine without AVX-512.
MODEL_TESTS := test_gemm test_layers test_dense test_batchnorm test_ssdgm test_ssdgm_train \
               test_classifier test_gradcheck_cnn test_generator test_cls_train
test-avx2: $(TEST_BINS) $(BIN)
	@ONEDNN_MAX_CPU_ISA=AVX2 scripts/run-tests.sh $(BUILD) avx2 $(MODEL_TESTS)

test-san: $(TEST_BINS) $(BIN)
	@scripts/run-tests.sh $(BUILD)

# ---- Fuzzing (docs/RELIABILITY.md): one libFuzzer target per reader, in fuzz/, built with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer. `make fuzz` runs each for FUZZ_RUNS executions,
# or FUZZ_SECONDS seconds when that is set, growing build/fuzz/corpus/; `make test` runs each
# briefly on its seeds (test-fuzz).
FUZZ_CC      ?= clang
FUZZ_BUILD   := build/fuzz
FUZZ_TARGETS := idx idx_gz csv npy hdf5 safetensors model classifier checkpoint spec cli
FUZZ_RUNS    ?= 1000000
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := $(CPPFLAGS_ALL) $(WARN) -Wno-pass-failed -fopenmp -g -O1 $(FUZZ_SAN)
FUZZ_OBJS    := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(LIB_SRCS) $(filter-out src/cli/main.c,$(CLI_SRCS)))
FUZZ_LIB     := $(FUZZ_BUILD)/libgenxfer-fuzz.a
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

$(FUZZ_BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "  CC    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJS)
	$(Q)$(AR) rcs $@ $^

$(FUZZ_BUILD)/fuzz_idx_gz: fuzz/fuzz_idx.c fuzz/fuzz.h $(FUZZ_LIB)
	@echo "  FUZZ  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -DFUZZ_GZIP -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LDLIBS_ALL)

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(FUZZ_LIB)
	@echo "  FUZZ  $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LDLIBS_ALL)

# fuzz_checkpoint includes cmd_train.c (for its static load_resume) and shares fuzz_ckpt.h with
# the seeds.
$(FUZZ_BUILD)/fuzz_checkpoint: fuzz/fuzz_ckpt.h src/cli/cmd_train.c
# the two model loaders' targets share the config-only file of fuzz_config.h
$(FUZZ_BUILD)/fuzz_model $(FUZZ_BUILD)/fuzz_classifier: fuzz/fuzz_config.h

$(FUZZ_BUILD)/seeds: fuzz/seeds.c fuzz/fuzz.h fuzz/fuzz_ckpt.h $(FUZZ_LIB)
	@echo "  LD    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -o $@ $< $(FUZZ_LIB) $(LDLIBS_ALL)

fuzz: deps $(FUZZ_BINS) $(FUZZ_BUILD)/seeds
	@FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh long $(FUZZ_BUILD) $(FUZZ_TARGETS)

test-fuzz: $(FUZZ_BINS) $(FUZZ_BUILD)/seeds
	@scripts/fuzz.sh short $(FUZZ_BUILD) $(FUZZ_TARGETS)

# The tool, the static and shared libraries, the public header, pkg-config file and man page.
install: $(LIB) $(SO) $(BIN)
	$(INSTALL) -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(PKGCONFIGDIR)" \
	    "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(MANDIR)/man1"
	$(INSTALL) -m 755 $(BIN) "$(DESTDIR)$(BINDIR)/genxfer"
	$(INSTALL) -m 644 $(LIB) "$(DESTDIR)$(LIBDIR)/libgenxfer.a"
	$(INSTALL) -m 755 $(SO) "$(DESTDIR)$(LIBDIR)/libgenxfer.so.$(VERSION)"
	ln -sf libgenxfer.so.$(VERSION) "$(DESTDIR)$(LIBDIR)/$(SONAME)"
	ln -sf $(SONAME) "$(DESTDIR)$(LIBDIR)/libgenxfer.so"
	$(INSTALL) -m 644 include/genxfer.h "$(DESTDIR)$(INCLUDEDIR)/genxfer.h"
	$(INSTALL) -m 644 docs/genxfer.1 "$(DESTDIR)$(MANDIR)/man1/genxfer.1"
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' -e 's|@REQUIRES@|$(PKGS)|' src/api/genxfer.pc.in \
	    > "$(DESTDIR)$(PKGCONFIGDIR)/genxfer.pc"

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/genxfer" "$(DESTDIR)$(LIBDIR)/libgenxfer.a" \
	    "$(DESTDIR)$(LIBDIR)/libgenxfer.so" "$(DESTDIR)$(LIBDIR)/$(SONAME)" \
	    "$(DESTDIR)$(LIBDIR)/libgenxfer.so.$(VERSION)" "$(DESTDIR)$(INCLUDEDIR)/genxfer.h" \
	    "$(DESTDIR)$(PKGCONFIGDIR)/genxfer.pc" "$(DESTDIR)$(MANDIR)/man1/genxfer.1"

# A short train / eval / predict cycle and a stopped-and-resumed run under valgrind memcheck (leaks
# and errors fail it); not part of `make test` (about a minute).
valgrind: $(BIN)
	@scripts/valgrind.sh $(BIN)

# The main job on a default dataset: DVT from MNIST (all labelled) to USPS (no labels), USPS
# brought into MNIST's frame (20x20 box padded to 28x28), then samples decoded in both domains.
DEMO_OUT ?= runs/demo
USPS_FRAMED := resize=20x20,pad=4
# DVT from MNIST (all labelled) to USPS (no labels), USPS in MNIST's frame, one input block: the
# E2 setting "MNIST -> USPS, same space, k = 0" with the levers chosen on E1 (seed 1).
demo: deps
	@$(MAKE) --no-print-directory all
	./build/genxfer train --preset dvt --domain mnist:train \
	    --domain usps:train,$(USPS_FRAMED),k=0,share=mnist --test usps:test,$(USPS_FRAMED) \
	    --epochs 4 --kl-warmup 1 --cls-hidden 500 --augment-shift 2 --augment-labelled \
	    --confidence-weight 1000 --cutout 14 --seed 1 --out $(DEMO_OUT)
	./build/genxfer sample $(DEMO_OUT)/model.safetensors --domain usps --out $(DEMO_OUT)/samples_usps.png
	./build/genxfer latent $(DEMO_OUT)/model.safetensors --data mnist=mnist:test \
	    --data usps=usps:test,$(USPS_FRAMED) --out $(DEMO_OUT)/latent.png
	@awk -F'\t' '/"accuracy":/ { printf "demo: USPS test accuracy %.2f%% (0 USPS labels)\n", 100 * $$NF; exit }' $(DEMO_OUT)/metrics.json
	@echo "demo: model.safetensors, metrics.json, train_log.csv and the figures (samples_usps.png,"
	@echo "      latent.png, learning_curves.png, confusion.png) are in $(DEMO_OUT)/"

# Experiment E1 (MNIST, 100 labels), 3 seeds of M2, DVT and DVT with the levers: about 2 hours.
e1: deps
	@$(MAKE) --no-print-directory all
	scripts/run-e1.sh runs/e1

# Debian's python3, which has the python3-* packages (another python3 may come first in PATH)
DEBIAN_PYTHON := $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)

# Issue 19's controls (docs/RESULTS.md, "What the generative model earns"): E2 and E3 with every
# baseline given the same levers, about 3 hours on 2 cores; then the reference forest (needs
# python3-sklearn and python3-h5py).
controls: deps
	@scripts/install-deps.sh reference
	@$(MAKE) --no-print-directory all
	scripts/run-controls.sh runs/controls
	$(DEBIAN_PYTHON) bench/reference/forest.py e3
	$(DEBIAN_PYTHON) bench/reference/forest.py e2

# Benchmark B1 (docs/PERFORMANCE.md; not part of `make test`): the M2 step at 1 and all threads
# against the SGEMM peak measured in the same run, loading MNIST, one E1 epoch and its peak memory.
bench: deps
	@$(MAKE) --no-print-directory all
	./build/genxfer bench

# The same beside the PyTorch reference (bench/reference/; python3-torch is installed first if
# missing) at each of its thread settings, the ratio, and the check that both compute the same
# loss and gradients.
bench-compare: deps
	@$(MAKE) --no-print-directory all
	@bench/install-torch.sh
	/usr/bin/python3 bench/compare.py --genxfer build/genxfer

# Instruction counts of 3 B1 steps on synthetic data (callgrind: stable on a noisy machine).
bench-profile: $(BUILD)/bench/profile_step
	valgrind --tool=callgrind --callgrind-out-file=$(BUILD)/callgrind.out $(BUILD)/bench/profile_step 3 1
	callgrind_annotate $(BUILD)/callgrind.out | head -45

# Seconds and GFLOP/s per GEMM shape of the B1 step at 2 threads (bench/gemm_shapes.c, LD_PRELOAD).
bench-gemm-shapes: $(BUILD)/bench/profile_step $(BUILD)/bench/gemm_shapes.so
	LD_PRELOAD=$(abspath $(BUILD)/bench/gemm_shapes.so) $(BUILD)/bench/profile_step 60 2

$(BUILD)/bench/gemm_shapes.so: bench/gemm_shapes.c
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -shared -fPIC -o $@ $< -ldl -lpthread

# The same for the E4 CNN step (bench/profile_cnn.c).
bench-profile-cnn: $(BUILD)/bench/profile_cnn
	valgrind --tool=callgrind --callgrind-out-file=$(BUILD)/callgrind-cnn.out $(BUILD)/bench/profile_cnn 3 1
	callgrind_annotate $(BUILD)/callgrind-cnn.out | head -45

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDLIBS_ALL)

clean:
	rm -rf build genxfer

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(FUZZ_OBJS:.o=.d)
