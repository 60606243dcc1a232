CREATE TABLE "notify_devices" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"kind" text NOT NULL,
	"token" text NOT NULL,
	"keys" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notify_outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"idempotency_key" text NOT NULL,
	"user_id" text NOT NULL,
	"kind" text NOT NULL,
	"channel" text NOT NULL,
	"device_id" text,
	"target" text NOT NULL,
	"conversation_id" text,
	"collapse_key" text,
	"priority" text DEFAULT 'normal' NOT NULL,
	"payload" jsonb NOT NULL,
	"state" text DEFAULT 'queued' NOT NULL,
	"reason" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone NOT NULL,
	"lease_until" timestamp with time zone,
	"provider_id" text,
	"created_at" timestamp with time zone NOT NULL,
	"accepted_at" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"displayed_at" timestamp with time zone,
	"cleared_at" timestamp with time zone,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notify_prefs" (
	"user_id" text PRIMARY KEY NOT NULL,
	"locale" text DEFAULT 'az' NOT NULL,
	"email" text,
	"phone" text,
	"channels" jsonb DEFAULT '{"push":true,"email":true,"sms":false}'::jsonb NOT NULL,
	"kinds" jsonb DEFAULT '{"message":true,"call":true,"missed_call":true,"support":true}'::jsonb NOT NULL,
	"quiet_start" integer DEFAULT 0 NOT NULL,
	"quiet_end" integer DEFAULT 0 NOT NULL,
	"time_zone" text DEFAULT 'Asia/Baku' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "notify_devices_token" ON "notify_devices" USING btree ("kind","token");--> statement-breakpoint
CREATE INDEX "notify_devices_user" ON "notify_devices" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "notify_outbox_key" ON "notify_outbox" USING btree ("idempotency_key");--> statement-breakpoint
CREATE INDEX "notify_outbox_due" ON "notify_outbox" USING btree ("next_attempt_at") WHERE state = 'queued';--> statement-breakpoint
CREATE INDEX "notify_outbox_leased" ON "notify_outbox" USING btree ("lease_until") WHERE state = 'sending';--> statement-breakpoint
CREATE INDEX "notify_outbox_receipts" ON "notify_outbox" USING btree ("channel","accepted_at") WHERE state = 'accepted';--> statement-breakpoint
CREATE INDEX "notify_outbox_collapse" ON "notify_outbox" USING btree ("collapse_key") WHERE state = 'queued';--> statement-breakpoint
CREATE INDEX "notify_outbox_user" ON "notify_outbox" USING btree ("user_id","conversation_id") WHERE cleared_at is null and kind in ('message', 'support_reply');--> statement-breakpoint
CREATE INDEX "notify_outbox_call" ON "notify_outbox" USING btree ("user_id","kind");--> statement-breakpoint
CREATE INDEX "notify_outbox_state" ON "notify_outbox" USING btree ("state","updated_at");