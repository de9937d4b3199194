-- File requests (reverse shares): a signed-in requester's link that others upload into. A request is
-- never hard-deleted (closing it sets closed_at), so the uploads that point at it keep their owner.
CREATE TABLE file_requests (
  id text PRIMARY KEY,
  owner_user_id text NOT NULL REFERENCES users(id),
  title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  message text CHECK (message IS NULL OR length(message) <= 2000),
  password_hash text,
  max_bytes bigint CHECK (max_bytes IS NULL OR max_bytes > 0),
  max_files integer CHECK (max_files IS NULL OR max_files > 0),
  max_uses integer CHECK (max_uses IS NULL OR max_uses > 0),
  -- extensions ('.pdf'), media types ('application/pdf') or families ('image/*'); empty: any
  allowed_types jsonb NOT NULL DEFAULT '[]',
  expires_at timestamptz NOT NULL,
  -- what uploads have taken so far: reserved when an upload starts (by one conditional statement, so
  -- two uploads at once cannot both pass a limit); an abandoned upload keeps what it reserved
  used_bytes bigint NOT NULL DEFAULT 0,
  used_files integer NOT NULL DEFAULT 0,
  uses integer NOT NULL DEFAULT 0,
  closed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (max_bytes IS NULL OR used_bytes <= max_bytes),
  CHECK (max_files IS NULL OR used_files <= max_files),
  CHECK (max_uses IS NULL OR uses <= max_uses)
);
CREATE INDEX file_requests_owner_idx ON file_requests (owner_user_id, created_at DESC);

-- An upload into a request is a share of the requester's with request_id set: it uses the share
-- upload routes while it arrives, and is never a link anyone can open (LIVE leaves it out). Turning
-- it into a share moves its files to a new share with a new id.
ALTER TABLE shares ADD COLUMN request_id text REFERENCES file_requests(id);
CREATE INDEX shares_request_idx ON shares (request_id, created_at) WHERE request_id IS NOT NULL;
