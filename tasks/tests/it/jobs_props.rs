//! No jobs file makes the parser or the checker panic, and every rejection
//! names the job and the field (the cargo-fuzz target `jobs_file` runs the
//! same on arbitrary bytes; this runs in every `cargo test`).

use edba_tasks::jobs::{check_extra_criterion_sql, check_jobs, parse_jobs_file};
use proptest::prelude::*;

/// SQL made of tokens that have made sqlparser panic or MySQL misbehave.
fn sql_text() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "SELECT",
        "1",
        "DIV",
        "REGEXP",
        "'a'",
        "/*!",
        "/*M!",
        "*/",
        "FROM",
        "t",
        "(",
        ")",
        ",",
        "INTO",
        "OUTFILE",
        "WITH",
        "UNION",
        "--",
        "#",
        ";",
        "\"",
        "`",
        "x'00'",
        "@@version",
        "GET_LOCK",
        "e",
    ]);
    prop::collection::vec(token, 0..12).prop_map(|tokens| tokens.join(" "))
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..5).prop_map(|n| n.to_string()),
        any::<u32>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("1e9".to_owned()),
        Just("-1".to_owned()),
    ]
}

fn jobs_text() -> impl Strategy<Value = String> {
    (number(), number(), number(), number(), sql_text(), "[A-Za-z0-9*?/\\[\\]-]{0,12}", "[A-Za-z0-9_-]{0,70}").prop_map(
        |(min_files, hours, max_age, timeout, sql, pattern, id)| {
            format!(
                "[[job]]\nid = \"{id}\"\ncluster = {{ by = \"tag\", key = \"edba\", value = \"true\" }}\n\
                 step = {{ kind = \"sql_job\", sql = \"sql/jobs/sales_summary.sql\" }}\n\
                 load = {{ tables = [\"salessummary\"] }}\n\
                 [job.input]\ndataset = \"sales\"\npattern = \"{pattern}\"\nmin_files = {min_files}\n\
                 freshness = {{ rule = \"within_hours\", hours = {hours} }}\n\
                 [[job.companions]]\ndataset = \"items\"\nmax_age_hours = {max_age}\n\
                 [job.extra_criterion]\nsql = {sql:?}\ntimeout_ms = {timeout}\n",
                sql = sql.replace('\\', "")
            )
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_jobs_file_panics_and_every_rejection_names_its_job_and_field(text in jobs_text()) {
        if let Ok(file) = parse_jobs_file(&text) {
            if let Err(errors) = check_jobs(&file, None) {
                prop_assert!(!errors.is_empty());
                for error in errors {
                    prop_assert_eq!(error.job.index, 0, "{}", error);
                    prop_assert!(!error.field.is_empty() && !error.message.is_empty(), "{}", error);
                }
            }
        }
    }

    #[test]
    fn no_criterion_makes_the_checker_panic(sql in sql_text()) {
        let _ = check_extra_criterion_sql(&sql);
    }

    #[test]
    fn arbitrary_text_never_makes_the_parser_panic(text in "\\PC{0,200}") {
        if let Ok(file) = parse_jobs_file(&text) {
            let _ = check_jobs(&file, None);
        }
    }
}
