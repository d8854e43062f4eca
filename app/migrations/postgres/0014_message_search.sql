-- Message search (#17).
--
-- `search` is what a search reads of a message: its body as `backend::search` splits it
-- (Hangul, kana and Han runs as overlapping pairs, other words lowercase), parsed by the
-- `simple` configuration (no stemming, no stop words, no accent folding, as SQLite's FTS5
-- table on the same text), written by the store with every post and edit in the same
-- statement. NULL means "not indexed yet": messages from before this migration (the store
-- indexes them at start-up, in batches) and deleted ones (nothing to find, ever).
--
-- A tsvector keeps at most 256 positions per lexeme: in a message that repeats one word
-- more than that, a phrase may go unmatched at its later repeats (the earlier ones still
-- match). A message is at most 4,000 characters, so positions stay below the 16,383 cap.
ALTER TABLE messages ADD COLUMN search tsvector;

CREATE INDEX messages_search ON messages USING GIN (search);

-- What the start-up indexing looks for, without reading every message each time.
CREATE INDEX messages_not_indexed ON messages (id)
    WHERE search IS NULL AND deleted_at IS NULL;
