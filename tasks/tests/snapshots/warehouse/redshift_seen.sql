CREATE TABLE IF NOT EXISTS "seen" (
    "code" VARCHAR(65535) NOT NULL,
    "day"  DATE NOT NULL,
    PRIMARY KEY ("code", "day")
)
DISTKEY ("code")
SORTKEY ("day", "code");

CREATE TEMP TABLE "stage_seen" (
    "code" VARCHAR(65535) NOT NULL,
    "day"  DATE NOT NULL
);

COPY "stage_seen"
FROM 's3://edba-data/output/job/run-1/seen/'
IAM_ROLE 'arn:aws:iam::123456789012:role/copy'
FORMAT AS PARQUET;

MERGE INTO "seen"
USING "stage_seen" s
ON "seen"."code" = s."code"
    AND "seen"."day" = s."day"
WHEN MATCHED THEN UPDATE SET
    "code" = s."code"
WHEN NOT MATCHED THEN INSERT
    ("code", "day")
    VALUES (s."code", s."day");

DROP TABLE "stage_seen";
