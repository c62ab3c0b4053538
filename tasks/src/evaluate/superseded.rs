//! Housekeeping after the claims: tag the derived objects of superseded raw
//! versions (`edba-superseded=true`, the outbox track fills) so the bucket's
//! lifecycle rule expires them after the template's number of days. No task
//! deletes a derived object; a run claimed before the supersession still
//! reads its objects until they expire.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{Tag, Tagging};
use futures::StreamExt;

use super::EvaluateDeps;
use crate::s3::{s3_url, sdk_failure};

/// The tag the template's lifecycle rules select.
pub const SUPERSEDED_TAG_KEY: &str = "edba-superseded";
pub const SUPERSEDED_TAG_VALUE: &str = "true";
/// Objects tagged per evaluation, at most; the rest wait for the next one.
const BATCH: u32 = 200;
const AT_ONCE: usize = 8;

/// Tags up to [`BATCH`] waiting objects; returns how many were tagged or
/// found gone. Trouble is logged, never fails the evaluation: the rows stay
/// for the next one.
pub(crate) async fn tag_superseded(deps: &EvaluateDeps) -> usize {
    let objects = match deps.store.superseded_objects(BATCH).await {
        Ok(objects) => objects,
        Err(e) => {
            tracing::warn!("superseded objects stay untagged for now: {e}");
            return 0;
        }
    };
    let tagged: Vec<Option<i64>> = futures::stream::iter(objects)
        .map(|object| async move {
            let tagging = Tagging::builder()
                .tag_set(Tag::builder().key(SUPERSEDED_TAG_KEY).value(SUPERSEDED_TAG_VALUE).build().ok()?)
                .build()
                .ok()?;
            let sent =
                deps.s3.put_object_tagging().bucket(&object.bucket).key(&object.key).tagging(tagging).send().await;
            match sent {
                Ok(_) => Some(object.id),
                // Gone already (expired, or removed by hand): nothing left to tag.
                Err(e) if e.code() == Some("NoSuchKey") => Some(object.id),
                Err(e) => {
                    let e = sdk_failure("PutObjectTagging", &s3_url(&object.bucket, &object.key), e);
                    tracing::warn!("{e}; retried by the next evaluation");
                    None
                }
            }
        })
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    let done: Vec<i64> = tagged.into_iter().flatten().collect();
    if let Err(e) = deps.store.forget_superseded(&done).await {
        // Tagging again later is harmless.
        tracing::warn!("{e}");
        return 0;
    }
    done.len()
}
