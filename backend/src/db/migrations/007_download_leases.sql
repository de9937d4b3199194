-- Downloads of shares with a download limit are counted when they happen, not when a URL is issued.
--
-- A lease holds one of a limited share's remaining downloads for one recipient, for a short time that
-- is extended while bytes flow. Within it the holder may fetch every file of the share, each resumable
-- with Range. The download is used up when the lease's first file has been sent completely; a lease
-- that lapses with no complete file frees the download again. Only a hash of its token is stored.
CREATE TABLE download_leases (
  id text PRIMARY KEY,
  share_id text NOT NULL REFERENCES shares(id) ON DELETE CASCADE,
  token_hash text NOT NULL,
  user_id text,
  expires_at timestamptz NOT NULL,
  -- when its first file was completely sent: the share's download was used up then
  counted_at timestamptz,
  -- files sent completely under this lease: their download links are used
  completed_files text[] NOT NULL DEFAULT '{}',
  -- given back early (storage failed before any byte was sent)
  released_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- "How many downloads of this share are leased right now": the claim reads this under the share's lock.
CREATE INDEX download_leases_share_idx ON download_leases (share_id, expires_at) WHERE released_at IS NULL;
CREATE INDEX download_leases_expires_idx ON download_leases (expires_at);

-- One event per counted download of a limited share, found again by its lease when the holder
-- completes more files (their bytes are added). Unlimited shares append one event per issued URL.
ALTER TABLE download_events ADD COLUMN lease_id text;
CREATE UNIQUE INDEX download_events_lease_idx ON download_events (lease_id) WHERE lease_id IS NOT NULL;
