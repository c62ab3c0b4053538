CREATE TABLE IF NOT EXISTS "saleitemsummary" (
    "store_id"        VARCHAR(100) NOT NULL,
    "item_id"         VARCHAR(100) NOT NULL,
    "trans_date"      DATE NOT NULL,
    "item_name"       VARCHAR(800),
    "sale_amount"     DECIMAL(14, 2) NOT NULL,
    "tax_amount"      DECIMAL(14, 2) NOT NULL,
    "discount_amount" DECIMAL(14, 2) NOT NULL,
    PRIMARY KEY ("store_id", "item_id", "trans_date")
)
DISTKEY ("store_id")
SORTKEY ("trans_date", "store_id", "item_id");

CREATE TEMP TABLE "stage_saleitemsummary" (
    "store_id"        VARCHAR(100) NOT NULL,
    "item_id"         VARCHAR(100) NOT NULL,
    "trans_date"      DATE NOT NULL,
    "item_name"       VARCHAR(800),
    "sale_amount"     DECIMAL(14, 2) NOT NULL,
    "tax_amount"      DECIMAL(14, 2) NOT NULL,
    "discount_amount" DECIMAL(14, 2) NOT NULL
);

COPY "stage_saleitemsummary"
FROM 's3://edba-data/output/job/run-1/saleitemsummary/'
IAM_ROLE 'arn:aws:iam::123456789012:role/copy'
FORMAT AS PARQUET;

MERGE INTO "saleitemsummary"
USING "stage_saleitemsummary" s
ON "saleitemsummary"."store_id" = s."store_id"
    AND "saleitemsummary"."item_id" = s."item_id"
    AND "saleitemsummary"."trans_date" = s."trans_date"
WHEN MATCHED THEN UPDATE SET
    "item_name" = s."item_name",
    "sale_amount" = s."sale_amount",
    "tax_amount" = s."tax_amount",
    "discount_amount" = s."discount_amount"
WHEN NOT MATCHED THEN INSERT
    ("store_id", "item_id", "trans_date", "item_name", "sale_amount", "tax_amount", "discount_amount")
    VALUES (s."store_id", s."item_id", s."trans_date", s."item_name", s."sale_amount", s."tax_amount", s."discount_amount");

DROP TABLE "stage_saleitemsummary";
