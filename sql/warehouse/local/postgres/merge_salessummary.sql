-- Merges rows into salessummary through a staging table; see
-- merge_saleitemsummary.sql for how the loader runs this file.

CREATE TEMP TABLE stage_salessummary (
    store_id              VARCHAR(25) NOT NULL,
    trans_date            DATE        NOT NULL,
    item_count            BIGINT      NOT NULL,
    sale_amount_cents     BIGINT      NOT NULL,
    tax_amount_cents      BIGINT      NOT NULL,
    discount_amount_cents BIGINT      NOT NULL,
    PRIMARY KEY (store_id, trans_date)
);

INSERT INTO salessummary
    (store_id, trans_date, item_count, sale_amount, tax_amount, discount_amount)
SELECT store_id, trans_date, item_count,
    sale_amount_cents::NUMERIC / 100,
    tax_amount_cents::NUMERIC / 100,
    discount_amount_cents::NUMERIC / 100
FROM stage_salessummary
ON CONFLICT (store_id, trans_date) DO UPDATE SET
    item_count = excluded.item_count,
    sale_amount = excluded.sale_amount,
    tax_amount = excluded.tax_amount,
    discount_amount = excluded.discount_amount;

DROP TABLE stage_salessummary;
