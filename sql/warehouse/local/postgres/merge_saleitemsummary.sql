-- Merges rows into saleitemsummary through a staging table, inside the
-- transaction of the load (edba_tasks::load::LocalWarehouse). Three
-- statements, each ending with a semicolon at the end of a line:
--   1. the staging table (the loader then inserts the rows with bound values),
--   2. the merge, 3. dropping the staging table.
-- Amounts are staged as integer cents, so no value is rounded on the way.
-- The staging primary key makes a run with two rows for one key fail.

CREATE TEMP TABLE stage_saleitemsummary (
    store_id              VARCHAR(25) NOT NULL,
    item_id               VARCHAR(25) NOT NULL,
    trans_date            DATE        NOT NULL,
    item_name             VARCHAR(200),
    sale_amount_cents     BIGINT      NOT NULL,
    tax_amount_cents      BIGINT      NOT NULL,
    discount_amount_cents BIGINT      NOT NULL,
    PRIMARY KEY (store_id, item_id, trans_date)
);

INSERT INTO saleitemsummary
    (store_id, item_id, trans_date, item_name, sale_amount, tax_amount, discount_amount)
SELECT store_id, item_id, trans_date, item_name,
    sale_amount_cents::NUMERIC / 100,
    tax_amount_cents::NUMERIC / 100,
    discount_amount_cents::NUMERIC / 100
FROM stage_saleitemsummary
ON CONFLICT (store_id, item_id, trans_date) DO UPDATE SET
    item_name = excluded.item_name,
    sale_amount = excluded.sale_amount,
    tax_amount = excluded.tax_amount,
    discount_amount = excluded.discount_amount;

DROP TABLE stage_saleitemsummary;
