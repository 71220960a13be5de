CREATE TABLE `channel_issues` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`channel_id` text NOT NULL,
	`source` text NOT NULL,
	`code` integer,
	`title` text NOT NULL,
	`detail` text,
	`at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`workspace_id`,`channel_id`) REFERENCES `channels`(`workspace_id`,`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `channel_issues_recent` ON `channel_issues` (`workspace_id`,`channel_id`,`at`);--> statement-breakpoint
CREATE TABLE `contacts` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text,
	`profile_name` text,
	`username` text,
	`wa_id` text,
	`wa_id_index` text,
	`bsuid` text,
	`bsuid_index` text,
	`parent_bsuid` text,
	`last_inbound_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`merged_into_id` text,
	`deleted_at` integer,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `contacts_workspace_id` ON `contacts` (`workspace_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `contacts_bsuid` ON `contacts` (`workspace_id`,`bsuid_index`) WHERE "contacts"."bsuid_index" IS NOT NULL AND "contacts"."deleted_at" IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `contacts_wa_id` ON `contacts` (`workspace_id`,`wa_id_index`) WHERE "contacts"."wa_id_index" IS NOT NULL AND "contacts"."deleted_at" IS NULL;--> statement-breakpoint
CREATE INDEX `contacts_name` ON `contacts` (`workspace_id`,`name`,`profile_name`);--> statement-breakpoint
CREATE TABLE `conversations` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`channel_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`status` text DEFAULT 'open' NOT NULL,
	`assignee_id` text,
	`last_message_at` integer NOT NULL,
	`last_inbound_at` integer,
	`entry_point_until` integer,
	`unread_count` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`resolved_at` integer,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`assignee_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`workspace_id`,`channel_id`) REFERENCES `channels`(`workspace_id`,`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`workspace_id`,`contact_id`) REFERENCES `contacts`(`workspace_id`,`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `conversations_workspace_id` ON `conversations` (`workspace_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `conversations_one_open` ON `conversations` (`workspace_id`,`channel_id`,`contact_id`) WHERE "conversations"."status" <> 'resolved';--> statement-breakpoint
CREATE INDEX `conversations_list` ON `conversations` (`workspace_id`,`status`,`last_message_at`);--> statement-breakpoint
CREATE INDEX `conversations_contact` ON `conversations` (`workspace_id`,`contact_id`,`last_message_at`);--> statement-breakpoint
CREATE TABLE `media` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`message_id` text NOT NULL,
	`channel_id` text NOT NULL,
	`graph_media_id` text,
	`kind` text NOT NULL,
	`mime_type` text,
	`sha256` text,
	`file_name` text,
	`size` integer,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`lease_until` integer,
	`last_error` text,
	`created_at` integer NOT NULL,
	`stored_at` integer,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`workspace_id`,`message_id`) REFERENCES `messages`(`workspace_id`,`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`workspace_id`,`channel_id`) REFERENCES `channels`(`workspace_id`,`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `media_workspace_id` ON `media` (`workspace_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `media_message` ON `media` (`workspace_id`,`message_id`);--> statement-breakpoint
CREATE INDEX `media_due` ON `media` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `message_reactions` (
	`workspace_id` text NOT NULL,
	`target_wamid_key` integer NOT NULL,
	`target_wamid` text NOT NULL,
	`contact_id` text NOT NULL,
	`emoji` text,
	`timestamp` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `target_wamid_key`, `contact_id`),
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`workspace_id`,`contact_id`) REFERENCES `contacts`(`workspace_id`,`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `message_statuses` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`channel_id` text NOT NULL,
	`wamid` text NOT NULL,
	`wamid_key` integer NOT NULL,
	`status` text NOT NULL,
	`timestamp` integer NOT NULL,
	`error_code` integer,
	`error_title` text,
	`error_detail` text,
	`pricing_category` text,
	`pricing_type` text,
	`received_at` integer NOT NULL,
	`applied_at` integer,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`workspace_id`,`channel_id`) REFERENCES `channels`(`workspace_id`,`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `message_statuses_once` ON `message_statuses` (`workspace_id`,`wamid_key`,`status`);--> statement-breakpoint
CREATE INDEX `message_statuses_parked` ON `message_statuses` (`workspace_id`,`applied_at`);--> statement-breakpoint
CREATE TABLE `messages` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`conversation_id` text NOT NULL,
	`channel_id` text NOT NULL,
	`direction` text NOT NULL,
	`wamid` text,
	`wamid_key` integer,
	`type` text NOT NULL,
	`content` text NOT NULL,
	`reply_to_wamid` text,
	`forwarded` integer DEFAULT 0 NOT NULL,
	`unknown` integer DEFAULT false NOT NULL,
	`status` text NOT NULL,
	`status_rank` integer DEFAULT 0 NOT NULL,
	`sent_at` integer,
	`delivered_at` integer,
	`read_at` integer,
	`played_at` integer,
	`failed_at` integer,
	`error_code` integer,
	`error_title` text,
	`error_detail` text,
	`pricing_category` text,
	`pricing_type` text,
	`timestamp` integer NOT NULL,
	`edited_at` integer,
	`revoked_at` integer,
	`author_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`author_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`workspace_id`,`conversation_id`) REFERENCES `conversations`(`workspace_id`,`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`workspace_id`,`channel_id`) REFERENCES `channels`(`workspace_id`,`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `messages_workspace_id` ON `messages` (`workspace_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `messages_wamid` ON `messages` (`workspace_id`,`wamid_key`) WHERE "messages"."wamid_key" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `messages_thread` ON `messages` (`workspace_id`,`conversation_id`,`timestamp`);--> statement-breakpoint
CREATE TABLE `templates` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`waba_id` text NOT NULL,
	`graph_template_id` text,
	`name` text NOT NULL,
	`language` text NOT NULL,
	`status` text NOT NULL,
	`category` text,
	`quality` text,
	`parameter_format` text,
	`components` text,
	`reason` text,
	`synced_at` integer,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `templates_identity` ON `templates` (`workspace_id`,`waba_id`,`name`,`language`);--> statement-breakpoint
CREATE INDEX `templates_graph_id` ON `templates` (`workspace_id`,`graph_template_id`);--> statement-breakpoint
ALTER TABLE `channels` ADD `status_detail` text;--> statement-breakpoint
ALTER TABLE `channels` ADD `token_checked_at` integer;--> statement-breakpoint
ALTER TABLE `channels` ADD `subscribed_at` integer;--> statement-breakpoint
ALTER TABLE `channels` ADD `sandbox` integer DEFAULT false NOT NULL;