-- Accounts
CREATE TABLE users (
  id text PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text NOT NULL DEFAULT '',
  avatar_url text,
  google_sub text UNIQUE,
  role text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  disabled_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_login_at timestamptz
);

CREATE TABLE sessions (
  sid text PRIMARY KEY,
  user_id text REFERENCES users(id) ON DELETE CASCADE,
  data jsonb NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Cloud links. A share is downloadable when status = 'ready' and not expired.
CREATE TABLE shares (
  id text PRIMARY KEY,
  owner_user_id text REFERENCES users(id) ON DELETE SET NULL,
  owner_token_hash text,
  password_hash text,
  status text NOT NULL DEFAULT 'uploading' CHECK (status IN ('uploading', 'ready', 'deleted')),
  max_downloads integer CHECK (max_downloads IS NULL OR max_downloads > 0),
  downloads integer NOT NULL DEFAULT 0,
  total_size bigint NOT NULL DEFAULT 0,
  file_count integer NOT NULL DEFAULT 0,
  anonymous boolean NOT NULL,
  client_key text NOT NULL,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  finalized_at timestamptz,
  last_download_at timestamptz,
  deleted_at timestamptz
);
CREATE INDEX shares_owner_idx ON shares (owner_user_id, created_at DESC);
CREATE INDEX shares_live_expiry_idx ON shares (expires_at) WHERE status <> 'deleted';
CREATE INDEX shares_created_idx ON shares (created_at);

CREATE TABLE files (
  id text PRIMARY KEY,
  share_id text NOT NULL REFERENCES shares(id) ON DELETE CASCADE,
  position integer NOT NULL,
  name text NOT NULL,
  size bigint NOT NULL,
  content_type text NOT NULL,
  storage_key text NOT NULL UNIQUE,
  upload_id text,
  part_size integer NOT NULL,
  part_count integer NOT NULL,
  downloads integer NOT NULL DEFAULT 0,
  completed_at timestamptz,
  blob_deleted_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX files_share_idx ON files (share_id, position);
CREATE INDEX files_pending_upload_idx ON files (created_at) WHERE upload_id IS NOT NULL AND completed_at IS NULL;

-- One row per issued download URL; kept after the share is gone, for statistics.
CREATE TABLE download_events (
  id bigserial PRIMARY KEY,
  share_id text NOT NULL,
  file_id text NOT NULL,
  bytes bigint NOT NULL,
  user_id text,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX download_events_at_idx ON download_events (at);
CREATE INDEX download_events_share_idx ON download_events (share_id);
