-- Energy per site and day. The view `readings` is typed as edba.toml declares
-- it (read_at a UTC timestamp, kwh a decimal, site and day from the file name).

-- table: daily_energy
SELECT
    site,
    CAST(day AS DATE) AS day,
    COUNT(DISTINCT meter) AS meters,
    CAST(SUM(kwh) AS DECIMAL(14, 3)) AS kwh,
    MAX(read_at) AS last_read_at
FROM readings
GROUP BY site, CAST(day AS DATE)
