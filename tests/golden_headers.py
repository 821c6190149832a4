#!/usr/bin/python3
"""Write the header section of every answer in golden cases (tests/golden.c).

Usage: golden_headers.py GOLDEN DIR

Runs GOLDEN (the built runner) with IGDD_GOLDEN_UPDATE=1 over DIR and puts
the header fields it reports for each exchange (those a case compares: every
field but Date, Server and Content-Length, which the runner checks by rule)
into DIR/NAME.case, between the "<<< STATUS" line and the body, followed by
an empty line. A header section already there is replaced; nothing else of a
case changes: the requests, bodies and comments stay as written. The result
is for review (git diff) before it is committed: the runner reports what the
code does, not what it should do.
"""
import os
import re
import subprocess
import sys

FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:")


def answers(update_text):
    """{case name: [[field lines] per answer, in order]} from update mode's output."""
    out, name, lines, i = {}, None, update_text.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("==== "):
            name = line[5:]
            out[name] = []
        elif line.startswith("<<< ") and name:
            fields = []
            i += 1
            while i < len(lines) and lines[i] != "":
                fields.append(lines[i])
                i += 1
            out[name].append(fields)
        i += 1
    return out


def splice(text, blocks, name):
    """text with each answer's header section set to the next of blocks."""
    lines = text.split("\n")
    res, i, k = [], 0, 0
    while i < len(lines):
        line = lines[i]
        res.append(line)
        i += 1
        if not line.startswith("<<< "):
            continue
        # An existing section: field lines up to an empty line.
        j = i
        while j < len(lines) and FIELD.match(lines[j]):
            j += 1
        if j < len(lines) and lines[j] == "":
            i = j + 1
        if k >= len(blocks):
            sys.exit("%s: more answers than the runner reported" % name)
        res.extend(blocks[k])
        res.append("")
        k += 1
    if k != len(blocks):
        sys.exit("%s: %d answers in the file, %d reported" % (name, k, len(blocks)))
    return "\n".join(res)


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    golden, d = argv[1], argv[2]
    env = dict(os.environ, IGDD_GOLDEN_UPDATE="1")
    run = subprocess.run([golden, d], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         check=False)
    got = answers(run.stdout.decode(errors="surrogateescape"))
    for name in sorted(got):
        path = os.path.join(d, name)
        with open(path, errors="surrogateescape") as f:
            text = f.read()
        new = splice(text, got[name], name)
        if new != text:
            with open(path, "w", errors="surrogateescape") as f:
                f.write(new)
            print("updated", name)


if __name__ == "__main__":
    main(sys.argv)
