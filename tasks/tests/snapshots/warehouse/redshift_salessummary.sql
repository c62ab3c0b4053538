CREATE TABLE IF NOT EXISTS "salessummary" (
    "store_id"        VARCHAR(100) NOT NULL,
    "trans_date"      DATE NOT NULL,
    "item_count"      BIGINT NOT NULL,
    "sale_amount"     DECIMAL(14, 2) NOT NULL,
    "tax_amount"      DECIMAL(14, 2) NOT NULL,
    "discount_amount" DECIMAL(14, 2) NOT NULL,
    PRIMARY KEY ("store_id", "trans_date")
)
DISTKEY ("store_id")
SORTKEY ("trans_date", "store_id");

CREATE TEMP TABLE "stage_salessummary" (
    "store_id"        VARCHAR(100) NOT NULL,
    "trans_date"      DATE NOT NULL,
    "item_count"      BIGINT NOT NULL,
    "sale_amount"     DECIMAL(14, 2) NOT NULL,
    "tax_amount"      DECIMAL(14, 2) NOT NULL,
    "discount_amount" DECIMAL(14, 2) NOT NULL
);

COPY "stage_salessummary"
FROM 's3://edba-data/output/job/run-1/salessummary/'
IAM_ROLE 'arn:aws:iam::123456789012:role/copy'
FORMAT AS PARQUET;

MERGE INTO "salessummary"
USING "stage_salessummary" s
ON "salessummary"."store_id" = s."store_id"
    AND "salessummary"."trans_date" = s."trans_date"
WHEN MATCHED THEN UPDATE SET
    "item_count" = s."item_count",
    "sale_amount" = s."sale_amount",
    "tax_amount" = s."tax_amount",
    "discount_amount" = s."discount_amount"
WHEN NOT MATCHED THEN INSERT
    ("store_id", "trans_date", "item_count", "sale_amount", "tax_amount", "discount_amount")
    VALUES (s."store_id", s."trans_date", s."item_count", s."sale_amount", s."tax_amount", s."discount_amount");

DROP TABLE "stage_salessummary";
