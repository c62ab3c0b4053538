//! Choosing the EMR cluster of a run.
//!
//! Within one evaluation the active clusters and their tags are listed once
//! (ListClusters, then DescribeCluster per cluster for its tags) and active
//! step counts are read at most once per cluster (ListSteps), so many ready
//! jobs cost a handful of EMR calls. Every step this evaluation assigns counts
//! as active, so ready jobs spread over equally idle clusters.

use std::collections::HashMap;

use aws_sdk_emr::error::{DisplayErrorContext, SdkError};
use aws_sdk_emr::types::{ClusterState, StepState};
use edba_payloads::jobs::ClusterSelector;

use crate::TaskError;

#[derive(Debug, Clone)]
struct ActiveCluster {
    id: String,
    waiting: bool,
    tags: Vec<(String, String)>,
    /// PENDING and RUNNING steps, once read.
    active_steps: Option<usize>,
    /// Steps this evaluation assigned.
    assigned: usize,
}

impl ActiveCluster {
    /// WAITING (idle) clusters first, then the least loaded.
    fn idle(&self) -> bool {
        self.waiting && self.assigned == 0
    }
}

/// Picks clusters for one evaluation; see the module docs.
#[derive(Debug)]
pub(crate) struct ClusterChooser<'a> {
    emr: &'a aws_sdk_emr::Client,
    clusters: Option<Vec<ActiveCluster>>,
    by_id: HashMap<String, Result<(), String>>,
}

fn emr_failure<E, R>(operation: &str, err: SdkError<E, R>) -> TaskError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    TaskError::Transient(format!("EMR {operation}: {}", DisplayErrorContext(&err)))
}

fn is_active(state: Option<&ClusterState>) -> Option<bool> {
    match state {
        Some(ClusterState::Waiting) => Some(true),
        Some(ClusterState::Running) => Some(false),
        _ => None,
    }
}

impl<'a> ClusterChooser<'a> {
    pub(crate) fn new(emr: &'a aws_sdk_emr::Client) -> Self {
        ClusterChooser { emr, clusters: None, by_id: HashMap::new() }
    }

    /// The cluster for one more run, or why there is none (in words).
    pub(crate) async fn choose(&mut self, selector: &ClusterSelector) -> Result<Result<String, String>, TaskError> {
        match selector {
            ClusterSelector::Id { id } => self.by_id(id).await,
            ClusterSelector::Tag { key, value } => self.by_tag(key, value).await,
        }
    }

    async fn by_id(&mut self, id: &str) -> Result<Result<String, String>, TaskError> {
        if let Some(known) = self.by_id.get(id) {
            return Ok(known.clone().map(|()| id.to_owned()));
        }
        let answer = match self.emr.describe_cluster().cluster_id(id).send().await {
            Ok(out) => {
                let state = out.cluster().and_then(|c| c.status()).and_then(|s| s.state());
                match (is_active(state), state) {
                    (Some(_), _) => Ok(()),
                    (None, Some(state)) => {
                        Err(format!("EMR cluster {id} is {}, not WAITING or RUNNING", state.as_str()))
                    }
                    (None, None) => Err(format!("EMR cluster {id} has no state")),
                }
            }
            // EMR answers InvalidRequestException for an unknown cluster id.
            Err(e) if e.as_service_error().is_some_and(|e| e.is_invalid_request_exception()) => {
                Err(format!("EMR cluster {id} does not exist"))
            }
            Err(e) => return Err(emr_failure("DescribeCluster", e)),
        };
        self.by_id.insert(id.to_owned(), answer.clone());
        Ok(answer.map(|()| id.to_owned()))
    }

    async fn by_tag(&mut self, key: &str, value: &str) -> Result<Result<String, String>, TaskError> {
        if self.clusters.is_none() {
            self.clusters = Some(self.list_active().await?);
        }
        let emr = self.emr;
        let clusters = self.clusters.as_mut().expect("listed above");
        let tagged: Vec<usize> = clusters
            .iter()
            .enumerate()
            .filter(|(_, c)| c.tags.iter().any(|(k, v)| k == key && v == value))
            .map(|(i, _)| i)
            .collect();
        if tagged.is_empty() {
            return Ok(Err(format!("no EMR cluster tagged {key}={value} is WAITING or RUNNING")));
        }
        let idle: Vec<usize> = tagged.iter().copied().filter(|&i| clusters[i].idle()).collect();
        let group = if idle.is_empty() { tagged } else { idle };
        let chosen = if let [only] = group.as_slice() {
            *only
        } else {
            for &i in &group {
                if clusters[i].active_steps.is_none() {
                    clusters[i].active_steps = Some(count_active_steps(emr, &clusters[i].id).await?);
                }
            }
            *group
                .iter()
                .min_by_key(|&&i| {
                    let c = &clusters[i];
                    (c.active_steps.unwrap_or(0) + c.assigned, c.id.clone())
                })
                .expect("the group is not empty")
        };
        clusters[chosen].assigned += 1;
        Ok(Ok(clusters[chosen].id.clone()))
    }

    /// Every WAITING or RUNNING cluster with its tags.
    async fn list_active(&self) -> Result<Vec<ActiveCluster>, TaskError> {
        let mut summaries = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .emr
                .list_clusters()
                .cluster_states(ClusterState::Waiting)
                .cluster_states(ClusterState::Running)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| emr_failure("ListClusters", e))?;
            for summary in out.clusters() {
                let state = summary.status().and_then(|s| s.state());
                if let (Some(id), Some(waiting)) = (summary.id(), is_active(state)) {
                    summaries.push((id.to_owned(), waiting));
                }
            }
            match out.marker() {
                Some(next) if !next.is_empty() => marker = Some(next.to_owned()),
                _ => break,
            }
        }
        let mut clusters = Vec::with_capacity(summaries.len());
        for (id, waiting) in summaries {
            let out = match self.emr.describe_cluster().cluster_id(&id).send().await {
                Ok(out) => out,
                // Terminated between the two calls.
                Err(e) if e.as_service_error().is_some_and(|e| e.is_invalid_request_exception()) => continue,
                Err(e) => return Err(emr_failure("DescribeCluster", e)),
            };
            let tags = out
                .cluster()
                .map(|c| {
                    c.tags()
                        .iter()
                        .map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            clusters.push(ActiveCluster { id, waiting, tags, active_steps: None, assigned: 0 });
        }
        Ok(clusters)
    }
}

async fn count_active_steps(emr: &aws_sdk_emr::Client, cluster_id: &str) -> Result<usize, TaskError> {
    let mut count = 0;
    let mut marker: Option<String> = None;
    loop {
        let out = emr
            .list_steps()
            .cluster_id(cluster_id)
            .step_states(StepState::Pending)
            .step_states(StepState::Running)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| emr_failure("ListSteps", e))?;
        count += out.steps().len();
        match out.marker() {
            Some(next) if !next.is_empty() => marker = Some(next.to_owned()),
            _ => return Ok(count),
        }
    }
}
