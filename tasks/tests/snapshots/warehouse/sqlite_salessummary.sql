CREATE TABLE IF NOT EXISTS "salessummary" (
    "store_id"        TEXT NOT NULL,
    "trans_date"      TEXT NOT NULL CHECK ("trans_date" = date("trans_date")),
    "item_count"      INTEGER NOT NULL,
    "sale_amount"     REAL NOT NULL,
    "tax_amount"      REAL NOT NULL,
    "discount_amount" REAL NOT NULL,
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
SELECT "store_id", "trans_date", "item_count", CAST("sale_amount" AS REAL), CAST("tax_amount" AS REAL), CAST("discount_amount" AS REAL)
FROM "stage_salessummary"
WHERE true
ON CONFLICT ("store_id", "trans_date") DO UPDATE SET
    "item_count" = excluded."item_count",
    "sale_amount" = excluded."sale_amount",
    "tax_amount" = excluded."tax_amount",
    "discount_amount" = excluded."discount_amount";

DROP TABLE "stage_salessummary";
