-- 0020_alert_target: the outbox also carries notifications for webhooks.
-- target is NULL for mail (alerts and email tasks) and 'webhook' for a
-- notification to the configured webhook (notify.*); the URL itself is a
-- secret and never stored. Plain ADD COLUMN: the same on both backends.
ALTER TABLE alert ADD COLUMN target TEXT;
