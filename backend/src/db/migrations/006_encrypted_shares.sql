-- End-to-end encrypted shares (docs/encryption.md). The browser encrypts contents, names, types and
-- the note; the server keeps ciphertext, encrypted sizes and one opaque envelope per share.
-- Files of an encrypted share carry placeholder names ("file-1.encrypted") and a generic type.
ALTER TABLE shares ADD COLUMN encrypted boolean NOT NULL DEFAULT false;

-- The encrypted metadata envelope (base64url), only on encrypted shares; bounded here as well as by
-- the protocol schema (MAX_ENCRYPTED_METADATA_LENGTH).
ALTER TABLE shares ADD COLUMN metadata text;

ALTER TABLE shares ADD CONSTRAINT shares_metadata_check
  CHECK ((encrypted AND metadata IS NOT NULL AND length(metadata) <= 131072) OR (NOT encrypted AND metadata IS NULL));
