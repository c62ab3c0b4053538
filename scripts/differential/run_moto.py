#!/usr/bin/env python3
"""Runs every case of a corpus through moto's Step Functions executor.

    run_moto.py CASES_JSON RESULTS_JSON

RESULTS_JSON maps each case id to {"status", "output" (parsed JSON or null),
"error", "cause"}; "status" is SUCCEEDED, FAILED, TIMED_OUT, ABORTED, or
INVALID when moto refused the definition.
"""

import json
import logging
import sys
import time

import boto3
from moto import mock_aws

ROLE = "arn:aws:iam::123456789012:role/differential"
POLL_LIMIT_S = 60.0
# moto runs each execution on a thread; starting them in batches keeps the
# 1 s Waits and Retries from running one after another.
BATCH = 32


def parse_output(text):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        # moto returns a top-level string output unquoted (`D`, not `"D"`);
        # kept marked so the comparison shows it instead of hiding it.
        return {"<moto output is not JSON>": text}


def result_of(desc):
    return {
        "status": desc["status"],
        "output": parse_output(desc.get("output")),
        "error": desc.get("error"),
        "cause": desc.get("cause"),
    }


@mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
def run(cases):
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    results = {}
    for start in range(0, len(cases), BATCH):
        running = {}
        for case in cases[start:start + BATCH]:
            name = case["id"].replace(".", "_")[:80]
            for attempt in range(3):
                try:
                    arn = sfn.create_state_machine(
                        name=f"{name}-{attempt}" if attempt else name,
                        definition=json.dumps(case["definition"]),
                        roleArn=ROLE,
                    )["stateMachineArn"]
                    running[case["id"]] = sfn.start_execution(stateMachineArn=arn, input=json.dumps(case["input"]))[
                        "executionArn"
                    ]
                    break
                except Exception as e:  # moto refused the definition or the input
                    results[case["id"]] = {
                        "status": "INVALID", "output": None, "error": type(e).__name__, "cause": str(e),
                    }
                    # moto's parser now and then crashes on a definition it
                    # accepts on the next try (an IndexError with no error
                    # code): that is moto's hiccup, not a verdict. A refusal
                    # with an error code is final.
                    code = getattr(e, "response", {}).get("Error", {}).get("Code")
                    if code:
                        break
            else:
                print(f"moto crashed 3 times creating {case['id']}", file=sys.stderr)
            if case["id"] in running:
                results.pop(case["id"], None)
        deadline = time.monotonic() + POLL_LIMIT_S
        while running:
            for cid, arn in list(running.items()):
                desc = sfn.describe_execution(executionArn=arn)
                if desc["status"] != "RUNNING":
                    results[cid] = result_of(desc)
                    del running[cid]
            if time.monotonic() > deadline:
                for cid in running:
                    results[cid] = {"status": "STUCK", "output": None, "error": None, "cause": "still RUNNING"}
                break
            time.sleep(0.02)
    return results


def main():
    cases_path, out_path = sys.argv[1], sys.argv[2]
    # The interpreter logs every failed state with a stack of its parse tree.
    logging.disable(logging.CRITICAL)
    with open(cases_path) as f:
        cases = json.load(f)
    results = run(cases)
    with open(out_path, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
