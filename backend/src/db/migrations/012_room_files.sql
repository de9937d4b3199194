-- Files left in a P2P room ("Leave in this room"): a share owned by the room. It is never reached
-- by its link (every recipient route requires room_id IS NULL), only by the room's members through
-- the rooms namespace; `left_by` is the member (peer id) who may remove it.
ALTER TABLE shares ADD COLUMN room_id text;
ALTER TABLE shares ADD COLUMN left_by text;
ALTER TABLE shares ADD COLUMN left_by_name text;
CREATE INDEX shares_room_idx ON shares (room_id, created_at) WHERE room_id IS NOT NULL;
