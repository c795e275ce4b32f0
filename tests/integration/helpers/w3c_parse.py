#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""w3c_parse.py FILE: reads a W3C extended log file the way IIS log parsers
(Log Parser, GoAccess's W3C format, ...) do: directives start with '#', the
latest '#Fields:' directive names the space-separated fields of the lines after
it. Prints one JSON object per entry (field name -> value). Exits 1 when a
line comes before any #Fields: directive or has another number of fields."""
import json
import sys

fields = None
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    line = line.rstrip("\n")
    if line.startswith("#"):
        if line.startswith("#Fields: "):
            fields = line[len("#Fields: "):].split(" ")
        continue
    if fields is None:
        sys.exit("w3c_parse: line %d: an entry before any #Fields: directive" % n)
    values = line.split(" ")
    if len(values) != len(fields):
        sys.exit("w3c_parse: line %d: %d fields, #Fields: names %d" % (n, len(values), len(fields)))
    print(json.dumps(dict(zip(fields, values))))
