-- Byte quotas that must survive a Redis restart (the daily upload quota): one counter per client
-- and window, reset when its window has passed.
CREATE TABLE quota_usage (
  key text PRIMARY KEY,
  used bigint NOT NULL CHECK (used >= 0),
  resets_at timestamptz NOT NULL
);
CREATE INDEX quota_usage_resets_idx ON quota_usage (resets_at);
