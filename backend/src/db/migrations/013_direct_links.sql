-- One link, two paths: a `direct` share is also served straight from its owner's page (a link room
-- on /rooms), and is visible to recipients from its creation; `cloud_copy = false` means no file
-- bytes are ever uploaded for it (it stays 'uploading' for its whole life, which is its expiry).
ALTER TABLE shares ADD COLUMN direct boolean NOT NULL DEFAULT false;
ALTER TABLE shares ADD COLUMN cloud_copy boolean NOT NULL DEFAULT true;

-- The download history gains the path a download took and the recipient's device. A direct
-- download is a row too, from its claim (`link:claim`, status 'active') to its settlement
-- (`link:delivered` -> 'completed', `link:failed` -> 'failed'): `peer_id` is the recipient's seat,
-- `lease_id` the download lease it holds on a limited share, `claimed_files` what it asked for
-- (NULL: every file).
ALTER TABLE download_transfers ADD COLUMN path text NOT NULL DEFAULT 'cloud' CHECK (path IN ('cloud', 'direct', 'relay'));
ALTER TABLE download_transfers ADD COLUMN device text;
ALTER TABLE download_transfers ADD COLUMN peer_id text;
ALTER TABLE download_transfers ADD COLUMN lease_id text;
ALTER TABLE download_transfers ADD COLUMN claimed_files text[];
