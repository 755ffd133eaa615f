#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The shape of the tree, as the README's Layout promises it:
  1. every source file is compiled once (into one library or program) in this
     build tree: compile_commands.json names no file twice;
  2. the top level holds only CMakeLists.txt, README.md, agent/, controller/,
     proto/, common/, deploy/, tests/ (and dot files such as .ci/);
  3. no C source or header has more than 1000 lines;
  4. each fault, probe and scenario has its own file, named after it;
  5. every C source and header is as clang-format (the tree's .clang-format)
     writes it, when clang-format is installed.
Usage: layout_check.py SOURCE_DIR BUILD_DIR [--libfuzzer-tree]"""
import json
import os
import subprocess
import sys

TOP = {"CMakeLists.txt", "README.md", "agent", "controller", "proto", "common",
       "deploy", "tests"}
MAX_LINES = 1000


def tracked(src):
    """The files git tracks, or None outside a git checkout."""
    try:
        out = subprocess.run(["git", "-C", src, "ls-files"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [f for f in out.splitlines() if os.path.exists(os.path.join(src, f))]


def compiled_once(build, problems):
    cc = json.load(open(os.path.join(build, "compile_commands.json")))
    seen = {}
    for entry in cc:
        f = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
        seen.setdefault(f, []).append(entry.get("output", "?"))
    for f, outs in sorted(seen.items()):
        if len(outs) > 1:
            problems.append("%s is compiled %d times: %s" % (f, len(outs), ", ".join(outs)))
    return len(seen)


def top_level(files, problems):
    for name in sorted({f.split("/", 1)[0] for f in files}):
        if name not in TOP and not name.startswith("."):
            problems.append("top level: %s is not one of %s" % (name, ", ".join(sorted(TOP))))


def short_files(src, files, problems):
    for f in files:
        if f.endswith((".c", ".h")):
            with open(os.path.join(src, f), errors="replace") as fh:
                n = sum(1 for _ in fh)
            if n > MAX_LINES:
                problems.append("%s has %d lines (at most %d)" % (f, n, MAX_LINES))


def formatted(src, files, problems):
    """True when clang-format ran; each file it would change is a problem."""
    import re
    import shutil
    exe = shutil.which("clang-format")
    sources = [f for f in files if f.endswith((".c", ".h"))]
    if exe is None or not sources:
        return False
    out = subprocess.run([exe, "--dry-run", "-Werror"] + sources, cwd=src,
                         capture_output=True, text=True).stderr
    for f in sorted(set(re.findall(r"^(\S+?):\d+:\d+: error:", out, re.M))):
        problems.append("%s is not as clang-format writes it (clang-format -i %s)" % (f, f))
    return True


# The short file names of two kinds (the proto's names are longer).
FILE_NAME = {"pg_terminate": "pgterm", "postgres": "pg"}


def kinds(src):
    """Fault kinds (FaultSpec's oneof), probe kinds (ProbeKind) and the
    scenarios of scenarios.c, read from the sources themselves."""
    import re
    proto = open(os.path.join(src, "proto/chaos.proto")).read()
    spec = proto[proto.index("message FaultSpec"):]
    oneof = spec[spec.index("oneof kind"):spec.index("}")]
    faults = re.findall(r"^\s*\w+\s+(\w+)\s*=", oneof, re.M)
    probes = [k.lower() for k in re.findall(r"PROBE_KIND_(\w+)\s*=", proto)
              if k != "UNSPECIFIED"]
    listed = open(os.path.join(src, "controller/scenarios/scenarios.c")).read()
    scenarios = re.findall(r"&scenario_(\w+)", listed)
    return faults, probes, scenarios


def one_file_each(src, problems):
    """Each fault, probe and scenario: its own file, found by its name."""
    faults, probes, scenarios = kinds(src)
    want = (["agent/fault_%s.c" % FILE_NAME.get(f, f) for f in faults] +
            ["agent/probe_%s.c" % FILE_NAME.get(p, p) for p in probes] +
            ["controller/scenarios/%s.c" % s for s in scenarios])
    for f in want:
        if not os.path.exists(os.path.join(src, f)):
            problems.append("%s is missing: one file per fault, probe and scenario" % f)
    if len(faults) < 3 or len(probes) < 3 or len(scenarios) < 3:
        problems.append("could not read the kinds (faults %s, probes %s, scenarios %s)"
                        % (faults, probes, scenarios))


def main():
    src, build = sys.argv[1], sys.argv[2]
    problems = []
    n = 0
    if "--libfuzzer-tree" not in sys.argv[3:]:
        # a libFuzzer tree compiles the code under test into each target on purpose
        n = compiled_once(build, problems)
    files = tracked(src)
    fmt = False
    if files is not None:
        top_level(files, problems)
        short_files(src, files, problems)
        fmt = formatted(src, files, problems)
    one_file_each(src, problems)
    for p in problems:
        print("FAIL:", p)
    if problems:
        return 1
    print("ok: %d sources each compiled once; top level as documented; no C file over "
          "%d lines; one file per scenario, fault and probe; %s" % (
              n, MAX_LINES, "every C file as clang-format writes it" if fmt
              else "formatting not checked (no clang-format, or not a git checkout)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
