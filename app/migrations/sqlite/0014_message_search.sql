-- Message search (#17).
--
-- `search_text` is what a search reads of a message: its body as `backend::search` splits it
-- (Hangul, kana and Han runs as overlapping pairs, other words lowercase), written by the
-- store with every post and edit. NULL means "not indexed yet": messages from before this
-- migration (the store indexes them at start-up, in batches) and deleted ones (nothing to
-- find, ever).
ALTER TABLE messages ADD COLUMN search_text TEXT;

-- The full-text index over it. An external-content table: the text lives once, in
-- `messages`, and the triggers below keep the index in step inside the statement that
-- changes a message, so in its transaction. `remove_diacritics 0`: PostgreSQL's `simple`
-- configuration folds no accents either, and both stores must answer alike.
CREATE VIRTUAL TABLE message_search USING fts5(
    search_text,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 0'
);

-- A delete removes the words from the index at once, rather than leaving them in its
-- segments, marked deleted, until a merge: a deleted message's words leave the file with it.
INSERT INTO message_search (message_search, rank) VALUES ('secure-delete', 1);

CREATE TRIGGER a_post_is_indexed AFTER INSERT ON messages
WHEN NEW.search_text IS NOT NULL
BEGIN
    INSERT INTO message_search (rowid, search_text) VALUES (NEW.id, NEW.search_text);
END;

-- An edit re-indexes, a delete (search_text set to NULL) takes the message out. An
-- external-content index must be told exactly what it holds to forget it, hence OLD's text.
CREATE TRIGGER a_change_is_reindexed AFTER UPDATE OF search_text ON messages
BEGIN
    INSERT INTO message_search (message_search, rowid, search_text)
        SELECT 'delete', OLD.id, OLD.search_text WHERE OLD.search_text IS NOT NULL;
    INSERT INTO message_search (rowid, search_text)
        SELECT NEW.id, NEW.search_text WHERE NEW.search_text IS NOT NULL;
END;

-- Rows deleted with their room (the foreign key's cascade fires this too).
CREATE TRIGGER a_removed_message_leaves_the_index AFTER DELETE ON messages
WHEN OLD.search_text IS NOT NULL
BEGIN
    INSERT INTO message_search (message_search, rowid, search_text)
        VALUES ('delete', OLD.id, OLD.search_text);
END;

-- What the start-up indexing looks for, without reading every message each time.
CREATE INDEX messages_not_indexed ON messages (id)
    WHERE search_text IS NULL AND deleted_at IS NULL;
