-- Folders, notes, text-only shares and previews.

-- The folder a file sat in, relative to what was picked or dropped ('' at the top); checked by the
-- protocol (no '..', no absolute paths, no empty segments) and stored in Unicode NFC.
ALTER TABLE files ADD COLUMN path text NOT NULL DEFAULT '';
ALTER TABLE files ADD CONSTRAINT files_path_check CHECK (length(path) <= 1024 AND path NOT LIKE '/%' AND path NOT LIKE '%/');

-- The sender's note to recipients (plain shares; an encrypted share's note is in its envelope).
ALTER TABLE shares ADD COLUMN note text CHECK (note IS NULL OR length(note) <= 5000);

-- 'text': a text-only share (a snippet, a password, a link). Its text is here, as written (plain) or
-- as a second sealed envelope (encrypted); it is wiped when its last allowed view is used and when
-- the share is deleted.
ALTER TABLE shares ADD COLUMN kind text NOT NULL DEFAULT 'files' CHECK (kind IN ('files', 'text'));
ALTER TABLE shares ADD COLUMN text text CHECK (text IS NULL OR length(text) <= 131072);

-- The owner lets recipients preview files (the admin can switch previews off for everyone).
ALTER TABLE shares ADD COLUMN previews boolean NOT NULL DEFAULT true;

-- An encrypted share's envelope goes too when a text share is used up or a share is deleted.
ALTER TABLE shares DROP CONSTRAINT shares_metadata_check;
ALTER TABLE shares ADD CONSTRAINT shares_metadata_check CHECK ((encrypted OR metadata IS NULL) AND (metadata IS NULL OR length(metadata) <= 131072));

-- A view of a text share is a download without a file.
ALTER TABLE download_events ALTER COLUMN file_id DROP NOT NULL;
