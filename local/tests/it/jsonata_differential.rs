//! edba's JSONata (the `jsonata-core` crate plus Step Functions' bindings)
//! against the reference implementation: the npm `jsonata` package at the
//! version Step Functions implements (2.0.6, pinned in
//! `scripts/tools/package.json`), run by `scripts/tools/jsonata_reference.mjs`.
//!
//! A generated corpus (every operator over pairs of values of each JSON type,
//! every one-argument function over each value, and hand-written queries
//! over paths, predicates, grouping, sorting and lambdas) is evaluated by
//! both, as Step Functions evaluates a field: no input document, `$states`
//! and the workflow variables bound. They must agree: the same JSON value
//! (numbers compared as doubles), both nothing (undefined), or both an error.
//! Every known difference is listed in [`KNOWN`] with its reason, and a
//! listed difference that no longer differs fails the test too, so the list
//! stays true.

use std::path::PathBuf;
use std::process::Command;

use edba_local::executor::jsonata::{evaluate, Bindings};
use serde_json::{json, Map, Value};

/// Expressions where edba and the reference knowingly differ, and why.
const KNOWN: &[(&str, &str)] = &[];

fn tools() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/tools")
}

fn states() -> Value {
    json!({
        "input": {
            "n": 3, "x": 2.5, "neg": -4, "zero": 0, "big": 1e20,
            "s": "Hello World", "empty_s": "", "num_s": "42", "date": "2024-03-05T10:20:30.000Z",
            "list": [3, 1, 2], "strs": ["b", "a", "c"], "empty": [], "mixed": [1, "a", true, null],
            "objs": [{"k": "a", "v": 1}, {"k": "b", "v": 2}, {"k": "a", "v": 3}],
            "nested": {"a": {"b": [1, {"c": "deep"}]}},
            "flag": true, "off": false, "nul": null
        },
        "context": {"Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:m:e", "Name": "e"},
                    "State": {"Name": "S", "RetryCount": 0}}
    })
}

fn vars() -> Map<String, Value> {
    json!({"limit": 2, "name": "edba", "cfg": {"mode": "fast", "tags": ["x", "y"]}, "ratio": 0.25})
        .as_object()
        .cloned()
        .unwrap()
}

/// Values of each JSON type, as expressions.
const ATOMS: &[&str] = &[
    "$states.input.n",
    "$states.input.x",
    "$states.input.neg",
    "$states.input.zero",
    "$states.input.s",
    "$states.input.empty_s",
    "$states.input.num_s",
    "$states.input.list",
    "$states.input.strs",
    "$states.input.empty",
    "$states.input.objs",
    "$states.input.nested",
    "$states.input.flag",
    "$states.input.nul",
    "$states.input.missing",
    "$limit",
    "$cfg",
    "$cfg.tags",
    "1.5",
    "'7'",
];

const BINARY: &[&str] = &["+", "-", "*", "/", "%", "&", "=", "!=", "<", "<=", ">", ">=", "and", "or", "in"];

const UNARY_FUNCTIONS: &[&str] = &[
    "$string",
    "$length",
    "$uppercase",
    "$lowercase",
    "$trim",
    "$number",
    "$abs",
    "$floor",
    "$ceil",
    "$round",
    "$sqrt",
    "$sum",
    "$max",
    "$min",
    "$average",
    "$count",
    "$reverse",
    "$sort",
    "$distinct",
    "$keys",
    "$spread",
    "$exists",
    "$type",
    "$boolean",
    "$not",
    "$base64encode",
    "$encodeUrlComponent",
];

/// Queries a Step Functions user writes: paths, predicates, grouping,
/// sorting, higher-order functions, strings, numbers, dates.
const QUERIES: &[&str] = &[
    "$states.input.objs.v",
    "$states.input.objs[v > 1].k",
    "$states.input.objs[k = 'a'].v",
    "$states.input.objs[0]",
    "$states.input.objs[-1].v",
    "$states.input.objs[[0, 2]].v",
    "$states.input.objs{k: $sum(v)}",
    "$states.input.objs{k: v}",
    "$states.input.objs^(>v).v",
    "$states.input.objs^(k, >v).v",
    "$states.input.objs#$i[$i > 0].v",
    "$states.input.objs@$o.{ 'k': $o.k }",
    "$states.input.nested.a.b[1].c",
    "$states.input.nested.**.c",
    "$states.input.nested.*",
    "$states.input.list[$ > 1]",
    "$states.input.list.($ * 2)",
    "$states.input.list[]",
    "$count($states.input.objs[v >= $limit])",
    "$map($states.input.list, function($v, $i) { $v * $i })",
    "$filter($states.input.objs, function($o) { $o.v % 2 = 1 }).k",
    "$reduce($states.input.list, function($a, $b) { $a + $b }, 10)",
    "$sift($states.input.objs[0], function($v, $k) { $k = 'v' })",
    "$each($cfg, function($v, $k) { $k & '=' & $string($v) })",
    "$zip($states.input.list, $states.input.strs)",
    "$append($states.input.list, [4, 5])",
    "$merge([{'a': 1}, {'b': 2}, {'a': 3}])",
    "$lookup($states.input.objs, 'k')",
    "$join($states.input.strs, ', ')",
    "$split($states.input.s, ' ')",
    "$split($states.input.s, /o/, 2)",
    "$substring($states.input.s, 6)",
    "$substring($states.input.s, -5, 3)",
    "$substringBefore($states.input.s, ' ')",
    "$substringAfter($states.input.s, ' ')",
    "$pad($name, 8, '#')",
    "$pad($name, -8)",
    "$contains($states.input.s, 'World')",
    "$contains($states.input.s, /w.r/i)",
    "$match($states.input.s, /l+/)",
    "$replace($states.input.s, 'o', '0')",
    "$replace($states.input.s, /(\\w+) (\\w+)/, '$2 $1')",
    "$formatNumber(1234.5678, '#,##0.00')",
    "$formatNumber($ratio, '0%')",
    "$formatBase(255, 16)",
    "$formatInteger(42, 'w')",
    "$parseInteger('forty-two', 'w')",
    "$power(2, 10)",
    "$round(2.5)",
    "$round(3.14159, 2)",
    "$round(-2.5)",
    "$number('0x1F')",
    "$number('1e3')",
    "$string(1e21)",
    "$string(0.1 + 0.2)",
    "$string({'a': [1, 2.5, 'x', null]})",
    "$string($states.input.nested, true)",
    "$toMillis($states.input.date)",
    "$fromMillis(1709633430000)",
    "$fromMillis(0, '[Y0001]-[M01]-[D01]')",
    "$toMillis('2024-03-05', '[Y0001]-[M01]-[D01]')",
    "$base64decode('ZWRiYQ==')",
    "$decodeUrlComponent('a%20b')",
    "$encodeUrl('https://x.test/a b?c=d e')",
    "$encodeUrl('ü €/x y#z[1]')",
    "$encodeUrlComponent('a/b c?d=ü')",
    "$decodeUrl('%E2%82%AC%20x')",
    "$keys($states.input.objs)",
    "$distinct($states.input.objs.k)",
    "$sort($states.input.objs, function($a, $b) { $a.v < $b.v })",
    "$single($states.input.objs[v = 2])",
    "$single($states.input.objs)",
    "$error('custom failure')",
    "$assert(1 = 2, 'not equal')",
    "$states.input.n > 2 ? 'big' : 'small'",
    "$states.input.missing ? 1 : 2",
    "$states.input.n ~> $string()",
    "($x := 5; $y := $x * 2; $x + $y)",
    "(function($f) { $f(3) })(function($n) { $n * $n })",
    "[1..5]",
    "[$states.input.n..6]",
    "{'a': $states.input.missing, 'b': 1}",
    "{$states.input.s: 1}",
    "$states.context.Execution.Name & '-' & $string($states.context.State.RetryCount)",
    "$cfg.mode = 'fast' and $limit > 1",
    "'x' in $cfg.tags",
    "$exists($states.input.nul)",
    "$type($states.input.nul)",
    "$states.input.objs.v[0]",
    "($states.input.objs.v)[0]",
    "$max([])",
    "$sum([])",
    "$average($states.input.empty)",
    "$states.input.big * 10",
    "1 / 0",
    "$sqrt(-1)",
    "'a' + 1",
    "$states.input.s.length",
    "$undefined_function(1)",
    "$now() = $now()",
    "$millis() > 0",
    "$boolean([0])",
    "$boolean([])",
    "$boolean({})",
    "$boolean('')",
    "$not($states.input.empty_s)",
    "$count($states.input.mixed)",
    "$states.input.mixed[$type($) = 'string']",
    "$lowercase($states.input.missing)",
    "$length('ünïcødé')",
    "$substring('😀abc', 1, 2)",
    "$uppercase('straße')",
];

fn corpus() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in ATOMS {
        for op in BINARY {
            for b in ATOMS.iter().step_by(3) {
                out.push(format!("{a} {op} {b}"));
            }
        }
    }
    for f in UNARY_FUNCTIONS {
        for a in ATOMS {
            out.push(format!("{f}({a})"));
        }
    }
    out.extend(QUERIES.iter().map(|q| q.to_string()));
    out
}

/// Two results agree: equal JSON (numbers as doubles), both nothing, or both
/// an error.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            x == y || ((x - y).abs() <= 1e-12 * x.abs().max(y.abs()))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Impure functions are compared by what they return the same way every
/// time (`$now() = $now()`), so the corpus is deterministic.
#[test]
fn edba_agrees_with_the_reference_jsonata() {
    let script = tools().join("jsonata_reference.mjs");
    assert!(
        tools().join("node_modules/jsonata").is_dir(),
        "the reference jsonata package is not installed: run scripts/tools/install.sh"
    );
    let states = states();
    let vars = vars();
    let exprs = corpus();
    let mut bindings = vars.clone();
    bindings.insert("states".into(), states.clone());
    let cases: Vec<Value> = exprs.iter().map(|e| json!({"expr": e, "bindings": bindings})).collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(&cases).unwrap()).unwrap();
    let out = Command::new("node").arg(&script).arg(file.path()).output().expect("node runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reference: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reference.len(), exprs.len());

    let mut differences = Vec::new();
    let mut agreed = 0;
    let mut kinds = [0usize; 3];
    for (expr, want) in exprs.iter().zip(&reference) {
        let got = match evaluate(expr, Bindings { states: &states, vars: &vars }) {
            Ok(Some(v)) => json!({"value": v}),
            Ok(None) => json!({"undefined": true}),
            Err(e) => json!({"error": e}),
        };
        let agree = match (got.get("value"), want.get("value")) {
            (Some(a), Some(b)) => same(a, b),
            (None, None) => got.get("undefined").is_some() == want.get("undefined").is_some(),
            _ => false,
        };
        let known = KNOWN.iter().any(|(k, _)| k == expr);
        match (agree, known) {
            (true, false) => {
                agreed += 1;
                kinds[if want.get("value").is_some() {
                    0
                } else if want.get("undefined").is_some() {
                    1
                } else {
                    2
                }] += 1;
            }
            (false, true) => {}
            (false, false) => differences.push(format!("  {expr}\n    edba:      {got}\n    reference: {want}")),
            (true, true) => differences.push(format!("  {expr}\n    is listed in KNOWN but now agrees: {got}")),
        }
    }
    eprintln!(
        "jsonata differential: {agreed}/{} agree ({} on a value, {} on nothing, {} on an error), {} known differences",
        exprs.len(),
        kinds[0],
        kinds[1],
        kinds[2],
        KNOWN.len()
    );
    assert!(differences.is_empty(), "{} unexplained differences:\n{}", differences.len(), differences.join("\n"));
}
