//! The deployment template (`scripts/template.yaml`): what it wires together and
//! what each identity may do.

use crate::deploy_support;

use deploy_support::*;
use edba_statemachines::resources;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const FUNCTIONS: [(&str, &str); 5] = [
    ("ValidateFunction", "validate"),
    ("TrackFunction", "track"),
    ("EvaluateFunction", "evaluate"),
    ("LoadFunction", "load"),
    ("RecordFunction", "record"),
];

/// The functions that reach the state store or Redshift.
const IN_VPC: [&str; 4] = ["TrackFunction", "EvaluateFunction", "LoadFunction", "RecordFunction"];

/// JSON values as an order-free set (their compact text).
fn json_set(values: impl Iterator<Item = Value>) -> BTreeSet<String> {
    values.map(|v| v.to_string()).collect()
}

fn set<T: Ord + Clone>(items: &[T]) -> BTreeSet<T> {
    items.iter().cloned().collect()
}

#[test]
fn every_placeholder_of_each_machine_is_substituted_and_every_substitution_is_used() {
    let t = template();
    let machines = resources_of_type(&t, "AWS::Serverless::StateMachine");
    assert_eq!(machines.len(), 2, "the ingest and aggregate machines");
    let mut substituted = BTreeSet::new();
    for (name, machine) in machines {
        let props = &machine["Properties"];
        let uri = props["DefinitionUri"].as_str().expect("DefinitionUri is a local path");
        let path = repo().join("scripts").join(uri);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {}: {e}", path.display()));
        let used: BTreeSet<String> = resources::placeholders_in(&text).into_iter().collect();
        assert!(!used.is_empty(), "{name}: {} has no ${{…}} placeholder; wrong file?", path.display());
        let given: BTreeSet<String> = props["DefinitionSubstitutions"]
            .as_object()
            .unwrap_or_else(|| panic!("{name} has DefinitionSubstitutions"))
            .keys()
            .cloned()
            .collect();
        assert_eq!(used, given, "{name}: placeholders in {uri} (left) vs DefinitionSubstitutions (right)");
        substituted.extend(given);
    }
    let known: BTreeSet<String> = resources::ALL.iter().map(|p| p.name.to_owned()).collect();
    assert_eq!(substituted, known, "every placeholder the generator knows is deployed");
}

#[test]
fn each_task_resource_is_substituted_with_the_arn_of_its_own_function() {
    let t = template();
    let mut substitutions = BTreeMap::new();
    for (name, machine) in resources_of_type(&t, "AWS::Serverless::StateMachine") {
        let given = machine["Properties"]["DefinitionSubstitutions"].as_object().expect("DefinitionSubstitutions");
        for (placeholder, value) in given {
            assert!(substitutions.insert(placeholder.clone(), value.clone()).is_none(), "{name}: {placeholder} twice");
        }
    }
    for task in edba_payloads::TASK_RESOURCES {
        let (function, _) = FUNCTIONS
            .iter()
            .find(|(_, binary)| *binary == task.task)
            .unwrap_or_else(|| panic!("the {} task has a function in FUNCTIONS", task.task));
        assert_eq!(
            substitutions.get(task.placeholder),
            Some(&json!({"Fn::GetAtt": [function, "Arn"]})),
            "{} is the ARN of {function}",
            task.placeholder
        );
    }
    assert_eq!(edba_payloads::TASK_RESOURCES.len(), FUNCTIONS.len(), "one function per task resource");
}

#[test]
fn machines_have_the_documented_types_and_ingest_logs_its_executions() {
    let t = template();
    let r = resources(&t);
    let ingest = &r["IngestStateMachine"]["Properties"];
    assert_eq!(ingest["Type"], "EXPRESS");
    assert_eq!(ingest["DefinitionUri"], "../statemachines/ingest.asl.json");
    assert_eq!(ingest["Logging"]["Level"], json!({"Ref": "IngestLogLevel"}));
    assert_eq!(t["Parameters"]["IngestLogLevel"]["AllowedValues"], json!(["ALL", "ERROR"]));
    let dest = &ingest["Logging"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"];
    let group = dest["Fn::GetAtt"][0].as_str().expect("log group by !GetAtt");
    assert_eq!(r[group]["Type"], "AWS::Logs::LogGroup");

    let aggregate = &r["AggregateStateMachine"]["Properties"];
    assert_eq!(aggregate["Type"], "STANDARD");
    assert_eq!(aggregate["DefinitionUri"], "../statemachines/aggregate.asl.json");
    // The evaluate role names the aggregate executions by this name.
    assert_eq!(aggregate["Name"], json!({"Fn::Sub": "${AWS::StackName}-aggregate"}));
}

#[test]
fn five_rust_functions_on_arm64_with_json_logs_in_their_own_log_groups() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"], json!(["arm64"]));
    assert_eq!(globals["Handler"], "bootstrap");

    let functions = resources_of_type(&t, "AWS::Serverless::Function");
    assert_eq!(functions.len(), 5);
    for (name, binary) in FUNCTIONS {
        let f = &resources(&t)[name];
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda", "{name}");
        assert_eq!(f["Metadata"]["BuildProperties"]["Binary"], binary, "{name}");
        let props = &f["Properties"];
        assert!(props["MemorySize"].as_u64().is_some_and(|m| (128..=10240).contains(&m)), "{name} memory");
        assert!(props["Timeout"].as_u64().is_some_and(|s| (1..=900).contains(&s)), "{name} timeout");
        assert_eq!(props["LoggingConfig"]["LogFormat"], "JSON", "{name}");
        let group = props["LoggingConfig"]["LogGroup"]["Ref"].as_str().expect("LogGroup: !Ref");
        let group = &resources(&t)[group];
        assert_eq!(group["Type"], "AWS::Logs::LogGroup");
        assert_eq!(group["Properties"]["RetentionInDays"], json!({"Ref": "LogRetentionDays"}), "{name}");

        let vpc = &props["VpcConfig"];
        if IN_VPC.contains(&name) {
            assert_eq!(vpc["SubnetIds"], json!({"Ref": "SubnetIds"}), "{name} runs in the VPC");
            assert_eq!(vpc["SecurityGroupIds"], json!({"Ref": "SecurityGroupIds"}), "{name}");
        } else {
            assert!(vpc.is_null(), "{name} needs no VPC");
        }
    }
}

/// Each function's Lambda timeout is the one the contract gives its task,
/// and every Task state that invokes it waits just past it, so Step
/// Functions sees the function's own `Sandbox.Timedout` (which it retries).
#[test]
fn function_timeouts_are_the_contracts_and_each_task_state_waits_just_past_them() {
    let t = template();
    let mut task_timeouts: BTreeMap<String, u64> = BTreeMap::new();
    for file in ["ingest.asl.json", "aggregate.asl.json"] {
        let text = std::fs::read_to_string(repo().join("statemachines").join(file)).expect("machine");
        let asl: Value = serde_json::from_str(&text).expect("ASL JSON");
        collect_task_timeouts(&asl, &mut task_timeouts);
    }
    for (name, task) in FUNCTIONS {
        let contract = edba_payloads::TASK_RESOURCES.into_iter().find(|r| r.task == task).expect("a task resource");
        let timeout = resources(&t)[name]["Properties"]["Timeout"].as_u64().expect("Timeout");
        assert_eq!(timeout, contract.timeout_seconds, "{name}: the template's Timeout vs the contract's");
        let state = task_timeouts.get(&contract.token()).unwrap_or_else(|| panic!("{} in a machine", contract.token()));
        assert_eq!(
            *state,
            timeout + edba_payloads::resource::LAMBDA_TIMEOUT_GRACE_SECONDS,
            "{name}: task TimeoutSeconds vs Lambda timeout"
        );
    }
}

fn collect_task_timeouts(v: &Value, out: &mut BTreeMap<String, u64>) {
    match v {
        Value::Object(m) => {
            if let (Some(Value::String(res)), Some(secs)) = (m.get("Resource"), m.get("TimeoutSeconds")) {
                let secs = secs.as_u64().expect("TimeoutSeconds");
                let entry = out.entry(res.clone()).or_insert(secs);
                *entry = (*entry).min(secs);
            }
            m.values().for_each(|v| collect_task_timeouts(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_task_timeouts(v, out)),
        _ => {}
    }
}

#[test]
fn bucket_sends_events_to_eventbridge_and_is_private_encrypted_and_tls_only() {
    let t = template();
    let p = &resources(&t)["DataBucket"]["Properties"];
    assert_eq!(p["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"], true);
    let sse = &p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"];
    assert!(sse["SSEAlgorithm"].is_string());
    for flag in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"] {
        assert_eq!(p["PublicAccessBlockConfiguration"][flag], true, "{flag}");
    }
    let tls = all_statements(&t)
        .into_iter()
        .find(|s| s.origin == "DataBucketPolicy" && s.effect == "Deny")
        .expect("a Deny statement in the bucket policy");
    assert_eq!(tls.actions, ["s3:*"]);
    let policy = &resources(&t)["DataBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(policy["Condition"]["Bool"]["aws:SecureTransport"], "false");
    assert_eq!(tls.resources.len(), 2, "the bucket and its objects");

    let rules = p["LifecycleConfiguration"]["Rules"].as_array().expect("lifecycle rules");
    let expiring: BTreeMap<&str, &Value> =
        rules.iter().filter_map(|r| Some((r["Prefix"].as_str()?, &r["ExpirationInDays"]))).collect();
    assert_eq!(expiring["rejected/"], &json!({"Ref": "RejectedExpirationDays"}));
    assert_eq!(expiring["output/"], &json!({"Ref": "OutputExpirationDays"}));
    assert!(
        rules
            .iter()
            .any(|r| r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"].is_u64() && r["Prefix"].is_null()),
        "incomplete multipart uploads are aborted bucket-wide"
    );
    // A superseded version's validated object expires once evaluate tagged
    // it; a current version's never does (only the tagged ones match).
    let superseded: Vec<&Value> = rules.iter().filter(|r| r["Prefix"] == "validated/").collect();
    assert_eq!(superseded.len(), 1, "one rule for validated/");
    assert_eq!(superseded[0]["TagFilters"], json!([{"Key": "edba-superseded", "Value": "true"}]));
    assert_eq!(superseded[0]["ExpirationInDays"], json!({"Ref": "SupersededExpirationDays"}));
    assert_eq!(
        (edba_tasks::evaluate::SUPERSEDED_TAG_KEY, edba_tasks::evaluate::SUPERSEDED_TAG_VALUE),
        ("edba-superseded", "true"),
        "the tag evaluate writes is the one the rule selects"
    );
    assert_eq!(t["Parameters"]["SupersededExpirationDays"]["MinValue"], 1);
    // incoming/ is never expired nor touched by edba.
    assert!(rules.iter().all(|r| r["Prefix"] != "incoming/"));
}

#[test]
fn objects_created_under_incoming_start_the_ingest_machine() {
    let t = template();
    let rule = &resources(&t)["IncomingObjectRule"]["Properties"];
    let pattern = &rule["EventPattern"];
    assert_eq!(pattern["source"], json!(["aws.s3"]));
    assert_eq!(pattern["detail-type"], json!(["Object Created"]));
    assert_eq!(pattern["detail"]["bucket"]["name"], json!([{"Ref": "DataBucket"}]));
    assert_eq!(pattern["detail"]["object"]["key"], json!([{"prefix": "incoming/"}]));
    let target = &rule["Targets"][0];
    assert_eq!(target["Arn"], json!({"Ref": "IngestStateMachine"}));
    let role = target["RoleArn"]["Fn::GetAtt"][0].as_str().expect("target role");
    let st = role_statements(&t, role);
    assert_eq!(st.len(), 1);
    assert_eq!(st[0].actions, ["states:StartExecution"]);
    assert_eq!(st[0].resources, [json!({"Ref": "IngestStateMachine"})]);
}

#[test]
fn events_ingest_cannot_ingest_are_parked_in_one_encrypted_queue_with_an_alarm() {
    let t = template();
    let r = resources(&t);
    let queue = &r["IngestDeadLetterQueue"];
    assert_eq!(queue["Type"], "AWS::SQS::Queue");
    assert_eq!(queue["Properties"]["QueueName"], json!({"Fn::Sub": "${AWS::StackName}-ingest-dlq"}));
    assert_eq!(queue["Properties"]["SqsManagedSseEnabled"], true);
    assert_eq!(queue["Properties"]["MessageRetentionPeriod"], 1_209_600, "14 days, SQS's longest");
    let queue_arn = json!({"Fn::GetAtt": ["IngestDeadLetterQueue", "Arn"]});

    // The ingest machine parks there, and may send nothing anywhere else.
    let substitutions = &r["IngestStateMachine"]["Properties"]["DefinitionSubstitutions"];
    assert_eq!(substitutions["IngestDeadLetterQueueUrl"], json!({"Ref": "IngestDeadLetterQueue"}));
    let sends: Vec<Statement> = role_statements(&t, "IngestMachineRole")
        .into_iter()
        .filter(|s| s.actions.iter().any(|a| a.starts_with("sqs:")))
        .collect();
    assert_eq!(sends.len(), 1);
    assert_eq!(
        (sends[0].actions.clone(), sends[0].resources.clone()),
        (vec!["sqs:SendMessage".to_owned()], vec![queue_arn.clone()])
    );

    // So does EventBridge, for an event it could not deliver, and only from the incoming rule.
    let target = &r["IncomingObjectRule"]["Properties"]["Targets"][0];
    assert_eq!(target["DeadLetterConfig"]["Arn"], queue_arn);
    let policy = &r["IngestDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"];
    let allow = policy.as_array().unwrap().iter().find(|s| s["Effect"] == "Allow").expect("an Allow statement");
    assert_eq!(allow["Principal"], json!({"Service": "events.amazonaws.com"}));
    assert_eq!(allow["Action"], "sqs:SendMessage");
    assert_eq!(allow["Condition"]["ArnEquals"]["aws:SourceArn"], json!({"Fn::GetAtt": ["IncomingObjectRule", "Arn"]}));

    let alarm = &r["IngestParkedAlarm"]["Properties"];
    assert_eq!(
        (alarm["Namespace"].as_str(), alarm["MetricName"].as_str()),
        (Some("AWS/SQS"), Some("ApproximateNumberOfMessagesVisible"))
    );
    assert_eq!(alarm["Dimensions"][0]["Value"], json!({"Fn::GetAtt": ["IngestDeadLetterQueue", "QueueName"]}));
    assert_eq!(alarm["Threshold"], 1);
    assert_eq!(alarm["AlarmActions"]["Fn::If"][0], "HasAlarmTopic");
    assert_eq!(t["Outputs"]["IngestDeadLetterQueueUrl"]["Value"], json!({"Ref": "IngestDeadLetterQueue"}));
}

#[test]
fn the_schedule_starts_the_aggregate_machine_with_a_schedule_trigger() {
    let t = template();
    let schedule = &resources(&t)["AggregateSchedule"];
    assert_eq!(schedule["Type"], "AWS::Scheduler::Schedule");
    let p = &schedule["Properties"];
    assert_eq!(p["ScheduleExpression"], json!({"Ref": "ScheduleRate"}));
    assert_eq!(t["Parameters"]["ScheduleRate"]["Default"], "rate(10 minutes)");
    assert_eq!(p["Target"]["Arn"], json!({"Ref": "AggregateStateMachine"}));
    // The input is what the aggregate machine's contract accepts.
    let input: edba_payloads::AggregateInput =
        serde_json::from_str(p["Target"]["Input"].as_str().expect("Input is JSON text")).expect("AggregateInput");
    assert_eq!(input.trigger, edba_payloads::Trigger::Schedule);
    let role = p["Target"]["RoleArn"]["Fn::GetAtt"][0].as_str().expect("schedule role");
    let st = role_statements(&t, role);
    assert_eq!(st.len(), 1);
    assert_eq!(st[0].actions, ["states:StartExecution"]);
    assert_eq!(st[0].resources, [json!({"Ref": "AggregateStateMachine"})]);
}

#[test]
fn no_wildcard_actions_and_no_wildcard_resources_on_data_code_secrets_or_machines() {
    let t = template();
    let statements = all_statements(&t);
    assert!(statements.len() > 20, "the policies were found");
    for s in &statements {
        for a in &s.actions {
            assert_ne!(a, "*", "{}: action *", s.origin);
            // A Deny may be broad (the TLS-only bucket policy denies s3:*).
            if s.effect == "Allow" {
                assert!(!a.contains('*'), "{}: wildcard action {a}", s.origin);
            }
        }
        if s.effect != "Allow" {
            continue;
        }
        let guarded =
            s.actions.iter().any(|a| ["s3:", "lambda:", "secretsmanager:", "states:"].iter().any(|p| a.starts_with(p)));
        if guarded {
            for r in &s.resources {
                assert_ne!(r, &json!("*"), "{}: {:?} on every resource", s.origin, s.actions);
                if let Some(text) = sub_text(r) {
                    assert!(!text.ends_with("}/*"), "{}: {text} covers a whole bucket", s.origin);
                    assert!(!text.ends_with(":*:*"), "{}: {text}", s.origin);
                }
            }
        }
    }
}

/// The S3 prefixes a function's role may touch, with the actions on each.
fn s3_access(t: &Value, role: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in role_statements(t, role) {
        let s3: Vec<&String> = s.actions.iter().filter(|a| a.starts_with("s3:")).collect();
        if s3.is_empty() {
            continue;
        }
        for r in &s.resources {
            // Listing is granted on the bucket, limited to prefixes by a condition.
            if r == &json!({"Fn::GetAtt": ["DataBucket", "Arn"]}) {
                let prefixes = &s.condition["StringLike"]["s3:prefix"];
                assert!(prefixes.is_array(), "{role}: listing the bucket is limited to prefixes");
                out.entry(format!("list {prefixes}")).or_default().extend(s3.iter().map(|a| a.to_string()));
                continue;
            }
            let text = sub_text(r).unwrap_or_else(|| panic!("{role}: S3 resource {r} is not !Sub"));
            let prefix = text
                .strip_prefix("${DataBucket.Arn}/")
                .unwrap_or_else(|| panic!("{role}: {text} is not an object of the data bucket"));
            out.entry(prefix.to_owned()).or_default().extend(s3.iter().map(|a| a.to_string()));
        }
    }
    out
}

#[test]
fn each_function_reaches_only_its_own_s3_prefixes() {
    let t = template();
    let access = |f: &str| s3_access(&t, &role_of(&t, f));
    // Validate writes only its own version's derived objects and deletes none.
    let write = set(&["s3:PutObject".to_owned(), "s3:AbortMultipartUpload".into()]);
    let expected_validate = BTreeMap::from([
        ("incoming/*".to_owned(), set(&["s3:GetObject".to_owned(), "s3:GetObjectVersion".into()])),
        ("code/edba.toml".to_owned(), set(&["s3:GetObject".to_owned()])),
        ("validated/*".to_owned(), write.clone()),
        ("rejected/*".to_owned(), write),
    ]);
    assert_eq!(access("ValidateFunction"), expected_validate);
    // Evaluate writes manifests and tags superseded derived objects; it deletes none.
    let tag = set(&["s3:PutObjectTagging".to_owned(), "s3:PutObjectVersionTagging".into()]);
    assert_eq!(
        access("EvaluateFunction"),
        BTreeMap::from([
            ("manifests/*".to_owned(), set(&["s3:PutObject".to_owned(), "s3:AbortMultipartUpload".into()])),
            ("code/edba.toml".to_owned(), set(&["s3:GetObject".to_owned()])),
            ("validated/*".to_owned(), tag.clone()),
            ("rejected/*".to_owned(), tag),
        ])
    );
    // Load reads the planned tables (it generates their SQL), nothing else.
    assert_eq!(
        access("LoadFunction"),
        BTreeMap::from([("code/edba.tables.json".to_owned(), set(&["s3:GetObject".to_owned()]))])
    );
    for f in ["TrackFunction", "RecordFunction"] {
        assert_eq!(access(f), BTreeMap::new(), "{f} touches no S3 object");
    }
    // Redshift reads output/ through its own COPY role, never the load function.
    let copy = s3_access(&t, "RedshiftCopyRole");
    assert_eq!(
        copy,
        BTreeMap::from([
            ("output/*".to_owned(), set(&["s3:GetObject".to_owned(), "s3:GetObjectVersion".into()])),
            (r#"list ["output/*"]"#.to_owned(), set(&["s3:ListBucket".to_owned()])),
        ])
    );
    let principals = &resources(&t)["RedshiftCopyRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
        ["Principal"]["Service"];
    assert!(principals.as_array().expect("services").contains(&json!("redshift.amazonaws.com")));
}

#[test]
fn secrets_are_read_only_by_the_functions_that_need_them_and_only_by_arn() {
    let t = template();
    for (function, _) in FUNCTIONS {
        let role = role_of(&t, function);
        let secret_statements: Vec<Statement> = role_statements(&t, &role)
            .into_iter()
            .filter(|s| s.actions.iter().any(|a| a.starts_with("secretsmanager:")))
            .collect();
        // Evaluate also reads the criteria user's secret.
        let expected = match function {
            "ValidateFunction" => 0,
            "EvaluateFunction" => 2,
            _ => 1,
        };
        assert_eq!(secret_statements.len(), expected, "{function}");
        for s in &secret_statements {
            assert_eq!(s.actions, ["secretsmanager:GetSecretValue"], "{function}");
        }
        for s in &secret_statements {
            let r = serde_json::to_string(&s.resources).expect("json");
            assert!(
                r.contains("StateStoreSecretArn")
                    || r.contains("RedshiftSecretArn")
                    || r.contains("WarehouseSecret")
                    || r.contains("CriteriaSecret")
                    || r.contains("MasterUserSecret"),
                "{function}: secret resource {r} is one of the given or generated secrets"
            );
        }
        // The environment names secrets; it never holds one.
        let env = &resources(&t)[function]["Properties"]["Environment"]["Variables"];
        for (k, _) in env.as_object().into_iter().flatten() {
            assert!(!k.contains("PASSWORD") && !k.ends_with("_SECRET"), "{function}: {k}");
        }
    }
    let env = |f: &str| resources(&t)[f]["Properties"]["Environment"]["Variables"].clone();
    for f in ["TrackFunction", "EvaluateFunction", "RecordFunction"] {
        assert!(env(f)["EDBA_STATE_STORE_SECRET_ARN"].is_object(), "{f}");
        // The URL has no user or password: `mysql://host:port/db`.
        let url = serde_json::to_string(&env(f)["EDBA_STATE_STORE_URL"]).expect("json");
        assert!(url.contains("mysql://${") && !url.contains('@'), "{f}: {url}");
    }
    assert!(env("LoadFunction")["EDBA_REDSHIFT_SECRET_ARN"].is_object());
    assert!(env("LoadFunction")["EDBA_REDSHIFT_COPY_ROLE_ARN"].is_object());
}

#[test]
fn extra_criteria_run_as_a_generated_select_only_user_whose_secret_only_evaluate_reads() {
    let t = template();
    let secret = &resources(&t)["CriteriaSecret"];
    assert_eq!(secret["Type"], "AWS::SecretsManager::Secret");
    assert!(secret.get("Condition").is_none(), "created with or without the stack's own Aurora cluster");
    let generated = &secret["Properties"]["GenerateSecretString"];
    let fixed: Value = serde_json::from_str(generated["SecretStringTemplate"].as_str().expect("SecretStringTemplate"))
        .expect("SecretStringTemplate is JSON");
    assert_eq!(fixed, json!({"username": "edba_criteria"}));
    assert_eq!(generated["GenerateStringKey"], "password");
    assert!(generated["PasswordLength"].as_u64().expect("PasswordLength") >= 32);
    let excluded = generated["ExcludeCharacters"].as_str().expect("ExcludeCharacters");
    // What could end a quoted MySQL literal, or a URL's user or password.
    for c in ['\'', '"', '\\', '`', '/', '@', ':', '%', '#'] {
        assert!(excluded.contains(c), "{c:?} is not excluded from the generated password");
    }

    // Only the evaluate function is told about it, by ARN.
    for (function, _) in FUNCTIONS {
        let given = &resources(&t)[function]["Properties"]["Environment"]["Variables"]["EDBA_CRITERIA_SECRET_ARN"];
        if function == "EvaluateFunction" {
            assert_eq!(given, &json!({"Ref": "CriteriaSecret"}));
        } else {
            assert!(given.is_null(), "{function} is not given the criteria secret");
        }
    }

    // Only the evaluate role may read it: one statement, GetSecretValue.
    let reading: Vec<Statement> =
        all_statements(&t).into_iter().filter(|s| s.resources.contains(&json!({"Ref": "CriteriaSecret"}))).collect();
    assert_eq!(reading.len(), 1, "{reading:?}");
    assert_eq!(reading[0].origin, role_of(&t, "EvaluateFunction"));
    assert_eq!(reading[0].effect, "Allow");
    assert_eq!(reading[0].actions, ["secretsmanager:GetSecretValue"]);
}

#[test]
fn the_aggregate_machine_may_run_emr_steps_and_invoke_only_its_own_functions() {
    let t = template();
    let st = role_statements(&t, "AggregateMachineRole");
    let actions: BTreeSet<&str> = st.iter().flat_map(|s| s.actions.iter().map(String::as_str)).collect();
    let expected: BTreeSet<&str> = [
        "lambda:InvokeFunction",
        "elasticmapreduce:AddJobFlowSteps",
        "elasticmapreduce:DescribeStep",
        "elasticmapreduce:CancelSteps",
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
    ]
    .into();
    assert_eq!(actions, expected);
    let events = st.iter().find(|s| s.actions.contains(&"events:PutRule".to_owned())).expect("events");
    assert_eq!(
        events.resources,
        [
            json!({"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/StepFunctionsGetEventForEMRAddJobFlowStepsRule"})
        ]
    );
    let invoke = st.iter().find(|s| s.actions == ["lambda:InvokeFunction"]).expect("invoke");
    let targets = json_set(invoke.resources.iter().cloned());
    let own = json_set(
        ["EvaluateFunction", "LoadFunction", "RecordFunction"].iter().map(|f| json!({"Fn::GetAtt": [f, "Arn"]})),
    );
    assert_eq!(targets, own);

    let ingest = role_statements(&t, "IngestMachineRole");
    let invoke = ingest.iter().find(|s| s.actions == ["lambda:InvokeFunction"]).expect("invoke");
    let targets = json_set(invoke.resources.iter().cloned());
    let own = json_set(["ValidateFunction", "TrackFunction"].iter().map(|f| json!({"Fn::GetAtt": [f, "Arn"]})));
    assert_eq!(targets, own);
    let start = ingest.iter().find(|s| s.actions == ["states:StartExecution"]).expect("start aggregate");
    assert_eq!(start.resources, [json!({"Ref": "AggregateStateMachine"})]);
}

#[test]
fn evaluate_may_find_clusters_and_describe_only_aggregate_executions() {
    let t = template();
    let st = role_statements(&t, "EvaluateRole");
    let actions: BTreeSet<&str> = st.iter().flat_map(|s| s.actions.iter().map(String::as_str)).collect();
    for a in [
        "elasticmapreduce:ListClusters",
        "elasticmapreduce:DescribeCluster",
        "elasticmapreduce:ListSteps",
        "states:DescribeExecution",
    ] {
        assert!(actions.contains(a), "evaluate may {a}");
    }
    let describe = st.iter().find(|s| s.actions == ["states:DescribeExecution"]).expect("DescribeExecution");
    assert_eq!(
        describe.resources,
        [
            json!({"Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${AWS::StackName}-aggregate:*"})
        ]
    );
}

#[test]
fn failed_aggregate_executions_raise_an_alarm_that_may_notify_a_topic() {
    let t = template();
    let alarm = &resources(&t)["AggregateFailedAlarm"]["Properties"];
    assert_eq!(alarm["Namespace"], "AWS/States");
    assert_eq!(alarm["MetricName"], "ExecutionsFailed");
    assert_eq!(alarm["Dimensions"][0]["Value"], json!({"Ref": "AggregateStateMachine"}));
    assert_eq!(alarm["AlarmActions"]["Fn::If"][0], "HasAlarmTopic");
    assert_eq!(t["Parameters"]["AlarmTopicArn"]["Default"], "");
}

#[test]
fn optional_infrastructure_is_off_by_default_and_behind_conditions() {
    let t = template();
    for (param, cond, types) in [
        ("CreateStateStore", "CreateStateStoreCond", &["AWS::RDS::DBCluster", "AWS::RDS::DBInstance"][..]),
        (
            "CreateRedshift",
            "CreateRedshiftCond",
            &["AWS::RedshiftServerless::Namespace", "AWS::RedshiftServerless::Workgroup"],
        ),
        ("CreateEmrCluster", "CreateEmrClusterCond", &["AWS::EMR::Cluster"]),
    ] {
        assert_eq!(t["Parameters"][param]["Default"], "false", "{param}");
        for ty in types {
            let found = resources_of_type(&t, ty);
            assert_eq!(found.len(), 1, "{ty}");
            assert_eq!(found[0].1["Condition"], cond, "{ty}");
        }
    }
    let aurora = &resources_of_type(&t, "AWS::RDS::DBCluster")[0].1["Properties"];
    assert_eq!(aurora["Engine"], "aurora-mysql");
    assert_eq!(aurora["ManageMasterUserPassword"], true);
    assert!(aurora["ServerlessV2ScalingConfiguration"].is_object());
    assert!(aurora.get("MasterUserPassword").is_none());
    let emr = &resources_of_type(&t, "AWS::EMR::Cluster")[0].1["Properties"];
    assert!(emr["Tags"].as_array().expect("tags").contains(&json!({"Key": "edba", "Value": "true"})));
    assert_eq!(emr["Applications"], json!([{"Name": "Spark"}]));
}

#[test]
fn the_emr_service_role_may_pass_the_stacks_own_instance_role_and_its_profile_is_named_like_it() {
    let t = template();
    let r = resources(&t);
    // EMR finds the instance profile by the role's name.
    let role_name = &r["EmrInstanceRole"]["Properties"]["RoleName"];
    assert!(role_name.is_object() || role_name.is_string(), "the instance role is named: {role_name}");
    assert_eq!(&r["EmrInstanceProfile"]["Properties"]["InstanceProfileName"], role_name);
    assert_eq!(r["EmrCluster"]["Properties"]["JobFlowRole"], json!({"Ref": "EmrInstanceProfile"}));
    // AmazonEMRServicePolicy_v2 passes only EMR_EC2_DefaultRole; ours is granted explicitly, to EC2 only.
    let pass: Vec<_> =
        role_statements(&t, "EmrServiceRole").into_iter().filter(|s| s.actions == ["iam:PassRole"]).collect();
    assert_eq!(pass.len(), 1, "one PassRole statement");
    assert_eq!(pass[0].resources, [json!({"Fn::GetAtt": ["EmrInstanceRole", "Arn"]})]);
    assert_eq!(pass[0].condition["StringEquals"]["iam:PassedToService"], "ec2.amazonaws.com");
}

#[test]
fn outputs_name_the_bucket_machines_and_functions() {
    let t = template();
    let outputs = t["Outputs"].as_object().expect("Outputs");
    for (key, value) in [
        ("BucketName", json!({"Ref": "DataBucket"})),
        ("IngestStateMachineArn", json!({"Ref": "IngestStateMachine"})),
        ("AggregateStateMachineArn", json!({"Ref": "AggregateStateMachine"})),
        ("ValidateFunctionName", json!({"Ref": "ValidateFunction"})),
        ("TrackFunctionName", json!({"Ref": "TrackFunction"})),
        ("EvaluateFunctionName", json!({"Ref": "EvaluateFunction"})),
        ("LoadFunctionName", json!({"Ref": "LoadFunction"})),
        ("RecordFunctionName", json!({"Ref": "RecordFunction"})),
    ] {
        assert_eq!(outputs[key]["Value"], value, "{key}");
    }
}

// ------------------------------------------------- dashboard and run alarms

/// The values a payload enum serializes to, from its JSON Schema.
fn enum_values(schema: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("enum", Value::Array(items)) => {
                            out.extend(items.iter().filter_map(Value::as_str).map(Into::into))
                        }
                        ("const", Value::String(s)) => {
                            out.insert(s.clone());
                        }
                        _ => walk(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    walk(schema, &mut out);
    out
}

/// One line of a metric widget: namespace, name and dimensions (name → value).
#[derive(Debug)]
struct DashboardMetric {
    namespace: String,
    name: String,
    dimensions: BTreeMap<String, String>,
}

/// The dashboard's body with each `${…}` replaced by `SUB:<what>` (the stack
/// name by `STACK`), parsed; every reference names a parameter, a resource
/// (or its attribute) or a pseudo parameter.
fn dashboard_body(t: &Value) -> Value {
    let dashboards = resources_of_type(t, "AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1, "one dashboard");
    let props = &dashboards[0].1["Properties"];
    assert_eq!(props["DashboardName"], json!({"Fn::Sub": "${AWS::StackName}"}));
    let text = props["DashboardBody"]["Fn::Sub"].as_str().expect("DashboardBody: !Sub with a JSON string");
    let mut body = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        body.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("a closed ${…}") + start;
        let reference = &rest[start + 2..end];
        let target = reference.split('.').next().expect("a name");
        assert!(
            reference.starts_with("AWS::")
                || t["Parameters"].get(target).is_some()
                || resources(t).contains_key(target),
            "${{{reference}}} in the dashboard names nothing in the template"
        );
        match reference {
            "AWS::StackName" => body.push_str("STACK"),
            other => body.push_str(&format!("SUB:{other}")),
        }
        rest = &rest[end + 1..];
    }
    body.push_str(rest);
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("the dashboard body is JSON: {e}\n{body}"))
}

fn dashboard_metrics(body: &Value) -> Vec<DashboardMetric> {
    let mut out = Vec::new();
    for widget in body["widgets"].as_array().expect("widgets") {
        for key in ["x", "y", "width", "height"] {
            assert!(widget[key].is_u64(), "a widget's {key}: {widget}");
        }
        if widget["type"] != "metric" {
            continue;
        }
        let props = &widget["properties"];
        assert_eq!(props["region"], "SUB:AWS::Region", "{widget}");
        for line in props["metrics"].as_array().expect("metrics") {
            let strings: Vec<&str> = line.as_array().expect("a metric line").iter().filter_map(Value::as_str).collect();
            assert!(strings.len() >= 2 && strings.len() % 2 == 0, "namespace, name, then dimension pairs: {line}");
            out.push(DashboardMetric {
                namespace: strings[0].into(),
                name: strings[1].into(),
                dimensions: strings[2..].chunks(2).map(|p| (p[0].to_owned(), p[1].to_owned())).collect(),
            });
        }
    }
    out
}

#[test]
fn the_dashboard_shows_every_metric_the_tasks_emit_for_this_stack_and_the_machines_failures() {
    use edba_tasks::metrics as m;
    let t = template();
    let shown = dashboard_metrics(&dashboard_body(&t));

    let edba: Vec<&DashboardMetric> = shown.iter().filter(|l| l.namespace == m::NAMESPACE).collect();
    for line in &edba {
        assert!(m::ALL_METRICS.contains(&line.name.as_str()), "{line:?} is a metric the tasks emit");
        assert_eq!(line.dimensions.get(m::STACK).map(String::as_str), Some("STACK"), "{line:?} is this stack's");
        for key in line.dimensions.keys() {
            assert!([m::STACK, m::STATUS, m::OUTCOME].contains(&key.as_str()), "{line:?}: dimension {key}");
        }
    }
    let names: BTreeSet<&str> = edba.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, m::ALL_METRICS.into_iter().collect(), "every metric the tasks emit is on the dashboard");

    // Each dimension value the code can write is graphed, and only those.
    let values = |metric: &str, dimension: &str| -> BTreeSet<String> {
        edba.iter().filter(|l| l.name == metric).filter_map(|l| l.dimensions.get(dimension).cloned()).collect()
    };
    let statuses = enum_values(&edba_payloads::schema_of::<edba_payloads::FileStatus>());
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    assert_eq!(values(m::FILES_VALIDATED, m::STATUS), statuses);
    assert_eq!(
        values(m::FILES_TRACKED, m::OUTCOME),
        enum_values(&edba_payloads::schema_of::<edba_payloads::TrackOutcome>())
    );
    let outcomes = enum_values(&edba_payloads::schema_of::<edba_payloads::RunOutcome>());
    assert_eq!(values(m::RUNS_RECORDED, m::OUTCOME), outcomes);
    assert!(values(m::RUN_DURATION, m::OUTCOME).is_subset(&outcomes));
    for metric in [m::FILES_VALIDATED, m::FILES_TRACKED, m::RUNS_RECORDED, m::RUN_DURATION] {
        assert!(edba.iter().filter(|l| l.name == metric).all(|l| l.dimensions.len() == 2), "{metric} by its dimension");
    }

    // The machines' failures, beside what the tasks report.
    for machine in ["IngestStateMachine", "AggregateStateMachine"] {
        assert!(
            shown.iter().any(|l| l.namespace == "AWS/States"
                && l.name == "ExecutionsFailed"
                && l.dimensions.get("StateMachineArn") == Some(&format!("SUB:{machine}"))),
            "ExecutionsFailed of {machine}"
        );
    }
    for (function, _) in FUNCTIONS {
        assert!(
            shown.iter().any(|l| l.namespace == "AWS/Lambda"
                && l.name == "Errors"
                && l.dimensions.get("FunctionName") == Some(&format!("SUB:{function}"))),
            "Errors of {function}"
        );
    }
}

#[test]
fn the_dashboard_shows_the_state_of_every_alarm() {
    let t = template();
    let body = dashboard_body(&t);
    let listed: BTreeSet<String> = body["widgets"]
        .as_array()
        .expect("widgets")
        .iter()
        .filter(|w| w["type"] == "alarm")
        .flat_map(|w| w["properties"]["alarms"].as_array().expect("alarms").iter())
        .map(|a| a.as_str().expect("an alarm ARN").to_owned())
        .collect();
    let alarms: BTreeSet<String> = resources_of_type(&t, "AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|(name, _)| format!("SUB:{name}.Arn"))
        .collect();
    assert_eq!(listed, alarms);
}

#[test]
fn failed_runs_and_evaluation_errors_raise_alarms_that_may_notify_a_topic() {
    use edba_tasks::metrics as m;
    let t = template();
    let r = resources(&t);
    let stack = json!({"Name": m::STACK, "Value": {"Ref": "AWS::StackName"}});

    // Runs that failed: marked FAILED by record, or reconciled by evaluate.
    let runs = &r["RunsFailedAlarm"]["Properties"];
    let queries = runs["Metrics"].as_array().expect("a metric-math alarm");
    let watched = |name: &str| -> (String, Value) {
        let query = queries
            .iter()
            .find(|q| q["MetricStat"]["Metric"]["MetricName"] == name)
            .unwrap_or_else(|| panic!("RunsFailedAlarm reads {name}"));
        let metric = &query["MetricStat"]["Metric"];
        assert_eq!(metric["Namespace"], m::NAMESPACE, "{name}");
        assert_eq!(query["MetricStat"]["Stat"], "Sum", "{name}");
        assert_eq!(query["ReturnData"], false, "{name}");
        (query["Id"].as_str().expect("Id").to_owned(), metric["Dimensions"].clone())
    };
    let (recorded, dimensions) = watched(m::RUNS_RECORDED);
    let failed = m::run_outcome(edba_payloads::RunOutcome::Failed);
    assert_eq!(dimensions, json!([stack, {"Name": m::OUTCOME, "Value": failed}]));
    let (reconciled, dimensions) = watched(m::RUNS_RECONCILED);
    assert_eq!(dimensions, json!([stack]));
    let alarmed: Vec<&Value> = queries.iter().filter(|q| q["ReturnData"] == true).collect();
    assert_eq!(alarmed.len(), 1, "one expression is alarmed on");
    let expression = alarmed[0]["Expression"].as_str().expect("an expression");
    assert!(
        expression.contains(&format!("FILL({recorded}, 0)")) && expression.contains(&format!("FILL({reconciled}, 0)"))
    );

    let evaluate = &r["EvaluateErrorsAlarm"]["Properties"];
    assert_eq!(evaluate["Namespace"], "AWS/Lambda");
    assert_eq!(evaluate["MetricName"], "Errors");
    assert_eq!(evaluate["Dimensions"], json!([{"Name": "FunctionName", "Value": {"Ref": "EvaluateFunction"}}]));
    assert_eq!(evaluate["Statistic"], "Sum");

    for alarm in [runs, evaluate] {
        assert_eq!(alarm["Threshold"], 1);
        assert_eq!(alarm["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
        assert_eq!(alarm["TreatMissingData"], "notBreaching", "no data is no failure");
    }
    for (name, alarm) in resources_of_type(&t, "AWS::CloudWatch::Alarm") {
        assert_eq!(
            alarm["Properties"]["AlarmActions"],
            json!({"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}),
            "{name} notifies the optional topic"
        );
    }
}

#[test]
fn every_function_names_its_stack_for_metrics_and_keeps_info_lines() {
    let t = template();
    assert_eq!(t["Globals"]["Function"]["Environment"]["Variables"]["EDBA_STACK"], json!({"Ref": "AWS::StackName"}));
    for (name, _) in FUNCTIONS {
        let props = &resources(&t)[name]["Properties"];
        assert!(props["Environment"]["Variables"].get("EDBA_STACK").is_none(), "{name} keeps the stack's name");
        // Lambda gives the EMF lines, which have no level, the level INFO: a
        // coarser filter would drop the metrics.
        let level = props["LoggingConfig"]["ApplicationLogLevel"].as_str().expect("ApplicationLogLevel");
        assert!(["TRACE", "DEBUG", "INFO"].contains(&level), "{name}: {level}");
    }
}

/// Where the state-store functions read the RDS CA bundle: `scripts/deploy.sh`
/// puts it at the root of their packages, which Lambda unpacks in /var/task.
const RDS_CA_BUNDLE: &str = "/var/task/rds-global-bundle.pem";

/// Every string in `v` that holds a MySQL URL, with where it is.
fn mysql_urls(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) if s.contains("mysql://") || s.contains("mariadb://") => {
            out.push((at.to_owned(), s.clone()));
        }
        Value::Array(items) => items.iter().enumerate().for_each(|(i, x)| mysql_urls(x, &format!("{at}[{i}]"), out)),
        Value::Object(map) => map.iter().for_each(|(k, x)| mysql_urls(x, &format!("{at}.{k}"), out)),
        _ => {}
    }
}

#[test]
fn every_state_store_url_requires_tls_verified_against_the_rds_ca_bundle() {
    let t = template();
    let env = |f: &str| resources(&t)[f]["Properties"]["Environment"]["Variables"].clone();
    let with_url: BTreeSet<&str> =
        FUNCTIONS.iter().map(|(f, _)| *f).filter(|f| !env(f)["EDBA_STATE_STORE_URL"].is_null()).collect();
    assert_eq!(with_url, set(&["TrackFunction", "EvaluateFunction", "RecordFunction"]));

    for f in &with_url {
        // `!If [CreateStateStoreCond, the stack's Aurora, a given server]`: both verify.
        let branches = env(f)["EDBA_STATE_STORE_URL"]["Fn::If"].as_array().cloned().expect("EDBA_STATE_STORE_URL: !If");
        assert_eq!(branches.len(), 3, "{f}");
        for branch in &branches[1..] {
            let url = branch["Fn::Sub"].as_str().unwrap_or_else(|| panic!("{f}: a !Sub string: {branch}"));
            let (_, query) = url.split_once('?').unwrap_or_else(|| panic!("{f}: no TLS settings in {url}"));
            // sqlx reads both spellings, the last one winning: exactly one of each.
            let tls: Vec<(&str, &str)> = query
                .split('&')
                .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
                .filter(|(key, _)| key.starts_with("ssl"))
                .collect();
            assert_eq!(tls, [("ssl-mode", "VERIFY_IDENTITY"), ("ssl-ca", RDS_CA_BUNDLE)], "{f}: {url}");
        }
    }

    // No other MySQL URL anywhere in the template goes without it.
    let mut urls = Vec::new();
    mysql_urls(&t, "", &mut urls);
    assert_eq!(urls.len(), 2 * with_url.len(), "{urls:?}");
    for (at, url) in urls {
        assert!(url.ends_with(&format!("?ssl-mode=VERIFY_IDENTITY&ssl-ca={RDS_CA_BUNDLE}")), "{at}: {url}");
    }
}
