-- Name search for contacts: an FTS5 trigram index over the plaintext display names (name, WhatsApp
-- profile name, username), so "silva" or "lucia" finds "Lúcia Silva" without scanning every contact
-- (case- and accent-insensitive substring match). External content: the index holds no copy of the
-- names, only trigrams pointing at contacts.rowid; the triggers keep it in step with the table.
CREATE VIRTUAL TABLE `contacts_name_search` USING fts5(`name`, `profile_name`, `username`, content='contacts', content_rowid='rowid', tokenize='trigram remove_diacritics 1');
--> statement-breakpoint
INSERT INTO `contacts_name_search`(`contacts_name_search`) VALUES ('rebuild');
--> statement-breakpoint
CREATE TRIGGER `contacts_name_search_insert` AFTER INSERT ON `contacts` BEGIN
  INSERT INTO `contacts_name_search`(rowid, `name`, `profile_name`, `username`) VALUES (new.rowid, new.`name`, new.`profile_name`, new.`username`);
END;
--> statement-breakpoint
CREATE TRIGGER `contacts_name_search_delete` AFTER DELETE ON `contacts` BEGIN
  INSERT INTO `contacts_name_search`(`contacts_name_search`, rowid, `name`, `profile_name`, `username`) VALUES ('delete', old.rowid, old.`name`, old.`profile_name`, old.`username`);
END;
--> statement-breakpoint
CREATE TRIGGER `contacts_name_search_update` AFTER UPDATE OF `name`, `profile_name`, `username` ON `contacts` BEGIN
  INSERT INTO `contacts_name_search`(`contacts_name_search`, rowid, `name`, `profile_name`, `username`) VALUES ('delete', old.rowid, old.`name`, old.`profile_name`, old.`username`);
  INSERT INTO `contacts_name_search`(rowid, `name`, `profile_name`, `username`) VALUES (new.rowid, new.`name`, new.`profile_name`, new.`username`);
END;
