-- Deleting a share is "claim, then work": one short statement marks it 'deleting' (from then on it
-- answers 404 everywhere), its blobs are removed outside any transaction, then it is marked 'deleted'.
-- A share whose blobs cannot be removed stays 'deleting', with the attempts counted and the next one
-- backed off, and never holds up the others.
ALTER TABLE shares DROP CONSTRAINT shares_status_check;
ALTER TABLE shares ADD CONSTRAINT shares_status_check CHECK (status IN ('uploading', 'ready', 'deleting', 'deleted'));
ALTER TABLE shares ADD COLUMN delete_attempts integer NOT NULL DEFAULT 0;
-- earliest moment the work may be (re)started: it reserves a claimed share for the instance doing the
-- work, and backs off after a failure
ALTER TABLE shares ADD COLUMN delete_after timestamptz;
ALTER TABLE shares ADD COLUMN delete_error text;
-- who asked: owner, admin or janitor
ALTER TABLE shares ADD COLUMN deleted_by text;
CREATE INDEX shares_deleting_idx ON shares (delete_after) WHERE status = 'deleting';

-- Background jobs that one instance at a time should run (the reconciler): who may start the next run.
CREATE TABLE job_runs (
  name text PRIMARY KEY,
  -- no instance starts the job before this (set while it runs, and to the next due time after)
  locked_until timestamptz NOT NULL,
  last_run_at timestamptz,
  last_result jsonb
);
