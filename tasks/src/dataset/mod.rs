//! Validating and converting a file of a declared dataset.
//!
//! Which dataset a file belongs to is decided by its object key alone
//! ([`crate::project::Project::match_key`], from the datasets' `files`
//! patterns); nothing in the file's content is used to guess it.
//!
//! [`Converter`] turns a file of a dataset into a clean CSV of its typed,
//! normalised columns plus a CSV of rejected lines, in bounded memory, from
//! chunks of any size; [`parquet::ParquetSink`] writes those rows as the
//! typed Parquet validate stores. This module knows nothing about S3 or the state store:
//! callers feed it bytes and sinks.

mod convert;
mod csv_out;
mod fields;
mod local;
pub mod parquet;

pub use convert::{
    convert_reader, convert_with, ConversionReport, ConvertOptions, Converter, Reject, DEFAULT_MAX_LINE_BYTES,
    DEFAULT_MAX_REJECT_SHARE, RAW_LINE_LIMIT, SNIFF_BYTES,
};
pub use local::{validate_local_file, validate_project_file, LocalValidation, LocalValidationError};

pub use crate::project::{DatasetMatch, DatasetSpec, UnknownDataset};

use std::sync::Arc;

use crate::project::Project;

/// A dataset of the sample project (`sampledata/edba.toml`): `sales` or
/// `items`. For tests, benchmarks and examples; the tasks use the deployed
/// project's datasets.
///
/// # Panics
/// When the sample has no such dataset.
pub fn sample_dataset(name: &str) -> Arc<DatasetSpec> {
    Project::sample().dataset(name).unwrap_or_else(|| panic!("the sample project has no dataset {name:?}")).clone()
}

#[cfg(test)]
mod tests {
    use crate::project::Project;

    fn ok(key: &str) -> (String, Option<String>, String) {
        let m = Project::sample().match_key(key).unwrap_or_else(|e| panic!("{key}: {e}"));
        (m.dataset.name.clone(), m.partition, m.stem)
    }

    #[test]
    fn sample_keys_pick_their_dataset_and_partition() {
        assert_eq!(ok("incoming/IL-101.tdf"), ("sales".into(), Some("IL".into()), "IL-101".into()));
        assert_eq!(ok("CA-204.tdf"), ("sales".into(), Some("CA".into()), "CA-204".into()));
        assert_eq!(ok("incoming/ON-store_7-b.tdf").1.as_deref(), Some("ON"));
        assert_eq!(ok("incoming/Item-Master-Data.tdf"), ("items".into(), None, "Item-Master-Data".into()));
        assert_eq!(ok("Item-Master-Data-2024-05-01.tdf").0, "items");
    }

    #[test]
    fn other_sample_keys_are_unknown_with_a_reason() {
        for key in [
            "",
            "incoming/",
            "incoming/IL-101.csv",
            "incoming/IL-101.TDF",
            "incoming/il-101.tdf",
            "incoming/ILL-101.tdf",
            "incoming/I-101.tdf",
            "incoming/IL101.tdf",
            "incoming/IL-.tdf",
            "incoming/IL-1 01.tdf",
            "incoming/IL-12345678901234567890123456.tdf",
            "incoming/sub/IL-101.tdf",
            "validated/IL-101.tdf",
            "incoming/Item-Master-Data v2.tdf",
            "incoming/item-master-data.tdf",
            "incoming/.tdf",
        ] {
            let err = Project::sample().match_key(key).expect_err(key);
            assert!(!err.reason.is_empty(), "{key}");
            assert_eq!(err.key, key);
        }
    }
}
