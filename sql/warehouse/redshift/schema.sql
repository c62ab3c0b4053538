-- The warehouse summary tables on Amazon Redshift: the aggregation job's
-- output (sql/jobs/sales_summary.sql), merged by the load task so exactly one
-- row exists per key. Column order is the job's output order: COPY from
-- Parquet maps columns by position.
--
-- Redshift does not enforce PRIMARY KEY; the load's MERGE keeps the keys
-- unique, and the planner uses the declaration.

CREATE TABLE IF NOT EXISTS saleitemsummary (
    store_id        VARCHAR(25)    NOT NULL,
    item_id         VARCHAR(25)    NOT NULL,
    trans_date      DATE           NOT NULL,
    -- 200 characters of UTF-8 (the validated item name limit).
    item_name       VARCHAR(800),
    sale_amount     DECIMAL(14, 2) NOT NULL,
    tax_amount      DECIMAL(14, 2) NOT NULL,
    discount_amount DECIMAL(14, 2) NOT NULL,
    PRIMARY KEY (store_id, item_id, trans_date)
)
DISTKEY (store_id)
SORTKEY (trans_date, store_id);

CREATE TABLE IF NOT EXISTS salessummary (
    store_id        VARCHAR(25)    NOT NULL,
    trans_date      DATE           NOT NULL,
    item_count      BIGINT         NOT NULL,
    sale_amount     DECIMAL(14, 2) NOT NULL,
    tax_amount      DECIMAL(14, 2) NOT NULL,
    discount_amount DECIMAL(14, 2) NOT NULL,
    PRIMARY KEY (store_id, trans_date)
)
DISTKEY (store_id)
SORTKEY (trans_date, store_id);
