CREATE TABLE IF NOT EXISTS "seen" (
    "code" TEXT NOT NULL,
    "day"  DATE NOT NULL,
    PRIMARY KEY ("code", "day")
);

CREATE TEMP TABLE "stage_seen" (
    "code" TEXT NOT NULL,
    "day"  DATE NOT NULL,
    PRIMARY KEY ("code", "day")
);

INSERT INTO "stage_seen" ("code", "day") VALUES (…);

INSERT INTO "seen" ("code", "day")
SELECT "code", "day"
FROM "stage_seen"
WHERE true
ON CONFLICT ("code", "day") DO NOTHING;

DROP TABLE "stage_seen";
