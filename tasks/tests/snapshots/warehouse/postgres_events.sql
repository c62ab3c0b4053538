CREATE TABLE IF NOT EXISTS "events" (
    "region" VARCHAR(2) NOT NULL,
    "at"     TIMESTAMP NOT NULL,
    "order"  TEXT,
    "n"      INTEGER,
    "total"  BIGINT NOT NULL,
    "price"  NUMERIC(38, 10),
    "day"    DATE,
    "ok"     BOOLEAN,
    "ratio"  DOUBLE PRECISION,
    PRIMARY KEY ("region", "at")
);

CREATE TEMP TABLE "stage_events" (
    "region" TEXT NOT NULL,
    "at"     TIMESTAMP NOT NULL,
    "order"  TEXT,
    "n"      BIGINT,
    "total"  BIGINT NOT NULL,
    "price"  TEXT,
    "day"    DATE,
    "ok"     BOOLEAN,
    "ratio"  DOUBLE PRECISION,
    PRIMARY KEY ("region", "at")
);

INSERT INTO "stage_events" ("region", "at", "order", "n", "total", "price", "day", "ok", "ratio") VALUES (…);

INSERT INTO "events" ("region", "at", "order", "n", "total", "price", "day", "ok", "ratio")
SELECT "region", "at", "order", "n", "total", CAST("price" AS NUMERIC(38, 10)), "day", "ok", "ratio"
FROM "stage_events"
WHERE true
ON CONFLICT ("region", "at") DO UPDATE SET
    "order" = excluded."order",
    "n" = excluded."n",
    "total" = excluded."total",
    "price" = excluded."price",
    "day" = excluded."day",
    "ok" = excluded."ok",
    "ratio" = excluded."ratio";

DROP TABLE "stage_events";
