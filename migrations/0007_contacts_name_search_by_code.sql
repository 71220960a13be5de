-- New contacts enter the name search index from the code that inserts them (contacts.store.ts and
-- import.store.ts), not from an AFTER INSERT trigger: inside a trigger every FTS5 insert runs under a
-- statement savepoint, which made each contact insert ~60 µs slower (~100 vs ~45 µs measured; an import
-- inserts 100k of them). Updates and deletes keep their triggers (rare, and they must not be forgotten).
-- contacts_name (workspace, name, profile name) served no query since name search moved to the trigram
-- index (every name filter is a LIKE with a leading wildcard); it cost every contact insert an index write.
DROP INDEX `contacts_name`;
--> statement-breakpoint
DROP TRIGGER `contacts_name_search_insert`;
