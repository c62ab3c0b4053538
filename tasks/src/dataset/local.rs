//! Validating a file on the local disk, for `edba validate FILE… [--out DIR]`.

use super::parquet::ParquetSink;
use super::{convert_with, ConversionReport, ConvertOptions, Converter, DatasetMatch, UnknownDataset};
use crate::project::Project;
use serde::{Serialize, Serializer};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The outcome of validating one local file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocalValidation {
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
    #[serde(flatten)]
    pub matched: DatasetMatch,
    pub report: ConversionReport,
    /// `<out>/validated/<stem>.csv`; written only when the file is usable, as
    /// the validate task writes `validated/` only for usable files.
    #[serde(serialize_with = "lossy_opt_path")]
    pub validated_path: Option<PathBuf>,
    /// `<out>/validated/<stem>.parquet`: the same rows, typed, as the validate
    /// task stores them; written with the CSV.
    #[serde(serialize_with = "lossy_opt_path")]
    pub parquet_path: Option<PathBuf>,
    /// `<out>/rejected/<stem>.rejects.csv`; written only when lines were rejected.
    #[serde(serialize_with = "lossy_opt_path")]
    pub rejected_path: Option<PathBuf>,
}

/// Why a local file could not be validated at all (bad content is not an
/// error: it is in the report).
#[derive(Debug, thiserror::Error)]
pub enum LocalValidationError {
    #[error("{path}: {source}", path = .path.display())]
    UnknownDataset { path: PathBuf, source: UnknownDataset },
    #[error("{path}: {source}", path = .path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// Validates a file with the sample project's datasets, picked by the file's
/// name ([`validate_project_file`] without a project directory).
pub fn validate_local_file(
    path: &Path,
    out_dir: Option<&Path>,
    opts: ConvertOptions,
) -> Result<LocalValidation, LocalValidationError> {
    validate_project_file(&Project::sample(), None, path, out_dir, opts)
}

/// Picks the dataset from the file's path relative to `project_dir` (its
/// name when the file is not under it, or without a directory), converts the
/// file, and with `out_dir` writes `<out>/validated/<stem>.csv` and
/// `<out>/rejected/<stem>.rejects.csv` (without it the outputs are
/// discarded). A validated CSV is left behind only for a usable file and a
/// rejects CSV only when something was rejected; stale ones from an earlier
/// run of the same file are removed.
pub fn validate_project_file(
    project: &Project,
    project_dir: Option<&Path>,
    path: &Path,
    out_dir: Option<&Path>,
    opts: ConvertOptions,
) -> Result<LocalValidation, LocalValidationError> {
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| LocalValidationError::Io { path: p, source }
    };
    let relative = project_dir
        .and_then(|dir| path.strip_prefix(dir).ok())
        .map(|rel| rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
        .unwrap_or_else(|| path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    // The file's path under the project is the path it arrives under in `incoming/`.
    let matched = project.match_path(&relative).map_err(|reason| LocalValidationError::UnknownDataset {
        path: path.to_path_buf(),
        source: UnknownDataset { key: relative.clone(), reason },
    })?;
    let input = File::open(path).map_err(io_err(path))?;

    let Some(out_dir) = out_dir else {
        let report =
            convert_with(Converter::for_file(&matched, opts), input, io::sink(), io::sink()).map_err(io_err(path))?;
        return Ok(LocalValidation {
            path: path.to_path_buf(),
            matched,
            report,
            validated_path: None,
            parquet_path: None,
            rejected_path: None,
        });
    };

    let validated = out_dir.join("validated").join(format!("{}.csv", matched.stem));
    let parquet = out_dir.join("validated").join(format!("{}.parquet", matched.stem));
    let rejected = out_dir.join("rejected").join(format!("{}.rejects.csv", matched.stem));
    let (validated_dir, rejected_dir) = (parent_of(&validated), parent_of(&rejected));
    fs::create_dir_all(&validated_dir).map_err(io_err(&validated_dir))?;
    fs::create_dir_all(&rejected_dir).map_err(io_err(&rejected_dir))?;
    // Written beside the final names and renamed, so a crash never leaves a
    // half-written CSV under a name a reader trusts.
    let validated_tmp = partial(&validated);
    let parquet_tmp = partial(&parquet);
    let rejected_tmp = partial(&rejected);
    let valid_out = BufWriter::new(File::create(&validated_tmp).map_err(io_err(&validated_tmp))?);
    let parquet_out = BufWriter::new(File::create(&parquet_tmp).map_err(io_err(&parquet_tmp))?);
    let mut parquet_sink = ParquetSink::new(&matched.dataset, parquet_out).map_err(io_err(&parquet_tmp))?;
    let rejects_out = BufWriter::new(File::create(&rejected_tmp).map_err(io_err(&rejected_tmp))?);
    let report =
        convert_with(Converter::for_file(&matched, opts), input, Tee(valid_out, &mut parquet_sink), rejects_out)
            .map_err(io_err(path))?;
    parquet_sink.finish().and_then(|mut out| out.flush()).map_err(io_err(&parquet_tmp))?;

    let keep = |tmp: &Path, fin: &Path, wanted: bool| -> Result<Option<PathBuf>, LocalValidationError> {
        if wanted {
            fs::rename(tmp, fin).map_err(io_err(fin))?;
            Ok(Some(fin.to_path_buf()))
        } else {
            fs::remove_file(tmp).map_err(io_err(tmp))?;
            match fs::remove_file(fin) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err(fin)(e)),
                _ => Ok(None),
            }
        }
    };
    let validated_path = keep(&validated_tmp, &validated, report.status.is_usable())?;
    let parquet_path = keep(&parquet_tmp, &parquet, report.status.is_usable())?;
    let rejected_path = keep(&rejected_tmp, &rejected, report.counts.rows_rejected > 0)?;
    Ok(LocalValidation { path: path.to_path_buf(), matched, report, validated_path, parquet_path, rejected_path })
}

/// Writes everything to both writers.
struct Tee<A, B>(A, B);

impl<A: Write, B: Write> Write for Tee<A, B> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(buf)?;
        self.1.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()?;
        self.1.flush()
    }
}

fn parent_of(path: &Path) -> PathBuf {
    path.parent().map_or_else(PathBuf::new, Path::to_path_buf)
}

/// `<dir>/.<name>.partial`.
fn partial(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    parent_of(path).join(format!(".{name}.partial"))
}

impl fmt::Display for LocalValidation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let (Some(partition), Some(i)) = (&self.matched.partition, self.matched.dataset.partition) {
            write!(f, " ({} {partition})", self.matched.dataset.files.captures()[i])?;
        }
        write!(f, "\n{}", self.report)?;
        if let Some(p) = &self.validated_path {
            writeln!(f, "  validated: {}", p.display())?;
        }
        if let Some(p) = &self.parquet_path {
            writeln!(f, "  typed:     {}", p.display())?;
        }
        if let Some(p) = &self.rejected_path {
            writeln!(f, "  rejects:   {}", p.display())?;
        }
        Ok(())
    }
}

fn lossy_path<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

// serde's `serialize_with` hands over a reference to the field's type.
#[allow(clippy::ref_option)]
fn lossy_opt_path<S: Serializer>(path: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match path {
        Some(p) => s.serialize_some(&p.to_string_lossy()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edba_payloads::ingest::FileStatus;

    #[test]
    fn writes_outputs_only_when_they_mean_something() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("IL-101.tdf");
        fs::write(&input, "S1\t1.00\t4\tI1\t2016-01-01\nS1\t1.001\t4\tI1\t2016-01-01\nS1\t2\t5\tI1\t2016-01-02\n")
            .unwrap();
        let out = dir.path().join("out");
        let v = validate_local_file(&input, Some(&out), ConvertOptions::default()).unwrap();
        assert_eq!(v.report.status, FileStatus::ValidatedWithRejects);
        assert_eq!(v.matched.partition.as_deref(), Some("IL"));
        let validated = fs::read_to_string(out.join("validated/IL-101.csv")).unwrap();
        assert_eq!(
            validated,
            "store_id,amount,trans_type,item_id,trans_date\nS1,1.00,4,I1,2016-01-01\nS1,2.00,5,I1,2016-01-02\n"
        );
        let rejects = fs::read_to_string(out.join("rejected/IL-101.rejects.csv")).unwrap();
        assert!(rejects.starts_with("line,column,reason,raw_line\n2,amount,"), "{rejects}");
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["dataset"], "sales");
        assert_eq!(json["report"]["status"], "VALIDATED_WITH_REJECTS");
        assert_eq!(json["report"]["counts"]["rows_rejected"], 1);
        assert!(json["validated_path"].as_str().unwrap().ends_with("validated/IL-101.csv"));
        let parquet = fs::read(out.join("validated/IL-101.parquet")).unwrap();
        assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"), "a Parquet file");
        assert_eq!(parquet, super::super::parquet::csv_to_parquet(&v.matched.dataset, validated.as_bytes()).unwrap());
        let text = v.to_string();
        assert!(text.contains("IL-101.tdf (province IL)\nsales: VALIDATED_WITH_REJECTS"), "{text}");

        // The same file fixed: the stale rejects go away.
        fs::write(&input, "S1\t1.00\t4\tI1\t2016-01-01\n").unwrap();
        let v = validate_local_file(&input, Some(&out), ConvertOptions::default()).unwrap();
        assert_eq!((v.report.status, v.rejected_path), (FileStatus::Validated, None));
        assert!(!out.join("rejected/IL-101.rejects.csv").exists());
        // Broken beyond use: no validated CSV.
        fs::write(&input, "nonsense\n").unwrap();
        let v = validate_local_file(&input, Some(&out), ConvertOptions::default()).unwrap();
        assert_eq!((v.report.status, v.validated_path), (FileStatus::Invalid, None));
        assert!(!out.join("validated/IL-101.csv").exists());
        assert!(!out.join("validated/IL-101.parquet").exists());
        assert_eq!(fs::read_dir(out.join("validated")).unwrap().count(), 0, "no partial files left");
    }

    #[test]
    fn unknown_names_and_missing_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = validate_local_file(&dir.path().join("notes.txt"), None, ConvertOptions::default()).unwrap_err();
        assert!(matches!(err, LocalValidationError::UnknownDataset { .. }));
        assert!(err.to_string().contains("matches no dataset"), "{err}");
        let err = validate_local_file(&dir.path().join("IL-1.tdf"), None, ConvertOptions::default()).unwrap_err();
        assert!(matches!(err, LocalValidationError::Io { .. }));
        let items = dir.path().join("Item-Master-Data.tdf");
        fs::write(&items, "item_id\titem_name\teffective_date\nI1\tWidget\t2016-01-01\n").unwrap();
        let v = validate_local_file(&items, None, ConvertOptions::default()).unwrap();
        assert_eq!(v.report.status, FileStatus::Validated);
        assert!(v.report.header);
    }
}
