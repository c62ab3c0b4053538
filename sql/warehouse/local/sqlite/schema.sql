-- The summary tables in the embedded SQLite warehouse: the same columns as
-- on Redshift (../../redshift/schema.sql), with the merge keys enforced.
--
-- SQLite has no exact decimal type: amounts are stored as REAL. Every
-- DECIMAL(14,2) value reads back exactly as ROUND(amount * 100) cents
-- (cents stay far below 2^53); sums over many rows are floating point.

CREATE TABLE IF NOT EXISTS saleitemsummary (
    store_id        TEXT    NOT NULL,
    item_id         TEXT    NOT NULL,
    trans_date      TEXT    NOT NULL CHECK (trans_date = date(trans_date)),
    item_name       TEXT,
    sale_amount     REAL    NOT NULL,
    tax_amount      REAL    NOT NULL,
    discount_amount REAL    NOT NULL,
    PRIMARY KEY (store_id, item_id, trans_date)
);

CREATE TABLE IF NOT EXISTS salessummary (
    store_id        TEXT    NOT NULL,
    trans_date      TEXT    NOT NULL CHECK (trans_date = date(trans_date)),
    item_count      INTEGER NOT NULL,
    sale_amount     REAL    NOT NULL,
    tax_amount      REAL    NOT NULL,
    discount_amount REAL    NOT NULL,
    PRIMARY KEY (store_id, trans_date)
);
