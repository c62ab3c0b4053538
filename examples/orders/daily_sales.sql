-- Each region's orders per day: the views are typed as edba.toml declares
-- them (placed_at a UTC timestamp, price a decimal, quantity an integer,
-- region a capture of the file name), so nothing is cast from text.
--
-- A cancelled order counts for nothing; an order's coupon takes its discount
-- from the partner feed when the coupon is active there.

-- table: salessummary
SELECT
    o.region AS store_id,
    CAST(o.placed_at AS DATE) AS trans_date,
    CAST(SUM(o.quantity) AS BIGINT) AS item_count,
    CAST(SUM(o.price * o.quantity) AS DECIMAL(14, 2)) AS sale_amount,
    CAST(0 AS DECIMAL(14, 2)) AS tax_amount,
    CAST(COALESCE(SUM(c.discount), 0) AS DECIMAL(14, 2)) AS discount_amount
FROM orders o
LEFT JOIN coupons c ON c.code = o.coupon AND c.active
WHERE o.status <> 'cancelled'
GROUP BY o.region, CAST(o.placed_at AS DATE)
