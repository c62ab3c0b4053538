"""Runs an edba aggregation job's SQL on Spark: the EMR step's program.

The aggregate machine's step calls it through command-runner.jar:

    spark-submit run_sql_job.py --manifest s3://BUCKET/manifests/JOB/RUN.json \
        --sql s3://BUCKET/jobs/sales_summary.sql --output s3://BUCKET/output/JOB/RUN

1. Reads the run's manifest (written by the evaluate task):
   {"bucket", "job_id", "run_id", "created_at",
    "inputs": [{"dataset": "sales" | "items", "file_url", "key",
                "validated_key", "version_id", "etag"}]}
2. Reads exactly the validated CSVs it lists (`s3://<bucket>/<validated_key>`;
   header row; explicit schema, never inferred) and registers them as the
   views `sales` and `items`.
3. Runs each `-- table: <name>` section of the SQL file in order (the
   convention is described at the top of sql/jobs/sales_summary.sql),
   registers each result as a view <name>, and writes it as Parquet under
   <output>/<name>/, replacing what a previous attempt of the step wrote.

Every location may also be a local path (plain or file://), which is how the
tests run it; --bucket-root then says where the manifest's bucket lives.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass

DATASETS = ("sales", "items")

# The validated CSV columns (tasks/src/dataset/mod.rs); amounts have at most
# 2 fraction digits and an absolute value below 10^12, so DECIMAL(14,2) holds
# every one exactly.
SCHEMAS_DDL = {
    "sales": "store_id STRING, amount DECIMAL(14,2), trans_type INT, item_id STRING, trans_date DATE",
    "items": "item_id STRING, item_name STRING, effective_date DATE",
}

SECTION_RE = re.compile(r"^--\s*table:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")


class JobError(Exception):
    """A problem with the step's inputs, reported in one clear line."""


@dataclass(frozen=True)
class TableQuery:
    table: str
    sql: str


def parse_sections(text: str) -> list[TableQuery]:
    """Splits a job SQL file into its `-- table: <name>` sections."""
    sections: list[TableQuery] = []
    name: str | None = None
    lines: list[str] = []

    def close() -> None:
        if name is None:
            return
        code = "\n".join(line for line in lines if not line.strip().startswith("--")).strip()
        code = code[:-1].rstrip() if code.endswith(";") else code
        if not code:
            raise JobError(f"section '-- table: {name}' holds no query")
        if ";" in code:
            raise JobError(f"section '-- table: {name}' holds more than one statement")
        sections.append(TableQuery(name, code))

    for line in text.splitlines():
        match = SECTION_RE.match(line)
        if match:
            close()
            name, lines = match.group(1), []
            if any(s.table == name for s in sections):
                raise JobError(f"table {name!r} has two sections")
        elif name is not None:
            lines.append(line)
    close()
    if not sections:
        raise JobError("the SQL file has no '-- table: <name>' section")
    return sections


@dataclass(frozen=True)
class ManifestInput:
    dataset: str
    validated_key: str


@dataclass(frozen=True)
class Manifest:
    bucket: str
    job_id: str
    run_id: str
    inputs: list[ManifestInput]

    def keys(self, dataset: str) -> list[str]:
        return [i.validated_key for i in self.inputs if i.dataset == dataset]


def parse_manifest(text: str, where: str) -> Manifest:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise JobError(f"manifest {where} is not JSON: {err}") from None
    if not isinstance(doc, dict):
        raise JobError(f"manifest {where} is not a JSON object")
    for field in ("bucket", "job_id", "run_id"):
        if not isinstance(doc.get(field), str) or not doc[field]:
            raise JobError(f"manifest {where} has no {field!r}")
    raw_inputs = doc.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise JobError(f"manifest {where} lists no input files")
    inputs = []
    for n, raw in enumerate(raw_inputs):
        if not isinstance(raw, dict):
            raise JobError(f"manifest {where}: inputs[{n}] is not an object")
        dataset, key = raw.get("dataset"), raw.get("validated_key")
        if dataset not in DATASETS:
            raise JobError(
                f"manifest {where}: inputs[{n}] has dataset {dataset!r}, expected one of {DATASETS}"
            )
        if not isinstance(key, str) or not key:
            raise JobError(
                f"manifest {where}: inputs[{n}] ({raw.get('file_url')}) has no validated_key"
            )
        inputs.append(ManifestInput(dataset, key))
    manifest = Manifest(doc["bucket"], doc["job_id"], doc["run_id"], inputs)
    if not manifest.keys("sales"):
        raise JobError(f"manifest {where} lists no sales files")
    return manifest


def local_or_url(location: str) -> str:
    """A plain local path becomes a file:// URL; URLs pass through."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", location):
        return location
    from pathlib import Path

    return Path(location).resolve().as_uri()


def read_text(spark, location: str, what: str) -> str:
    from pyspark.sql.utils import AnalysisException

    try:
        rows = spark.read.text(local_or_url(location), wholetext=True).collect()
    except AnalysisException as err:
        raise JobError(f"cannot read the {what} at {location}: {err.desc.splitlines()[0]}") from None
    if not rows:
        raise JobError(f"the {what} at {location} is empty")
    return rows[0][0]


def read_dataset(spark, dataset: str, paths: list[str]):
    from pyspark.sql.utils import AnalysisException

    reader = (
        spark.read.schema(SCHEMAS_DDL[dataset])
        .option("header", True)
        .option("mode", "FAILFAST")
        .option("quote", '"')
        .option("escape", '"')
    )
    if not paths:
        return spark.createDataFrame([], SCHEMAS_DDL[dataset])
    try:
        return reader.csv(paths)
    except AnalysisException as err:
        raise JobError(f"cannot read the {dataset} files: {err.desc.splitlines()[0]}") from None


def run(spark, manifest_location: str, sql_location: str, output: str, bucket_root: str | None) -> dict[str, int]:
    """Runs the job; returns the row count written per table."""
    manifest = parse_manifest(read_text(spark, manifest_location, "manifest"), manifest_location)
    sections = parse_sections(read_text(spark, sql_location, "SQL file"))
    root = (local_or_url(bucket_root) if bucket_root else f"s3://{manifest.bucket}").rstrip("/")
    output = local_or_url(output).rstrip("/")

    for dataset in DATASETS:
        keys = manifest.keys(dataset)
        if not keys:
            print(f"edba: manifest lists no {dataset} files; the {dataset} view is empty", file=sys.stderr)
        read_dataset(spark, dataset, [f"{root}/{key}" for key in keys]).createOrReplaceTempView(dataset)

    written = {}
    for section in sections:
        result = spark.sql(section.sql)
        # Later sections read this table: compute it once.
        result = result.cache()
        result.createOrReplaceTempView(section.table)
        result.write.mode("overwrite").parquet(f"{output}/{section.table}/")
        written[section.table] = result.count()
    return written


def configure(builder):
    return (
        builder
        # Overflow and bad casts fail the step instead of turning into NULLs.
        .config("spark.sql.ansi.enabled", "true")
        # Decimals as FIXED_LEN_BYTE_ARRAY, the layout every Parquet reader
        # (Redshift COPY, Spectrum, Athena) accepts.
        .config("spark.sql.parquet.writeLegacyFormat", "true")
        # Redshift COPY loads every object under the prefix: no _SUCCESS marker.
        .config("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run an edba aggregation job's SQL on Spark.")
    parser.add_argument("--manifest", required=True, help="the run's manifest JSON (s3://, file:// or a path)")
    parser.add_argument("--sql", required=True, help="the job's SQL file with '-- table: <name>' sections")
    parser.add_argument("--output", required=True, help="the run's output prefix; one folder per table")
    parser.add_argument(
        "--bucket-root",
        help="where the manifest's validated keys live (default s3://<manifest bucket>)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, spark=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    own_session = spark is None
    if own_session:
        from pyspark.sql import SparkSession

        spark = configure(SparkSession.builder.appName("edba-sql-job")).getOrCreate()
    try:
        written = run(spark, args.manifest, args.sql, args.output, args.bucket_root)
    except JobError as err:
        print(f"edba: {err}", file=sys.stderr)
        return 2
    finally:
        if own_session:
            spark.stop()
    for table, rows in written.items():
        print(f"edba: wrote {rows} rows to {args.output.rstrip('/')}/{table}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
