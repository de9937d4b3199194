-- P2P transfer reports: sizes, counts and timing of browser-to-browser transfers, for the admin
-- dashboard. Never names or content: the server never sees those.
CREATE TABLE p2p_transfers (
  id text PRIMARY KEY,
  room_id text NOT NULL,
  bytes bigint NOT NULL CHECK (bytes >= 0),
  files integer NOT NULL CHECK (files >= 0),
  ms bigint NOT NULL CHECK (ms >= 0),
  status text NOT NULL CHECK (status IN ('completed', 'cancelled', 'declined', 'failed')),
  sender_user_id text REFERENCES users(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX p2p_transfers_created_idx ON p2p_transfers (created_at);
