-- Merges rows into salessummary through a staging table; see
-- merge_saleitemsummary.sql for how the loader runs this file.

CREATE TEMP TABLE stage_salessummary (
    store_id              TEXT    NOT NULL,
    trans_date            TEXT    NOT NULL,
    item_count            INTEGER NOT NULL,
    sale_amount_cents     INTEGER NOT NULL,
    tax_amount_cents      INTEGER NOT NULL,
    discount_amount_cents INTEGER NOT NULL,
    PRIMARY KEY (store_id, trans_date)
);

INSERT INTO salessummary
    (store_id, trans_date, item_count, sale_amount, tax_amount, discount_amount)
SELECT store_id, trans_date, item_count,
    sale_amount_cents / 100.0,
    tax_amount_cents / 100.0,
    discount_amount_cents / 100.0
FROM stage_salessummary
WHERE true
ON CONFLICT (store_id, trans_date) DO UPDATE SET
    item_count = excluded.item_count,
    sale_amount = excluded.sale_amount,
    tax_amount = excluded.tax_amount,
    discount_amount = excluded.discount_amount;

DROP TABLE stage_salessummary;
