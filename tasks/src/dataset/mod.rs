//! Dataset registry and the streaming TDF -> CSV converter.
//!
//! A *dataset* is a kind of input file with typed, tab-separated columns. The
//! object key alone decides which dataset a file belongs to ([`dataset_for_key`]);
//! nothing in the file's content is used to guess it.
//!
//! | file name                                 | dataset | partition        |
//! |-------------------------------------------|---------|------------------|
//! | `^[A-Z]{2}-[A-Za-z0-9_-]{1,25}\.tdf$`      | `sales` | the province, `IL` |
//! | `^Item-Master-Data[A-Za-z0-9_.-]*\.tdf$`   | `items` | none             |
//!
//! The extension is matched case-sensitively (`.tdf`, as the bucket's event rule
//! filters on it). A key is either a bare file name or `incoming/<file name>`;
//! any other folder (including sub-folders of `incoming/`) is an unknown dataset,
//! so that edba's own outputs under `validated/` or `rejected/` can never be
//! mistaken for input.
//!
//! [`Converter`] turns a file of a dataset into a clean CSV plus a CSV of
//! rejected lines, in bounded memory, from chunks of any size. This module knows
//! nothing about S3 or the state store: callers feed it bytes and sinks.

mod convert;
mod csv_out;
mod fields;
mod local;

pub use convert::{
    convert_reader, ConversionReport, ConvertOptions, Converter, Reject, DEFAULT_MAX_LINE_BYTES,
    DEFAULT_MAX_REJECT_SHARE, RAW_LINE_LIMIT, SNIFF_BYTES,
};
pub use local::{validate_local_file, LocalValidation, LocalValidationError};

use serde::Serialize;
use std::fmt;

/// A kind of input file with its own typed columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dataset {
    /// Franchise stores' cumulative sales transactions, one file per store.
    Sales,
    /// Headquarters' item master data.
    Items,
}

/// What a column may hold; each kind has one parser in `fields`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// 1–25 ASCII letters, digits, `-` or `_`.
    Id,
    /// A decimal with at most 2 fraction digits and absolute value below 10^12;
    /// written normalised with exactly 2 fraction digits.
    Amount,
    /// An integer 1–99 (4 sale, 5 tax, 6 discount; others are kept).
    TransType,
    /// `YYYY-MM-DD`, a real day of the proleptic Gregorian calendar.
    Date,
    /// Free text: trimmed, non-empty, at most 200 characters, no control characters.
    Name,
}

/// One required column of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: ColumnKind,
}

const SALES_COLUMNS: &[Column] = &[
    Column { name: "store_id", kind: ColumnKind::Id },
    Column { name: "amount", kind: ColumnKind::Amount },
    Column { name: "trans_type", kind: ColumnKind::TransType },
    Column { name: "item_id", kind: ColumnKind::Id },
    Column { name: "trans_date", kind: ColumnKind::Date },
];

const ITEMS_COLUMNS: &[Column] = &[
    Column { name: "item_id", kind: ColumnKind::Id },
    Column { name: "item_name", kind: ColumnKind::Name },
    Column { name: "effective_date", kind: ColumnKind::Date },
];

impl Dataset {
    pub const ALL: [Dataset; 2] = [Dataset::Sales, Dataset::Items];

    /// The dataset's name in the state store and in job configurations.
    pub const fn name(self) -> &'static str {
        match self {
            Dataset::Sales => "sales",
            Dataset::Items => "items",
        }
    }

    /// The required columns, in file order. Lines may carry more columns after
    /// these; they are dropped.
    pub const fn columns(self) -> &'static [Column] {
        match self {
            Dataset::Sales => SALES_COLUMNS,
            Dataset::Items => ITEMS_COLUMNS,
        }
    }

    pub fn from_name(name: &str) -> Option<Dataset> {
        Dataset::ALL.into_iter().find(|d| d.name() == name)
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The dataset an object key belongs to, and what the key says beyond that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatasetMatch {
    pub dataset: Dataset,
    /// For `sales`, the province (`IL` for `IL-101.tdf`).
    pub partition: Option<String>,
    /// The file name without `.tdf`; names the validated and rejected objects.
    pub stem: String,
}

/// A key that maps to no dataset, with the reason in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dataset for {key:?}: {reason}")]
pub struct UnknownDataset {
    pub key: String,
    pub reason: String,
}

const INCOMING_PREFIX: &str = "incoming/";
const EXTENSION: &str = ".tdf";
const ITEMS_PREFIX: &str = "Item-Master-Data";

/// Picks the dataset for a decoded S3 object key: `incoming/IL-101.tdf` or
/// `IL-101.tdf`. See the module documentation for the rules.
pub fn dataset_for_key(key: &str) -> Result<DatasetMatch, UnknownDataset> {
    let unknown = |reason: String| UnknownDataset { key: key.to_owned(), reason };
    let file_name = key.strip_prefix(INCOMING_PREFIX).unwrap_or(key);
    if file_name.contains('/') {
        return Err(unknown(format!(
            "only files directly under {INCOMING_PREFIX} are input (no sub-folders or other prefixes)"
        )));
    }
    dataset_for_file_name(file_name).map_err(|e| unknown(e.reason))
}

/// Picks the dataset for a bare file name (`IL-101.tdf`), as for a local file.
pub fn dataset_for_file_name(file_name: &str) -> Result<DatasetMatch, UnknownDataset> {
    let unknown = |reason: &str| UnknownDataset { key: file_name.to_owned(), reason: reason.to_owned() };
    let Some(stem) = file_name.strip_suffix(EXTENSION) else {
        return Err(unknown("file name does not end with .tdf"));
    };
    if let Some(rest) = stem.strip_prefix(ITEMS_PREFIX) {
        if !rest.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
            return Err(unknown(
                "an item master file name is Item-Master-Data followed only by letters, digits, '-', '_' or '.'",
            ));
        }
        return Ok(DatasetMatch { dataset: Dataset::Items, partition: None, stem: stem.to_owned() });
    }
    let bytes = stem.as_bytes();
    let province_ok =
        bytes.len() >= 3 && bytes[0].is_ascii_uppercase() && bytes[1].is_ascii_uppercase() && bytes[2] == b'-';
    if !province_ok {
        return Err(unknown(
            "not a sales file (<PROVINCE>-<store>.tdf with a 2-letter upper-case province, e.g. IL-101.tdf) \
             nor item master data (Item-Master-Data*.tdf)",
        ));
    }
    let store = &stem[3..];
    if store.is_empty() || store.len() > fields::ID_MAX_LEN || !store.bytes().all(fields::is_id_byte) {
        return Err(unknown("the store part of a sales file name must be 1-25 ASCII letters, digits, '-' or '_'"));
    }
    Ok(DatasetMatch { dataset: Dataset::Sales, partition: Some(stem[..2].to_owned()), stem: stem.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(key: &str) -> (Dataset, Option<String>, String) {
        let m = dataset_for_key(key).unwrap_or_else(|e| panic!("{key}: {e}"));
        (m.dataset, m.partition, m.stem)
    }

    #[test]
    fn keys_pick_their_dataset_and_partition() {
        assert_eq!(ok("incoming/IL-101.tdf"), (Dataset::Sales, Some("IL".into()), "IL-101".into()));
        assert_eq!(ok("CA-204.tdf"), (Dataset::Sales, Some("CA".into()), "CA-204".into()));
        assert_eq!(ok("incoming/ON-store_7-b.tdf").1.as_deref(), Some("ON"));
        assert_eq!(ok("incoming/Item-Master-Data.tdf"), (Dataset::Items, None, "Item-Master-Data".into()));
        assert_eq!(ok("Item-Master-Data-2024-05-01.tdf").0, Dataset::Items);
    }

    #[test]
    fn other_keys_are_unknown_with_a_reason() {
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
            let err = dataset_for_key(key).expect_err(key);
            assert!(!err.reason.is_empty(), "{key}");
            assert_eq!(err.key, key);
        }
    }

    #[test]
    fn dataset_names_round_trip() {
        for d in Dataset::ALL {
            assert_eq!(Dataset::from_name(d.name()), Some(d));
            assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{}\"", d.name()));
        }
        assert_eq!(Dataset::from_name("Sales"), None);
    }
}
