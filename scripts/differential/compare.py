#!/usr/bin/env python3
"""Compares edba's and moto's results of a corpus.

    compare.py CASES_JSON EDBA_RESULTS MOTO_RESULTS

Agreement: the same status; on success the same output (parsed values, numbers
compared numerically so 1 == 1.0); on failure the same error name (causes are
free text and differ between implementations). Prints every disagreement and a
closing `N passed, M failed` line; exits 1 on any disagreement.
"""

import json
import sys


def same(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def agree(e, m):
    if e["status"] != m["status"]:
        return False
    if e["status"] == "SUCCEEDED":
        return same(e["output"], m["output"])
    if e["status"] == "INVALID":
        return True
    return e["error"] == m["error"]


def main():
    cases_path, edba_path, moto_path = sys.argv[1:4]
    with open(cases_path) as f:
        cases = json.load(f)
    with open(edba_path) as f:
        edba = json.load(f)
    with open(moto_path) as f:
        moto = json.load(f)
    passed, failed = 0, []
    for case in cases:
        e, m = edba[case["id"]], moto[case["id"]]
        if agree(e, m):
            passed += 1
        else:
            failed.append((case, e, m))
    for case, e, m in failed:
        print(f"--- DISAGREEMENT {case['id']}")
        print("definition:", json.dumps(case["definition"]))
        print("input:     ", json.dumps(case["input"]))
        print("edba:      ", json.dumps(e))
        print("moto:      ", json.dumps(m))
    statuses = {}
    for case in cases:
        s = edba[case["id"]]["status"]
        statuses[s] = statuses.get(s, 0) + 1
    print("edba statuses:", ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    print(f"{passed} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
