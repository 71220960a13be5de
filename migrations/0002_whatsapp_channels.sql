CREATE TABLE `channels` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`public_id` text NOT NULL,
	`name` text NOT NULL,
	`waba_id` text NOT NULL,
	`phone_number_id` text NOT NULL,
	`display_phone_number` text DEFAULT '' NOT NULL,
	`verified_name` text DEFAULT '' NOT NULL,
	`quality_rating` text,
	`messaging_tier` text,
	`graph_api_version` text NOT NULL,
	`access_token` text NOT NULL,
	`access_token_last4` text NOT NULL,
	`app_secret` text NOT NULL,
	`previous_app_secret` text,
	`verify_token` text NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`webhook_verified_at` integer,
	`last_webhook_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`deleted_at` integer,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `channels_public_id` ON `channels` (`public_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `channels_workspace_id` ON `channels` (`workspace_id`,`id`);--> statement-breakpoint
CREATE INDEX `channels_phone_number` ON `channels` (`phone_number_id`);--> statement-breakpoint
CREATE TABLE `webhook_events` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`channel_id` text NOT NULL,
	`payload` text NOT NULL,
	`bytes` integer NOT NULL,
	`received_at` integer NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`processed_at` integer,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`workspace_id`,`channel_id`) REFERENCES `channels`(`workspace_id`,`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `webhook_events_status` ON `webhook_events` (`status`,`received_at`);--> statement-breakpoint
CREATE INDEX `webhook_events_channel` ON `webhook_events` (`channel_id`,`received_at`);