-- The Ed25519 public key (hex) a worker id is bound to: the key that signed its first
-- registration. NULL for a worker registered without one (none do since this migration).
ALTER TABLE workers ADD COLUMN public_key TEXT;
