-- Library links, download monitoring and notifications.

-- Where a share's bytes come from: uploaded into storage, or a file/folder of LIBRARY_DIR in place.
ALTER TABLE shares ADD COLUMN source text NOT NULL DEFAULT 'upload' CHECK (source IN ('upload', 'library'));

-- Admins may let a user browse the library and link to it.
ALTER TABLE users ADD COLUMN library_access boolean NOT NULL DEFAULT false;

-- One row per file of a library link (its files row has a placeholder storage key and no blob).
-- A folder link has one files row (the zip) and one entry per file or folder inside, as they were
-- when the link was made: a changed size, mtime or inode makes the link stop working.
CREATE TABLE library_entries (
  file_id text NOT NULL REFERENCES files(id) ON DELETE CASCADE,
  position integer NOT NULL,
  -- the library path of the file or folder linked to (position 0), or of an entry inside it
  path text NOT NULL,
  -- the name inside the zip ('' for the linked item itself)
  rel text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('file', 'folder')),
  size bigint NOT NULL,
  mtime_ms double precision NOT NULL,
  ino bigint NOT NULL,
  PRIMARY KEY (file_id, position)
);

-- Every download the app streams itself: live progress (heartbeats) and the history.
CREATE TABLE download_transfers (
  id text PRIMARY KEY,
  share_id text NOT NULL,
  file_id text,
  owner_user_id text,
  file_name text NOT NULL,
  source text NOT NULL,
  client_ip text NOT NULL,
  user_agent text,
  range_start bigint NOT NULL,
  length bigint NOT NULL,
  total bigint NOT NULL,
  bytes bigint NOT NULL DEFAULT 0,
  status text NOT NULL CHECK (status IN ('active', 'completed', 'aborted', 'stalled', 'stopped', 'failed')),
  instance_id text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  ended_at timestamptz
);
CREATE INDEX download_transfers_started_idx ON download_transfers (started_at DESC);
CREATE INDEX download_transfers_active_idx ON download_transfers (updated_at) WHERE status = 'active';
CREATE INDEX download_transfers_owner_idx ON download_transfers (owner_user_id, started_at DESC);
CREATE INDEX download_transfers_share_idx ON download_transfers (share_id, started_at DESC);

-- What a share asked to be told about (no row: nothing is ever sent about it).
CREATE TABLE share_notify (
  share_id text PRIMARY KEY REFERENCES shares(id) ON DELETE CASCADE,
  downloads text NOT NULL CHECK (downloads IN ('off', 'first', 'every', 'last')),
  expired boolean NOT NULL,
  first_sent_at timestamptz,
  exhausted_sent_at timestamptz,
  expired_sent_at timestamptz,
  created_sent_at timestamptz
);
CREATE INDEX share_notify_expired_idx ON share_notify (share_id) WHERE expired AND expired_sent_at IS NULL;

-- Where a user's notifications go.
CREATE TABLE notification_channels (
  user_id text PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  email boolean NOT NULL DEFAULT false,
  webhook_url text,
  webhook_secret text,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The durable delivery queue and its log: a restart loses nothing (rows in 'sending' whose lock
-- lapsed are taken again).
CREATE TABLE notification_deliveries (
  id text PRIMARY KEY,
  channel text NOT NULL CHECK (channel IN ('email', 'webhook')),
  -- webhook URL or e-mail address
  target text NOT NULL,
  -- which secret signs it: a user's id, or 'global'
  signer text,
  event text NOT NULL,
  share_id text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz,
  last_status integer,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz
);
CREATE INDEX notification_deliveries_due_idx ON notification_deliveries (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX notification_deliveries_created_idx ON notification_deliveries (created_at DESC);
