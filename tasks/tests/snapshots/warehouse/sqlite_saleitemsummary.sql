CREATE TABLE IF NOT EXISTS "saleitemsummary" (
    "store_id"        TEXT NOT NULL,
    "item_id"         TEXT NOT NULL,
    "trans_date"      TEXT NOT NULL CHECK ("trans_date" = date("trans_date")),
    "item_name"       TEXT,
    "sale_amount"     REAL NOT NULL,
    "tax_amount"      REAL NOT NULL,
    "discount_amount" REAL NOT NULL,
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
SELECT "store_id", "item_id", "trans_date", "item_name", CAST("sale_amount" AS REAL), CAST("tax_amount" AS REAL), CAST("discount_amount" AS REAL)
FROM "stage_saleitemsummary"
WHERE true
ON CONFLICT ("store_id", "item_id", "trans_date") DO UPDATE SET
    "item_name" = excluded."item_name",
    "sale_amount" = excluded."sale_amount",
    "tax_amount" = excluded."tax_amount",
    "discount_amount" = excluded."discount_amount";

DROP TABLE "stage_saleitemsummary";
