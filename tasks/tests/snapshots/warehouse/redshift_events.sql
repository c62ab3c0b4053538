CREATE TABLE IF NOT EXISTS "events" (
    "region" VARCHAR(8) NOT NULL,
    "at"     TIMESTAMP NOT NULL,
    "order"  VARCHAR(65535),
    "n"      INTEGER,
    "total"  BIGINT NOT NULL,
    "price"  DECIMAL(38, 10),
    "day"    DATE,
    "ok"     BOOLEAN,
    "ratio"  DOUBLE PRECISION,
    PRIMARY KEY ("region", "at")
)
DISTKEY ("region")
SORTKEY ("at", "region");

CREATE TEMP TABLE "stage_events" (
    "region" VARCHAR(8) NOT NULL,
    "at"     TIMESTAMP NOT NULL,
    "order"  VARCHAR(65535),
    "n"      INTEGER,
    "total"  BIGINT NOT NULL,
    "price"  DECIMAL(38, 10),
    "day"    DATE,
    "ok"     BOOLEAN,
    "ratio"  DOUBLE PRECISION
);

COPY "stage_events"
FROM 's3://edba-data/output/job/run-1/events/'
IAM_ROLE 'arn:aws:iam::123456789012:role/copy'
FORMAT AS PARQUET;

MERGE INTO "events"
USING "stage_events" s
ON "events"."region" = s."region"
    AND "events"."at" = s."at"
WHEN MATCHED THEN UPDATE SET
    "order" = s."order",
    "n" = s."n",
    "total" = s."total",
    "price" = s."price",
    "day" = s."day",
    "ok" = s."ok",
    "ratio" = s."ratio"
WHEN NOT MATCHED THEN INSERT
    ("region", "at", "order", "n", "total", "price", "day", "ok", "ratio")
    VALUES (s."region", s."at", s."order", s."n", s."total", s."price", s."day", s."ok", s."ratio");

DROP TABLE "stage_events";
