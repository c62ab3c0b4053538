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
    # warehouse DDL's (sql/warehouse/redshift/schema.sql).
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


def test_a_listed_file_that_is_missing_fails_the_step(spark, tmp_path, capsys):
    manifest = write_run(tmp_path, [entry("sales", "IL-101"), entry("sales", "IL-404")])
    code = run_sql_job.main(
        [
            "--manifest", str(manifest), "--sql", str(JOB_SQL),
            "--output", str(tmp_path / "out"), "--bucket-root", str(tmp_path / "bucket"),
        ],
        spark=spark,
    )

    assert code == 2
    assert "cannot read the sales files" in capsys.readouterr().err


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
