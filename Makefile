# SPDX-License-Identifier: ISC
# Top-level Makefile: builds scepd and scepctl from src/, the unit tests and fuzz
# replayers from tests/, and runs the whole suite with `make check`.
# ./configure (made from configure.ac) writes config.mk; a fresh clone runs it itself.

-include config.mk

WARN    = -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wstrict-prototypes \
          -Wmissing-prototypes -Wno-unused-parameter -Werror=implicit-function-declaration
CFLAGS_USER ?= -O2 -g
CFLAGS  = -std=c11 $(CFLAGS_USER) $(WARN) $(SANITIZE)
CPPFLAGS = -D_GNU_SOURCE -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED \
           -Isrc $(CPPFLAGS_EXT)
LDFLAGS += $(SANITIZE)
LDLIBS  = $(LIBS_EXT)

# Every source in src/ except the two programs' entry points goes into libscepd.a,
# which the programs, the unit tests and the fuzz targets all link (STYLE.md 3).
PROGRAM_SRCS = src/scepd.c src/scepctl.c
LIB_SRCS  = $(filter-out $(PROGRAM_SRCS),$(sort $(wildcard src/*.c)))
LIB_OBJS  = $(LIB_SRCS:.c=.o)
UNIT_SRCS = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS = $(UNIT_SRCS:.c=)
FUZZ_SRCS = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS = $(FUZZ_SRCS:.c=)

all: scepd scepctl

config.mk: configure.ac config.mk.in
	autoconf && ./configure

src/libscepd.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $(LIB_OBJS)

scepd: src/scepd.o src/libscepd.a
	$(CC) $(LDFLAGS) -o $@ src/scepd.o src/libscepd.a $(LDLIBS)
scepctl: src/scepctl.o src/libscepd.a
	$(CC) $(LDFLAGS) -o $@ src/scepctl.o src/libscepd.a $(LDLIBS)

src/%.o: src/%.c $(wildcard src/*.h) config.mk
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

tests/unit/test_%: tests/unit/test_%.c tests/unit/tap.h src/libscepd.a
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(LDFLAGS) -o $@ $< src/libscepd.a $(LDLIBS)

# Without a fuzzing engine each target is linked with replay.c, which runs it over
# its corpus and over every truncation and single-bit flip of each corpus file.
tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c src/libscepd.a
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c src/libscepd.a $(LDLIBS)

build-tests: all $(UNIT_BINS) $(FUZZ_BINS)

check: build-tests
	tests/run

install: all
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(sysconfdir)/scepd \
	    $(DESTDIR)$(mandir)/man5 $(DESTDIR)$(mandir)/man8 $(DESTDIR)$(datarootdir)/scepd/sql
	install -m 0755 scepd scepctl $(DESTDIR)$(sbindir)/
	install -m 0644 etc/scepd.conf $(DESTDIR)$(sysconfdir)/scepd/scepd.conf.sample
	install -m 0644 man/scepd.conf.5 $(DESTDIR)$(mandir)/man5/
	install -m 0644 man/scepd.8 man/scepctl.8 $(DESTDIR)$(mandir)/man8/
	install -m 0644 sql/*.sql $(DESTDIR)$(datarootdir)/scepd/sql/

clean:
	rm -f scepd scepctl src/*.o src/libscepd.a $(UNIT_BINS) $(FUZZ_BINS)

distclean: clean
	rm -rf config.mk config.log config.status configure autom4te.cache

.PHONY: all build-tests check install clean distclean
