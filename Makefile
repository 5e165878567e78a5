# rollcall — build, run, test. `make help` lists the targets.
# BUILD=release (default) or BUILD=asan (ASan + UBSan, used by `make asan`)
# or BUILD=fuzz (clang, libFuzzer + ASan + UBSan, used by `make fuzz`).

BUILD	?= release
V	?= 0
ifeq ($(V),0)
Q	 = @
endif
PKGS	 = libevent libevent_pthreads jansson inih libpq libsodium libjwt \
	   libcurl openssl libsystemd
OPENCV	 = opencv4

CC	?= cc
CXX	?= c++
WARN	 = -Wall -Wextra -Werror -Wshadow -Wcast-qual -fno-common
CWARN	 = $(WARN) -Wstrict-prototypes -Wmissing-prototypes
CFLAGS_BASE = -std=c17 -O2 -g -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 -Iinclude -pthread
CXXFLAGS_BASE = -std=c++17 -O2 -g -D_FORTIFY_SOURCE=2 -Iinclude -pthread

ifeq ($(BUILD),asan)
SAN	 = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OBJDIR	 = obj/asan
BIN	 = bin/rollcall-asan
else ifeq ($(BUILD),fuzz)
# clang's warnings differ from gcc's: the release build is the -Werror gate.
CC	 = clang
CXX	 = clang++
WARN	:= $(filter-out -Werror,$(WARN))
SAN	 = -fsanitize=fuzzer-no-link,address,undefined \
	   -fno-sanitize-recover=all -fno-omit-frame-pointer
OBJDIR	 = obj/fuzz
BIN	 = bin/rollcall-fuzz
else
SAN	 =
OBJDIR	 = obj/release
BIN	 = bin/rollcall
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CV_CFLAGS  := $(shell pkg-config --cflags $(OPENCV) 2>/dev/null)
CV_LIBS    := $(shell pkg-config --libs $(OPENCV) 2>/dev/null)

CFLAGS	 += $(CFLAGS_BASE) $(CWARN) $(SAN) $(PKG_CFLAGS)
CXXFLAGS += $(CXXFLAGS_BASE) $(WARN) $(SAN) $(CV_CFLAGS)
LDLIBS	 = -Wl,--as-needed $(PKG_LIBS) $(CV_LIBS) -lm

SRC	 = $(shell find src -name '*.c' | sort)
CXXSRC	 = $(shell find src -name '*.cpp' | sort)
MAIN	 = src/cli/main.c
LIBOBJ	 = $(patsubst src/%.c,$(OBJDIR)/%.o,$(filter-out $(MAIN),$(SRC))) \
	   $(patsubst src/%.cpp,$(OBJDIR)/%.o,$(CXXSRC))
MAINOBJ	 = $(OBJDIR)/cli/main.o
LIB	 = $(OBJDIR)/librollcall.a

UNIT_SRC = $(wildcard tests/unit/test_*.c)
# C++ unit tests: the face nets (test_nets is also the tool that
# tests/api/test_face_oracle.py drives).
UNIT_CXXSRC = $(wildcard tests/unit/test_*.cpp)
UNIT_BIN = $(patsubst tests/unit/%.c,$(OBJDIR)/tests/%,$(UNIT_SRC)) \
	   $(patsubst tests/unit/%.cpp,$(OBJDIR)/tests/%,$(UNIT_CXXSRC))

FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN = $(patsubst tests/fuzz/%.c,$(OBJDIR)/fuzz/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 60

DEPS	 = $(LIBOBJ:.o=.d) $(MAINOBJ:.o=.d) $(UNIT_BIN:=.d) $(FUZZ_BIN:=.d)

.PHONY: all deps run test unit api asan test-asan bench clean help fuzz fuzz-run e2e \
	screenshots install uninstall deb
all: $(BIN)

help:
	@echo "make          build bin/rollcall"
	@echo "make deps     install the Debian and npm packages (no-op when present)"
	@echo "make run      start a private PostgreSQL and serve on 127.0.0.1:8080"
	@echo "make test     every test: unit, API (real PostgreSQL/SMTP), browser, install"
	@echo "make unit     the C unit tests only (tests/unit, cmocka)"
	@echo "make api      the API tests only (tests/api; PYTEST_ARGS=\"-k NAME\" selects)"
	@echo "make asan     every test on an ASan+UBSan build"
	@echo "make e2e      the browser tests only (headless Chromium, tests/e2e)"
	@echo "make screenshots  the browser tests, saving docs/screenshots/*.png"
	@echo "make bench    benchmarks (not pass/fail); figures are printed"
	@echo "make install  install under PREFIX (/usr/local) into DESTDIR, with the units"
	@echo "make uninstall  remove what make install put there (not the state)"
	@echo "make deb      build rollcall_VERSION_ARCH.deb (dpkg-deb)"
	@echo "make fuzz     build the tests/fuzz drivers with clang and run each for"
	@echo "              FUZZ_SECONDS (default 60) from its corpus; fails on a crash,"
	@echo "              a leak or a time-out"
	@echo "make clean    remove build output"

deps:
	@scripts/deps.sh

$(BIN): $(MAINOBJ) $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	$(Q)$(CXX) $(SAN) -pthread -o $@ $(MAINOBJ) $(LIB) $(LDLIBS)

$(LIB): $(LIBOBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(OBJDIR)/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(OBJDIR)/%.o: src/%.cpp
	@mkdir -p $(dir $@)
	@echo "  CXX     $<"
	$(Q)$(CXX) $(CXXFLAGS) -MMD -MP -c -o $@ $<

$(OBJDIR)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	$(Q)$(CC) $(CFLAGS) -Isrc -MMD -MP -o $@ $< $(LIB) $(LDLIBS) -lcmocka -lstdc++

$(OBJDIR)/tests/%: tests/unit/%.cpp $(LIB)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	$(Q)$(CXX) $(CXXFLAGS) -Isrc -MMD -MP -o $@ $< $(LIB) $(LDLIBS)

$(OBJDIR)/fuzz/%: tests/fuzz/%.c $(LIB)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)$(CC) $(CFLAGS) -Isrc -MMD -MP -c -o $@.o $<
	$(Q)$(CXX) $(SAN) -fsanitize=fuzzer -pthread -o $@ $@.o $(LIB) $(LDLIBS)

fuzz:
	@$(MAKE) --no-print-directory BUILD=fuzz fuzz-run

fuzz-run: $(FUZZ_BIN)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh $(FUZZ_BIN)

unit: $(BIN) $(UNIT_BIN)
	@scripts/run-unit.sh $(UNIT_BIN)

run: deps $(BIN)
	@scripts/run.sh

test: deps
	@$(MAKE) --no-print-directory $(BIN) $(UNIT_BIN)
	@scripts/test.sh $(BIN) $(UNIT_BIN)

e2e: deps $(BIN)
	@scripts/test.sh --e2e $(BIN)

api: deps $(BIN)
	@scripts/test.sh --api $(BIN)

screenshots: deps $(BIN)
	@E2E_SCREENSHOTS=$(CURDIR)/docs/screenshots scripts/test.sh --e2e $(BIN)

asan: deps
	@$(MAKE) --no-print-directory BUILD=asan test-asan

test-asan: $(BIN) $(UNIT_BIN)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 scripts/test.sh $(BIN) $(UNIT_BIN)

bench: deps $(BIN)
	@tests/bench/run.sh

# Installing (scripts/install.sh has the list of what goes where).
PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
DATADIR		?= $(PREFIX)/share/rollcall
SYSCONFDIR	?= /etc
UNITDIR		?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR	?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR	?= $(PREFIX)/lib/tmpfiles.d
STATEDIR	?= /var/lib/rollcall
INSTALL_ENV	 = PREFIX='$(PREFIX)' DESTDIR='$(DESTDIR)' BINDIR='$(BINDIR)' \
		   DATADIR='$(DATADIR)' SYSCONFDIR='$(SYSCONFDIR)' \
		   UNITDIR='$(UNITDIR)' SYSUSERSDIR='$(SYSUSERSDIR)' \
		   TMPFILESDIR='$(TMPFILESDIR)' STATEDIR='$(STATEDIR)' BIN='$(BIN)'

install: $(BIN)
	@$(INSTALL_ENV) scripts/install.sh install

uninstall:
	@$(INSTALL_ENV) scripts/install.sh uninstall

VERSION		?= 0.1.0
deb: $(BIN)
	@VERSION='$(VERSION)' scripts/deb.sh $(BIN)

clean:
	rm -rf obj bin

-include $(DEPS)
