//! The extra SQL criterion must be one read-only `SELECT`.
//!
//! The evaluator runs it in a read-only transaction with a statement timeout,
//! against MySQL in AWS and SQLite locally, so it must parse in both dialects.
//! Checking it here means a reviewer sees a rejected criterion at
//! `edba jobs apply`, not as a failed run.

use std::ops::ControlFlow;

use sqlparser::ast::{Query, SetExpr, Statement, Visit, Visitor};
use sqlparser::dialect::{Dialect, MySqlDialect, SQLiteDialect};

use crate::store::{parse_criterion, reject_executable_comments};

/// Checks that `sql` is a single `SELECT` (or set operation of them) that
/// neither writes nor locks, in the MySQL and the SQLite dialects.
/// The error says why, for a person.
pub fn check_extra_criterion_sql(sql: &str) -> Result<(), String> {
    if sql.trim().is_empty() {
        return Err("is empty; write one SELECT statement".into());
    }
    reject_executable_comments(sql)?;
    let dialects: [(&str, &dyn Dialect); 2] = [("MySQL", &MySqlDialect {}), ("SQLite", &SQLiteDialect {})];
    for (name, dialect) in dialects {
        let statements = parse_criterion(dialect, sql).map_err(|e| format!("does not parse as {name} SQL: {e}"))?;
        check_statements(&statements)?;
    }
    Ok(())
}

fn check_statements(statements: &[Statement]) -> Result<(), String> {
    let statement = match statements {
        [one] => one,
        [] => return Err("holds no statement; write one SELECT statement".into()),
        _ => return Err(format!("holds {} statements; write exactly one SELECT statement", statements.len())),
    };
    let Statement::Query(query) = statement else {
        return Err(format!("is not a SELECT statement (it starts with {:?})", first_words(&statement.to_string())));
    };
    match query.body.as_ref() {
        SetExpr::Select(_) | SetExpr::SetOperation { .. } | SetExpr::Query(_) => {}
        _ => return Err("is not a SELECT statement".into()),
    }
    let mut reader = ReadOnly { top: statement };
    match statement.visit(&mut reader) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(why) => Err(why),
    }
}

fn first_words(sql: &str) -> String {
    sql.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

/// Walks every query and statement inside the criterion, subqueries and
/// common table expressions included.
struct ReadOnly<'a> {
    top: &'a Statement,
}

impl Visitor for ReadOnly<'_> {
    type Break = String;

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<String> {
        if std::ptr::eq(statement, self.top) {
            return ControlFlow::Continue(());
        }
        ControlFlow::Break(format!(
            "contains a statement that is not a SELECT ({:?})",
            first_words(&statement.to_string())
        ))
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<String> {
        if !query.locks.is_empty() {
            return ControlFlow::Break("takes row locks (FOR UPDATE / FOR SHARE); a criterion only reads".into());
        }
        if query.for_clause.is_some() {
            return ControlFlow::Break("has a FOR clause; a criterion only reads".into());
        }
        check_set_expr(&query.body)
    }
}

/// The parts of a query body that are not queries of their own (those the
/// visitor reaches separately).
fn check_set_expr(body: &SetExpr) -> ControlFlow<String> {
    match body {
        SetExpr::Select(select) => {
            if select.into.is_some() {
                return ControlFlow::Break("selects INTO a table or variable; a criterion only reads".into());
            }
            ControlFlow::Continue(())
        }
        SetExpr::SetOperation { left, right, .. } => {
            check_set_expr(left)?;
            check_set_expr(right)
        }
        SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => {
            ControlFlow::Break("contains a statement that writes; a criterion only reads".into())
        }
        SetExpr::Query(_) | SetExpr::Values(_) | SetExpr::Table(_) => ControlFlow::Continue(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pass() {
        for sql in [
            "SELECT 1",
            "select count(*) from ingested_files having count(*) > 3",
            "SELECT 1 UNION SELECT 2",
            "(SELECT 1)",
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM job_runs WHERE status = 'FAILED')",
            "WITH r AS (SELECT * FROM job_runs) SELECT count(*) FROM r",
            "SELECT 1;",
        ] {
            assert_eq!(check_extra_criterion_sql(sql), Ok(()), "{sql}");
        }
    }

    #[test]
    fn writes_locks_and_batches_fail_with_a_reason() {
        for (sql, why) in [
            ("DELETE FROM job_configs", "not a SELECT"),
            ("UPDATE job_configs SET enabled = 0", "not a SELECT"),
            ("CREATE TABLE x (a INT)", "not a SELECT"),
            ("SELECT 1; DROP TABLE x", "2 statements"),
            ("SELECT * FROM t FOR UPDATE", "FOR UPDATE"),
            ("SELECT 1 INTO @x", ""),
            ("SELECT * INTO t2 FROM t", "INTO"),
            ("SELECT * FROM (SELECT * FROM t FOR UPDATE) s", ""),
            ("", "empty"),
            ("  ;  ", "no statement"),
            ("SELEC 1", "does not parse"),
        ] {
            let err = check_extra_criterion_sql(sql).expect_err(sql);
            assert!(err.contains(why), "{sql}: {err}");
        }
    }
}
