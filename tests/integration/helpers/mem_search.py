#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""mem_search.py PID NEEDLES: exit 0 when the memory of process PID holds one
of the byte strings in NEEDLES (one hex string a line), big- or little-endian;
exit 1 when it holds none; exit 2 when the memory cannot be read.

Reads every readable mapping of the live process through /proc/PID/mem, which
is what a core dump of it would hold (t_signer.sh: where the CA key is). A
mapping over 1 GiB is skipped: that is only a sanitizer's shadow memory (bytes
saying which addresses may be used, never data) or an untouched reservation,
and a sanitizer build would otherwise need terabytes read. Prints how many
mappings and bytes were searched to stderr."""
import re
import sys

MAX_MAPPING = 1 << 30


def mappings(pid):
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            if m and m.group(3).startswith("r"):
                yield int(m.group(1), 16), int(m.group(2), 16)


def main():
    pid, needle_file = sys.argv[1], sys.argv[2]
    needles = []
    for line in open(needle_file):
        b = bytes.fromhex(line.strip())
        needles += [b, b[::-1]]
    searched = total = 0
    try:
        mem = open(f"/proc/{pid}/mem", "rb", buffering=0)
        regions = list(mappings(pid))
    except OSError as e:
        print(f"mem_search: cannot read process {pid}: {e}", file=sys.stderr)
        return 2
    found = False
    for start, end in regions:
        if end - start > MAX_MAPPING:
            continue
        try:
            mem.seek(start)
            data = mem.read(end - start)
        except OSError:
            continue   # [vvar] and guard pages cannot be read
        searched += 1
        total += len(data)
        if any(n in data for n in needles):
            found = True
            break
    print(f"mem_search: {searched} mappings, {total} bytes searched", file=sys.stderr)
    if searched == 0:
        return 2
    return 0 if found else 1


if __name__ == "__main__":
    sys.exit(main())
