//! Unit tests of the path and intrinsic-call parsers.

use super::*;

fn ok(text: &str) -> JsonPath {
    JsonPath::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn bad(text: &str) -> String {
    match JsonPath::parse(text) {
        Ok(p) => panic!("{text} parsed as {p:?}"),
        Err(e) => e.to_string(),
    }
}

fn child(n: &str) -> Segment {
    Segment::Child(n.into())
}

#[test]
fn parses_roots_and_simple_steps() {
    assert_eq!(ok("$"), JsonPath { root: Root::Input, segments: vec![] });
    assert_eq!(ok("$$"), JsonPath { root: Root::Context, segments: vec![] });
    // A workflow variable, and a path into it.
    assert_eq!(ok("$order_1"), JsonPath { root: Root::Variable("order_1".into()), segments: vec![] });
    assert_eq!(ok("$cfg.tags[0]").segments, vec![child("tags"), Segment::Index(0)]);
    assert_eq!(ok("$cfg.tags[0]").to_string(), "$cfg.tags[0]");
    assert_eq!(ok("$$.Map.Item.Value").segments, vec![child("Map"), child("Item"), child("Value")]);
    assert_eq!(
        ok("$.jobs[0]['run id'][\"x\"].a-b:c").segments,
        vec![child("jobs"), Segment::Index(0), child("run id"), child("x"), child("a-b:c")]
    );
    assert_eq!(ok("$.a[-1]").segments, vec![child("a"), Segment::Index(-1)]);
    assert_eq!(ok("$['it\\'s']").segments, vec![child("it's")]);
}

#[test]
fn parses_wildcards_unions_slices_and_descent() {
    assert_eq!(ok("$.a.*").segments, vec![child("a"), Segment::Wildcard]);
    assert_eq!(ok("$.a[*]").segments, vec![child("a"), Segment::Wildcard]);
    assert_eq!(ok("$..name").segments, vec![Segment::Descendant(Box::new(child("name")))]);
    assert_eq!(ok("$..*").segments, vec![Segment::Descendant(Box::new(Segment::Wildcard))]);
    assert_eq!(ok("$..[0]").segments, vec![Segment::Descendant(Box::new(Segment::Index(0)))]);
    assert_eq!(
        ok("$['a', 'b']").segments,
        vec![Segment::Union(vec![UnionMember::Name("a".into()), UnionMember::Name("b".into())])]
    );
    assert_eq!(ok("$[0,2]").segments, vec![Segment::Union(vec![UnionMember::Index(0), UnionMember::Index(2)])]);
    assert_eq!(ok("$[1:3]").segments, vec![Segment::Slice { start: Some(1), end: Some(3), step: None }]);
    assert_eq!(ok("$[:-1]").segments, vec![Segment::Slice { start: None, end: Some(-1), step: None }]);
    assert_eq!(ok("$[::2]").segments, vec![Segment::Slice { start: None, end: None, step: Some(2) }]);
}

#[test]
fn parses_filters() {
    let p = ok("$.jobs[?(@.status == 'READY')]");
    assert_eq!(
        p.segments[1],
        Segment::Filter(Filter::Compare {
            path: vec![child("status")],
            op: FilterOp::Eq,
            value: Literal::String("READY".into())
        })
    );
    for (text, op) in [
        ("==", FilterOp::Eq),
        ("!=", FilterOp::Ne),
        ("<", FilterOp::Lt),
        ("<=", FilterOp::Le),
        (">", FilterOp::Gt),
        (">=", FilterOp::Ge),
    ] {
        let p = ok(&format!("$[?(@.n{text}3)]"));
        assert!(matches!(&p.segments[0], Segment::Filter(Filter::Compare { op: o, .. }) if *o == op), "{text}");
    }
    assert!(matches!(
        ok("$[?(@.ok == true)]").segments[0],
        Segment::Filter(Filter::Compare { value: Literal::Bool(true), .. })
    ));
    assert!(matches!(
        ok("$[?(@.x != null)]").segments[0],
        Segment::Filter(Filter::Compare { value: Literal::Null, .. })
    ));
    assert!(matches!(
        ok("$[?(@.n > -1.5e2)]").segments[0],
        Segment::Filter(Filter::Compare { value: Literal::Number(_), .. })
    ));
    assert!(matches!(ok("$[?(@.tags)]").segments[0], Segment::Filter(Filter::Exists(_))));
    let p = ok("$[?(@.a == 1 && (@.b == 'x)]' || @.c))]");
    assert!(matches!(&p.segments[0], Segment::Filter(Filter::And(_, b)) if matches!(**b, Filter::Or(..))));
}

#[test]
fn display_round_trips() {
    for text in [
        "$",
        "$$.Execution.Id",
        "$.a['b c'][0][*]..d..*[1:2][::3]['x','y'][0,1]",
        "$[?(@.a == 'it\\'s')]",
        "$[?((@.a < 1 && @.b) || @.c >= 2.5)]",
    ] {
        let p = ok(text);
        assert_eq!(ok(&p.to_string()), p, "{text} -> {p}");
    }
    assert_eq!(ok("$['plain'].*").to_string(), "$.plain[*]");
}

#[test]
fn reference_paths() {
    assert!(ok("$").is_reference_path());
    assert!(ok("$.a['b'][3]").is_reference_path());
    for text in ["$.a[*]", "$.a.*", "$..a", "$[0:1]", "$[0,1]", "$[?(@.a)]"] {
        assert!(!ok(text).is_reference_path(), "{text}");
    }
}

#[test]
fn rejects_malformed_paths_with_a_reason() {
    assert!(bad("").contains("a path starts with `$`"), "{}", bad(""));
    assert!(bad("a.b").contains("a path starts with `$`"));
    assert!(bad("$.").contains("expected a field name after `.`"));
    assert!(bad("$.a.").contains("expected a field name after `.`, found the end (at character 5)"));
    assert!(bad("$...a").contains("`...` is not a path step"));
    assert!(bad("$.a[").contains("after `[`"));
    assert!(bad("$.a[0").contains("expected `]` to close `[`"));
    assert!(bad("$['a").contains("unterminated string"));
    assert!(bad("$['a\\n']").contains("unknown escape `\\n`"));
    assert!(bad("$[abc]").contains("expected a quoted name"));
    assert!(bad("$['a',0]").contains("not both"));
    assert!(bad("$[::0]").contains("step cannot be 0"));
    assert!(bad("$[?(@.a = 1)]").contains("use `==`"));
    assert!(bad("$[?(a == 1)]").contains("a filter tests `@`"));
    assert!(bad("$[?(@.a == )]").contains("expected a string, number"));
    assert!(bad("$[?(@.a == 1]").contains("expected `)` to close the filter"));
    assert!(bad("$.a b").contains("unexpected ` `"));
    assert!(bad("$x y").contains("unexpected ` `"));
    assert!(bad("$-x").contains("unexpected `-`"));
    assert!(bad("$[99999999999999999999]").contains("index out of range"));
}

fn call(text: &str) -> Intrinsic {
    Intrinsic::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn bad_call(text: &str) -> String {
    match PayloadValue::parse(text) {
        Ok(v) => panic!("{text} parsed as {v:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn parses_intrinsics_with_nesting_and_escapes() {
    let c = call("States.Format('s3://{}/{}', $.bucket, States.ArrayGetItem($.keys[0,1], 0))");
    assert_eq!(c.function, IntrinsicFunction::Format);
    assert_eq!(c.args.len(), 3);
    assert_eq!(c.args[0], IntrinsicArg::String { raw: "s3://{}/{}".into(), value: "s3://{}/{}".into() });
    let IntrinsicArg::Intrinsic(inner) = &c.args[2] else { panic!("{:?}", c.args[2]) };
    assert_eq!(inner.function, IntrinsicFunction::ArrayGetItem);
    assert_eq!(inner.args[1], IntrinsicArg::Number(0.into()));
    let paths: Vec<String> = c.paths().iter().map(|p| p.to_string()).collect();
    assert_eq!(paths, ["$.bucket", "$.keys[0,1]"]);

    let c = call(r"States.Format('it\'s \{literal\} {} \\', $$.Execution.Id)");
    assert_eq!(
        c.args[0],
        IntrinsicArg::String { raw: r"it\'s \{literal\} {} \\".into(), value: r"it's {literal} {} \".into() }
    );
    assert_eq!(call("States.UUID()").args, vec![]);
    assert_eq!(
        call("States.Array(1, -2.5, true, false, null, 'a,b)')").args,
        vec![
            IntrinsicArg::Number(1.into()),
            IntrinsicArg::Number("-2.5".parse().unwrap()),
            IntrinsicArg::Bool(true),
            IntrinsicArg::Bool(false),
            IntrinsicArg::Null,
            IntrinsicArg::String { raw: "a,b)".into(), value: "a,b)".into() },
        ]
    );
    assert_eq!(call("States.MathRandom($.lo,$.hi,7)").args.len(), 3);
    assert!(matches!(PayloadValue::parse("States.JsonToString($.a)"), Ok(PayloadValue::Intrinsic(_))));
    assert!(matches!(PayloadValue::parse("$.a"), Ok(PayloadValue::Path(_))));
    let text = "States.Format('{}-{}', $.a[?(@.x == ')')], States.UUID())";
    assert_eq!(call(text).to_string(), text);
}

#[test]
fn rejects_malformed_intrinsics_with_a_reason() {
    assert!(bad_call("States.Nope($.a)").contains("unknown intrinsic function `States.Nope`; known: States.Format"));
    assert!(bad_call("States.Format").contains("expected `(` after `States.Format`"));
    assert!(bad_call("States.Format('a'").contains("expected `,` or `)`"));
    assert!(bad_call("States.Format('a)").contains("unterminated string"));
    assert!(bad_call(r"States.Format('\n')").contains("unknown escape `\\n`"));
    assert!(bad_call("States.ArrayRange(1, 2)").contains("`States.ArrayRange` takes 3 arguments, not 2"));
    assert!(bad_call("States.UUID(1)").contains("takes 0 arguments, not 1"));
    assert!(bad_call("States.StringToJson($.a, $.b)").contains("takes 1 argument, not 2"));
    assert!(bad_call("States.Format()").contains("takes at least 1 argument, not 0"));
    assert!(bad_call("States.Format('{}', $.a..)").contains("expected a field name after `..`"));
    assert!(bad_call("States.Format('{}', x)").contains("expected a string, number, boolean, null, path"));
    assert!(bad_call("States.Format('{}', $.a) x").contains("unexpected ` `"));
    assert!(bad_call("States.Array(States.Bad())").contains("unknown intrinsic function `States.Bad`"));
}
