-- Invitation tokens are stored hashed (SHA-256), as session tokens are: a copy of the
-- database invites nobody. The link is shown to its creator once, when it is made.
--
-- The links made before this migration keep working: PostgreSQL hashes them here, with the
-- same function over the same bytes (the token's UTF-8) that the server applies to a link
-- it is shown. (SQLite cannot, and drops them instead; see its migration of this number.)

ALTER TABLE invitations ADD COLUMN token_hash BYTEA;
UPDATE invitations SET token_hash = sha256(convert_to(token, 'UTF8'));
ALTER TABLE invitations ALTER COLUMN token_hash SET NOT NULL;
ALTER TABLE invitations ADD CONSTRAINT invitations_token_hash_key UNIQUE (token_hash);
ALTER TABLE invitations DROP COLUMN token;
