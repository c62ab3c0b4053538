//! The converter's benchmark driver, used by `scripts/bench_validate.sh`.
//!
//! `bench_validate gen FILE BYTES` writes a deterministic sales file of about
//! BYTES with a small share of defects (bad amounts and dates, short lines,
//! junk and blank lines). `bench_validate run FILE` converts it to /dev/null
//! sinks and prints one `key=value` line: throughput (by wall time and by CPU
//! time), counts and peak RSS.
//!
//! The same rows in other shapes, validated as a declared dataset with the
//! sample's sales columns ([`bench_project`]): `bench_validate csv TSV OUT`
//! writes them as CSV with a header (RFC 4180 quoting where a field needs it),
//! `bench_validate jsonl TSV OUT` as JSON lines; `bench_validate run FILE
//! csv|jsonl` converts such a file.

use std::sync::Arc;

use edba_tasks::dataset::parquet::ParquetSink;
use edba_tasks::dataset::{convert_reader, sample_dataset, ConvertOptions, DatasetSpec};
use edba_tasks::project::Project;

/// The sample's sales columns, as a project declares them.
const SALES_COLUMNS: &str = r#"columns = [
  { name = "store_id",   type = "string", chars = "A-Za-z0-9_-", max_length = 25 },
  { name = "amount",     type = "decimal(14,2)" },
  { name = "trans_type", type = "int", min = 1, max = 99 },
  { name = "item_id",    type = "string", chars = "A-Za-z0-9_-", max_length = 25 },
  { name = "trans_date", type = "date" },
]"#;

/// A project with the sales columns as CSV with a header and as JSON lines.
fn bench_project() -> String {
    format!(
        "[[dataset]]\nname = \"sales_csv\"\nfiles = \"*.csv\"\nformat = \"csv\"\nheader = \"required\"\n{SALES_COLUMNS}\n\n\
         [[dataset]]\nname = \"sales_jsonl\"\nfiles = \"*.jsonl\"\nformat = \"jsonl\"\n{SALES_COLUMNS}\n"
    )
}

fn bench_dataset(format: &str) -> io::Result<Arc<DatasetSpec>> {
    let project = Project::parse(&bench_project()).map_err(|e| io::Error::other(e.to_string()))?;
    match format {
        "tsv" => Ok(sample_dataset("sales")),
        "csv" => Ok(project.dataset("sales_csv").expect("declared").clone()),
        "jsonl" => Ok(project.dataset("sales_jsonl").expect("declared").clone()),
        other => {
            Err(io::Error::new(io::ErrorKind::InvalidInput, format!("unknown format {other:?}: tsv, csv or jsonl")))
        }
    }
}

/// The TSV file's lines as CSV (with a header) or JSON lines.
fn reshape(tsv: &str, out: &str, format: &str) -> io::Result<()> {
    use std::io::BufRead;
    const NAMES: [&str; 5] = ["store_id", "amount", "trans_type", "item_id", "trans_date"];
    let input = io::BufReader::with_capacity(1 << 20, File::open(tsv)?);
    let mut out = BufWriter::with_capacity(1 << 20, File::create(out)?);
    if format == "csv" {
        writeln!(out, "{}", NAMES.join(","))?;
    }
    for line in input.lines().skip(1) {
        let line = line?;
        let fields: Vec<&str> = line.split('\t').collect();
        if format == "csv" {
            let quoted: Vec<String> =
                fields
                    .iter()
                    .map(|f| {
                        if f.contains([',', '"']) {
                            format!("\"{}\"", f.replace('"', "\"\""))
                        } else {
                            (*f).to_owned()
                        }
                    })
                    .collect();
            writeln!(out, "{}", quoted.join(","))?;
        } else {
            if fields.len() < 2 {
                writeln!(out, "{}", if line.is_empty() { "" } else { "{}" })?;
                continue;
            }
            let object: serde_json::Map<String, serde_json::Value> = NAMES
                .iter()
                .zip(&fields)
                .map(|(name, value)| {
                    // Amounts and types as JSON numbers where they are numbers, as
                    // exporters write them: integers without a fraction.
                    let number = match *name {
                        "trans_type" => value.parse::<i64>().ok().map(serde_json::Number::from),
                        "amount" => {
                            value.parse::<f64>().ok().filter(|n| n.is_finite()).and_then(serde_json::Number::from_f64)
                        }
                        _ => None,
                    };
                    (
                        (*name).to_owned(),
                        number
                            .map_or_else(|| serde_json::Value::String((*value).to_owned()), serde_json::Value::Number),
                    )
                })
                .collect();
            writeln!(out, "{}", serde_json::Value::Object(object))?;
        }
    }
    out.flush()
}
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

/// xorshift64*: deterministic across platforms and runs, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const DEFECTS: &[&str] = &[
    "IL-101\t12.345\t4\tITEM1\t2016-01-15",
    "IL-101\tNaN\t4\tITEM1\t2016-01-15",
    "IL-101\t10.00\t4\tITEM1\t2016-02-30",
    "IL-101\t10.00\t0\tITEM1\t2016-01-15",
    "IL-101\t10.00\t4",
    "IL-101,10.00,4,ITEM1,2016-01-15",
    "----------------------------------------",
    "",
];

fn generate(path: &str, target: u64) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    out.write_all(b"store_id\tamount\ttrans_type\titem_id\ttrans_date\n")?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut written = 0u64;
    let mut line = Vec::with_capacity(128);
    while written < target {
        line.clear();
        if rng.below(1000) < 5 {
            line.extend_from_slice(DEFECTS[rng.below(DEFECTS.len() as u64) as usize].as_bytes());
        } else {
            let province = ["IL", "CA", "NY", "TX", "ON"][rng.below(5) as usize];
            let cents = rng.below(1_000_000);
            let month = 1 + rng.below(12);
            let day = 1 + rng.below(28);
            write!(
                line,
                "{province}-{}\t{}{}.{:02}\t{}\tITEM-{:06}\t2016-{month:02}-{day:02}",
                100 + rng.below(400),
                if rng.below(20) == 0 { "-" } else { "" },
                cents / 100,
                cents % 100,
                4 + rng.below(3),
                rng.below(200_000),
            )?;
            if rng.below(10) == 0 {
                line.extend_from_slice(b"\tPOS-7\t");
            }
        }
        line.push(b'\n');
        out.write_all(&line)?;
        written += line.len() as u64;
    }
    out.flush()
}

/// Peak resident set size of this process in KiB, from /proc (Linux only).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time this process has spent running, in seconds, from the scheduler's
/// nanosecond counter: unlike wall time it does not grow when other jobs share the core.
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

/// Converts the file; with `parquet`, the valid rows go through the typed
/// Parquet writer as the validate task stores them (else to /dev/null as CSV).
fn run(path: &str, format: &str, parquet: bool) -> io::Result<()> {
    let dataset = bench_dataset(format)?;
    let input = File::open(path)?;
    let valid = File::create("/dev/null")?;
    let rejects = File::create("/dev/null")?;
    let cpu_start = cpu_secs();
    let start = Instant::now();
    let report = if parquet {
        let mut sink = ParquetSink::new(&dataset, BufWriter::new(valid))?;
        let report = convert_reader(dataset, input, &mut sink, rejects, ConvertOptions::default())?;
        sink.finish()?.flush()?;
        report
    } else {
        convert_reader(dataset, input, valid, rejects, ConvertOptions::default())?
    };
    let format = if parquet { format!("{format}-parquet") } else { format.to_owned() };
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_secs().zip(cpu_start).map(|(end, start)| end - start);
    let c = report.counts;
    println!(
        "impl=rust format={format} bytes={} secs={secs:.3} mb_per_s={:.1} cpu_secs={} mb_per_cpu_s={} lines={} valid={} rejected={} skipped={} status={} peak_rss_kib={}",
        report.bytes_in,
        report.bytes_in as f64 / 1e6 / secs,
        cpu.map_or_else(|| "unknown".to_owned(), |c| format!("{c:.3}")),
        cpu.map_or_else(|| "unknown".to_owned(), |c| format!("{:.1}", report.bytes_in as f64 / 1e6 / c)),
        report.lines,
        c.rows_valid,
        c.rows_rejected,
        c.lines_skipped,
        report.status.as_str(),
        peak_rss_kib().map_or_else(|| "unknown".to_owned(), |k| k.to_string()),
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["gen", path, bytes] => match bytes.parse() {
            Ok(bytes) => generate(path, bytes),
            Err(e) => Err(io::Error::new(io::ErrorKind::InvalidInput, format!("BYTES: {e}"))),
        },
        ["run", path] => run(path, "tsv", false),
        ["run", path, format] => run(path, format, false),
        ["run-parquet", path] => run(path, "tsv", true),
        ["run-parquet", path, format] => run(path, format, true),
        ["csv", tsv, out] => reshape(tsv, out, "csv"),
        ["jsonl", tsv, out] => reshape(tsv, out, "jsonl"),
        _ => {
            eprintln!(
                "usage: bench_validate gen FILE BYTES | run FILE [tsv|csv|jsonl] | run-parquet FILE [tsv|csv|jsonl] \
                 | csv TSV OUT | jsonl TSV OUT"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_validate: {e}");
            ExitCode::FAILURE
        }
    }
}
