#!/usr/bin/env python3
"""Baseline for scripts/bench_validate.sh: the sales checks of edba's converter
written the obvious way with Python's csv module, reading the same file and
writing valid and rejected rows to /dev/null.

Prints one key=value line in the format of tasks/examples/bench_validate.rs so
the script can compare the counts (same checks => same counts).
"""
import csv
import datetime
import os
import re
import sys
import time

COLUMNS = ["store_id", "amount", "trans_type", "item_id", "trans_date"]
ID = re.compile(r"[A-Za-z0-9_-]{1,25}\Z")
AMOUNT = re.compile(r"-?([0-9]+)(?:\.([0-9]{1,2}))?\Z")
TRANS_TYPE = re.compile(r"[0-9]+\Z")
DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")
NOT_UTF8 = re.compile("[\udc80-\udcff]")


def check(row):
    """Returns (normalised row, None) or (None, (column, reason))."""
    if len(row) < len(COLUMNS):
        return None, (COLUMNS[len(row)], "missing column")
    store, amount, ttype, item, date = row[:5]
    if not ID.match(store):
        return None, ("store_id", "bad id")
    m = AMOUNT.match(amount)
    if not m:
        return None, ("amount", "not a decimal")
    if len(m.group(1).lstrip("0")) > 12:
        return None, ("amount", "too large")
    frac = (m.group(2) or "").ljust(2, "0")
    whole = m.group(1).lstrip("0") or "0"
    sign = "-" if amount.startswith("-") and (whole != "0" or frac != "00") else ""
    if not TRANS_TYPE.match(ttype) or not 1 <= int(ttype) <= 99:
        return None, ("trans_type", "out of range")
    if not ID.match(item):
        return None, ("item_id", "bad id")
    d = DATE.match(date)
    if not d:
        return None, ("trans_date", "not a date")
    try:
        datetime.date(int(d.group(1)), int(d.group(2)), int(d.group(3)))
    except ValueError:
        return None, ("trans_date", "not a day")
    return [store, f"{sign}{whole}.{frac}", str(int(ttype)), item, date], None


def main(path):
    start = time.perf_counter()
    cpu_start = time.process_time()
    size = os.path.getsize(path)
    valid = rejected = skipped = lines = 0
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f, \
            open(os.devnull, "w", newline="") as vout, open(os.devnull, "w", newline="") as rout:
        vw = csv.writer(vout, lineterminator="\n")
        rw = csv.writer(rout, lineterminator="\n")
        vw.writerow(COLUMNS)
        rw.writerow(["line", "column", "reason", "raw_line"])
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            lines += 1
            if lines == 1 and row and row[0].startswith("\ufeff"):
                row[0] = row[0][1:]
            if not row or all(not field.strip() for field in row) or row[0].startswith("-"):
                skipped += 1
                continue
            raw = "\t".join(row)
            if NOT_UTF8.search(raw) or "\0" in raw:
                rejected += 1
                rw.writerow([lines, "", "not UTF-8 or NUL", raw])
                continue
            if lines == 1 and row[:5] == COLUMNS:
                skipped += 1
                continue
            out, problem = check(row)
            if out is None:
                rejected += 1
                rw.writerow([lines, problem[0], problem[1], raw])
            else:
                valid += 1
                vw.writerow(out)
    secs = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(f"impl=python bytes={size} secs={secs:.3f} mb_per_s={size / 1e6 / secs:.1f} "
          f"cpu_secs={cpu:.3f} mb_per_cpu_s={size / 1e6 / cpu:.1f} "
          f"lines={lines} valid={valid} rejected={rejected} skipped={skipped}")


if __name__ == "__main__":
    main(sys.argv[1])
