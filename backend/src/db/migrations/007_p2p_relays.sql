-- Server relay channels, for the admin dashboard: one row per channel end that closed (each end
-- counts what it sent), never content.
CREATE TABLE p2p_relays (
  relay_id text NOT NULL,
  room_id text NOT NULL,
  opener boolean NOT NULL,
  bytes bigint NOT NULL CHECK (bytes >= 0),
  ms bigint NOT NULL CHECK (ms >= 0),
  reason text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (relay_id, opener)
);
CREATE INDEX p2p_relays_created_idx ON p2p_relays (created_at);
