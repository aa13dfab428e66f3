#!/usr/bin/env python3
"""Mutation check: applies each mutation in mutations.json alone to the library's headers,
builds the test sources that must catch it into a small doctest program, runs it with a time
limit, restores the header, and prints a table and the score.

    python3 tests/mutants/run.py                 # every mutation (about 20-30 minutes on 2 cores)
    python3 tests/mutants/run.py --only ID[,ID]  # some of them
    python3 tests/mutants/run.py --list

Needs what the tests need (Debian: .ci/install-deps) and python3. Builds in build-mutants/.
The PostgreSQL mutations' tests start their own server as the CMake build's do (the server
programs must be installed, else those tests skip and their mutations survive); the template
cluster is kept in build-mutants/pg-template.
Exit status 0 when every mutation is killed or explained as equivalent, 1 otherwise.
"""
import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HEADERS = os.path.join(ROOT, "include", "allthings", "webhooks")
TESTS = os.path.join(ROOT, "tests")
WORK = os.path.join(ROOT, "build-mutants")
CXX = os.environ.get("CXX", "g++")


def pkg_config(*args):
    return shlex.split(subprocess.check_output(["pkg-config", *args], text=True))


CFLAGS = ["-std=c++17", "-O0", "-w", "-I" + os.path.join(ROOT, "include"),
          '-DALLTHINGS_WEBHOOKS_VECTORS="%s"' % os.path.join(TESTS, "vectors", "hmac-sha256.json"),
          '-DALLTHINGS_WEBHOOKS_SCHEME_VECTORS="%s"' % os.path.join(TESTS, "vectors", "schemes.json"),
          '-DALLTHINGS_WEBHOOKS_PG_TEMPLATE="%s"' % os.path.join(WORK, "pg-template")]
CFLAGS += pkg_config("--cflags", "cpp-httplib", "libpq")
LIBS = pkg_config("--libs", "cpp-httplib", "sqlite3", "libssl", "libcrypto") + ["-pthread"]
# The PostgreSQL tests that start replicas as processes of their own need that program too,
# built from the same (mutated) headers.
NEEDS_PG_RECEIVER = {"postgres/postgres_lease_test.cpp", "postgres/postgres_crash_test.cpp"}


def program_kind(source):
    """Test sources of one kind share a program in the baseline, as in the CMake build."""
    return source.split("/")[0] if source.split("/")[0] in ("durable", "postgres", "reconcile") else ""


def compile_program(name, sources, timeout):
    """Builds tests/main.cpp (compiled once) and `sources` into WORK/name; returns an error
    text, or None."""
    main_object = os.path.join(WORK, "main.o")
    if not os.path.exists(main_object):
        subprocess.run([CXX, *CFLAGS, "-c", os.path.join(TESTS, "main.cpp"), "-o", main_object],
                       check=True)
    # Some core tests use a symbol defined next to the umbrella-only check.
    if not any(program_kind(source) for source in sources):
        sources = sources + ["umbrella_only.cpp"]
    flags, libs = list(CFLAGS), list(LIBS)
    if any(program_kind(source) == "postgres" for source in sources):
        libs += pkg_config("--libs", "libpq")
        if NEEDS_PG_RECEIVER & set(sources):
            receiver = os.path.join(WORK, name + "-pg-receiver")
            flags.append('-DALLTHINGS_WEBHOOKS_POSTGRES_RECEIVER="%s"' % receiver)
            error = build([CXX, *CFLAGS, os.path.join(TESTS, "postgres", "receiver_process.cpp"),
                           "-o", receiver, *libs], timeout)
            if error:
                return error
    return build([CXX, *flags, main_object, *[os.path.join(TESTS, s) for s in sources],
                  "-o", os.path.join(WORK, name), *libs], timeout)


def build(command, timeout):
    """Runs a compiler command; returns an error text, or None."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"the build took longer than {timeout} s"
    if result.returncode != 0:
        return result.stderr[-2000:]
    return None


def run_program(name, timeout):
    """'passed', 'failed' or 'timeout'."""
    try:
        result = subprocess.run([os.path.join(WORK, name), "--no-colors"], capture_output=True,
                                text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout"
    return "passed" if result.returncode == 0 else "failed"


def main():
    # A kill must still restore the mutated header (the `finally` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated mutation ids")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per build and per run")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip checking that the unmutated tests pass")
    args = parser.parse_args()

    with open(os.path.join(os.path.dirname(__file__), "mutations.json")) as f:
        mutations = json.load(f)["mutations"]
    if args.list:
        for m in mutations:
            print(f"{m['id']:32} {m['area']:16} {m['file']}")
        return 0
    if args.only:
        wanted = set(args.only.split(","))
        mutations = [m for m in mutations if m["id"] in wanted]
        missing = wanted - {m["id"] for m in mutations}
        if missing:
            sys.exit("unknown mutation ids: " + ", ".join(sorted(missing)))

    os.makedirs(WORK, exist_ok=True)
    for m in mutations:  # every rule must apply exactly once before anything is built
        with open(os.path.join(HEADERS, m["file"])) as f:
            count = f.read().count(m["find"])
        if count != 1:
            sys.exit(f"{m['id']}: `find` occurs {count} times in {m['file']}, not once")

    if not args.no_baseline:
        # Every test source used, in one program per kind (core, durable, postgres, reconcile):
        # all must pass.
        used = sorted({source for m in mutations for source in m["tests"]})
        for kind in sorted({program_kind(s) for s in used}):
            sources = [s for s in used if program_kind(s) == kind]
            if not sources:
                continue
            error = compile_program("baseline", sources, args.timeout)
            outcome = "build failed:\n" + error if error else run_program("baseline", args.timeout)
            if outcome != "passed":
                sys.exit(f"baseline ({', '.join(sources)}) does not pass: {outcome}")
        print(f"baseline: the unmutated tests pass ({len(mutations)} mutations to check)")

    rows = []
    for m in mutations:
        path = os.path.join(HEADERS, m["file"])
        with open(path) as f:
            original = f.read()
        started = time.time()
        try:
            with open(path, "w") as f:
                f.write(original.replace(m["find"], m["replace"], 1))
            error = compile_program("mutant", list(m["tests"]), args.timeout)
            if error:
                verdict = "INVALID (does not build)"
            else:
                outcome = run_program("mutant", args.timeout)
                verdict = "survived" if outcome == "passed" else f"killed ({outcome})"
        finally:
            with open(path, "w") as f:
                f.write(original)
        if verdict == "survived" and m.get("equivalent"):
            verdict = "survived, equivalent"
        rows.append((m, verdict, time.time() - started))
        print(f"{m['id']:32} {verdict:24} {rows[-1][2]:5.0f} s", flush=True)

    killed = sum(1 for _, v, _ in rows if v.startswith("killed"))
    equivalent = sum(1 for _, v, _ in rows if v == "survived, equivalent")
    unexplained = [m["id"] for m, v, _ in rows if v in ("survived",) or v.startswith("INVALID")]
    print()
    print("| mutation | area | file | verdict | caught by |")
    print("|---|---|---|---|---|")
    for m, verdict, _ in rows:
        note = m.get("equivalent", "") if verdict == "survived, equivalent" else ""
        print(f"| {m['id']} | {m['area']} | {m['file']} | {verdict}{': ' + note if note else ''} "
              f"| {', '.join(m['tests'])} |")
    total = len(rows)
    print()
    print(f"score: {killed}/{total} killed = {100.0 * killed / total:.0f}%; "
          f"{equivalent} equivalent; unexplained survivors: {', '.join(unexplained) or 'none'}")
    return 0 if not unexplained else 1


if __name__ == "__main__":
    sys.exit(main())
