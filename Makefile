# postern: a plain Makefile. `make` builds ./postern; `make test` builds
# an ASan+UBSan variant and runs every test; `make run` starts a demo.
# Quiet unless V=1.

PKGS     := libevent libevent_openssl libssl libcrypto libsodium sqlite3 libpq \
            jansson libidn2 libcares libqrencode zlib
CC       ?= cc
CSTD     := -std=c11 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter
OPT      ?= -O2 -g
# hardening: stack canaries, checked libc calls (release only: it needs
# optimisation and ASan checks the same in the test build), PIE, and a
# read-only GOT after start (full RELRO)
HARDEN   := -fstack-protector-strong -fPIE
FORTIFY  := -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
LDHARDEN := -pie -Wl,-z,relro,-z,now
# each object's header dependencies, written by the compiler
DEPFLAGS  = -MMD -MP
PKGCFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKGLIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LIBS      = $(PKGLIBS) -lpthread -lm

SRC      := $(sort $(wildcard src/*/*.c))
MAIN     := src/main.c
# the panel's files (www/), embedded into the binary (src/http/static.h)
WWW      := $(sort $(shell find www -type f ! -name '.*' 2>/dev/null))
OBJ      := $(SRC:src/%.c=build/rel/%.o) build/rel/gen/www.o
ASAN_OBJ := $(SRC:src/%.c=build/asan/%.o) build/asan/gen/www.o
TESTS    := tests/unit/unit.c tests/unit/dnsq_fake.c $(sort $(wildcard tests/unit/test_*.c))
FUZZERS  := $(patsubst fuzz/fuzz_%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))

SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer

ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: all deps test unit e2e run fuzz fuzz-smoke bench format format-check clean

all: deps postern

deps:
	$(Q)sh scripts/deps.sh

postern: $(OBJ) build/rel/main.o
	@echo "  LD      $@"
	$(Q)$(CC) $(LDHARDEN) -o $@ $^ $(LIBS)

build/gen/www.c: $(WWW) scripts/embed.sh
	@mkdir -p $(dir $@)
	@echo "  EMBED   www/"
	$(Q)sh scripts/embed.sh www > $@.tmp && mv $@.tmp $@

build/rel/gen/www.o: build/gen/www.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CSTD) $(WARN) -Wno-missing-prototypes $(OPT) $(HARDEN) $(DEPFLAGS) -Isrc -c -o $@ $<

build/asan/gen/www.o: build/gen/www.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CSTD) $(WARN) -Wno-missing-prototypes -O1 -g $(SAN) $(HARDEN) $(DEPFLAGS) -Isrc -c -o $@ $<

build/fuzzobj/gen/www.o: build/gen/www.c
	@mkdir -p $(dir $@)
	$(Q)clang $(CSTD) -O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SAN) -Isrc -c -o $@ $<

build/rel/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CSTD) $(WARN) $(OPT) $(HARDEN) $(FORTIFY) $(DEPFLAGS) $(PKGCFLAGS) -c -o $@ $<

build/asan/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (asan)"
	$(Q)$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) $(HARDEN) $(DEPFLAGS) $(PKGCFLAGS) -c -o $@ $<

build/asan/postern: $(ASAN_OBJ) build/asan/main.o
	@echo "  LD      $@"
	$(Q)$(CC) $(SAN) $(LDHARDEN) -o $@ $^ $(LIBS)

build/asan/unit: $(TESTS) tests/unit/unit.h $(ASAN_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(CSTD) $(WARN) -Wno-missing-prototypes -O1 -g $(SAN) \
	    $(HARDEN) $(LDHARDEN) $(PKGCFLAGS) -Isrc -o $@ $(TESTS) \
	    $(ASAN_OBJ) $(LIBS)

# The whole suite, under AddressSanitizer and UBSan; unformatted code
# fails it first. The unit tests that open a store run again on a
# PostgreSQL cluster of their own (tests/e2e/fixtures_pg.py).
test:
	$(Q)sh scripts/deps.sh test
	$(Q)$(MAKE) --no-print-directory format-check
	$(Q)$(MAKE) --no-print-directory build/asan/postern build/asan/unit
	$(Q)$(MAKE) --no-print-directory fuzz-smoke
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 /usr/bin/python3 \
	    tests/e2e/fixtures_pg.py ./build/asan/unit
	$(Q)cd tests/e2e && POSTERN_BIN=$(CURDIR)/build/asan/postern \
	    ASAN_OPTIONS=detect_leaks=1 \
	    /usr/bin/python3 -m pytest -q -p no:cacheprovider .

# A demo in ./demo: a domain, a user and their credentials, postern and
# a Dovecot of its own for the user's INBOX (IMAP on loopback).
run: all
	$(Q)sh scripts/deps.sh run
	$(Q)sh scripts/demo.sh ./postern demo

# libFuzzer harnesses (clang): a short run of each in `make test`,
# FUZZTIME seconds each with `make fuzz`.
FUZZTIME ?= 60
FUZZ_OBJ := $(SRC:src/%.c=build/fuzzobj/%.o) build/fuzzobj/gen/www.o
FUZZ_SAN := -fsanitize=address,undefined
.SECONDARY: $(FUZZ_OBJ)
build/fuzzobj/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (fuzz)"
	$(Q)clang $(CSTD) -O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SAN) \
	    $(DEPFLAGS) $(PKGCFLAGS) -c -o $@ $<

build/fuzz/%: fuzz/fuzz_%.c $(FUZZ_OBJ)
	@mkdir -p build/fuzz
	@echo "  FUZZ    $@"
	$(Q)clang $(CSTD) -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) \
	    $(PKGCFLAGS) -Isrc -o $@ $< $(FUZZ_OBJ) $(LIBS)

fuzz-smoke: $(FUZZERS:%=build/fuzz/%)
	$(Q)for f in $(FUZZERS); do \
	    mkdir -p fuzz/corpus/$$f build/fuzz/work/$$f; \
	    ./build/fuzz/$$f -runs=20000 -max_len=4096 \
	        -artifact_prefix=build/fuzz/$$f- build/fuzz/work/$$f \
	        fuzz/corpus/$$f \
	        >build/fuzz/$$f.log 2>&1 || { cat build/fuzz/$$f.log; exit 1; }; \
	    echo "  fuzz    $$f: 20000 runs, no crash"; \
	done

fuzz: $(FUZZERS:%=build/fuzz/%)
	$(Q)for f in $(FUZZERS); do \
	    mkdir -p build/fuzz/new/$$f; \
	    ./build/fuzz/$$f -max_total_time=$(FUZZTIME) -max_len=4096 \
	        -artifact_prefix=build/fuzz/$$f- \
	        build/fuzz/new/$$f fuzz/corpus/$$f || exit 1; \
	done

FORMATTED = src/*.c src/*/*.c src/*/*.h tests/unit/*.c tests/unit/*.h fuzz/*.c
format:
	$(Q)clang-format -i $(FORMATTED)

format-check:
	$(Q)clang-format --dry-run --Werror $(FORMATTED) || \
	    { echo "format-check: run \`make format\`" >&2; exit 1; }

clean:
	rm -rf build postern

# header dependencies (-MMD): a changed header rebuilds what includes it
-include $(shell find build -name '*.d' 2>/dev/null)

# postern under load (docs/PERFORMANCE.md)
bench: all
	$(Q)sh scripts/bench.sh
