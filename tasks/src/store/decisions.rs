//! Each job's latest decision: why it waits, or the run it fired. Evaluate
//! writes every job's after each evaluation, in its own table (no lock a
//! claim holds), and `edba status` shows it. The evaluate output an
//! execution carries is bounded; this is where the whole of it is.

use ::time::OffsetDateTime;

use super::dialect::{Backend, Param};
use super::pool::{database_error, StorePool};
use super::time::StoreTime;
use super::StateStore;
use crate::TaskError;

/// What the latest evaluation decided for a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobDecision<'a> {
    pub job_id: &'a str,
    /// It fired (the reason names the run) rather than waits.
    pub fired: bool,
    pub reason: &'a str,
}

/// Rows per statement: well under both dialects' parameter limits.
const ROWS_PER_STATEMENT: usize = 100;

impl StateStore {
    /// Replaces each job's latest decision with `decisions`, made at `at` by
    /// the execution `execution_arn`. In job id order, so overlapping
    /// evaluations lock rows in the same order.
    pub async fn note_decisions(
        &self,
        decisions: &[JobDecision<'_>],
        at: OffsetDateTime,
        execution_arn: &str,
    ) -> Result<(), TaskError> {
        let mut sorted = decisions.to_vec();
        sorted.sort_by_key(|d| d.job_id);
        let at = StoreTime::new(at);
        for chunk in sorted.chunks(ROWS_PER_STATEMENT) {
            dispatch!(&self.pool, pool => replace(pool, chunk, at, execution_arn).await)
                .map_err(|e| database_error("recording the jobs' decisions", e))?;
        }
        Ok(())
    }
}

async fn replace<B: Backend>(
    pool: &StorePool<B>,
    rows: &[JobDecision<'_>],
    at: StoreTime,
    execution_arn: &str,
) -> Result<(), sqlx::Error> {
    // REPLACE INTO reads the same on MySQL and SQLite.
    let values = vec!["(?, ?, ?, ?, ?)"; rows.len()].join(", ");
    let sql =
        format!("REPLACE INTO job_decisions (job_id, decision, reason, decided_at, execution_arn) VALUES {values}");
    let mut params: Vec<Param<'_>> = Vec::with_capacity(rows.len() * 5);
    for row in rows {
        params.push(row.job_id.into());
        params.push(if row.fired { "FIRED" } else { "WAITING" }.into());
        params.push(row.reason.into());
        params.push(at.into());
        params.push(execution_arn.into());
    }
    B::execute(&mut *pool.acquire().await?, &sql, &params).await?;
    Ok(())
}
