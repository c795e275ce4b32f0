#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""conf_set.py FILE GROUP KEY VALUE: sets one setting in a scepd.conf written by
`scepctl init` (scepd -T layout: one setting per line, groups `name = {` ... `};`,
unset settings as `# key is not set.`). GROUP "-" is the top level. VALUE is
written as given (libconfig syntax: quote strings yourself). Exits 1 when the
setting is not found."""
import re
import sys

path, group, key, value = sys.argv[1:5]
lines = open(path).read().split("\n")
inside = group == "-"
done = False
for i, line in enumerate(lines):
    if group != "-":
        if re.match(r"^%s = \{$" % re.escape(group), line):
            inside = True
            continue
        if inside and line == "};":
            break
    elif line.endswith("= {"):
        inside = False
    elif line == "};":
        inside = True
        continue
    if not inside:
        continue
    indent = "\t" if group != "-" else ""
    if re.match(r"^%s(%s = .*;|# %s is not set\.)$" % (indent, re.escape(key), re.escape(key)), line):
        lines[i] = "%s%s = %s;" % (indent, key, value)
        done = True
        break
if not done:
    sys.exit("conf_set: %s.%s not found in %s" % (group, key, path))
open(path, "w").write("\n".join(lines))
