#!/usr/bin/env python3
"""Deterministic corpus of ASL state machines + inputs for the differential
test of edba's local executor against moto's (LocalStack's) interpreter.

    gen_corpus.py OUT_DIR [--seed N] [--per-template N]

writes OUT_DIR/cases.json: a list of {"id", "template", "definition", "input"}
and prints how many cases were generated and how many were left out as known
divergences. The same seed always gives the same corpus.

Only states that run without AWS resources are used (no Task: moto would call
real Lambdas), and no random intrinsics (States.MathRandom, States.UUID).
"""

import argparse
import json
import os
import random
import string
import sys

# ---------------------------------------------------------------------------
# Known divergences: cases where moto/LocalStack disagrees with the AWS Step
# Functions documentation or with AWS's recorded behaviour (so edba is right),
# or does not support a feature. Each entry: (name, predicate over (template,
# definition, input), reason). A case matched by a predicate is left out of
# the corpus, and counted in the summary.
KNOWN_DIVERGENCES = []


def divergence(name, reason):
    def register(pred):
        KNOWN_DIVERGENCES.append((name, pred, reason))
        return pred

    return register


def strings(v):
    """Every string (keys and values) in a JSON value."""
    if isinstance(v, str):
        yield v
    elif isinstance(v, list):
        for x in v:
            yield from strings(x)
    elif isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from strings(x)


def expressions(definition):
    return [s for s in strings(definition) if s.startswith("States.")]


@divergence(
    "no-choice-matched",
    "A Choice with no matching rule and no Default fails with States.NoChoiceMatched (AWS docs, "
    "'Error handling in Step Functions' and the ASL spec appendix A: 'A Choice state failed to find a "
    "match for the condition field'); moto fails with States.Runtime 'No branching option reached'.",
)
def _no_choice_matched(tpl, definition, inp):
    return tpl == "choice_no_match" and "Default" not in definition["States"]["S"] and 5 <= inp.get("n", 0) <= 7


@divergence(
    "intrinsic-null-literal",
    "AWS docs (Intrinsic functions, States.Array) show `States.Array('Foo', 2020, $.someJson, null)` "
    "returning [..., null]; moto's intrinsic grammar fails to parse a `null` argument and yields [].",
)
def _null_literal(tpl, definition, inp):
    return any(("(null" in e or ", null" in e) for e in expressions(definition))


@divergence(
    "array-range-negative-step",
    "AWS docs (States.ArrayRange) put no sign restriction on the step, and AWS counts down with a "
    "negative step (e.g. ArrayRange(5, 1, -2) = [5, 3, 1]); moto raises 'Expected step argument to be "
    "non negative'.",
)
def _negative_step(tpl, definition, inp):
    import re

    return any(re.search(r"ArrayRange\([^)]*,\s*-\d+\)", e) for e in expressions(definition))


@divergence(
    "array-unique-objects",
    "States.ArrayUnique removes duplicate values of any JSON type (AWS docs); moto fails with a Python "
    "TypeError ('unhashable type: dict') when the array holds objects or arrays.",
)
def _unique_objects(tpl, definition, inp):
    arr = inp.get("arr") if isinstance(inp, dict) else None
    return any("ArrayUnique" in e for e in expressions(definition)) and any(
        isinstance(x, (dict, list)) for x in (arr or [])
    )


@divergence(
    "base64-decode-invalid",
    "States.Base64Decode of text that is not base64 must fail (AWS docs: the argument is base64 "
    "encoded data); moto's lenient Python decoder drops the bad characters and returns ''.",
)
def _bad_base64(tpl, definition, inp):
    return any("Base64Decode" in e for e in expressions(definition)) and inp.get("s") == "%%%"


@divergence(
    "base64-non-ascii",
    "moto's States.Base64Encode/Base64Decode encode and decode the text as ASCII and fail (Python "
    "UnicodeEncodeError/UnicodeDecodeError) on any other character; JSON text is Unicode and AWS docs "
    "put no ASCII limit on the argument of either function.",
)
def _base64_non_ascii(tpl, definition, inp):
    import base64
    import binascii

    exprs = expressions(definition)
    text = inp.get("s") if isinstance(inp, dict) else None
    if not isinstance(text, str):
        return False
    if any("Base64Encode" in e for e in exprs) and not text.isascii():
        return True
    if any("Base64Decode" in e for e in exprs):
        try:
            return not base64.b64decode(text, validate=True).isascii()
        except (binascii.Error, ValueError):
            return False
    return False


@divergence(
    "map-items-not-array",
    "moto fails a JSONPath Map whose ItemsPath selects a non-array with States.QueryEvaluationError, an "
    "EvaluationFailed event that the AWS API reference (EvaluationFailedEventDetails) says is only present "
    "in JSONata state machines; a JSONPath Map fails with States.Runtime like every other path error.",
)
def _map_not_array(tpl, definition, inp):
    return tpl == "map_bad_items" and "items" in inp and not isinstance(inp["items"], list) and (
        definition["States"]["S"]["ItemsPath"] == "$.items"
    )


@divergence(
    "fail-reserved-error-name",
    "The ASL spec reserves the `States.` prefix; moto refuses a Fail state whose Error uses it (ValueError) "
    "while AWS accepts the definition; how AWS matches such an error is not documented.",
)
def _reserved_error(tpl, definition, inp):
    def fails(v):
        if isinstance(v, dict):
            if v.get("Type") == "Fail" and str(v.get("Error", "")).startswith("States."):
                yield v
            for x in v.values():
                yield from fails(x)
        elif isinstance(v, list):
            for x in v:
                yield from fails(x)

    return any(True for _ in fails(definition))


@divergence(
    "definite-negative-index",
    "`$.arr[-1]` is a single-index, so definite, Jayway path (Step Functions uses Jayway JsonPath) and "
    "selects the last item itself; moto only unwraps non-negative indices (`\\[\\d+\\]$` in "
    "moto/stepfunctions/parser/asl/utils/json_path.py) and returns [item].",
)
def _negative_index(tpl, definition, inp):
    import re

    return any(s.startswith("$") and re.search(r"\[-\d+\]", s) for s in strings(definition))


@divergence(
    "timestamp-fraction-or-offset",
    "AWS docs (Choice state, timestamp comparisons) take RFC 3339 timestamps with an uppercase T and Z "
    "'to denote that a numeric time zone offset is not present', so `2024-05-11T17:27:38+02:00` and "
    "fractional seconds are valid; moto only parses '%Y-%m-%dT%H:%M:%SZ' and fails with a Python TypeError.",
)
def _timestamp_forms(tpl, definition, inp):
    import re

    plain = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
    rfc3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
    uses = any("Timestamp" in k for k in strings(definition))
    values = list(strings(definition)) + list(strings(inp))
    return uses and any(rfc3339.match(v) and not plain.match(v) for v in values)


@divergence(
    "string-matches-escape",
    "AWS docs (Choice state, StringMatches): only `*` is a wildcard and `\\*` matches a literal star; "
    "moto uses Python's fnmatch, which has no escapes (and treats `?` and `[...]` as wildcards).",
)
def _matches_escape(tpl, definition, inp):
    def patterns(v):
        if isinstance(v, dict):
            if isinstance(v.get("StringMatches"), str):
                yield v["StringMatches"]
            for x in v.values():
                yield from patterns(x)
        elif isinstance(v, list):
            for x in v:
                yield from patterns(x)

    return any(any(c in p for c in "\\?[") for p in patterns(definition))


@divergence(
    "definite-path-through-index",
    "A definite JSONPath such as `$[0].n` selects one value (Step Functions uses Jayway JsonPath, AWS docs "
    "'Paths'); moto wraps any match below an array index in a list ([3] instead of 3), a moto-only change "
    "marked 'different from LS' in moto/stepfunctions/parser/asl/utils/json_path.py (moto issue 7825).",
)
def _index_then_field(tpl, definition, inp):
    import re

    def definite(p):
        return not any(c in p for c in "*?,:") and ".." not in p

    return any(s.startswith("$") and definite(s) and re.search(r"\]\.|\]\[", s) for s in strings(definition))


# ---------------------------------------------------------------------------
# Random data


def word(rng, n=None):
    n = n or rng.randint(1, 8)
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(n))


def scalar(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return word(rng)
    if kind == 1:
        return rng.randint(-100, 100)
    if kind == 2:
        return round(rng.uniform(-100, 100), 2)
    if kind == 3:
        return rng.choice([True, False])
    if kind == 4:
        return None
    return rng.randint(0, 5)


def value(rng, depth=0):
    kind = rng.randrange(8 if depth < 2 else 5)
    if kind < 5:
        return scalar(rng)
    if kind < 7:
        return {word(rng): value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return [value(rng, depth + 1) for _ in range(rng.randint(0, 3))]


def obj(rng, keys=3):
    return {word(rng): value(rng) for _ in range(rng.randint(1, keys))}


def targets(state):
    out = [state.get("Next"), state.get("Default")]
    out += [c.get("Next") for c in state.get("Choices", [])]
    out += [c.get("Next") for c in state.get("Catch", [])]
    return [t for t in out if t]


def machine(states, start="S"):
    """A machine of the states reachable from `start` (Step Functions refuses
    unreachable states, and so does edba)."""
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += targets(states[name])
    return {"StartAt": start, "States": {k: v for k, v in states.items() if k in seen}}


def pick_optional(rng, options):
    """One of `options`; the string "ABSENT" means: leave the field out."""
    return rng.choice(options)


def put(d, key, v):
    if v != "ABSENT":
        d[key] = v
    return d


# ---------------------------------------------------------------------------
# Templates. Each takes a Random and returns (definition, input).

TEMPLATES = []


def template(fn):
    TEMPLATES.append(fn)
    return fn


@template
def pass_result_paths(rng):
    inp = {"a": obj(rng), "x": {"k": word(rng), "n": rng.randint(0, 9)}, "y": value(rng)}
    state = {"Type": "Pass", "End": True}
    if rng.random() < 0.8:
        state["Result"] = value(rng) if rng.random() < 0.5 else obj(rng)
    result_path = pick_optional(rng, ["ABSENT", "$", "$.r", "$.x.new", "$.a.deep.er", None])
    put(state, "ResultPath", result_path)
    put(state, "InputPath", pick_optional(rng, ["ABSENT", "$", "$.x", None]))
    outs = ["ABSENT", "$", None]
    if result_path in ("$.r",):
        outs += ["$.r", "$.x"]
    if result_path is None or result_path == "$.x.new":
        outs += ["$.x", "$.a"]
    if rng.random() < 0.1:
        outs = ["$.missing"]
    put(state, "OutputPath", rng.choice(outs))
    return machine({"S": state}), inp


@template
def pass_parameters(rng):
    inp = {"name": word(rng), "n": rng.randint(-50, 50), "nested": {"k": value(rng), "arr": [value(rng) for _ in range(3)]}}
    params = {
        "static": value(rng),
        "fromInput.$": rng.choice(["$.name", "$.n", "$.nested", "$.nested.k", "$.nested.arr[1]", "$"]),
        "obj": {"inner.$": "$.nested.arr", "lit": word(rng)},
        "state.$": "$$.State.Name",
        "execInput.$": "$$.Execution.Input.name",
        "list": [1, {"x.$": "$.n"}, word(rng)],
    }
    if rng.random() < 0.3:
        params["bad.$"] = "$.nope"
    state = {"Type": "Pass", "Parameters": params, "Next": "T"}
    put(state, "InputPath", pick_optional(rng, ["ABSENT", "$"]))
    put(state, "ResultPath", pick_optional(rng, ["ABSENT", "$.p", None]))
    tail = {"Type": "Pass", "End": True}
    put(tail, "OutputPath", pick_optional(rng, ["ABSENT", "$"]))
    return machine({"S": state, "T": tail}), inp


@template
def pass_null_paths(rng):
    inp = obj(rng)
    state = {"Type": "Pass", "End": True}
    choice = rng.randrange(4)
    if choice == 0:
        state["InputPath"] = None
    elif choice == 1:
        state["OutputPath"] = None
    elif choice == 2:
        state["ResultPath"] = None
        state["Result"] = value(rng)
    else:
        state["InputPath"] = None
        state["Parameters"] = {"c": word(rng), "all.$": "$"}
    return machine({"S": state}), inp


JSONPATHS = [
    "$.arr[0]",
    "$.arr[2]",
    "$.arr[-1]",
    "$.obj.k",
    "$.obj['with space']",
    "$.items[*].id",
    "$.items[?(@.n > 2)].id",
    "$.items[?(@.tag == 'a')]",
    "$.arr[1:3]",
    "$..id",
    "$.items[0,2].id",
    "$.items[1].id",
    "$.arr[9]",
    "$.obj.missing",
]


@template
def pass_jsonpath(rng):
    inp = {
        "arr": [rng.randint(0, 9) for _ in range(rng.randint(3, 5))],
        "obj": {"k": word(rng), "with space": rng.randint(0, 5)},
        "items": [{"id": word(rng), "n": rng.randint(0, 5), "tag": rng.choice("ab")} for _ in range(rng.randint(3, 5))],
    }
    path = rng.choice(JSONPATHS)
    state = {"Type": "Pass", "Parameters": {"v.$": path}, "End": True}
    return machine({"S": state}), inp


# --- Choice ---------------------------------------------------------------

def ts(rng):
    y = rng.choice([2023, 2024])
    base = f"{y}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T1{rng.randint(0, 9)}:{rng.randint(10, 59)}:{rng.randint(10, 59)}"
    return base + rng.choice(["Z", "Z", "Z", ".5Z", "+02:00"])


def operand_for(family, rng):
    if family == "String":
        return rng.choice(["apple", "banana", "cherry", "b", ""])
    if family == "Numeric":
        return rng.choice([0, 1, 2.5, -3, 10, 1.0])
    if family == "Timestamp":
        return ts(rng)
    return rng.choice([True, False])


def variable_for(family, rng):
    if rng.random() < 0.15:  # a value of another type
        return rng.choice(["1", 1, True, None, [1], {"a": 1}])
    return operand_for(family, rng)


RELATIONS = ["Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals"]


def branches(default=True):
    states = {
        "A": {"Type": "Pass", "Result": {"took": "A"}, "End": True},
        "B": {"Type": "Pass", "Result": {"took": "B"}, "End": True},
    }
    if default:
        states["D"] = {"Type": "Pass", "Result": {"took": "D"}, "End": True}
    return states


@template
def choice_compare(rng):
    family = rng.choice(["String", "Numeric", "Timestamp"])
    op = family + rng.choice(RELATIONS)
    v = variable_for(family, rng)
    if rng.random() < 0.3 and family != "Timestamp":
        v = operand_for(family, rng)
    o = operand_for(family, rng)
    if rng.random() < 0.3:
        o = v if not isinstance(v, (list, dict, type(None), bool)) else o
        if (family == "String" and not isinstance(o, str)) or (family == "Numeric" and (isinstance(o, bool) or not isinstance(o, (int, float)))) or (family == "Timestamp" and not isinstance(o, str)):
            o = operand_for(family, rng)
    st = branches()
    st["S"] = {"Type": "Choice", "Choices": [{"Variable": "$.v", op: o, "Next": "A"}], "Default": "D"}
    return machine(st), {"v": v, "other": 1}


@template
def choice_path_ops(rng):
    family = rng.choice(["String", "Numeric", "Timestamp", "Boolean"])
    op = family + ("Equals" if family == "Boolean" else rng.choice(RELATIONS)) + "Path"
    v, w = variable_for(family, rng), operand_for(family, rng)
    if rng.random() < 0.3:
        w = v
    st = branches()
    st["S"] = {"Type": "Choice", "Choices": [{"Variable": "$.v", op: "$.w", "Next": "A"}], "Default": "D"}
    return machine(st), {"v": v, "w": w}


@template
def choice_boolean(rng):
    v = variable_for("Boolean", rng)
    st = branches()
    st["S"] = {"Type": "Choice", "Choices": [{"Variable": "$.v", "BooleanEquals": rng.choice([True, False]), "Next": "A"}], "Default": "D"}
    return machine(st), {"v": v}


TYPE_TESTS = ["IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"]


@template
def choice_type_tests(rng):
    op = rng.choice(TYPE_TESTS)
    v = rng.choice([None, 1, 2.5, "x", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05", True, [1], {"a": 1}])
    inp = {"v": v} if (op != "IsPresent" or rng.random() < 0.5) else {"other": 1}
    st = branches()
    st["S"] = {"Type": "Choice", "Choices": [{"Variable": "$.v", op: rng.choice([True, False]), "Next": "A"}], "Default": "D"}
    return machine(st), inp


def simple_rule(rng, var):
    family = rng.choice(["String", "Numeric", "Boolean", "Presence"])
    if family == "Boolean":
        return {"Variable": var, "BooleanEquals": rng.choice([True, False])}
    if family == "Presence":
        return {"Variable": var, "IsPresent": rng.choice([True, False])}
    return {"Variable": var, family + rng.choice(RELATIONS): operand_for(family, rng)}


def rule_tree(rng, depth, vars_):
    if depth == 0 or rng.random() < 0.3:
        return simple_rule(rng, rng.choice(vars_))
    kind = rng.choice(["And", "Or", "Not"])
    if kind == "Not":
        return {"Not": rule_tree(rng, depth - 1, vars_)}
    return {kind: [rule_tree(rng, depth - 1, vars_) for _ in range(rng.randint(2, 3))]}


@template
def choice_logic(rng):
    inp = {"s": rng.choice(["apple", "banana", "cherry"]), "n": rng.choice([0, 1, 2.5, 10]), "b": rng.choice([True, False])}
    # Only variables that exist unless under IsPresent, so the run does not fail.
    vars_ = ["$.s", "$.n", "$.b"]
    rules = []
    for target in ("A", "B"):
        r = rule_tree(rng, 2, vars_)
        r["Next"] = target
        rules.append(r)
    st = branches()
    st["S"] = {"Type": "Choice", "Choices": rules, "Default": "D"}
    return machine(st), inp


@template
def choice_string_matches(rng):
    s = rng.choice(["log-2024.txt", "log.csv", "a*b", "axb", "data/2024/01/file.tdf", "", "abcabc"])
    pattern = rng.choice(["log-*.txt", "*", "a\\*b", "*.csv", "data/*/01/*", "*c*c", "abc", "*2024*"])
    st = branches()
    st["S"] = {"Type": "Choice", "Choices": [{"Variable": "$.s", "StringMatches": pattern, "Next": "A"}], "Default": "D"}
    return machine(st), {"s": s}


@template
def choice_no_match(rng):
    st = branches(default=False)
    n = rng.randint(0, 10)
    st["S"] = {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.n", "NumericLessThan": 5, "Next": "A"},
            {"Variable": "$.n", "NumericGreaterThan": 7, "Next": "B"},
        ],
    }
    if rng.random() < 0.3:
        st["S"]["Choices"].append({"Variable": "$.missing", "NumericEquals": 1, "Next": "B"})
    put(st["S"], "InputPath", pick_optional(rng, ["ABSENT", "$"]))
    put(st["S"], "OutputPath", pick_optional(rng, ["ABSENT", "$"]))
    return machine(st), {"n": n}


# --- Map ------------------------------------------------------------------


@template
def map_item_selector(rng):
    items = [value(rng) for _ in range(rng.randint(0, 5))]
    inp = {"items": items, "const": word(rng), "other": rng.randint(0, 9)}
    m = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemSelector": {"idx.$": "$$.Map.Item.Index", "val.$": "$$.Map.Item.Value", "c.$": "$.const", "lit": 1},
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Parameters": {"i.$": "$.idx", "v.$": "$.val", "c.$": "$.c"}, "End": True}},
        },
        "End": True,
    }
    put(m, "MaxConcurrency", pick_optional(rng, ["ABSENT", 0, 1, 2]))
    put(m, "ResultPath", pick_optional(rng, ["ABSENT", "$.out", None]))
    return machine({"S": m}), inp


@template
def map_plain_items(rng):
    items = [rng.randint(-5, 15) for _ in range(rng.randint(1, 6))]
    proc = {
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThan": 5, "Next": "Big"}], "Default": "Small"},
            "Big": {"Type": "Pass", "Parameters": {"big.$": "$"}, "End": True},
            "Small": {"Type": "Pass", "Result": "small", "End": True},
        },
    }
    m = {"Type": "Map", "ItemsPath": "$.data.items", "Iterator": proc, "MaxConcurrency": rng.choice([0, 1, 3]), "End": True}
    put(m, "ResultSelector", pick_optional(rng, ["ABSENT", {"all.$": "$", "first.$": "$[0]"}]))
    put(m, "OutputPath", pick_optional(rng, ["ABSENT", "$"]))
    return machine({"S": m}), {"data": {"items": items}}


@template
def map_failure(rng):
    items = [rng.randint(0, 9) for _ in range(rng.randint(1, 5))]
    proc = {
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.v", "NumericEquals": 7, "Next": "Boom"}], "Default": "Ok"},
            "Boom": {"Type": "Fail", "Error": "Item.Seven", "Cause": "seven is not allowed"},
            "Ok": {"Type": "Pass", "End": True},
        },
    }
    m = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemSelector": {"v.$": "$$.Map.Item.Value"},
        "ItemProcessor": proc,
        "Next": "Done",
    }
    if rng.random() < 0.5:
        m["Catch"] = [{"ErrorEquals": [rng.choice(["Item.Seven", "States.ALL", "Other", "States.TaskFailed"])], "ResultPath": "$.err", "Next": "Caught"}]
    st = {"S": m, "Done": {"Type": "Succeed"}, "Caught": {"Type": "Pass", "End": True}}
    if rng.random() < 0.5:
        items.append(7)
    return machine(st), {"items": items}


@template
def map_bad_items(rng):
    inp = {"items": rng.choice([{"a": 1}, "str", 3, None])}
    m = {"Type": "Map", "ItemsPath": rng.choice(["$.items", "$.nothere"]), "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}
    return machine({"S": m}), inp


# --- Parallel -------------------------------------------------------------


@template
def parallel_branches(rng):
    n = rng.randint(1, 3)
    brs = []
    for i in range(n):
        kind = rng.randrange(3)
        # State names are unique across the machine, branches included.
        p, w = f"P{i}", f"W{i}"
        if kind == 0:
            brs.append({"StartAt": p, "States": {p: {"Type": "Pass", "Result": {"branch": i}, "End": True}}})
        elif kind == 1:
            brs.append({"StartAt": p, "States": {p: {"Type": "Pass", "Parameters": {"b": i, "in.$": "$.x"}, "Next": w}, w: {"Type": "Wait", "Seconds": 0, "End": True}}})
        else:
            brs.append({"StartAt": p, "States": {p: {"Type": "Pass", "InputPath": "$.y", "End": True}}})
    p = {"Type": "Parallel", "Branches": brs, "End": True}
    put(p, "ResultPath", pick_optional(rng, ["ABSENT", "$.res", None]))
    put(p, "ResultSelector", pick_optional(rng, ["ABSENT", {"first.$": "$[0]", "count": n}]))
    put(p, "Parameters", pick_optional(rng, ["ABSENT", {"x.$": "$.x", "y": {"z": 1}}]))
    return machine({"S": p}), {"x": value(rng), "y": obj(rng)}


@template
def parallel_failure(rng):
    err = rng.choice(["Custom.Error", "States.Timeout", "My.Err"])
    brs = [
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": err, "Cause": "branch " + word(rng)}}},
    ]
    p = {"Type": "Parallel", "Branches": brs, "Next": "Done"}
    matcher = rng.choice([["States.ALL"], [err], ["Other"], ["States.TaskFailed"], ["Other", err]])
    if rng.random() < 0.7:
        p["Catch"] = [{"ErrorEquals": matcher, "Next": "Caught"}]
        put(p["Catch"][0], "ResultPath", pick_optional(rng, ["ABSENT", "$.error", None]))
    st = {"S": p, "Done": {"Type": "Succeed"}, "Caught": {"Type": "Pass", "End": True}}
    return machine(st), {"in": word(rng)}


@template
def parallel_retry(rng):
    # One retry of a Parallel whose branch fails every time: the error
    # surfaces (or is caught) after the retry; IntervalSeconds 1 keeps it fast.
    brs = [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Flaky", "Cause": "always"}}}]
    p = {
        "Type": "Parallel",
        "Branches": brs,
        "Retry": [{"ErrorEquals": [rng.choice(["Flaky", "States.ALL", "Nope"])], "MaxAttempts": 1, "IntervalSeconds": 1}],
        "Next": "Done",
    }
    if rng.random() < 0.5:
        p["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e", "Next": "Done"}]
    return machine({"S": p, "Done": {"Type": "Pass", "End": True}}), {"a": 1}


# --- Wait and Fail ----------------------------------------------------------


@template
def wait_state(rng):
    w = {"Type": "Wait", "Next": "T"}
    if rng.random() < 0.5:
        w["Seconds"] = rng.choice([0, 1])
    else:
        w["SecondsPath"] = "$.secs"
    put(w, "InputPath", pick_optional(rng, ["ABSENT", "$", "$.keep"]))
    put(w, "OutputPath", pick_optional(rng, ["ABSENT", "$"]))
    inp = {"secs": rng.choice([0, 1]), "keep": obj(rng)}
    if "SecondsPath" in w and w.get("InputPath") == "$.keep":
        w["InputPath"] = "$"
    return machine({"S": w, "T": {"Type": "Succeed"}}), inp


@template
def fail_state(rng):
    f = {"Type": "Fail"}
    kind = rng.randrange(4)
    if kind == 0:
        f["Error"] = rng.choice(["E1", "Custom.Failure", "States.Whatever"])
        f["Cause"] = word(rng, 12)
    elif kind == 1:
        f["Error"] = "OnlyError"
    elif kind == 2:
        f["ErrorPath"] = "$.e"
        f["CausePath"] = "$.c"
    else:
        f["ErrorPath"] = "States.Format('Err.{}', $.e)"
        f["CausePath"] = "States.JsonToString($.obj)"
    pre = {"Type": "Pass", "Next": "F"}
    return machine({"S": pre, "F": f}), {"e": word(rng), "c": word(rng), "obj": {"k": rng.randint(0, 9)}}


# --- Intrinsic functions ----------------------------------------------------


def intrinsic_case(expr, inp):
    return machine({"S": {"Type": "Pass", "Parameters": {"r.$": expr}, "End": True}}), inp


@template
def fn_format(rng):
    args = [rng.choice([word(rng), rng.randint(-9, 99), True, None, 2.5]) for _ in range(rng.randint(0, 3))]
    tmpl = " ".join(["{}"] * len(args)) or "no placeholders"
    tmpl = rng.choice(["<", "x="]) + tmpl + rng.choice(["", ">", " end"])
    inp = {"a": args}
    call_args = "".join(f", $.a[{i}]" for i in range(len(args)))
    return intrinsic_case(f"States.Format('{tmpl}'{call_args})", inp)


@template
def fn_json_roundtrip(rng):
    o = obj(rng)
    if rng.random() < 0.5:
        return intrinsic_case("States.StringToJson($.s)", {"s": json.dumps(o, separators=(",", ":"))})
    if rng.random() < 0.5:
        return intrinsic_case("States.JsonToString($.o)", {"o": {"k": word(rng), "n": rng.randint(0, 99), "b": True, "l": [1, 2]}})
    return intrinsic_case("States.StringToJson(States.JsonToString($.o))", {"o": o})


@template
def fn_array(rng):
    n = rng.randint(0, 3)
    lits = [rng.choice(["'x'", "1", "true", "null", "$.v", "$.o"]) for _ in range(n)]
    return intrinsic_case("States.Array(" + ", ".join(lits) + ")", {"v": value(rng), "o": obj(rng)})


@template
def fn_array_ops(rng):
    arr = [rng.randint(0, 5) for _ in range(rng.randint(0, 7))]
    inp = {"arr": arr, "v": rng.randint(0, 5), "i": rng.randint(0, 7), "s": rng.randint(1, 4)}
    expr = rng.choice([
        "States.ArrayPartition($.arr, $.s)",
        "States.ArrayContains($.arr, $.v)",
        "States.ArrayGetItem($.arr, $.i)",
        "States.ArrayLength($.arr)",
        "States.ArrayUnique($.arr)",
    ])
    return intrinsic_case(expr, inp)


@template
def fn_array_mixed(rng):
    arr = [rng.choice([1, 1.0, "1", {"a": 1}, {"a": 1}, [1], None, True]) for _ in range(rng.randint(1, 5))]
    expr = rng.choice(["States.ArrayUnique($.arr)", "States.ArrayContains($.arr, $.v)", "States.ArrayLength($.arr)"])
    return intrinsic_case(expr, {"arr": arr, "v": rng.choice([1, "1", {"a": 1}, None])})


@template
def fn_array_range(rng):
    start = rng.randint(-5, 10)
    end = rng.randint(-5, 15)
    step = rng.choice([1, 2, 3, -1, -2])
    return intrinsic_case(f"States.ArrayRange({start}, {end}, {step})", {})


@template
def fn_base64(rng):
    s = rng.choice([word(rng, 10), "héllo wörld", "a b c", "", "Data 123!"])
    if rng.random() < 0.5:
        return intrinsic_case("States.Base64Encode($.s)", {"s": s})
    import base64

    return intrinsic_case("States.Base64Decode($.s)", {"s": base64.b64encode(s.encode()).decode()})


@template
def fn_hash(rng):
    algo = rng.choice(["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"])
    s = rng.choice([word(rng, 10), "", "héllo"])
    return intrinsic_case(f"States.Hash($.s, '{algo}')", {"s": s})


@template
def fn_json_merge(rng):
    a = {"shared": word(rng), "a": rng.randint(0, 9), "nested": {"x": 1}}
    b = {"shared": word(rng), "b": value(rng), "nested": {"y": 2}}
    return intrinsic_case("States.JsonMerge($.a, $.b, false)", {"a": a, "b": b})


@template
def fn_math_add(rng):
    x = rng.randint(-1000, 1000)
    y = rng.randint(-1000, 1000)
    if rng.random() < 0.3:
        return intrinsic_case(f"States.MathAdd($.x, {y})", {"x": x})
    return intrinsic_case("States.MathAdd($.x, $.y)", {"x": x, "y": y})


@template
def fn_string_split(rng):
    sep = rng.choice([",", ";", " ", "-"])
    parts = [word(rng) for _ in range(rng.randint(1, 5))]
    s = sep.join(parts)
    if rng.random() < 0.3:
        s = sep + s + sep + sep
    return intrinsic_case(f"States.StringSplit($.s, '{sep}')", {"s": s})


@template
def fn_nested(rng):
    exprs = [
        "States.ArrayLength(States.StringSplit($.s, ','))",
        "States.Format('{} items', States.ArrayLength($.arr))",
        "States.ArrayGetItem(States.ArrayPartition($.arr, 2), 0)",
        "States.Base64Decode(States.Base64Encode($.s))",
        "States.MathAdd(States.ArrayLength($.arr), 10)",
        "States.ArrayContains(States.ArrayRange(1, 9, 2), $.n)",
    ]
    inp = {"s": ",".join(word(rng) for _ in range(rng.randint(1, 4))), "arr": [rng.randint(0, 9) for _ in range(rng.randint(1, 5))], "n": rng.randint(0, 9)}
    return intrinsic_case(rng.choice(exprs), inp)


@template
def fn_errors(rng):
    # Calls that must fail the execution: compared by error name.
    cases = [
        ("States.ArrayGetItem($.arr, 10)", {"arr": [1, 2]}),
        ("States.StringToJson($.s)", {"s": "{not json"}),
        ("States.Base64Decode($.s)", {"s": "%%%"}),
        ("States.Hash($.s, 'SHA-3')", {"s": "x"}),
        ("States.ArrayPartition($.arr, 0)", {"arr": [1]}),
        ("States.ArrayRange(1, 3, 0)", {}),
        ("States.Format('{} {}', $.a)", {"a": 1}),
        ("States.MathAdd($.a, 1)", {"a": "x"}),
        ("States.ArrayLength($.a)", {"a": "x"}),
        ("States.Format('{}', $.missing)", {"a": 1}),
    ]
    expr, inp = rng.choice(cases)
    return intrinsic_case(expr, inp)


# --- Pipelines mixing states ------------------------------------------------


@template
def pipeline(rng):
    items = [{"id": word(rng), "n": rng.randint(0, 20)} for _ in range(rng.randint(1, 4))]
    st = {
        "Prep": {"Type": "Pass", "Parameters": {"items.$": "$.items", "label.$": "States.Format('run-{}', $.run)"}, "Next": "Each"},
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemSelector": {"item.$": "$$.Map.Item.Value", "pos.$": "$$.Map.Item.Index", "label.$": "$.label"},
            "MaxConcurrency": rng.choice([1, 2]),
            "ItemProcessor": {
                "StartAt": "Big?",
                "States": {
                    "Big?": {
                        "Type": "Choice",
                        "Choices": [{"And": [{"Variable": "$.item.n", "NumericGreaterThanEquals": 10}, {"Not": {"Variable": "$.item.id", "StringEquals": "zzz"}}], "Next": "Big"}],
                        "Default": "Small",
                    },
                    "Big": {"Type": "Pass", "Parameters": {"id.$": "$.item.id", "size": "big", "key.$": "States.Format('{}-{}', $.label, $.pos)"}, "End": True},
                    "Small": {"Type": "Pass", "Parameters": {"id.$": "$.item.id", "size": "small"}, "End": True},
                },
            },
            "ResultPath": "$.sized",
            "Next": "Fan",
        },
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Count", "States": {"Count": {"Type": "Pass", "Parameters": {"n.$": "States.ArrayLength($.sized)"}, "End": True}}},
                {"StartAt": "Ids", "States": {"Ids": {"Type": "Pass", "Parameters": {"ids.$": "$.sized[*].id"}, "End": True}}},
            ],
            "ResultSelector": {"count.$": "States.ArrayGetItem($, 0)", "ids.$": "States.ArrayGetItem($, 1)"},
            "ResultPath": "$.summary",
            "OutputPath": "$.summary",
            "End": True,
        },
    }
    return machine(st, "Prep"), {"items": items, "run": rng.randint(1, 99)}


# ---------------------------------------------------------------------------


def excluded(tpl, definition, inp):
    for name, pred, reason in KNOWN_DIVERGENCES:
        if pred(tpl, definition, inp):
            return name
    return None


def generate(seed, per_template):
    rng = random.Random(seed)
    cases, left_out = [], {}
    for fn in TEMPLATES:
        for i in range(per_template):
            definition, inp = fn(rng)
            name = excluded(fn.__name__, definition, inp)
            if name:
                left_out[name] = left_out.get(name, 0) + 1
                continue
            cases.append({"id": f"{fn.__name__}-{i:02d}", "template": fn.__name__, "definition": definition, "input": inp})
    return cases, left_out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--per-template", type=int, default=8)
    args = ap.parse_args()
    cases, left_out = generate(args.seed, args.per_template)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
    print(f"corpus: {len(cases)} cases from {len(TEMPLATES)} templates (seed {args.seed}), "
          f"{sum(left_out.values())} left out as known divergences", file=sys.stderr)
    for name, n in sorted(left_out.items()):
        reason = next(r for (nm, _, r) in KNOWN_DIVERGENCES if nm == name)
        print(f"  left out {n}: {name}: {reason}", file=sys.stderr)


if __name__ == "__main__":
    main()
