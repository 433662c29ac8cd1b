# tcpdwell — build, test, run. See README.md.
#
#   make          build ./tcpdwell (static, BPF object embedded via skeleton)
#   make run      install build deps, build, start `tcpdwell trace`
#   make test     install build deps, build, run the whole suite (unit, ASan
#                 unit + smoke, fuzz smoke, integration, the same under valgrind,
#                 bench smoke, vmtest)
#   make bench    overhead and loss, side by side with the reference tools
#   make vmtest   the integration suite on each of Debian's kernels in
#                 KERNELS, in qemu (make vmtest KERNELS="6.12": a chosen few)
#   make check-asan  unit tests (and a tcpdwell smoke) built with ASan+UBSan
#   make fuzz     each libFuzzer harness in tests/fuzz for FUZZ_SECONDS (60)
#   make valgrind the integration suite under valgrind (build/vg/tcpdwell)
#   make man      the manual page, build/tcpdwell.8

ARCH        ?= x86
CLANG       ?= clang
CC          ?= gcc
BPFTOOL     ?= bpftool
BUILD       := build
VMLINUX     := vmlinux/$(ARCH)

CFLAGS      ?= -O2 -g
WARN        := -Wall -Wextra -Werror
USER_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -I$(BUILD) -Ibpf -Iuser
BPF_CFLAGS  := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) $(WARN) \
               -Wno-missing-field-initializers -Wno-unused-parameter \
               -I$(VMLINUX) -Ibpf
LDLIBS      := -Wl,-Bstatic -lbpf -lelf -lz -lm
LDFLAGS     ?= -static
# the guest kernels of make vmtest and make test, by short name
KERNELS     ?= 5.10 6.1 6.12

BPF_SRCS    := $(wildcard bpf/*.bpf.c)
# maps.bpf.o first: bpftool 7.1's linker cannot resolve an object's extern
# maps when that object comes before the one that defines them.
# census.bpf.o is an object of its own (see the file).
BPF_OBJS    := $(BUILD)/bpf/maps.bpf.o $(filter-out $(BUILD)/bpf/maps.bpf.o $(BUILD)/bpf/census.bpf.o,\
               $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS)))
USER_SRCS   := $(wildcard user/*.c)
USER_OBJS   := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
LIB_OBJS    := $(filter-out $(BUILD)/user/main.o,$(USER_OBJS))
SKEL        := $(BUILD)/tcpdwell.skel.h $(BUILD)/census.skel.h
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all deps run test unit integration clean format vmlinux bench vmtest check-asan \
        fuzz fuzz-build valgrind man FORCE

# a recipe that fails leaves no half-written target behind
.DELETE_ON_ERROR:

# Quiet by default, one line per step; `make V=1` shows the commands.
ifeq ($(V),1)
Q   :=
msg  =
else ifneq ($(findstring s,$(firstword -$(MAKEFLAGS))),)
Q   := @
msg  = @
else
Q   := @
msg  = @printf '  %-8s %s\n' '$(1)' '$(2)';
endif

# Dependencies from the compilers themselves (-MMD: the headers each object
# really includes; -MP: a header that goes away breaks no build).
DEPFLAGS := -MMD -MP

# --- Sanitizer, fuzzing and valgrind builds -------------------------------
# The same user code, built again in build/<variant>/ and linked dynamically
# (the sanitizer runtimes and valgrind's malloc replacement need a dynamic
# libc): build/asan (ASan+UBSan, unit tests too), build/fuzz (libFuzzer
# harnesses, tests/fuzz/<name>.c with seeds in tests/fuzz/corpus/<name>/),
# build/vg (plain -O1 -g, for valgrind).
SAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_CFLAGS  := -O1 -g $(SAN_FLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -I$(BUILD) -Ibpf -Iuser
DYN_LIBS    := -lbpf -lelf -lz -lm
ASAN_OBJS   := $(patsubst user/%.c,$(BUILD)/asan/user/%.o,$(USER_SRCS))
ASAN_LIB    := $(filter-out $(BUILD)/asan/user/main.o,$(ASAN_OBJS))
ASAN_UNITS  := $(patsubst tests/unit/%.c,$(BUILD)/asan/tests/%,$(UNIT_SRCS))
FUZZ_OBJS   := $(patsubst user/%.c,$(BUILD)/fuzz/user/%.o,$(filter-out user/main.c,$(USER_SRCS)))
FUZZ_NAMES  := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/*.c))
FUZZ_BINS   := $(patsubst %,$(BUILD)/fuzz/%,$(FUZZ_NAMES))
FUZZ_SECONDS ?= 60
VG_OBJS     := $(patsubst user/%.c,$(BUILD)/vg/user/%.o,$(USER_SRCS))
VG_CFLAGS   := -O1 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -I$(BUILD) -Ibpf -Iuser

all: tcpdwell

deps:
	@scripts/install-deps.sh

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

# Link the per-concern objects into one (maps resolve across files), then
# generate the skeleton that embeds it in the binary.
$(BUILD)/tcpdwell.bpf.o: $(BPF_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(BUILD)/census.bpf.lo: $(BUILD)/bpf/census.bpf.o
	$(call msg,LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(BUILD)/tcpdwell.skel.h: $(BUILD)/tcpdwell.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name tcpdwell_bpf > $@

$(BUILD)/census.skel.h: $(BUILD)/census.bpf.lo
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name census_bpf > $@

# The user code, built four ways from one rule each: $(1) the objects'
# directory, $(2) the compiler, $(3) its flags. The skeletons come first
# (order only: an object depends on the ones it includes through its .d).
define user_objects
$(1)/user/%.o: user/%.c | $(SKEL) $(BUILD)/rev.h
	@mkdir -p $$(@D)
	$$(call msg,CC,$$@)
	$$(Q)$(2) $(3) $$(DEPFLAGS) -c $$< -o $$@
endef
$(eval $(call user_objects,$(BUILD),$(CC),$(USER_CFLAGS)))
$(eval $(call user_objects,$(BUILD)/asan,$(CLANG),$(SAN_CFLAGS)))
$(eval $(call user_objects,$(BUILD)/fuzz,$(CLANG),$(SAN_CFLAGS) -fsanitize=fuzzer-no-link))
$(eval $(call user_objects,$(BUILD)/vg,$(CC),$(VG_CFLAGS)))

# The git revision for --version, rewritten only when it changes: what
# includes it (user/version.c, found by -MMD) rebuilds then and only then.
$(BUILD)/rev.h: FORCE
	@mkdir -p $(@D)
	@rev=$$(git describe --always --dirty --abbrev=12 --exclude='*' 2>/dev/null || echo unknown); \
	 line="#define TD_GIT_REV \"$$rev\""; \
	 [ "$$(cat $@ 2>/dev/null)" = "$$line" ] || echo "$$line" > $@

FORCE:

tcpdwell: $(USER_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) $(DEPFLAGS) -o $@ $< $(LIB_OBJS) -lcmocka -lbpf -lelf -lz -lm

$(BUILD)/loadgen $(BUILD)/hostload: $(BUILD)/%: tests/bench/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -pthread -o $@ $<

$(BUILD)/asan/tcpdwell: $(ASAN_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CLANG) $(SAN_FLAGS) -o $@ $^ $(DYN_LIBS)

$(BUILD)/asan/tests/test_%: tests/unit/test_%.c $(ASAN_LIB)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CLANG) $(SAN_CFLAGS) $(DEPFLAGS) -o $@ $< $(ASAN_LIB) -lcmocka $(DYN_LIBS)

# the unit tests and a tcpdwell smoke (usage errors, --help, doctor) under
# ASan+UBSan; any report aborts the binary, which fails its count
check-asan: $(ASAN_UNITS) $(BUILD)/asan/tcpdwell
	@tests/run-asan.sh $(BUILD)/asan/tcpdwell $(ASAN_UNITS)

$(BUILD)/fuzz/libtd.a: $(FUZZ_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/fuzz/libtd.a
	$(call msg,CC,$@)
	$(Q)$(CLANG) $(SAN_CFLAGS) $(DEPFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/fuzz/libtd.a \
		$(DYN_LIBS)

fuzz-build: $(FUZZ_BINS)

# every harness for FUZZ_SECONDS, new inputs kept in build/fuzz/corpus/
fuzz: $(FUZZ_BINS)
	@tests/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

$(BUILD)/vg/tcpdwell: $(VG_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $^ $(DYN_LIBS)

# the integration suite under valgrind (see tests/run-valgrind.sh)
valgrind: $(BUILD)/vg/tcpdwell tcpdwell
	@tests/run-valgrind.sh

# Overhead and loss side by side with the reference tools (minutes; not in
# `make test`, which runs a smoke of it). BENCH_ARGS e.g. "-n 50000 -r 3".
bench: deps tcpdwell $(BUILD)/loadgen $(BUILD)/hostload
	scripts/bench.py $(BENCH_ARGS)

run: deps tcpdwell
	./tcpdwell trace

unit: $(UNIT_BINS)
	@tests/run-unit.sh $(UNIT_BINS)

integration: tcpdwell
	@tests/run-integration.sh

# the integration suite on each of Debian's kernels under qemu (make test runs
# them too), fetched the first time (scripts/kernels.sh)
vmtest: tcpdwell
	@scripts/vmtest-all.sh $(KERNELS)

test: deps
	@$(MAKE) --no-print-directory tcpdwell $(UNIT_BINS) $(BUILD)/loadgen $(BUILD)/hostload $(ASAN_UNITS) \
		$(BUILD)/asan/tcpdwell $(FUZZ_BINS) $(BUILD)/vg/tcpdwell
	@KERNELS="$(KERNELS)" tests/run-all.sh $(UNIT_BINS)

# the manual page, generated from README.md's command table and docs/flags.md
# (test_cli.py checks it against --help): `man -l build/tcpdwell.8`
man: $(BUILD)/tcpdwell.8

$(BUILD)/tcpdwell.8: scripts/mkman.py README.md docs/flags.md user/version.h
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D) && scripts/mkman.py > $@

vmlinux:
	scripts/gen-vmlinux.sh $(VMLINUX)/vmlinux.h

format:
	clang-format -i bpf/*.c bpf/*.h user/*.c user/*.h tests/unit/*.c tests/fuzz/*.c tests/fuzz/*.h

clean:
	rm -rf $(BUILD) tcpdwell

# what -MMD wrote: each object's real headers (none before the first build)
-include $(wildcard $(BUILD)/bpf/*.d $(BUILD)/user/*.d $(BUILD)/asan/user/*.d \
	$(BUILD)/fuzz/user/*.d $(BUILD)/vg/user/*.d $(BUILD)/tests/*.d $(BUILD)/asan/tests/*.d \
	$(BUILD)/fuzz/*.d)
