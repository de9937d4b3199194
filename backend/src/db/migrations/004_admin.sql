-- Admin dashboard: run-time settings, the audit log, and indexes for the statistics.

-- The upload policy an admin saved (one row). Absent: the environment's defaults apply.
CREATE TABLE settings (
  id integer PRIMARY KEY CHECK (id = 1),
  data jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text
);

-- Every admin action: who, what, on what, when. Kept when the actor or target is gone.
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor_user_id text,
  actor_email text NOT NULL,
  action text NOT NULL,
  target_type text NOT NULL,
  target_id text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);

-- Download totals and the per-day series read only the index (at, bytes): no heap visits on
-- a million events. (The plain index on `at` from 001 stays for other readers.)
CREATE INDEX download_events_at_bytes_idx ON download_events (at) INCLUDE (bytes);

-- "Top shares by downloads" reads the first rows of this index.
CREATE INDEX shares_downloads_idx ON shares (downloads DESC, created_at DESC);

-- The per-day upload series and anonymous vs signed-in counts scan only finalized shares of the range.
CREATE INDEX shares_finalized_created_idx ON shares (created_at) INCLUDE (total_size, anonymous) WHERE finalized_at IS NOT NULL;

-- Links of disabled owners stop working: the LIVE check looks disabled users up by id (primary
-- key); this small index lists them for the dashboard.
CREATE INDEX users_disabled_idx ON users (disabled_at) WHERE disabled_at IS NOT NULL;
