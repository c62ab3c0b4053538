"""The aggregation job on local Spark: sql/jobs/sales_summary.sql through
run_sql_job.py, on a small run whose results are worked out by hand below.

Run with scripts/test_spark.sh (it makes the venv with the pinned pyspark).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run_sql_job  # noqa: E402

REPO = HERE.parent.parent
JOB_SQL = REPO / "sql" / "jobs" / "sales_summary.sql"

# --------------------------------------------------------------- the run

# Store 101: ITEM-1 has all three types on the 20th (two sales); ITEM-2 a sale
# on the 20th and only tax on the 21st; ITEM-3 only type 7, so it is not in
# any summary.
IL_101 = """store_id,amount,trans_type,item_id,trans_date
101,10.00,4,ITEM-1,2016-11-20
101,2.50,4,ITEM-1,2016-11-20
101,0.88,5,ITEM-1,2016-11-20
101,1.00,6,ITEM-1,2016-11-20
101,5.25,4,ITEM-2,2016-11-20
101,99.99,7,ITEM-3,2016-11-20
101,3.10,5,ITEM-2,2016-11-21
"""

# Store 102: ITEM-9 is missing from the item master; ITEM-2 on the 21st has a
# refund (a negative sale) and a discount.
IL_102 = """store_id,amount,trans_type,item_id,trans_date
102,20.00,4,ITEM-1,2016-11-20
102,1.60,5,ITEM-1,2016-11-20
102,7.77,4,ITEM-9,2016-11-20
102,0.50,6,ITEM-2,2016-11-21
102,-1.00,4,ITEM-2,2016-11-21
"""

# Validated but not in the manifest: must not be read.
IL_103 = """store_id,amount,trans_type,item_id,trans_date
103,500.00,4,ITEM-1,2016-11-20
101,500.00,4,ITEM-1,2016-11-20
"""

# ITEM-1 was renamed on 2016-06-01; the latest name wins. The name has a
# comma, so the CSV quotes it.
ITEMS = """item_id,item_name,effective_date
ITEM-1,Old widget,2016-01-01
ITEM-1,"Widget, large",2016-06-01
ITEM-2,Gadget,2016-01-01
ITEM-3,Thing,2016-01-01
"""

NOV20, NOV21 = date(2016, 11, 20), date(2016, 11, 21)

# (store_id, item_id, trans_date, item_name, sale, tax, discount)
EXPECTED_SALEITEMSUMMARY = sorted(
    [
        ("101", "ITEM-1", NOV20, "Widget, large", D("12.50"), D("0.88"), D("1.00")),
        ("101", "ITEM-2", NOV20, "Gadget", D("5.25"), D("0.00"), D("0.00")),
        ("101", "ITEM-2", NOV21, "Gadget", D("0.00"), D("3.10"), D("0.00")),
        ("102", "ITEM-1", NOV20, "Widget, large", D("20.00"), D("1.60"), D("0.00")),
        ("102", "ITEM-9", NOV20, None, D("7.77"), D("0.00"), D("0.00")),
        ("102", "ITEM-2", NOV21, "Gadget", D("-1.00"), D("0.00"), D("0.50")),
    ]
)

# (store_id, trans_date, item_count, sale, tax, discount)
EXPECTED_SALESSUMMARY = sorted(
    [
        ("101", NOV20, 2, D("17.75"), D("0.88"), D("1.00")),
        ("101", NOV21, 1, D("0.00"), D("3.10"), D("0.00")),
        ("102", NOV20, 2, D("27.77"), D("1.60"), D("0.00")),
        ("102", NOV21, 1, D("-1.00"), D("0.00"), D("0.50")),
    ]
)


def write_run(root: Path, inputs: list[dict] | None = None) -> Path:
    """Writes the bucket's validated files and the run's manifest; returns the manifest path."""
    validated = root / "bucket" / "validated"
    validated.mkdir(parents=True)
    for name, text in {
        "IL-101.csv": IL_101,
        "IL-102.csv": IL_102,
        "IL-103.csv": IL_103,
        "Item-Master-Data.csv": ITEMS,
    }.items():
        (validated / name).write_text(text)
    if inputs is None:
        inputs = [
            entry("sales", "IL-101"),
            entry("sales", "IL-102"),
            entry("items", "Item-Master-Data"),
        ]
    manifest = root / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "bucket": "edba-test",
                "job_id": "il-sales",
                "run_id": "run-1",
                "created_at": "2016-11-22T06:00:00Z",
                "inputs": inputs,
            }
        )
    )
    return manifest


def entry(dataset: str, stem: str) -> dict:
    return {
        "dataset": dataset,
        "file_url": f"s3://edba-test/incoming/{stem}.tdf",
        "key": f"incoming/{stem}.tdf",
        "validated_key": f"validated/{stem}.csv",
        "version_id": "v1",
        "etag": "etag-v1",
    }


# --------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    session = (
        run_sql_job.configure(SparkSession.builder.master("local[2]").appName("edba-test"))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    yield session
    session.stop()


def run_job(spark, tmp_path: Path, manifest: Path, output: str | None = None) -> Path:
    out = Path(output) if output else tmp_path / "output"
    code = run_sql_job.main(
        [
            "--manifest", str(manifest),
            "--sql", JOB_SQL.as_uri(),
            "--output", str(out),
            "--bucket-root", str(tmp_path / "bucket"),
        ],
        spark=spark,
    )
    assert code == 0
    return out


def rows(spark, folder: Path) -> list[tuple]:
    return sorted(tuple(r) for r in spark.read.parquet(str(folder)).collect())


# --------------------------------------------------------------- tests


def test_both_tables_match_the_hand_computed_rows(spark, tmp_path):
    out = run_job(spark, tmp_path, write_run(tmp_path))

    assert rows(spark, out / "saleitemsummary") == EXPECTED_SALEITEMSUMMARY
    assert rows(spark, out / "salessummary") == EXPECTED_SALESSUMMARY


def test_output_columns_have_the_warehouse_types_in_load_order(spark, tmp_path):
    out = run_job(spark, tmp_path, write_run(tmp_path))

    def schema(table):
        return [(f.name, f.dataType.simpleString()) for f in spark.read.parquet(str(out / table)).schema]

    # Redshift COPY from Parquet maps columns by position: this order is the
    # planned tables' (sampledata/edba.tables.json), which the load's DDL follows.
    money = "decimal(14,2)"
    assert schema("saleitemsummary") == [
        ("store_id", "string"), ("item_id", "string"), ("trans_date", "date"),
        ("item_name", "string"), ("sale_amount", money), ("tax_amount", money),
        ("discount_amount", money),
    ]
    assert schema("salessummary") == [
        ("store_id", "string"), ("trans_date", "date"), ("item_count", "bigint"),
        ("sale_amount", money), ("tax_amount", money), ("discount_amount", money),
    ]
    # Nothing but Parquet under a table's prefix (COPY would try to load it).
    assert all(p.name.startswith("part-") or p.name.startswith(".") for p in (out / "salessummary").iterdir())


def test_a_retried_step_replaces_its_output(spark, tmp_path):
    manifest = write_run(tmp_path)
    run_job(spark, tmp_path, manifest)
    out = run_job(spark, tmp_path, manifest)

    assert rows(spark, out / "salessummary") == EXPECTED_SALESSUMMARY


def test_without_item_master_names_are_null(spark, tmp_path):
    manifest = write_run(tmp_path, [entry("sales", "IL-101")])
    out = run_job(spark, tmp_path, manifest)

    got = rows(spark, out / "saleitemsummary")
    assert [r[3] for r in got] == [None, None, None]
    assert [r[:3] for r in got] == [r[:3] for r in EXPECTED_SALEITEMSUMMARY if r[0] == "101"]


@pytest.mark.parametrize(
    "manifest_text, message",
    [
        (None, "cannot read the manifest"),
        ("not json", "is not JSON"),
        ('{"bucket": "b", "job_id": "j", "run_id": "r", "inputs": []}', "lists no input files"),
        (
            '{"bucket": "b", "job_id": "j", "run_id": "r", "inputs": '
            '[{"dataset": "items", "validated_key": "validated/Item-Master-Data.csv"}]}',
            "lists no sales files",
        ),
        (
            '{"bucket": "b", "job_id": "j", "run_id": "r", "inputs": '
            '[{"dataset": "sales", "file_url": "s3://b/incoming/IL-1.tdf"}]}',
            "has no validated_key",
        ),
        (
            '{"bucket": "b", "job_id": "j", "run_id": "r", "inputs": '
            '[{"dataset": "stock", "validated_key": "validated/x.csv"}]}',
            "has dataset 'stock'",
        ),
    ],
)
def test_bad_manifests_fail_with_a_clear_message(spark, tmp_path, capsys, manifest_text, message):
    manifest = tmp_path / "manifest.json"
    if manifest_text is not None:
        manifest.write_text(manifest_text)
    code = run_sql_job.main(
        ["--manifest", str(manifest), "--sql", str(JOB_SQL), "--output", str(tmp_path / "out")],
        spark=spark,
    )

    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# ------------------------------------------- a declared project's datasets

ORDERS_SQL = REPO / "examples" / "orders" / "daily_revenue.sql"

# What validate writes for examples/orders (tasks/tests/it/dataset_declared.rs
# checks these same outputs): timestamps in UTC, decimals to their scale,
# NULL as an empty field, the captures region and day as the last columns.
ORDERS_VALIDATED = {
    "orders/EU-2026-11-30.csv": """order_id,placed_at,status,price,quantity,coupon,region,day
A-1001,2026-11-30T08:15:00Z,placed,19.99,2,,EU,2026-11-30
A-1002,2026-11-30T18:40:00Z,shipped,5.50,1,SAVE5,EU,2026-11-30
A-1003,2026-12-01T01:30:00Z,placed,10.00,3,,EU,2026-11-30
A-1004,2026-11-30T12:00:00Z,cancelled,99.00,1,,EU,2026-11-30
""",
    "orders/EU-2026-12-01.csv": """order_id,placed_at,status,price,quantity,coupon,region,day
B-2001,2026-12-01T08:00:00Z,placed,7.25,4,SAVE5,EU,2026-12-01
B-2005,2026-12-01T12:00:00.500000Z,placed,1.00,1,,EU,2026-12-01
B-2006,2026-12-01T13:00:00Z,shipped,2.50,2,WINTER,EU,2026-12-01
""",
    "coupons/partner.csv": """code,discount,active,terms
SAVE5,5.00,true,"{""min_order"":20,""regions"":[""EU""]}"
OLD1,1.50,false,
WINTER,2.00,true,
""",
}

# The manifest's datasets, as evaluate writes them from examples/orders/edba.toml.
ORDERS_DATASETS = {
    "orders": [
        {"name": "order_id", "type": "STRING", "nullable": False},
        {"name": "placed_at", "type": "TIMESTAMP", "nullable": False},
        {"name": "status", "type": "STRING", "nullable": False},
        {"name": "price", "type": "DECIMAL(12,2)", "nullable": False},
        {"name": "quantity", "type": "INT", "nullable": False},
        {"name": "coupon", "type": "STRING", "nullable": True},
        {"name": "region", "type": "STRING", "nullable": False},
        {"name": "day", "type": "STRING", "nullable": False},
    ],
    "coupons": [
        {"name": "code", "type": "STRING", "nullable": False},
        {"name": "discount", "type": "DECIMAL(12,2)", "nullable": False},
        {"name": "active", "type": "BOOLEAN", "nullable": False},
        {"name": "terms", "type": "STRING", "nullable": True},
    ],
}


def write_orders_run(root: Path, datasets=None) -> Path:
    for key, text in ORDERS_VALIDATED.items():
        path = root / "bucket" / "validated" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    inputs = [
        {"dataset": key.split("/")[0], "file_url": f"s3://edba-test/incoming/{key}", "key": f"incoming/{key}",
         "validated_key": f"validated/{key}"}
        for key in ORDERS_VALIDATED
    ]
    manifest = root / "manifest.json"
    manifest.write_text(json.dumps({
        "bucket": "edba-test", "job_id": "EU-daily", "run_id": "run-1", "created_at": "2026-12-02T06:00:00Z",
        "project_version": "v7", "datasets": ORDERS_DATASETS if datasets is None else datasets, "inputs": inputs,
    }))
    return manifest


# The edba binary (scripts/test_spark.sh builds it): its `validate --out`
# writes the typed Parquet the validate task stores.
EDBA = Path(os.environ.get("EDBA_BIN") or REPO / "target" / "debug" / "edba")


def test_the_sample_job_over_the_typed_parquet_edba_validate_writes(spark, tmp_path):
    """The sample's files as raw tab-separated uploads, validated by `edba
    validate` into the typed Parquet the validate task stores; the job over
    them gives the hand-computed rows, as over the CSV fixtures."""
    assert EDBA.exists(), f"{EDBA} is missing: cargo build --bin edba (or set EDBA_BIN)"
    import csv
    import io

    raw = tmp_path / "raw"
    raw.mkdir()
    for stem, text in {"IL-101": IL_101, "IL-102": IL_102, "Item-Master-Data": ITEMS}.items():
        fields = list(csv.reader(io.StringIO(text)))
        (raw / f"{stem}.tdf").write_text("".join("\t".join(f) + "\n" for f in fields))
    out = tmp_path / "validate"
    subprocess.run(
        [str(EDBA), "validate", "--project", str(REPO / "sampledata"), *sorted(str(p) for p in raw.iterdir()),
         "--out", str(out)],
        check=True, capture_output=True,
    )
    bucket = tmp_path / "bucket" / "validated"
    bucket.mkdir(parents=True)
    inputs = []
    for dataset, stem in [("sales", "IL-101"), ("sales", "IL-102"), ("items", "Item-Master-Data")]:
        (bucket / f"{stem}.parquet").write_bytes((out / "validated" / f"{stem}.parquet").read_bytes())
        inputs.append({**entry(dataset, stem), "validated_key": f"validated/{stem}.parquet"})
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"bucket": "edba-test", "job_id": "il-sales", "run_id": "run-1",
                                    "created_at": "2016-11-22T06:00:00Z", "inputs": inputs}))

    out = run_job(spark, tmp_path, manifest)

    assert rows(spark, out / "saleitemsummary") == EXPECTED_SALEITEMSUMMARY
    assert rows(spark, out / "salessummary") == EXPECTED_SALESSUMMARY


def test_spark_reads_the_typed_parquet_edba_validate_writes(spark, tmp_path):
    assert EDBA.exists(), f"{EDBA} is missing: cargo build --bin edba (or set EDBA_BIN)"
    project = REPO / "examples" / "orders"
    files = ["orders/EU-2026-11-30.csv", "orders/EU-2026-12-01.csv", "coupons/partner.jsonl"]
    out = tmp_path / "validate"
    subprocess.run(
        [str(EDBA), "validate", "--project", str(project), *[str(project / f) for f in files], "--out", str(out)],
        check=True, capture_output=True,
    )
    inputs = []
    for f in files:
        stem = f.rsplit(".", 1)[0]
        key = f"validated/{stem}.parquet"
        target = tmp_path / "bucket" / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((out / "validated" / f"{stem}.parquet").read_bytes())
        inputs.append({"dataset": f.split("/")[0], "file_url": f"s3://edba-test/incoming/{f}",
                       "key": f"incoming/{f}", "validated_key": key})
    # Typed as declared, without a schema to read them with.
    orders = spark.read.parquet(str(tmp_path / "bucket" / "validated" / "orders"))
    assert [(f.name, f.dataType.simpleString()) for f in orders.schema] == [
        ("order_id", "string"), ("placed_at", "timestamp"), ("status", "string"), ("price", "decimal(12,2)"),
        ("quantity", "int"), ("coupon", "string"), ("region", "string"), ("day", "string"),
    ]
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({
        "bucket": "edba-test", "job_id": "EU-daily", "run_id": "run-1", "created_at": "2026-12-02T06:00:00Z",
        "project_version": "v7", "datasets": ORDERS_DATASETS, "inputs": inputs,
    }))
    code = run_sql_job.main(
        ["--manifest", str(manifest), "--sql", str(ORDERS_SQL), "--output", str(tmp_path / "output"),
         "--bucket-root", str(tmp_path / "bucket")],
        spark=spark,
    )
    assert code == 0
    # The totals the CSV fixtures give (the test below) and DataFusion gives
    # (tests/it/pipeline_project.rs).
    table = spark.read.parquet(str(tmp_path / "output" / "daily_revenue"))
    assert sorted(tuple(r)[:6] for r in table.collect()) == [
        ("EU", date(2026, 11, 30), 2, 3, D("45.48"), D("5.00")),
        ("EU", date(2026, 12, 1), 4, 10, D("65.00"), D("7.00")),
    ]


def test_a_declared_projects_job_reads_typed_views_and_matches_the_local_runner(spark, tmp_path):
    manifest = write_orders_run(tmp_path)
    out = tmp_path / "output"
    code = run_sql_job.main(
        ["--manifest", str(manifest), "--sql", str(ORDERS_SQL), "--output", str(out),
         "--bucket-root", str(tmp_path / "bucket")],
        spark=spark,
    )
    assert code == 0
    # The totals tests/it/pipeline_project.rs finds in the warehouse after the
    # same job on DataFusion (B-2005's fraction of a second changes nothing).
    table = spark.read.parquet(str(out / "daily_revenue"))
    assert [(f.name, f.dataType.simpleString()) for f in table.schema][:6] == [
        ("region", "string"), ("order_day", "date"), ("orders", "bigint"), ("items", "bigint"),
        ("revenue", "decimal(14,2)"), ("discounts", "decimal(14,2)"),
    ]
    assert table.schema[6].dataType.simpleString().startswith("timestamp")
    assert sorted(tuple(r)[:6] for r in table.collect()) == [
        ("EU", date(2026, 11, 30), 2, 3, D("45.48"), D("5.00")),
        ("EU", date(2026, 12, 1), 4, 10, D("65.00"), D("7.00")),
    ]


@pytest.mark.parametrize(
    "datasets, message",
    [
        ({**ORDERS_DATASETS, "orders": [{"name": "x", "type": "VARCHAR(10)", "nullable": False}]}, "unknown type 'VARCHAR(10)'"),
        ({**ORDERS_DATASETS, "orders": [{"name": "x); DROP", "type": "STRING", "nullable": False}]}, "no valid name"),
        ({"coupons": ORDERS_DATASETS["coupons"]}, "has dataset 'orders'"),
        ([], "datasets is not an object"),
    ],
)
def test_declared_columns_are_checked_before_they_reach_spark(spark, tmp_path, capsys, datasets, message):
    manifest = write_orders_run(tmp_path, datasets)
    code = run_sql_job.main(
        ["--manifest", str(manifest), "--sql", str(ORDERS_SQL), "--output", str(tmp_path / "out"),
         "--bucket-root", str(tmp_path / "bucket")],
        spark=spark,
    )
    assert code == 2
    assert message in capsys.readouterr().err


def test_a_listed_file_that_is_missing_fails_the_step_before_spark_reads(spark, tmp_path, capsys, monkeypatch):
    manifest = write_run(tmp_path, [entry("sales", "IL-101"), entry("sales", "IL-404")])

    def must_not_run(*args, **kwargs):
        raise AssertionError("Spark read an input or ran a query though an input is missing")

    monkeypatch.setattr(run_sql_job, "read_dataset", must_not_run)
    monkeypatch.setattr(spark, "sql", must_not_run)
    code = run_sql_job.main(
        [
            "--manifest", str(manifest), "--sql", str(JOB_SQL),
            "--output", str(tmp_path / "out"), "--bucket-root", str(tmp_path / "bucket"),
        ],
        spark=spark,
    )

    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    missing = (tmp_path / "bucket" / "validated" / "IL-404.csv").as_uri()
    assert err == [
        f"edba: Edba.InputMissing: {missing} does not exist; the run lists it as the validated copy "
        "of s3://edba-test/incoming/IL-404.tdf version v1"
    ]
    assert not (tmp_path / "out").exists()


def test_sections_follow_the_convention():
    sections = run_sql_job.parse_sections(JOB_SQL.read_text())
    assert [s.table for s in sections] == ["saleitemsummary", "salessummary"]
    assert all(";" not in s.sql for s in sections)

    with pytest.raises(run_sql_job.JobError, match="no '-- table: <name>' section"):
        run_sql_job.parse_sections("SELECT 1")
    with pytest.raises(run_sql_job.JobError, match="more than one statement"):
        run_sql_job.parse_sections("-- table: t\nSELECT 1; SELECT 2")
    with pytest.raises(run_sql_job.JobError, match="two sections"):
        run_sql_job.parse_sections("-- table: t\nSELECT 1\n-- table: t\nSELECT 2")


def test_spark_submit_runs_the_step_as_emr_does(tmp_path):
    """The command line the EMR step runs, in its own JVM."""
    manifest = write_run(tmp_path)
    spark_submit = Path(sys.executable).parent / "spark-submit"
    result = subprocess.run(
        [
            str(spark_submit), "--master", "local[1]", "--conf", "spark.ui.enabled=false",
            str(HERE / "run_sql_job.py"),
            "--manifest", manifest.as_uri(), "--sql", JOB_SQL.as_uri(),
            "--output", (tmp_path / "output").as_uri(), "--bucket-root", (tmp_path / "bucket").as_uri(),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable},
        timeout=300,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert "wrote 6 rows" in result.stdout and "wrote 4 rows" in result.stdout


# --------------------------------------------------------- the lineage check

RAW = "s3://b/incoming/IL-101.tdf"
OBJECT = "s3://b/validated/IL-101/3HL4.csv"


def claimed(**fields) -> run_sql_job.ManifestInput:
    """An input as evaluate writes it; `fields` replace its values."""
    values = {
        "dataset": "sales",
        "file_url": RAW,
        "key": "incoming/IL-101.tdf",
        "version_id": "3HL4",
        "etag": "5ef7",
        "validated_key": "validated/IL-101/3HL4.csv",
        "validated_etag": "9a0c",
        **fields,
    }
    return run_sql_job.ManifestInput(**values)


# The object as validate writes it: derived from raw version 3HL4, ETag 5ef7.
DERIVED = run_sql_job.ObjectHead(
    etag='"9a0c"',
    metadata={
        "edba-source-key": "incoming/IL-101.tdf",
        "edba-source-etag": '"5ef7"',
        "edba-source-version-id": "3HL4",
        "edba-source-sequencer": "0A1B",
    },
)


@pytest.mark.parametrize(
    "item, head, error",
    [
        pytest.param(claimed(), DERIVED, None, id="match"),
        pytest.param(claimed(etag='"5ef7"', validated_etag='"9a0c"'), DERIVED, None, id="match, quoted ETags"),
        pytest.param(
            claimed(),
            None,
            f"Edba.InputMissing: {OBJECT} does not exist; the run lists it as the validated copy of {RAW} "
            "version 3HL4",
            id="missing object",
        ),
        pytest.param(
            claimed(validated_etag="7777"),
            DERIVED,
            f"Edba.LineageMismatch: {OBJECT} has ETag 9a0c, but the run claimed the validated copy of {RAW} "
            "with ETag 7777",
            id="validated ETag mismatch",
        ),
        pytest.param(
            claimed(version_id="ZZZZ"),
            DERIVED,
            f"Edba.LineageMismatch: {OBJECT} was derived from version 3HL4 of {RAW}, "
            "but the run claimed version ZZZZ",
            id="version mismatch",
        ),
        pytest.param(
            claimed(etag="0123"),
            DERIVED,
            f"Edba.LineageMismatch: {OBJECT} was derived from ETag 5ef7 of {RAW}, but the run claimed ETag 0123",
            id="raw ETag mismatch",
        ),
        pytest.param(claimed(), run_sql_job.ObjectHead(etag='"9a0c"', metadata={}), None, id="metadata absent"),
        pytest.param(claimed(version_id="ZZZZ"), run_sql_job.ObjectHead(), None, id="local file: existence only"),
        pytest.param(
            claimed(version_id=None, etag=None, validated_etag=None), DERIVED, None, id="older manifest"
        ),
        pytest.param(
            claimed(validated_key=None),
            DERIVED,
            f"Edba.InputMissing: the manifest lists no validated object for {RAW} version 3HL4",
            id="no validated_key",
        ),
        pytest.param(
            claimed(validated_key=None, version_id=None),
            DERIVED,
            f"Edba.InputMissing: the manifest lists no validated object for {RAW} (no version recorded)",
            id="no validated_key nor version",
        ),
    ],
)
def test_check_input(item, head, error):
    looked_up = []

    def lookup(url):
        looked_up.append(url)
        return head

    if error is None:
        assert run_sql_job.check_input(item, "s3://b/", lookup) == OBJECT
        assert looked_up == [OBJECT]
    else:
        with pytest.raises(run_sql_job.JobError) as raised:
            run_sql_job.check_input(item, "s3://b", lookup)
        assert str(raised.value) == error


def test_manifest_inputs_carry_the_claimed_versions():
    text = json.dumps(
        {
            "bucket": "b", "job_id": "J101", "run_id": "J101-1", "created_at": "2016-11-22T06:00:00Z",
            "inputs": [
                {"dataset": "sales", "file_url": RAW, "key": "incoming/IL-101.tdf", "version_id": "3HL4",
                 "etag": "5ef7", "validated_key": "validated/IL-101/3HL4.csv", "validated_etag": "9a0c"},
                # An older manifest's input: no versions, or null ones.
                {"dataset": "items", "file_url": "s3://b/incoming/Item.tdf", "key": "incoming/Item.tdf",
                 "version_id": None, "validated_key": "validated/Item.csv"},
            ],
        }
    )
    manifest = run_sql_job.parse_manifest(text, "m.json")
    assert manifest.inputs == [
        claimed(),
        run_sql_job.ManifestInput(
            "items", "validated/Item.csv", file_url="s3://b/incoming/Item.tdf", key="incoming/Item.tdf"
        ),
    ]

    def with_input(item: dict) -> str:
        return json.dumps({"bucket": "b", "job_id": "j", "run_id": "r", "inputs": [item]})

    with pytest.raises(run_sql_job.JobError) as raised:
        run_sql_job.parse_manifest(with_input({"dataset": "sales", "file_url": RAW}), "m.json")
    assert str(raised.value) == f"Edba.InputMissing: manifest m.json: inputs[0] ({RAW}) has no validated_key"
    with pytest.raises(run_sql_job.JobError, match="'etag' that is not a string"):
        run_sql_job.parse_manifest(with_input({"dataset": "sales", "validated_key": "v", "etag": 5}), "m.json")


def test_local_objects_are_checked_for_existence(tmp_path):
    (tmp_path / "validated").mkdir()
    (tmp_path / "validated" / "IL 101.csv").write_text("x\n")
    assert run_sql_job.head_for(str(tmp_path)) is run_sql_job.local_head
    assert run_sql_job.head_for(tmp_path.as_uri()) is run_sql_job.local_head
    with pytest.raises(run_sql_job.JobError, match="only s3:// and local"):
        run_sql_job.head_for("hdfs://namenode/bucket")

    for root in (str(tmp_path), tmp_path.as_uri()):
        assert run_sql_job.local_head(f"{root}/validated/IL 101.csv") == run_sql_job.ObjectHead()
        assert run_sql_job.local_head(f"{root}/validated/IL-404.csv") is None
        # A folder is not an object.
        assert run_sql_job.local_head(f"{root}/validated") is None


# ------------------------------------------------- the S3 side, on moto's server

S3_BUCKET = "edba-test"


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server on a free port of 127.0.0.1."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint, monkeypatch):
    """A boto3 S3 client of the moto server, whose bucket holds one validated
    object written as validate writes it; the environment makes boto3's
    default client (the one the runner makes on EMR) reach the server too."""
    import boto3

    for name, value in {
        "AWS_ENDPOINT_URL_S3": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    if S3_BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=S3_BUCKET)
    return client


def put_derived(client, key: str, source_version: str, source_etag: str) -> str:
    """Puts a validated object with validate's lineage metadata; returns its ETag."""
    response = client.put_object(
        Bucket=S3_BUCKET,
        Key=key,
        Body=IL_101.encode(),
        Metadata={
            "edba-source-key": "incoming/IL-101.tdf",
            "edba-source-etag": f'"{source_etag}"',
            "edba-source-version-id": source_version,
            "edba-source-sequencer": "0A1B",
        },
    )
    return response["ETag"].strip('"')


def test_s3_objects_are_checked_through_head_object(s3):
    key = "validated/IL-101/3HL4.csv"
    etag = put_derived(s3, key, "3HL4", "5ef7")
    url = f"s3://{S3_BUCKET}/{key}"
    raw = f"s3://{S3_BUCKET}/incoming/IL-101.tdf"
    item = claimed(file_url=raw, validated_key=key, validated_etag=etag)

    # Through the given client, and through the default one the step makes.
    for head in (run_sql_job.s3_head(s3), run_sql_job.head_for(f"s3://{S3_BUCKET}")):
        assert run_sql_job.check_input(item, f"s3://{S3_BUCKET}", head) == url

    head = run_sql_job.s3_head(s3)
    wrong = claimed(file_url=raw, validated_key=key, validated_etag="0" * 32)
    with pytest.raises(run_sql_job.JobError) as raised:
        run_sql_job.check_input(wrong, f"s3://{S3_BUCKET}", head)
    assert str(raised.value) == (
        f"Edba.LineageMismatch: {url} has ETag {etag}, but the run claimed the validated copy of {raw} "
        f"with ETag {'0' * 32}"
    )

    # The metadata comes back as validate wrote it.
    other_version = claimed(file_url=raw, validated_key=key, validated_etag=etag, version_id="ZZZZ")
    with pytest.raises(run_sql_job.JobError) as raised:
        run_sql_job.check_input(other_version, f"s3://{S3_BUCKET}", head)
    assert str(raised.value) == (
        f"Edba.LineageMismatch: {url} was derived from version 3HL4 of {raw}, but the run claimed version ZZZZ"
    )

    # A missing object is a 404 to HEAD (no error code in a body).
    gone = "validated/IL-404/3HL4.csv"
    with pytest.raises(run_sql_job.JobError) as raised:
        run_sql_job.check_input(claimed(file_url=raw, validated_key=gone), f"s3://{S3_BUCKET}", head)
    assert str(raised.value) == (
        f"Edba.InputMissing: s3://{S3_BUCKET}/{gone} does not exist; the run lists it as the validated copy "
        f"of {raw} version 3HL4"
    )
