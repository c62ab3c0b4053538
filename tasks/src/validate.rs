//! The validate task over S3: one version of a raw object in `incoming/`
//! becomes typed Parquet in `validated/` (the dataset's declared columns,
//! snappy; [`crate::dataset::parquet`]) and, when lines were rejected, a CSV
//! of them in `rejected/`.
//!
//! The derived objects are addressed by the raw version they come from:
//! `validated/<stem>/<version>.parquet` and `rejected/<stem>/<version>.rejects.csv`
//! (`<stem>` is the file name without `.tdf`; `<version>` is the S3 version
//! id, or `<etag>-<sequencer>` on an unversioned bucket). So a version's
//! outputs are written by that version's events only, never overwritten or
//! deleted by another version's: a run that claimed version 1 reads version 1's
//! rows even when version 2 arrives (or turns out INVALID) before its step
//! starts, and two versions validated at once never mix. Old versions' outputs
//! are left to the bucket's lifecycle, never removed by a task.
//!
//! What is written, by verdict:
//!
//! | verdict                      | validated object | rejected object |
//! |------------------------------|------------------|-----------------|
//! | VALIDATED                    | written          | not written     |
//! | VALIDATED_WITH_REJECTS       | written          | written         |
//! | INVALID (content)            | not written      | written when lines were rejected, so the reasons per line can be read |
//! | INVALID (unknown dataset)    | not written      | not written     |
//! | INVALID (object gone)        | not written      | not written     |
//!
//! An INVALID file's valid rows are in neither output: the raw object, which
//! edba never modifies or deletes, keeps them.
//!
//! The raw object is read pinned to the event (its version id, else its ETag
//! with `If-Match`), so a stale or duplicate event can never validate content
//! other than the one it announced. When that content is gone (overwritten or
//! deleted since) the result is INVALID with the reason and nothing is written:
//! the newer event, if any, is the one that counts.
//!
//! Memory stays bounded whatever the file size: the body is streamed through the
//! converter chunk by chunk and each output goes to S3 through an
//! [`ObjectWriter`] (one PutObject below a part, multipart above).

use aws_sdk_s3::Client;
use edba_payloads::{decode_event_key, FileStatus, RowCounts, ValidateInput, ValidateOutput};

use crate::dataset::parquet::ParquetSink;
use crate::dataset::{ConversionReport, ConvertOptions, Converter};
use crate::project::{load_project, shared_cache};
use crate::s3::{self, ObjectBody, ObjectRead, ObjectWriter, ReadPin, DEFAULT_PART_SIZE};
use crate::TaskError;

/// Prefix of the validated objects.
pub const VALIDATED_PREFIX: &str = "validated/";
/// Prefix of the rejected lines.
pub const REJECTED_PREFIX: &str = "rejected/";

/// Knobs of [`validate_object`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidateOptions {
    /// The converter's options; `max_reject_share` overrides the dataset's
    /// share of rejected rows above which a file is INVALID.
    pub convert: ConvertOptions,
    /// Part size of the outputs' multipart uploads; an output smaller than one
    /// part is written with a single PutObject. Clamped to S3's 5 MiB minimum.
    pub part_size: usize,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions { convert: ConvertOptions::default(), part_size: DEFAULT_PART_SIZE }
    }
}

/// `validated/<stem>/<version>.parquet`: the clean rows of one raw version.
/// (Runs claimed before validated objects were Parquet list `….csv` keys;
/// the runners read those as CSV.)
pub fn validated_key(stem: &str, version: &SourceVersion) -> String {
    format!("{VALIDATED_PREFIX}{stem}/{}.parquet", version.token())
}

/// `rejected/<stem>/<version>.rejects.csv`: the rejected lines of one raw version.
pub fn rejected_key(stem: &str, version: &SourceVersion) -> String {
    format!("{REJECTED_PREFIX}{stem}/{}.rejects.csv", version.token())
}

/// Which version of a raw object derived objects come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceVersion<'a> {
    /// The S3 version id (a versioned bucket, as deployed).
    Version(&'a str),
    /// The ETag and the event's sequencer, on a bucket without versioning:
    /// together they tell one upload of a key from another.
    Unversioned { etag: &'a str, sequencer: &'a str },
}

impl SourceVersion<'_> {
    /// The version as one path segment of an object key: characters outside
    /// `A-Z a-z 0-9 . _ -` are percent-encoded, so distinct versions never
    /// share a key.
    pub fn token(&self) -> String {
        let raw = match self {
            SourceVersion::Version(id) => (*id).to_owned(),
            SourceVersion::Unversioned { etag, sequencer } => format!("{etag}-{sequencer}"),
        };
        let mut token = String::with_capacity(raw.len());
        for b in raw.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
                token.push(char::from(b));
            } else {
                token.push_str(&format!("%{b:02X}"));
            }
        }
        token
    }
}

/// The object key an event names, decoded ([`decode_event_key`]); a key that
/// does not decode breaks the contract.
fn event_key(raw: &str) -> Result<String, TaskError> {
    decode_event_key(raw).map_err(|e| TaskError::InvalidInput(e.to_string()))
}

/// Validates the object an S3 "Object Created" event names. Content problems
/// are results (status INVALID with a reason); errors are S3 trouble
/// ([`TaskError::Transient`]) or an event that breaks the contract
/// ([`TaskError::InvalidInput`]).
pub async fn validate_object(
    s3: &Client,
    input: &ValidateInput,
    opts: &ValidateOptions,
) -> Result<ValidateOutput, TaskError> {
    if input.bucket.is_empty() {
        return Err(TaskError::InvalidInput("validate input has an empty bucket name".into()));
    }
    let key = event_key(&input.object.key)?;
    let mut output = ValidateOutput {
        file_url: s3::s3_url(&input.bucket, &key),
        bucket: input.bucket.clone(),
        key: key.clone(),
        version_id: input.object.version_id.clone(),
        etag: input.object.etag.clone(),
        sequencer: input.object.sequencer.clone(),
        dataset: None,
        partition: None,
        status: FileStatus::Invalid,
        reason: None,
        counts: RowCounts::default(),
        validated_key: None,
        validated_etag: None,
        rejected_key: None,
        validated_at: String::new(),
    };

    let project = load_project(s3, &input.bucket, shared_cache()).await?.project;
    let matched = match project.match_key(&key) {
        Ok(matched) => matched,
        Err(unknown) => {
            output.reason = Some(format!("unknown dataset: {}", unknown.reason));
            return Ok(finished(output));
        }
    };
    output.dataset = Some(matched.dataset.name.clone());
    output.partition = matched.partition.clone();

    let pin = ReadPin::from_event(input.object.version_id.as_deref(), input.object.etag.as_deref());
    let body = match s3::open_object(s3, &input.bucket, &key, pin).await? {
        ObjectRead::Body(body) => body,
        ObjectRead::Gone(reason) => {
            output.reason = Some(reason);
            return Ok(finished(output));
        }
    };
    if output.etag.is_none() {
        output.etag = body.etag.clone();
    }
    if output.version_id.is_none() {
        output.version_id = body.version_id.clone();
    }

    let source = match (output.version_id.as_deref(), output.etag.as_deref()) {
        (Some(id), _) => SourceVersion::Version(id),
        (None, Some(etag)) => SourceVersion::Unversioned { etag, sequencer: &output.sequencer },
        (None, None) => {
            return Err(TaskError::Transient(format!("S3 answered no version id and no ETag for {key}")));
        }
    };
    let validated = validated_key(&matched.stem, &source);
    let rejected = rejected_key(&matched.stem, &source);
    let with_lineage = |writer: ObjectWriter| lineage(writer, &key, &output);
    let valid = with_lineage(ObjectWriter::new(s3, &input.bucket, &validated, opts.part_size));
    let mut rejects = with_lineage(ObjectWriter::new(s3, &input.bucket, &rejected, opts.part_size));
    let mut valid = ParquetSink::new(&matched.dataset, valid).map_err(writing)?;

    let converted = convert(body, Converter::for_file(&matched, opts.convert), &mut valid, &mut rejects).await;
    let finished_valid = converted.as_ref().ok().map(|_| valid.finish().map_err(writing));
    let (report, valid) = match (converted, finished_valid) {
        (Ok(report), Some(Ok(valid))) => (report, valid),
        (Err(err), _) | (_, Some(Err(err))) => {
            rejects.abort().await;
            return Err(err);
        }
        (Ok(_), None) => unreachable!("a converted file's sink is finished"),
    };

    output.status = report.status;
    output.reason = report.reason.clone();
    output.counts = report.counts;

    // Only this version's keys are ever written; a redelivered event of
    // the same version writes the same bytes again.
    if report.counts.rows_rejected > 0 {
        rejects.finish().await?;
        output.rejected_key = Some(rejected);
    } else {
        rejects.abort().await;
    }
    if report.status.is_usable() {
        output.validated_etag = valid.finish().await?.etag;
        output.validated_key = Some(validated);
    } else {
        valid.abort().await;
    }
    Ok(finished(output))
}

/// The writers buffer in memory and never fail a write, and the sink reads
/// only values the converter normalised: an I/O error here would be a bug,
/// reported rather than unwrapped.
fn writing(e: std::io::Error) -> TaskError {
    TaskError::Transient(format!("writing converter output: {e}"))
}

/// Streams the body through the converter into the two writers, uploading full
/// parts as they fill.
async fn convert(
    mut body: ObjectBody,
    mut converter: Converter,
    valid: &mut ParquetSink<ObjectWriter>,
    rejects: &mut ObjectWriter,
) -> Result<ConversionReport, TaskError> {
    while let Some(chunk) = body.next_chunk().await? {
        converter.push(&chunk, valid, rejects).map_err(writing)?;
        valid.get_mut().upload_full_parts().await?;
        rejects.upload_full_parts().await?;
    }
    converter.finish(valid, rejects).map_err(writing)
}

/// Records where a derived object came from, as `x-amz-meta-edba-source-*`.
/// S3 metadata must be ASCII; the values here are, for every key the dataset
/// registry accepts.
fn lineage(mut writer: ObjectWriter, key: &str, source: &ValidateOutput) -> ObjectWriter {
    let fields = [
        ("edba-source-key", Some(key)),
        ("edba-source-etag", source.etag.as_deref()),
        ("edba-source-version-id", source.version_id.as_deref()),
        ("edba-source-sequencer", Some(source.sequencer.as_str())),
    ];
    for (name, value) in fields {
        if let Some(value) = value.filter(|v| v.is_ascii() && !v.chars().any(|c| c.is_ascii_control())) {
            writer = writer.with_metadata(name, value);
        }
    }
    writer
}

fn finished(mut output: ValidateOutput) -> ValidateOutput {
    output.validated_at = now_rfc3339_micros();
    output
}

/// Now, as RFC 3339 in UTC with microseconds: `2024-05-01T12:34:56.123456Z`.
pub fn now_rfc3339_micros() -> String {
    format_rfc3339_micros(time::OffsetDateTime::now_utc())
}

fn format_rfc3339_micros(at: time::OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    at.to_offset(time::UtcOffset::UTC).format(&format).expect("a UTC date-time of years 0-9999 formats")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_key_that_is_not_utf8_is_invalid_input() {
        let err = event_key("incoming/%FF.tdf").unwrap_err();
        assert_eq!(err.name().as_str(), "Edba.InvalidInput");
    }

    #[test]
    fn derived_keys_follow_the_bucket_layout() {
        let v = SourceVersion::Version("3HL4kqtJvjVBH40Nrjfkd");
        assert_eq!(validated_key("IL-101", &v), "validated/IL-101/3HL4kqtJvjVBH40Nrjfkd.parquet");
        assert_eq!(rejected_key("IL-101", &v), "rejected/IL-101/3HL4kqtJvjVBH40Nrjfkd.rejects.csv");
        let unversioned = SourceVersion::Unversioned { etag: "5ef70abf", sequencer: "00663245A6" };
        assert_eq!(validated_key("IL-101", &unversioned), "validated/IL-101/5ef70abf-00663245A6.parquet");
        // Distinct versions never share a key, whatever characters they hold.
        assert_eq!(SourceVersion::Version("a/b c%").token(), "a%2Fb%20c%25");
        assert_ne!(SourceVersion::Version("a/b").token(), SourceVersion::Version("a%2Fb").token());
    }

    #[test]
    fn validated_at_is_utc_with_microseconds() {
        let at = time::macros::datetime!(2024-05-01 12:34:56.1234567 +02:00);
        assert_eq!(format_rfc3339_micros(at), "2024-05-01T10:34:56.123456Z");
        let now = now_rfc3339_micros();
        assert_eq!(now.len(), "2024-05-01T10:34:56.123456Z".len(), "{now}");
        assert!(time::OffsetDateTime::parse(&now, &time::format_description::well_known::Rfc3339).is_ok());
    }
}
