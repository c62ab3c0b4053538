#!/usr/bin/env python3
"""Runs every case of a corpus through `edba exec`.

    run_edba.py EDBA_BINARY CASES_JSON RESULTS_JSON [--jobs N]

Same result shape as run_moto.py. `edba exec` prints the output JSON on
stdout, or exits non-zero with `execution FAILED: <Error>: <Cause>` on stderr;
any other non-zero exit (a refused definition) is status INVALID.
"""

import argparse
import json
import os
import re
import subprocess
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor

FAILED = re.compile(r"^execution (FAILED|TIMED_OUT): ([^:\n]*): (.*)$", re.M | re.S)


LOCAL = threading.local()


def home(work):
    # One home per worker: a home holds a SQLite store and an S3 folder
    # (~0.4 MB), reused by the worker's runs rather than made per case.
    if not hasattr(LOCAL, "home"):
        LOCAL.home = tempfile.mkdtemp(prefix="home-", dir=work)
    return LOCAL.home


def run_case(binary, work, case):
    d = os.path.join(work, case["id"])
    os.makedirs(d, exist_ok=True)
    try:
        return run_in(binary, work, d, case)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run_in(binary, work, d, case):
    definition = os.path.join(d, "definition.asl.json")
    with open(definition, "w") as f:
        json.dump(case["definition"], f)
    with open(os.path.join(d, "input.json"), "w") as f:
        json.dump(case["input"], f)
    p = subprocess.run(
        [binary, "exec", definition, "--input", "@" + os.path.join(d, "input.json"), "--home", home(work)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if p.returncode == 0:
        return {"status": "SUCCEEDED", "output": json.loads(p.stdout), "error": None, "cause": None}
    m = FAILED.search(p.stderr)
    if m:
        return {"status": m.group(1), "output": None, "error": m.group(2), "cause": m.group(3).strip()}
    return {"status": "INVALID", "output": None, "error": "edba refused", "cause": p.stderr.strip()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("cases")
    ap.add_argument("out")
    ap.add_argument("--jobs", type=int, default=4)
    args = ap.parse_args()
    with open(args.cases) as f:
        cases = json.load(f)
    with tempfile.TemporaryDirectory(prefix="edba-diff-") as work:
        with ThreadPoolExecutor(args.jobs) as pool:
            outs = list(pool.map(lambda c: run_case(os.path.abspath(args.binary), work, c), cases))
    with open(args.out, "w") as f:
        json.dump({c["id"]: r for c, r in zip(cases, outs)}, f, indent=1)


if __name__ == "__main__":
    main()
