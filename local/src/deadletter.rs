//! The local ingest dead-letter queue: what the SQS queue of the template is
//! in AWS. The ingest machine parks an event it could not ingest with
//! `arn:aws:states:::sqs:sendMessage`; locally that resource writes one JSON
//! file per message under `<home>/dead-letter/`, so a parked event outlives
//! the `edba run` that parked it, as an SQS message does, until `edba replay`
//! ingests it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::executor::TaskFailure;

/// The queue URL the committed ingest machine parks events at (a
/// `DefinitionSubstitutions` placeholder in AWS; kept as written locally).
pub const INGEST_DEAD_LETTER_QUEUE: &str = "${IngestDeadLetterQueueUrl}";

/// The folder of the home that holds parked messages.
pub const DEAD_LETTER_DIR: &str = "dead-letter";

/// One parked message: an S3 event ingest could not ingest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParkedEvent {
    pub message_id: String,
    /// When it was parked (RFC 3339, UTC).
    pub parked_at: String,
    /// The error that parked it (`Edba.Transient`, `Lambda.TooManyRequestsException`, …).
    pub error: Option<String>,
    /// The ingest execution that parked it.
    pub execution: Option<String>,
    /// The message body as SQS holds it: the S3 "Object Created" event, as
    /// EventBridge delivered it, in JSON text.
    pub body: String,
}

impl ParkedEvent {
    /// The object key the parked event is about, when the body is an S3 event.
    pub fn object_key(&self) -> Option<String> {
        let body: Value = serde_json::from_str(&self.body).ok()?;
        body.pointer("/detail/object/key").and_then(Value::as_str).map(str::to_owned)
    }
}

/// The dead-letter queue of one home.
#[derive(Debug, Clone)]
pub struct DeadLetterQueue {
    dir: PathBuf,
}

static SENT: AtomicU64 = AtomicU64::new(0);

impl DeadLetterQueue {
    pub fn new(home: &Path) -> Self {
        DeadLetterQueue { dir: home.join(DEAD_LETTER_DIR) }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What `sqs:sendMessage` does: parks the message its Parameters
    /// describe and answers as SQS does. A body that is not text is sent as
    /// its JSON text, as Step Functions does.
    pub fn send(&self, params: &Value) -> Result<Value, TaskFailure> {
        let queue = params.get("QueueUrl").and_then(Value::as_str).unwrap_or_default();
        if queue != INGEST_DEAD_LETTER_QUEUE {
            return Err(TaskFailure::new(
                "SQS.QueueDoesNotExistException",
                format!(
                    "no local queue {queue:?}; the only one is the ingest dead-letter queue {INGEST_DEAD_LETTER_QUEUE}"
                ),
            ));
        }
        let body = match params.get("MessageBody") {
            Some(Value::String(text)) => text.clone(),
            Some(value) => value.to_string(),
            None => return Err(TaskFailure::new("SQS.AmazonSQSException", "MessageBody is required")),
        };
        let attribute = |name: &str| {
            params.pointer(&format!("/MessageAttributes/{name}/StringValue")).and_then(Value::as_str).map(str::to_owned)
        };
        let now = OffsetDateTime::now_utc();
        let message_id = format!(
            "{:020}-{:06}-{}",
            now.unix_timestamp_nanos(),
            SENT.fetch_add(1, Ordering::Relaxed),
            std::process::id()
        );
        let parked = ParkedEvent {
            message_id: message_id.clone(),
            parked_at: now.format(&Rfc3339).unwrap_or_default(),
            error: attribute("error"),
            execution: attribute("execution"),
            body,
        };
        self.write(&parked).map_err(|e| {
            TaskFailure::new(
                "SQS.AmazonSQSException",
                format!("cannot park the message in {}: {e}", self.dir.display()),
            )
        })?;
        Ok(json!({ "MessageId": message_id }))
    }

    /// Writes `parked` whole or not at all (a temporary file renamed).
    fn write(&self, parked: &ParkedEvent) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.path(&parked.message_id);
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(parked).map_err(std::io::Error::other)?)?;
        std::fs::rename(&tmp, &path)
    }

    fn path(&self, message_id: &str) -> PathBuf {
        self.dir.join(format!("{message_id}.json"))
    }

    /// Every parked message, oldest first. A file that is not a parked
    /// message is an error naming it: it is never skipped or deleted.
    pub fn list(&self) -> Result<Vec<ParkedEvent>, std::io::Error> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut paths = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                paths.push(path);
            }
        }
        paths.sort();
        paths
            .into_iter()
            .map(|path| {
                let text = std::fs::read(&path)?;
                serde_json::from_slice(&text).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{} is not a parked message: {e}", path.display()),
                    )
                })
            })
            .collect()
    }

    /// Deletes a message once it has been dealt with.
    pub fn delete(&self, message_id: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.path(message_id)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parked_event_is_kept_until_deleted_and_other_queues_are_refused() {
        let home = tempfile::tempdir().unwrap();
        let queue = DeadLetterQueue::new(home.path());
        assert!(queue.list().unwrap().is_empty(), "no folder yet is an empty queue");
        let event = json!({"detail": {"object": {"key": "incoming/IL-101.tdf"}}});
        let sent = queue
            .send(&json!({
                "QueueUrl": INGEST_DEAD_LETTER_QUEUE,
                "MessageBody": event,
                "MessageAttributes": {"error": {"DataType": "String", "StringValue": "Edba.Transient"}},
            }))
            .unwrap();
        let parked = DeadLetterQueue::new(home.path()).list().unwrap();
        assert_eq!(parked.len(), 1);
        assert_eq!(sent["MessageId"], parked[0].message_id);
        assert_eq!(parked[0].object_key().as_deref(), Some("incoming/IL-101.tdf"));
        assert_eq!(parked[0].error.as_deref(), Some("Edba.Transient"));
        assert_eq!(serde_json::from_str::<Value>(&parked[0].body).unwrap(), event, "the body is the event's JSON text");

        let other = queue.send(&json!({"QueueUrl": "https://sqs/other", "MessageBody": "x"})).unwrap_err();
        assert_eq!(other.error, "SQS.QueueDoesNotExistException");
        queue.delete(&parked[0].message_id).unwrap();
        assert!(queue.list().unwrap().is_empty());
    }

    #[test]
    fn a_foreign_file_in_the_queue_is_an_error_naming_it() {
        let home = tempfile::tempdir().unwrap();
        let queue = DeadLetterQueue::new(home.path());
        std::fs::create_dir_all(queue.dir()).unwrap();
        std::fs::write(queue.dir().join("junk.json"), "{").unwrap();
        let e = queue.list().unwrap_err();
        assert!(e.to_string().contains("junk.json"), "{e}");
    }
}
