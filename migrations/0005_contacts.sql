CREATE TABLE `contact_emails` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`email` text NOT NULL,
	`email_index` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`workspace_id`,`contact_id`) REFERENCES `contacts`(`workspace_id`,`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `contact_emails_workspace_id` ON `contact_emails` (`workspace_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `contact_emails_unique` ON `contact_emails` (`workspace_id`,`contact_id`,`email_index`);--> statement-breakpoint
CREATE INDEX `contact_emails_index` ON `contact_emails` (`workspace_id`,`email_index`,`contact_id`);--> statement-breakpoint
CREATE TABLE `contact_events` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`kind` text NOT NULL,
	`actor_id` text,
	`data` text,
	`at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`actor_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`workspace_id`,`contact_id`) REFERENCES `contacts`(`workspace_id`,`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `contact_events_contact` ON `contact_events` (`workspace_id`,`contact_id`,`at`);--> statement-breakpoint
CREATE TABLE `contact_field_values` (
	`workspace_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`field_id` text NOT NULL,
	`value` text NOT NULL,
	`value_index` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `contact_id`, `field_id`),
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`workspace_id`,`contact_id`) REFERENCES `contacts`(`workspace_id`,`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`workspace_id`,`field_id`) REFERENCES `contact_fields`(`workspace_id`,`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `contact_field_values_filter` ON `contact_field_values` (`workspace_id`,`field_id`,`value_index`);--> statement-breakpoint
CREATE TABLE `contact_fields` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`key` text NOT NULL,
	`label` text NOT NULL,
	`type` text NOT NULL,
	`options` text,
	`position` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `contact_fields_workspace_id` ON `contact_fields` (`workspace_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `contact_fields_key` ON `contact_fields` (`workspace_id`,`key`);--> statement-breakpoint
CREATE TABLE `contact_imports` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`created_by` text,
	`status` text DEFAULT 'uploaded' NOT NULL,
	`file_name` text NOT NULL,
	`content` text,
	`mapping` text,
	`total_rows` integer DEFAULT 0 NOT NULL,
	`processed_rows` integer DEFAULT 0 NOT NULL,
	`created_count` integer DEFAULT 0 NOT NULL,
	`updated_count` integer DEFAULT 0 NOT NULL,
	`skipped_count` integer DEFAULT 0 NOT NULL,
	`report` text,
	`error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `contact_imports_workspace_id` ON `contact_imports` (`workspace_id`,`id`);--> statement-breakpoint
CREATE INDEX `contact_imports_workspace` ON `contact_imports` (`workspace_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `contact_labels` (
	`workspace_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`label_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `contact_id`, `label_id`),
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`workspace_id`,`contact_id`) REFERENCES `contacts`(`workspace_id`,`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`workspace_id`,`label_id`) REFERENCES `labels`(`workspace_id`,`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `contact_labels_label` ON `contact_labels` (`workspace_id`,`label_id`,`contact_id`);--> statement-breakpoint
CREATE TABLE `contact_phones` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`phone` text NOT NULL,
	`phone_index` text NOT NULL,
	`label` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`workspace_id`,`contact_id`) REFERENCES `contacts`(`workspace_id`,`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `contact_phones_workspace_id` ON `contact_phones` (`workspace_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `contact_phones_unique` ON `contact_phones` (`workspace_id`,`contact_id`,`phone_index`);--> statement-breakpoint
CREATE INDEX `contact_phones_index` ON `contact_phones` (`workspace_id`,`phone_index`,`contact_id`);--> statement-breakpoint
DROP INDEX `conversation_labels_label`;--> statement-breakpoint
CREATE INDEX `conversation_labels_label` ON `conversation_labels` (`workspace_id`,`label_id`,`conversation_id`);--> statement-breakpoint
DROP INDEX `conversations_list`;--> statement-breakpoint
DROP INDEX `conversations_assignee`;--> statement-breakpoint
CREATE INDEX `conversations_list` ON `conversations` (`workspace_id`,`status`,`last_message_at`,`id`);--> statement-breakpoint
CREATE INDEX `conversations_assignee` ON `conversations` (`workspace_id`,`assignee_id`,`status`,`last_message_at`,`id`);--> statement-breakpoint
ALTER TABLE `contacts` ADD `notes` text;--> statement-breakpoint
ALTER TABLE `contacts` ADD `consent` text DEFAULT 'unknown' NOT NULL;--> statement-breakpoint
ALTER TABLE `contacts` ADD `consent_source` text;--> statement-breakpoint
ALTER TABLE `contacts` ADD `consent_at` integer;--> statement-breakpoint
ALTER TABLE `contacts` ADD `consent_wording` text;--> statement-breakpoint
ALTER TABLE `contacts` ADD `sort_name` text GENERATED ALWAYS AS (lower(coalesce(name, profile_name, username, ''))) VIRTUAL;--> statement-breakpoint
CREATE INDEX `contacts_sort_name` ON `contacts` (`workspace_id`,`sort_name`,`id`);--> statement-breakpoint
CREATE INDEX `contacts_activity` ON `contacts` (`workspace_id`,`last_inbound_at`,`id`);--> statement-breakpoint
CREATE INDEX `contacts_created` ON `contacts` (`workspace_id`,`created_at`,`id`);--> statement-breakpoint
ALTER TABLE `workspaces` ADD `default_country` text DEFAULT 'US' NOT NULL;--> statement-breakpoint
ALTER TABLE `workspaces` ADD `opt_out_keywords` text DEFAULT 'STOP, UNSUBSCRIBE' NOT NULL;