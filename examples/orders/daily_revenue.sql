-- Each region's orders per day: the views are typed as edba.toml declares
-- them (placed_at a UTC timestamp, price a decimal, quantity an integer,
-- region a capture of the file name), so nothing is cast from text.
--
-- A cancelled order counts for nothing; an order's coupon takes its discount
-- from the partner feed when the coupon is active there.

-- table: daily_revenue
SELECT
    o.region,
    CAST(o.placed_at AS DATE) AS order_day,
    COUNT(*) AS orders,
    CAST(SUM(o.quantity) AS BIGINT) AS items,
    CAST(SUM(o.price * o.quantity) AS DECIMAL(14, 2)) AS revenue,
    CAST(COALESCE(SUM(c.discount), 0) AS DECIMAL(14, 2)) AS discounts,
    MAX(o.placed_at) AS last_order_at
FROM orders o
LEFT JOIN coupons c ON c.code = o.coupon AND c.active
WHERE o.status <> 'cancelled'
GROUP BY o.region, CAST(o.placed_at AS DATE)
