# PARALLEL WORK (read docs/parallel-work.md): several engineers build at once in
# this tree. Build into your own directory (make -j2 BUILD=build/<you>), run only
# your suites (KML_BUILD=build/<you> KML_BATS=tests/x.bats ./tests/run.sh), never
# `make clean`, never `git add -A`: commit only your own paths
# (git add P && git commit -m ... -- P). The lead sets the session's hours in that doc.
#
# krakenml: GNU make. `make` builds every tools/<stage>/ as bin/kml-<stage>.
#
# A tool directory may hold tool.mk setting <stage>_PKGS (pkg-config names),
# <stage>_LDLIBS (plain -l flags) and <stage>_LIBS (lib/ subdirectories, e.g.
# `nn`); only those tools link those libraries.
# C unit tests are tests/unit/test_*.c, each its own program.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DESTDIR ?=

CC ?= cc
OPT ?= -O2
ifeq ($(SANITIZE),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
BUILD := build/asan
else
BUILD := build/release
endif

# All compile flags for every object; the user's CFLAGS come last.
PKGS_ALL := libcurl libcjson openblas libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS_ALL) 2>/dev/null)
override CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Wshadow -Wno-unused-parameter \
	-fno-fast-math -iquote lib $(PKG_CFLAGS) $(SAN_FLAGS) $(CFLAGS)
override LDFLAGS := $(SAN_FLAGS) $(LDFLAGS)


# Libraries every tool links: cJSON and libcsv are the I/O base of lib/.
BASE_LDLIBS := $(shell pkg-config --libs libcjson 2>/dev/null || echo -lcjson) -lcsv -lm
# What the unit tests link: everything lib/ can use.
ALL_LDLIBS := $(shell pkg-config --libs $(PKGS_ALL) 2>/dev/null) -llapacke $(BASE_LDLIBS) -lpthread

# lib/*.c is build/.../libkml.a, which every tool links. Each subdirectory
# lib/<sub>/ is its own archive libkml-<sub>.a, linked only by the tools that
# name it in <stage>_LIBS (e.g. `train_LIBS := nn`), so a half-written module
# never blocks the tools that do not use it. Unit tests link every archive.
LIB_SRC := $(sort $(wildcard lib/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBKML  := $(BUILD)/libkml.a
LIB_SUBS := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard lib/*/*.c)))))
SUB_ARCHIVES := $(LIB_SUBS:%=$(BUILD)/libkml-%.a)

TOOLS := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard tools/*/*.c)))))
-include $(wildcard tools/*/tool.mk)

TOOL_BINS := $(TOOLS:%=bin/kml-%)
BUILD_BINS := $(TOOLS:%=$(BUILD)/bin/kml-%)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# Quiet build lines ("CC lib/csv.o"); V=1 prints the whole commands.
ifeq ($(V),1)
Q :=
say = @:
else
Q := @
say = @printf '  %-5s %s\n'
endif

.PHONY: all clean test unit unit-bins asan install uninstall deps bench pipeline help
# `make` builds the tools only; the unit-test programs are built by `make test`
# (or `make unit-bins`).
ifeq ($(SANITIZE),1)
all: $(LIBKML) $(BUILD_BINS)
else
all: $(LIBKML) $(BUILD_BINS) $(TOOL_BINS)
endif
unit-bins: $(UNIT_BINS)

# Nothing here is an intermediate file: without this, GNU make deletes the
# test objects it reached through the chain of pattern rules after each build,
# and the next `make` compiles them again.
.SECONDARY:

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(say) CC $(@:$(BUILD)/%=%)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# An archive also depends on its directory, whose time changes when a file is
# added, removed or moved out: a member that left the directory leaves the
# archive (it would otherwise stay, and clash with its new home's copy).
$(LIBKML): $(LIB_OBJ) lib
	@mkdir -p $(dir $@)
	$(say) AR $@
	$(Q)rm -f $@ && ar rcs $@ $(filter %.o,$^)

define SUB_rule
$(BUILD)/libkml-$(1).a: $$(patsubst %.c,$$(BUILD)/%.o,$$(sort $$(wildcard lib/$(1)/*.c))) lib/$(1)
	@mkdir -p $$(dir $$@)
	$$(say) AR $$@
	$$(Q)rm -f $$@ && ar rcs $$@ $$(filter %.o,$$^)
endef
$(foreach s,$(LIB_SUBS),$(eval $(call SUB_rule,$(s))))

# One rule per tool: objects of tools/<t>/*.c, linked with libkml and the tool's packages.
define TOOL_rule
$(1)_SRC := $$(wildcard tools/$(1)/*.c)
$(1)_OBJ := $$($(1)_SRC:%.c=$$(BUILD)/%.o)
$(1)_ARCHIVES := $$(foreach l,$$($(1)_LIBS),$$(BUILD)/libkml-$$(l).a)
$(BUILD)/bin/kml-$(1): $$($(1)_OBJ) $$($(1)_ARCHIVES) $$(LIBKML)
	@mkdir -p $$(dir $$@)
	$$(say) LD $$@
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$($(1)_OBJ) -Wl,--start-group $$($(1)_ARCHIVES) $$(LIBKML) -Wl,--end-group \
		$$(if $$($(1)_PKGS),$$(shell pkg-config --libs $$($(1)_PKGS))) $$($(1)_LDLIBS) $$(BASE_LDLIBS)
bin/kml-$(1): $(BUILD)/bin/kml-$(1)
	$$(Q)cp $$< $$@
endef
$(foreach t,$(TOOLS),$(eval $(call TOOL_rule,$(t))))

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/tests/unit/t.o $(SUB_ARCHIVES) $(LIBKML)
	@mkdir -p $(dir $@)
	$(say) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/tests/unit/t.o -Wl,--start-group $(SUB_ARCHIVES) $(LIBKML) -Wl,--end-group $(ALL_LDLIBS)

# The whole suite: unit tests, then bats; one closing line "N passed, N failed".
test: all unit-bins
	@KML_BUILD=$(BUILD) ./tests/run.sh

unit: all unit-bins
	@KML_BUILD=$(BUILD) KML_ONLY=unit ./tests/run.sh

# Sanitizer build of everything and the whole suite under ASan + UBSan.
asan:
	$(MAKE) SANITIZE=1 OPT=-O1 test

deps:
	./scripts/deps.sh

bench: all
	./bench/run.sh

# make pipeline: each asset's steps (data, features, regimes, models) as a
# target of its own, so `make -j2 pipeline` runs assets in parallel (each
# writes only its own runs/<ALT>/ and models/<ALT>/); then the backtest, the
# ensembles, a paper step and the summary. ASSETS defaults to the
# configuration's assets, read once the tools are built (a second make, so
# that no program runs while the makefile is read).
ASSETS ?=
pipeline: all
	@$(MAKE) --no-print-directory pipeline-run \
		ASSETS="$(if $(strip $(ASSETS)),$(ASSETS),$$(bin/kml-config show | jq -r '.assets | keys_unsorted | join(" ")'))"
PIPELINE_ASSETS := $(addprefix pipeline-asset/,$(ASSETS))
.PHONY: pipeline-run $(PIPELINE_ASSETS)
$(PIPELINE_ASSETS): pipeline-asset/%:
	./pipelines/run.sh --asset $*
# SCHEDULER=slurm: the same work submitted as Slurm jobs instead
# (pipelines/slurm/submit.sh, docs/scale-out.md).
SCHEDULER ?= local
ifeq ($(SCHEDULER),slurm)
pipeline-run:
	./pipelines/slurm/submit.sh $(ASSETS)
else
pipeline-run: $(PIPELINE_ASSETS)
	./pipelines/run.sh --trade $(ASSETS)
endif

install: $(TOOL_BINS)
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 bin/kml $(TOOL_BINS) $(DESTDIR)$(BINDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/kml $(TOOL_BINS:bin/%=$(DESTDIR)$(BINDIR)/%)

clean:
	rm -rf build $(TOOL_BINS)

# Header dependencies of this build directory only.
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
