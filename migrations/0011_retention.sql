ALTER TABLE `contacts` ADD `legal_hold` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `workspaces` ADD `retain_messages_days` integer;--> statement-breakpoint
ALTER TABLE `workspaces` ADD `retain_webhook_days` integer DEFAULT 14 NOT NULL;--> statement-breakpoint
ALTER TABLE `workspaces` ADD `retain_contacts_months` integer;--> statement-breakpoint
ALTER TABLE `workspaces` ADD `retention_run_at` integer;--> statement-breakpoint
ALTER TABLE `workspaces` ADD `retention_report` text;