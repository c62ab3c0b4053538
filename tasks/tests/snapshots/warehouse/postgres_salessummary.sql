CREATE TABLE IF NOT EXISTS "salessummary" (
    "store_id"        VARCHAR(25) NOT NULL,
    "trans_date"      DATE NOT NULL,
    "item_count"      BIGINT NOT NULL,
    "sale_amount"     NUMERIC(14, 2) NOT NULL,
    "tax_amount"      NUMERIC(14, 2) NOT NULL,
    "discount_amount" NUMERIC(14, 2) NOT NULL,
    PRIMARY KEY ("store_id", "trans_date")
);

CREATE TEMP TABLE "stage_salessummary" (
    "store_id"        TEXT NOT NULL,
    "trans_date"      DATE NOT NULL,
    "item_count"      BIGINT NOT NULL,
    "sale_amount"     TEXT NOT NULL,
    "tax_amount"      TEXT NOT NULL,
    "discount_amount" TEXT NOT NULL,
    PRIMARY KEY ("store_id", "trans_date")
);

INSERT INTO "stage_salessummary" ("store_id", "trans_date", "item_count", "sale_amount", "tax_amount", "discount_amount") VALUES (…);

INSERT INTO "salessummary" ("store_id", "trans_date", "item_count", "sale_amount", "tax_amount", "discount_amount")
SELECT "store_id", "trans_date", "item_count", CAST("sale_amount" AS NUMERIC(14, 2)), CAST("tax_amount" AS NUMERIC(14, 2)), CAST("discount_amount" AS NUMERIC(14, 2))
FROM "stage_salessummary"
WHERE true
ON CONFLICT ("store_id", "trans_date") DO UPDATE SET
    "item_count" = excluded."item_count",
    "sale_amount" = excluded."sale_amount",
    "tax_amount" = excluded."tax_amount",
    "discount_amount" = excluded."discount_amount";

DROP TABLE "stage_salessummary";
