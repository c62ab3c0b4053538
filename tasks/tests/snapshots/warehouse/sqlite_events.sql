CREATE TABLE IF NOT EXISTS "events" (
    "region" TEXT NOT NULL,
    "at"     TEXT NOT NULL,
    "order"  TEXT,
    "n"      INTEGER,
    "total"  INTEGER NOT NULL,
    "price"  REAL,
    "day"    TEXT CHECK ("day" = date("day")),
    "ok"     INTEGER,
    "ratio"  REAL,
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
SELECT "region", "at", "order", "n", "total", CAST("price" AS REAL), "day", "ok", "ratio"
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
