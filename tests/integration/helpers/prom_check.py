#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""prom_check.py FILE: checks that FILE is valid Prometheus text exposition
format (0.0.4) as scepd writes it, and prints every sample as
`name{label="v",...} value` with labels sorted, for the test to grep.
Checks: each line a HELP/TYPE comment or a sample; metric and label names
valid; label values properly escaped; values parse as floats; every sample's
family has one TYPE, given before its samples; no duplicate series; counters
>= 0; histograms: buckets cumulative (non-decreasing by le), an le="+Inf"
bucket equal to _count, and a _sum. Exits 1 with the first problem."""
import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r'"((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r"^(%s)(?:\{((?:%s=%s)(?:,%s=%s)*)?\})? (\S+)$" % (NAME, LABEL, VALUE, LABEL, VALUE))
PAIR = re.compile(r"(%s)=%s" % (LABEL, VALUE))


def die(msg, n=None):
    sys.exit("prom_check: %s%s" % ("line %d: " % n if n else "", msg))


types, seen, samples = {}, set(), []
for n, line in enumerate(open(sys.argv[1]).read().split("\n"), 1):
    if line == "":
        continue
    if line.startswith("#"):
        m = re.match(r"^# (HELP|TYPE) (%s) (.*)$" % NAME, line)
        if not m:
            die("bad comment: %r" % line, n)
        if m.group(1) == "TYPE":
            if m.group(2) in types:
                die("second TYPE for %s" % m.group(2), n)
            if m.group(3) not in ("counter", "gauge", "histogram", "summary", "untyped"):
                die("unknown type %s" % m.group(3), n)
            types[m.group(2)] = m.group(3)
        continue
    m = SAMPLE.match(line)
    if not m:
        die("not a sample: %r" % line, n)
    name = m.group(1)
    labels = dict(PAIR.findall(m.group(2) or ""))
    try:
        v = float(m.group(m.lastindex))
    except ValueError:
        die("bad value in %r" % line, n)
    family = name
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[: -len(suffix)]) == "histogram":
            family = name[: -len(suffix)]
    if family not in types:
        die("sample %s before (or without) its TYPE" % name, n)
    key = (name, tuple(sorted(labels.items())))
    if key in seen:
        die("duplicate series %s %s" % key, n)
    seen.add(key)
    if types[family] == "counter" and v < 0:
        die("negative counter %s" % name, n)
    samples.append((family, name, labels, v))

for family, t in types.items():
    if t != "histogram":
        continue
    buckets = sorted(((float(l["le"]), v) for f, nm, l, v in samples
                      if nm == family + "_bucket"), key=lambda x: x[0])
    if not buckets or buckets[-1][0] != math.inf:
        die("%s has no le=\"+Inf\" bucket" % family)
    for (a, va), (b, vb) in zip(buckets, buckets[1:]):
        if vb < va:
            die("%s buckets not cumulative at le=%s" % (family, b))
    count = [v for f, nm, l, v in samples if nm == family + "_count"]
    total = [v for f, nm, l, v in samples if nm == family + "_sum"]
    if count != [buckets[-1][1]] or len(total) != 1:
        die("%s: _count must equal the +Inf bucket, with one _sum" % family)

for family, name, labels, v in samples:
    lab = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    print("%s%s %s" % (name, "{%s}" % lab if lab else "", ("%d" % v) if v == int(v) else repr(v)))
