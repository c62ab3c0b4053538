#!/usr/bin/env python3
"""The baseline of the local SQL job benchmark: the same SQL text on DuckDB.

    local_duckdb_job.py SQL_FILE INPUT_DIR OUT_DIR [csv|parquet]

Reads INPUT_DIR/sales/* and INPUT_DIR/items/* as the views `sales` and
`items`: the typed Parquet validate stores (`parquet`, the default), or the
validated CSVs of older runs with every column as VARCHAR (`csv`); runs each `-- table: <name>` section of SQL_FILE in order, keeping
each result as a table of that name (a later section reads an earlier one),
and writes it as Parquet (Snappy) to OUT_DIR/<name>/part-00000.snappy.parquet.
Prints one line of key=value pairs, with the same totals as
`bench_local job-run` so the script can compare them.
"""

import pathlib
import re
import sys
import time

import duckdb

SECTION = re.compile(r"^--\s*table:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")


def sections(text):
    """The sections as run_sql_job.py splits them: (name, query) in file order."""
    out, name, lines = [], None, []
    for line in text.splitlines():
        m = SECTION.match(line)
        if m:
            if name:
                out.append((name, lines))
            name, lines = m.group(1), []
        elif name:
            lines.append(line)
    if name:
        out.append((name, lines))
    result = []
    for name, body in out:
        code = "\n".join(l for l in body if not l.strip().startswith("--")).strip()
        result.append((name, code[:-1].rstrip() if code.endswith(";") else code))
    return result


def quote(text):
    """A SQL string literal (COPY and CREATE VIEW take no bound parameters)."""
    return "'" + text.replace("'", "''") + "'"


def main():
    sql_file, csv_dir, out_dir = (pathlib.Path(a) for a in sys.argv[1:4])
    fmt = sys.argv[4] if len(sys.argv) > 4 else "parquet"
    queries = sections(sql_file.read_text())
    # Table names come from the section pattern above: identifiers only.
    con = duckdb.connect()
    started = time.perf_counter()
    for view in ("sales", "items"):
        if fmt == "csv":
            pattern = quote(str(csv_dir / view / "*.csv"))
            source = f"read_csv({pattern}, header = true, all_varchar = true)"
        else:
            source = f"read_parquet({quote(str(csv_dir / view / '*.parquet'))})"
        con.execute(f"CREATE VIEW {view} AS SELECT * FROM {source}")
    for name, query in queries:
        con.execute(f"CREATE TABLE {name} AS {query}")
        target = out_dir / name
        target.mkdir(parents=True, exist_ok=True)
        path = quote(str(target / "part-00000.snappy.parquet"))
        con.execute(f"COPY {name} TO {path} (FORMAT parquet, COMPRESSION snappy)")
    elapsed = time.perf_counter() - started

    items_rows, named = con.execute(
        "SELECT count(*), count(item_name) FROM saleitemsummary"
    ).fetchone()
    sales_rows, sale, tax, discount, item_count = con.execute(
        "SELECT count(*), CAST(sum(sale_amount) * 100 AS HUGEINT), CAST(sum(tax_amount) * 100 AS HUGEINT), "
        "CAST(sum(discount_amount) * 100 AS HUGEINT), sum(item_count) FROM salessummary"
    ).fetchone()
    print(
        f"duckdb version={duckdb.__version__} format={fmt} job_s={elapsed:.3f} saleitemsummary_rows={items_rows} "
        f"salessummary_rows={sales_rows} sale_cents={sale} tax_cents={tax} discount_cents={discount} "
        f"item_count_sum={item_count} named_rows={named}"
    )


if __name__ == "__main__":
    main()
