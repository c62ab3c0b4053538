//! Shared by the `deploy_*` tests: the deployment template as JSON, its policy
//! statements, and paths into the repository.

#![allow(dead_code)] // each test binary uses a different part

use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn template_path() -> PathBuf {
    repo().join("scripts/template.yaml")
}

/// The template with CloudFormation's short-form tags turned into their long
/// form (`!Sub x` -> `{"Fn::Sub": x}`), so checks see one shape only.
pub fn template() -> Value {
    let text = std::fs::read_to_string(template_path()).expect("read scripts/template.yaml");
    let yaml: serde_norway::Value = serde_norway::from_str(&text).expect("scripts/template.yaml is YAML");
    long_form(yaml)
}

fn long_form(v: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).expect("number"),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(long_form).collect()),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    other => serde_norway::to_string(&other).expect("key").trim().to_owned(),
                };
                out.insert(key, long_form(v));
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = long_form(tagged.value);
            match name {
                "Ref" => json!({ "Ref": inner }),
                "Condition" => json!({ "Condition": inner }),
                // `!GetAtt A.B.C` is `["A", "B.C"]` in the long form.
                "GetAtt" => match inner {
                    Value::String(s) => {
                        let (res, attr) = s.split_once('.').expect("!GetAtt Resource.Attribute");
                        json!({ "Fn::GetAtt": [res, attr] })
                    }
                    other => json!({ "Fn::GetAtt": other }),
                },
                other => json!({ format!("Fn::{other}"): inner }),
            }
        }
    }
}

pub fn resources(t: &Value) -> &Map<String, Value> {
    t["Resources"].as_object().expect("Resources")
}

pub fn resources_of_type<'a>(t: &'a Value, ty: &str) -> Vec<(&'a str, &'a Value)> {
    resources(t).iter().filter(|(_, r)| r["Type"] == ty).map(|(n, r)| (n.as_str(), r)).collect()
}

/// One policy statement, with where it was found.
#[derive(Debug, Clone)]
pub struct Statement {
    pub origin: String,
    pub effect: String,
    pub actions: Vec<String>,
    /// Each resource as written: a plain string, `{"Fn::Sub": …}`, `{"Ref": …}`, ….
    pub resources: Vec<Value>,
    pub condition: Value,
}

/// Both branches of a statement-level `Fn::If`, without `AWS::NoValue`.
fn expand_if(v: &Value) -> Vec<&Value> {
    if let Some(branches) = v.get("Fn::If").and_then(Value::as_array) {
        branches[1..].iter().flat_map(expand_if).collect()
    } else if v.get("Ref") == Some(&json!("AWS::NoValue")) {
        Vec::new()
    } else {
        vec![v]
    }
}

fn strings_or_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items.iter().flat_map(expand_if).cloned().collect(),
        Value::Null => Vec::new(),
        other => expand_if(other).into_iter().cloned().collect(),
    }
}

fn statements_of(origin: &str, doc: &Value, out: &mut Vec<Statement>) {
    for st in doc["Statement"].as_array().expect("Statement list").iter().flat_map(expand_if) {
        out.push(Statement {
            origin: origin.to_owned(),
            effect: st["Effect"].as_str().expect("Effect").to_owned(),
            actions: strings_or_list(&st["Action"])
                .into_iter()
                .map(|a| a.as_str().expect("actions are plain strings").to_owned())
                .collect(),
            resources: strings_or_list(&st["Resource"]),
            condition: st["Condition"].clone(),
        });
    }
}

/// Every statement of every policy in the template: role policies, trust
/// policies and bucket policies.
pub fn all_statements(t: &Value) -> Vec<Statement> {
    let mut out = Vec::new();
    for (name, r) in resources(t) {
        let props = &r["Properties"];
        if let Some(doc) = props.get("AssumeRolePolicyDocument") {
            statements_of(&format!("{name} (trust)"), doc, &mut out);
        }
        if let Some(doc) = props.get("PolicyDocument") {
            statements_of(name, doc, &mut out);
        }
        for p in props["Policies"].as_array().into_iter().flatten() {
            statements_of(name, &p["PolicyDocument"], &mut out);
        }
    }
    out
}

/// The statements of one role's inline policies.
pub fn role_statements(t: &Value, role: &str) -> Vec<Statement> {
    all_statements(t).into_iter().filter(|s| s.origin == role).collect()
}

/// The role a function runs as (`Role: !GetAtt X.Arn`).
pub fn role_of(t: &Value, function: &str) -> String {
    let role = &resources(t)[function]["Properties"]["Role"]["Fn::GetAtt"];
    assert_eq!(role[1], "Arn", "{function} names its role with !GetAtt Role.Arn");
    role[0].as_str().expect("role name").to_owned()
}

/// A resource written as `!Sub "…"`, as its text.
pub fn sub_text(v: &Value) -> Option<&str> {
    v.get("Fn::Sub").and_then(Value::as_str)
}
