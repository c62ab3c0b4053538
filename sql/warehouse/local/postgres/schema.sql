-- The summary tables in a local PostgreSQL warehouse: the same columns as
-- on Redshift (../../redshift/schema.sql), with the merge keys enforced.

CREATE TABLE IF NOT EXISTS saleitemsummary (
    store_id        VARCHAR(25)    NOT NULL,
    item_id         VARCHAR(25)    NOT NULL,
    trans_date      DATE           NOT NULL,
    item_name       VARCHAR(200),
    sale_amount     NUMERIC(14, 2) NOT NULL,
    tax_amount      NUMERIC(14, 2) NOT NULL,
    discount_amount NUMERIC(14, 2) NOT NULL,
    PRIMARY KEY (store_id, item_id, trans_date)
);

CREATE TABLE IF NOT EXISTS salessummary (
    store_id        VARCHAR(25)    NOT NULL,
    trans_date      DATE           NOT NULL,
    item_count      BIGINT         NOT NULL,
    sale_amount     NUMERIC(14, 2) NOT NULL,
    tax_amount      NUMERIC(14, 2) NOT NULL,
    discount_amount NUMERIC(14, 2) NOT NULL,
    PRIMARY KEY (store_id, trans_date)
);
