-- One-time admin sign-in links (printed at startup when no admin exists). Only a hash is stored:
-- reading the database does not let anyone sign in.
CREATE TABLE admin_bootstrap_tokens (
  token_hash text PRIMARY KEY,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
