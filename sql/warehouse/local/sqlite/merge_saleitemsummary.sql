-- Merges rows into saleitemsummary through a staging table, inside the
-- transaction of the load (edba_tasks::load::LocalWarehouse). Three
-- statements, each ending with a semicolon at the end of a line:
--   1. the staging table (the loader then inserts the rows with bound values),
--   2. the merge, 3. dropping the staging table.
-- Amounts are staged as integer cents. The staging primary key makes a run
-- with two rows for one key fail. "WHERE true" is SQLite's way to tell an
-- upsert's ON CONFLICT from a join constraint after INSERT ... SELECT.

CREATE TEMP TABLE stage_saleitemsummary (
    store_id              TEXT    NOT NULL,
    item_id               TEXT    NOT NULL,
    trans_date            TEXT    NOT NULL,
    item_name             TEXT,
    sale_amount_cents     INTEGER NOT NULL,
    tax_amount_cents      INTEGER NOT NULL,
    discount_amount_cents INTEGER NOT NULL,
    PRIMARY KEY (store_id, item_id, trans_date)
);

INSERT INTO saleitemsummary
    (store_id, item_id, trans_date, item_name, sale_amount, tax_amount, discount_amount)
SELECT store_id, item_id, trans_date, item_name,
    sale_amount_cents / 100.0,
    tax_amount_cents / 100.0,
    discount_amount_cents / 100.0
FROM stage_saleitemsummary
WHERE true
ON CONFLICT (store_id, item_id, trans_date) DO UPDATE SET
    item_name = excluded.item_name,
    sale_amount = excluded.sale_amount,
    tax_amount = excluded.tax_amount,
    discount_amount = excluded.discount_amount;

DROP TABLE stage_saleitemsummary;
