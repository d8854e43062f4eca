-- A random id for the database, written once when it is created (or upgraded), which
-- `/healthz` and `/ws/probe` report: instances that share a database report the same one, and
-- `sori doctor` names instances that do not. The creation time was used before; two databases
-- created in the same millisecond (tests, scripted set-ups) were taken for one.
-- (gen_random_uuid is built in since PostgreSQL 13.)
ALTER TABLE instance ADD COLUMN database_id TEXT NOT NULL DEFAULT '';
UPDATE instance SET database_id = replace(gen_random_uuid()::text, '-', '');
