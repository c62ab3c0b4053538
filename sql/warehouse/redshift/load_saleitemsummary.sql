-- Merges one run's saleitemsummary output into the warehouse table.
-- The load task sends the statements of every table of a run in one
-- BatchExecuteStatement, which Redshift runs as one transaction.
-- {{output_url}} (s3://<bucket>/<output_prefix>saleitemsummary/) and
-- {{copy_role_arn}} are replaced by the load task with values it has checked
-- against strict character sets: COPY takes no bind parameters.
-- Statements end with a semicolon at the end of a line; lines starting with
-- two dashes are dropped.

CREATE TEMP TABLE stage_saleitemsummary (
    store_id        VARCHAR(25)    NOT NULL,
    item_id         VARCHAR(25)    NOT NULL,
    trans_date      DATE           NOT NULL,
    item_name       VARCHAR(800),
    sale_amount     DECIMAL(14, 2) NOT NULL,
    tax_amount      DECIMAL(14, 2) NOT NULL,
    discount_amount DECIMAL(14, 2) NOT NULL
);

COPY stage_saleitemsummary
FROM '{{output_url}}'
IAM_ROLE '{{copy_role_arn}}'
FORMAT AS PARQUET;

MERGE INTO saleitemsummary
USING stage_saleitemsummary s
ON saleitemsummary.store_id = s.store_id
    AND saleitemsummary.item_id = s.item_id
    AND saleitemsummary.trans_date = s.trans_date
WHEN MATCHED THEN UPDATE SET
    item_name = s.item_name,
    sale_amount = s.sale_amount,
    tax_amount = s.tax_amount,
    discount_amount = s.discount_amount
WHEN NOT MATCHED THEN INSERT
    (store_id, item_id, trans_date, item_name, sale_amount, tax_amount, discount_amount)
    VALUES (s.store_id, s.item_id, s.trans_date, s.item_name, s.sale_amount, s.tax_amount, s.discount_amount);

DROP TABLE stage_saleitemsummary;
