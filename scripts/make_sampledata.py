#!/usr/bin/env python3
"""Writes sampledata/: the franchise files of the original sample, plus defects.

Deterministic (fixed seed, fixed dates): running it again rewrites the same
bytes. Freshness is about when edba validated a file, never about the dates
inside it.

  IL-101 .. IL-114   14 Illinois store files (job J101 needs 13)
  CA-201 .. CA-206    6 California store files (job J102 needs 25: it waits)
  Item-Master-Data    item master data (both jobs need it, validated < 24 h)
  defects:
    IL-103           junk trailer lines starting with '----' (skipped, counted)
    CA-203           bad amounts (NaN, 1e5, 12.345) and bad dates (2016-02-30)
    CA-204           rows with too few columns and a trailing tab
    TX-401           not UTF-8 (Latin-1 item ids) in some rows
    IL-199           empty file (INVALID)
    notes.txt        not a dataset edba knows (INVALID, unknown dataset)
"""
import os
import random
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "sampledata")
rng = random.Random(20161122)
ITEMS = [f"ITEM-{n:03d}" for n in range(1, 21)]
DATES = ["2016-11-20", "2016-11-21", "2016-11-22"]


def sales_lines(store, n):
    lines = []
    for _ in range(n):
        item = rng.choice(ITEMS)
        date = rng.choice(DATES)
        kind = rng.choice([4, 4, 4, 5, 6, 7])
        cents = rng.randint(100, 99999) if kind != 6 else rng.randint(10, 2000)
        amount = f"{cents // 100}.{cents % 100:02d}"
        lines.append(f"{store}\t{amount}\t{kind}\t{item}\t{date}")
    return lines


def write(name, lines, encoding="utf-8", newline="\n"):
    data = "".join(line + newline for line in lines).encode(encoding) if lines else b""
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


os.makedirs(OUT, exist_ok=True)
for store in range(101, 115):
    lines = sales_lines(str(store), 24)
    if store == 103:
        lines += ["----", "---- END OF REPORT ----", "----"]
    write(f"IL-{store}.tdf", lines)

for store in range(201, 207):
    lines = sales_lines(str(store), 24)
    if store == 203:
        lines[2] = f"{store}\tNaN\t4\tITEM-001\t2016-11-20"
        lines[5] = f"{store}\t1e5\t4\tITEM-002\t2016-11-20"
        lines[8] = f"{store}\t12.345\t4\tITEM-003\t2016-11-21"
        lines[11] = f"{store}\t10.00\t4\tITEM-004\t2016-02-30"
    if store == 204:
        lines[3] = f"{store}\t10.00\t4"
        lines[7] = f"{store}\t10.00"
        lines[9] = lines[9] + "\t"
    write(f"CA-{store}.tdf", lines, newline="\r\n" if store == 205 else "\n")

tx = sales_lines("401", 12)
tx[1] = "401\t5.00\t4\tCAF\u00c9-1\t2016-11-20"
tx[4] = "401\t6.00\t4\tNA\u00cfVE-2\t2016-11-21"
write("TX-401.tdf", tx, encoding="latin-1")

write("IL-199.tdf", [])

items = ["item_id\titem_name\teffective_date"]
for i, item in enumerate(ITEMS):
    items.append(f"{item}\tSample item {i + 1}\t2016-01-01")
write("Item-Master-Data.tdf", items)

write("notes.txt", ["These files are edba's sample data; see the README."])
print(f"wrote sample data to {os.path.normpath(OUT)}")
