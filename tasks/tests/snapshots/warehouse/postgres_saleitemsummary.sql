CREATE TABLE IF NOT EXISTS "saleitemsummary" (
    "store_id"        VARCHAR(25) NOT NULL,
    "item_id"         VARCHAR(25) NOT NULL,
    "trans_date"      DATE NOT NULL,
    "item_name"       VARCHAR(200),
    "sale_amount"     NUMERIC(14, 2) NOT NULL,
    "tax_amount"      NUMERIC(14, 2) NOT NULL,
    "discount_amount" NUMERIC(14, 2) NOT NULL,
    PRIMARY KEY ("store_id", "item_id", "trans_date")
);

CREATE TEMP TABLE "stage_saleitemsummary" (
    "store_id"        TEXT NOT NULL,
    "item_id"         TEXT NOT NULL,
    "trans_date"      DATE NOT NULL,
    "item_name"       TEXT,
    "sale_amount"     TEXT NOT NULL,
    "tax_amount"      TEXT NOT NULL,
    "discount_amount" TEXT NOT NULL,
    PRIMARY KEY ("store_id", "item_id", "trans_date")
);

INSERT INTO "stage_saleitemsummary" ("store_id", "item_id", "trans_date", "item_name", "sale_amount", "tax_amount", "discount_amount") VALUES (…);

INSERT INTO "saleitemsummary" ("store_id", "item_id", "trans_date", "item_name", "sale_amount", "tax_amount", "discount_amount")
SELECT "store_id", "item_id", "trans_date", "item_name", CAST("sale_amount" AS NUMERIC(14, 2)), CAST("tax_amount" AS NUMERIC(14, 2)), CAST("discount_amount" AS NUMERIC(14, 2))
FROM "stage_saleitemsummary"
WHERE true
ON CONFLICT ("store_id", "item_id", "trans_date") DO UPDATE SET
    "item_name" = excluded."item_name",
    "sale_amount" = excluded."sale_amount",
    "tax_amount" = excluded."tax_amount",
    "discount_amount" = excluded."discount_amount";

DROP TABLE "stage_saleitemsummary";
