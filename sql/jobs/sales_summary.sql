-- The sales summary job: sale (type 4), tax (5) and discount (6) amounts per
-- store, item and day, and per store and day.
--
-- One text, two engines: Spark SQL on EMR (scripts/emr/run_sql_job.py) and the
-- embedded engine locally (DataFusion). Only ANSI features both implement are
-- used: CTEs, CASE, SUM, COUNT(DISTINCT), ROW_NUMBER() OVER, LEFT JOIN, CAST.
--
-- File convention (what every runner understands):
--   * A line `-- table: <name>` opens a section; the section runs to the next
--     such line or the end of the file. Text before the first section is
--     commentary.
--   * A section holds exactly one query (a SELECT, optionally with a WITH
--     clause); a trailing `;` is allowed. Its result is the output table
--     <name>, written as Parquet under <output>/<name>/.
--   * Sections run in file order, and each result is registered as a view
--     named <name>, so a later section may read an earlier table.
--   * `<name>` is also the warehouse table the output is merged into.
--
-- Input views (the validated CSV columns):
--   sales(store_id, amount, trans_type, item_id, trans_date)
--   items(item_id, item_name, effective_date)
-- The query casts every column it computes with (amount to DECIMAL(14,2),
-- trans_type to INT, dates to DATE), so it gives the same result whether a
-- runner exposes them typed (the Spark runner does) or as strings.
--
-- Item names: an item listed several times in the item master takes the name
-- of its row with the latest effective_date (ties: the smallest name, so the
-- result never depends on file order); an item missing from the item master
-- has a NULL item_name and is still summarised.

-- table: saleitemsummary
WITH typed_sales AS (
    SELECT
        store_id,
        item_id,
        CAST(trans_date AS DATE) AS trans_date,
        CAST(trans_type AS INT) AS trans_type,
        CAST(amount AS DECIMAL(14, 2)) AS amount
    FROM sales
),
item_names AS (
    SELECT item_id, item_name
    FROM (
        SELECT
            item_id,
            item_name,
            ROW_NUMBER() OVER (
                PARTITION BY item_id
                ORDER BY CAST(effective_date AS DATE) DESC, item_name ASC
            ) AS version_rank
        FROM items
    ) ranked
    WHERE version_rank = 1
),
item_day AS (
    SELECT
        store_id,
        item_id,
        trans_date,
        SUM(CASE WHEN trans_type = 4 THEN amount ELSE CAST(0 AS DECIMAL(14, 2)) END) AS sale_amount,
        SUM(CASE WHEN trans_type = 5 THEN amount ELSE CAST(0 AS DECIMAL(14, 2)) END) AS tax_amount,
        SUM(CASE WHEN trans_type = 6 THEN amount ELSE CAST(0 AS DECIMAL(14, 2)) END) AS discount_amount
    FROM typed_sales
    WHERE trans_type IN (4, 5, 6)
    GROUP BY store_id, item_id, trans_date
)
SELECT
    d.store_id,
    d.item_id,
    d.trans_date,
    n.item_name,
    CAST(d.sale_amount AS DECIMAL(14, 2)) AS sale_amount,
    CAST(d.tax_amount AS DECIMAL(14, 2)) AS tax_amount,
    CAST(d.discount_amount AS DECIMAL(14, 2)) AS discount_amount
FROM item_day d
LEFT JOIN item_names n ON n.item_id = d.item_id;

-- table: salessummary
SELECT
    store_id,
    trans_date,
    COUNT(DISTINCT item_id) AS item_count,
    CAST(SUM(sale_amount) AS DECIMAL(14, 2)) AS sale_amount,
    CAST(SUM(tax_amount) AS DECIMAL(14, 2)) AS tax_amount,
    CAST(SUM(discount_amount) AS DECIMAL(14, 2)) AS discount_amount
FROM saleitemsummary
GROUP BY store_id, trans_date;
