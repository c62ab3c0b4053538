"""Runs an edba aggregation job's SQL on Spark: the EMR step's program.

The aggregate machine's step calls it through command-runner.jar:

    spark-submit run_sql_job.py --manifest s3://BUCKET/manifests/JOB/RUN.json \
        --sql s3://BUCKET/jobs/sales_summary.sql --output s3://BUCKET/output/JOB/RUN

1. Reads the run's manifest (written by the evaluate task):
   {"bucket", "job_id", "run_id", "created_at",
    "inputs": [{"dataset": "sales" | "items", "file_url", "key",
                "version_id", "etag", "validated_key", "validated_etag"}]}
   `file_url` and `key` name the raw object the run claimed, `version_id` and
   `etag` its version; `validated_key` and `validated_etag` name the object
   validate derived from it. Older manifests may lack (or hold null for) any
   field but `dataset`, `file_url` and `key`.
   `datasets` ({"<name>": [{"name", "type", "nullable"}, ...]}) gives each
   input dataset's columns as the project declared them when the run was
   claimed (types in Spark SQL DDL); `project_version` which project that was.
   A manifest without `datasets` (written before projects) reads the sample's
   `sales` and `items`.
2. Checks, before Spark reads anything, that each listed validated object is
   exactly the one the run claimed (check_input):
   - an input with no `validated_key`, or whose validated object does not
     exist, fails with `Edba.InputMissing: ...`, naming the object and the raw
     file and version it was to be derived from;
   - an object whose ETag is not the manifest's `validated_etag`, or whose
     `edba-source-version-id` / `edba-source-etag` metadata (written by
     validate) is not the manifest's `version_id` / `etag`, fails with
     `Edba.LineageMismatch: ...`, naming the object, the raw file and both
     values. A check whose value either side lacks is skipped.
   s3:// objects are looked up with boto3's head_object; a local object has
   no ETag or metadata, so for it only its existence is checked.
3. Reads exactly the validated objects it lists (`s3://<bucket>/<validated_key>`:
   typed Parquet; `.csv` ones, from runs claimed before validate wrote
   Parquet, with a header row) with the manifest's schema, never inferred,
   and registers one view per dataset (an empty one for a dataset without
   files).
4. Runs each `-- table: <name>` section of the SQL file in order (the
   convention is described at the top of sql/jobs/sales_summary.sql),
   registers each result as a view <name>, and writes it as Parquet under
   <output>/<name>/, replacing what a previous attempt of the step wrote.

Every location may also be a local path (plain or file://), which is how the
tests run it; --bucket-root then says where the manifest's bucket lives.
A problem with the inputs ends the step with one line on stderr, `edba: ...`,
and exit status 2, so EMR fails the step.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# The sample's validated CSV columns (sampledata/edba.toml), for manifests
# written before they carried their datasets' columns; amounts have at most
# 2 fraction digits and an absolute value below 10^12, so DECIMAL(14,2) holds
# every one exactly.
SCHEMAS_DDL = {
    "sales": "store_id STRING, amount DECIMAL(14,2), trans_type INT, item_id STRING, trans_date DATE",
    "items": "item_id STRING, item_name STRING, effective_date DATE",
}

SECTION_RE = re.compile(r"^--\s*table:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")


# The names a step fails with when it cannot read exactly the run's inputs
# (the Rust local step runner, local/src/steprunner/sqljob.rs, uses the same).
INPUT_MISSING = "Edba.InputMissing"
LINEAGE_MISMATCH = "Edba.LineageMismatch"


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
    validated_key: str | None
    file_url: str | None = None
    key: str | None = None
    version_id: str | None = None
    etag: str | None = None
    validated_etag: str | None = None

    def raw(self) -> str:
        """The raw object the input was derived from, for messages."""
        return self.file_url or self.key or "its raw file"


@dataclass(frozen=True)
class Manifest:
    bucket: str
    job_id: str
    run_id: str
    inputs: list[ManifestInput]
    # dataset -> Spark DDL of its columns, in view order.
    schemas: dict[str, str]

    def keys(self, dataset: str) -> list[str]:
        return [i.validated_key for i in self.inputs if i.dataset == dataset and i.validated_key]


OPTIONAL_FIELDS = ("file_url", "key", "version_id", "etag", "validated_etag")

# What a manifest's declared columns may say: they go into a DDL string, so
# nothing else is let through.
COLUMN_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
COLUMN_TYPE_RE = re.compile(r"^(STRING|INT|BIGINT|BOOLEAN|DATE|TIMESTAMP|DECIMAL\(([1-9]|[1-3][0-9]),([0-9]|[1-3][0-9])\))$")


def parse_schemas(datasets, where: str) -> dict[str, str]:
    """The manifest's `datasets` as Spark DDL per dataset."""
    if not isinstance(datasets, dict) or not datasets:
        raise JobError(f"manifest {where}: datasets is not an object of column lists")
    schemas = {}
    for name, columns in datasets.items():
        if not COLUMN_NAME_RE.match(name) or not isinstance(columns, list) or not columns:
            raise JobError(f"manifest {where}: dataset {name!r} has no column list")
        ddl = []
        for column in columns:
            col_name = column.get("name") if isinstance(column, dict) else None
            col_type = column.get("type") if isinstance(column, dict) else None
            if not isinstance(col_name, str) or not COLUMN_NAME_RE.match(col_name):
                raise JobError(f"manifest {where}: dataset {name}: a column has no valid name: {column!r}")
            if not isinstance(col_type, str) or not COLUMN_TYPE_RE.match(col_type):
                raise JobError(f"manifest {where}: dataset {name}: column {col_name} has the unknown type {col_type!r}")
            ddl.append(f"{col_name} {col_type}")
        schemas[name] = ", ".join(ddl)
    return schemas


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
    declared = "datasets" in doc
    schemas = parse_schemas(doc["datasets"], where) if declared else dict(SCHEMAS_DDL)
    raw_inputs = doc.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise JobError(f"manifest {where} lists no input files")
    inputs = []
    for n, raw in enumerate(raw_inputs):
        if not isinstance(raw, dict):
            raise JobError(f"manifest {where}: inputs[{n}] is not an object")
        dataset = raw.get("dataset")
        if dataset not in schemas:
            raise JobError(
                f"manifest {where}: inputs[{n}] has dataset {dataset!r}, expected one of {tuple(schemas)}"
            )
        fields = {}
        for field in ("validated_key", *OPTIONAL_FIELDS):
            value = raw.get(field)
            if value is not None and not isinstance(value, str):
                raise JobError(f"manifest {where}: inputs[{n}] has a {field!r} that is not a string: {value!r}")
            fields[field] = value or None
        item = ManifestInput(dataset, **fields)
        if item.validated_key is None:
            raise JobError(f"{INPUT_MISSING}: manifest {where}: inputs[{n}] ({item.raw()}) has no validated_key")
        inputs.append(item)
    manifest = Manifest(doc["bucket"], doc["job_id"], doc["run_id"], inputs, schemas)
    if not declared and not manifest.keys("sales"):
        raise JobError(f"manifest {where} lists no sales files")
    return manifest


# ------------------------------------------------------- the lineage check


@dataclass(frozen=True)
class ObjectHead:
    """What the check needs to know of an object that exists.

    `etag` and `metadata` are None where the store keeps no such thing (a
    local file); a check that needs them is then skipped.
    """

    etag: str | None = None
    metadata: Mapping[str, str] | None = None


# Looks an object up by its URL: its head, or None when there is no such
# object. Any other failure raises JobError.
HeadLookup = Callable[[str], "ObjectHead | None"]


def unquoted(etag: str) -> str:
    return etag.strip().strip('"')


def check_input(item: ManifestInput, root: str, head: HeadLookup) -> str:
    """Checks that the validated object of `item` under `root` is the one the
    run claimed; returns its URL. The store is reached only through `head`.

    Raises JobError naming Edba.InputMissing or Edba.LineageMismatch.
    """
    raw = item.raw()
    claimed = f"{raw} version {item.version_id}" if item.version_id else f"{raw} (no version recorded)"
    if not item.validated_key:
        raise JobError(f"{INPUT_MISSING}: the manifest lists no validated object for {claimed}")
    url = f"{root.rstrip('/')}/{item.validated_key}"
    found = head(url)
    if found is None:
        raise JobError(
            f"{INPUT_MISSING}: {url} does not exist; the run lists it as the validated copy of {claimed}"
        )

    if item.validated_etag and found.etag is not None:
        if unquoted(found.etag) != unquoted(item.validated_etag):
            raise JobError(
                f"{LINEAGE_MISMATCH}: {url} has ETag {unquoted(found.etag)}, but the run claimed the "
                f"validated copy of {raw} with ETag {unquoted(item.validated_etag)}"
            )

    # The raw version validate derived the object from, as it recorded it.
    metadata = found.metadata or {}
    recorded_etag = metadata.get("edba-source-etag")
    checks = (
        ("version", item.version_id, metadata.get("edba-source-version-id")),
        ("ETag", item.etag and unquoted(item.etag), recorded_etag and unquoted(recorded_etag)),
    )
    for what, claimed_value, derived_from in checks:
        if claimed_value and derived_from and claimed_value != derived_from:
            # The wording of the Rust local step runner's check_lineage.
            raise JobError(
                f"{LINEAGE_MISMATCH}: {url} was derived from {what} {derived_from} of {raw}, "
                f"but the run claimed {what} {claimed_value}"
            )
    return url


def local_head(url: str) -> ObjectHead | None:
    """A local file (a path or file:// URL) as an object. A file has no ETag
    and no S3 metadata (and there is no sidecar for them), so for a local
    object the check verifies its existence only."""
    from pathlib import Path
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    path = Path(url2pathname(urlparse(url).path)) if url.startswith("file:") else Path(url)
    return ObjectHead() if path.is_file() else None


def s3_head(client=None) -> HeadLookup:
    """Looks s3:// (or s3a://, s3n://) objects up with boto3's head_object,
    through `client`, or a default boto3 S3 client (EMR's instance role)."""

    def head(url: str) -> ObjectHead | None:
        nonlocal client
        match = re.match(r"^s3[an]?://([^/]+)/(.+)$", url)
        if not match:
            raise JobError(f"{url} is not an S3 object URL")
        bucket, key = match.groups()
        if client is None:
            try:
                import boto3
            except ImportError:
                raise JobError(f"cannot look up {url}: boto3 is not installed") from None
            client = boto3.client("s3")
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = client.head_object(Bucket=bucket, Key=key)
        except ClientError as err:
            # A HEAD response has no body: a missing key is a bare 404.
            code = str(err.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                return None
            if code in ("403", "AccessDenied", "Forbidden"):
                # S3 answers 403, not 404, for a missing object when the
                # caller may not list the bucket.
                raise JobError(
                    f"cannot look up {url}: access denied (403); it may not exist and the role "
                    "may not list the bucket"
                ) from None
            raise JobError(f"cannot look up {url}: {code or err}") from None
        except BotoCoreError as err:
            raise JobError(f"cannot look up {url}: {err}") from None
        return ObjectHead(etag=response.get("ETag"), metadata=response.get("Metadata") or {})

    return head


def head_for(root: str) -> HeadLookup:
    """The lookup for objects under `root`, chosen by its scheme."""
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", root)
    scheme = scheme.group(1).lower() if scheme else "file"
    if scheme in ("s3", "s3a", "s3n"):
        return s3_head()
    if scheme == "file":
        return local_head
    raise JobError(f"cannot check the inputs under {root}: only s3:// and local locations are supported")


def check_inputs(manifest: Manifest, root: str, head: HeadLookup) -> dict[str, list[str]]:
    """Checks every input (check_input); returns the object URLs per dataset."""
    urls: dict[str, list[str]] = {dataset: [] for dataset in manifest.schemas}
    for item in manifest.inputs:
        urls[item.dataset].append(check_input(item, root, head))
    return urls


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


def read_dataset(spark, dataset: str, schema: str, paths: list[str]):
    """The dataset's view over exactly `paths`, typed by `schema`.

    Validated objects are typed Parquet; a run claimed before validate wrote
    Parquet lists .csv objects, read as CSV with the same schema."""
    from pyspark.sql.utils import AnalysisException

    if not paths:
        return spark.createDataFrame([], schema)
    csv_paths = [p for p in paths if p.endswith(".csv")]
    parquet_paths = [p for p in paths if not p.endswith(".csv")]
    frames = []
    try:
        if parquet_paths:
            frames.append(spark.read.schema(schema).parquet(*parquet_paths))
        if csv_paths:
            reader = (
                spark.read.schema(schema)
                .option("header", True)
                .option("mode", "FAILFAST")
                .option("quote", '"')
                .option("escape", '"')
                # validate wrote timestamps in UTC, with 6 fraction digits or none.
                .option("timestampFormat", "yyyy-MM-dd'T'HH:mm:ss[.SSSSSS]XXX")
            )
            frames.append(reader.csv(csv_paths))
    except AnalysisException as err:
        raise JobError(f"cannot read the {dataset} files: {err.desc.splitlines()[0]}") from None
    view = frames[0]
    for frame in frames[1:]:
        view = view.unionByName(frame)
    return view


def run(spark, manifest_location: str, sql_location: str, output: str, bucket_root: str | None) -> dict[str, int]:
    """Runs the job; returns the row count written per table."""
    manifest = parse_manifest(read_text(spark, manifest_location, "manifest"), manifest_location)
    sections = parse_sections(read_text(spark, sql_location, "SQL file"))
    root = (local_or_url(bucket_root) if bucket_root else f"s3://{manifest.bucket}").rstrip("/")
    output = local_or_url(output).rstrip("/")

    # Exactly the manifest's objects, or the step fails before reading any.
    urls = check_inputs(manifest, root, head_for(root))
    for dataset, schema in manifest.schemas.items():
        if not urls[dataset]:
            print(f"edba: manifest lists no {dataset} files; the {dataset} view is empty", file=sys.stderr)
        read_dataset(spark, dataset, schema, urls[dataset]).createOrReplaceTempView(dataset)

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
