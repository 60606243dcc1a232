CREATE TABLE "call_lines" (
	"user_id" text PRIMARY KEY NOT NULL,
	"call_id" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "call_recordings" (
	"id" text PRIMARY KEY NOT NULL,
	"call_id" text NOT NULL,
	"user_id" text NOT NULL,
	"storage_key" text NOT NULL,
	"content_type" text NOT NULL,
	"size_bytes" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "call_webhook_events" (
	"id" text PRIMARY KEY NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "calls" (
	"id" text PRIMARY KEY NOT NULL,
	"conversation_id" text NOT NULL,
	"caller_id" text NOT NULL,
	"callee_id" text NOT NULL,
	"media" text NOT NULL,
	"provider" text NOT NULL,
	"state" text NOT NULL,
	"end_reason" text,
	"ended_by" text,
	"answered_by_device" text,
	"caller_device" text,
	"recording" boolean DEFAULT false NOT NULL,
	"recording_ref" text,
	"due_at" timestamp with time zone,
	"caller_gone_at" timestamp with time zone,
	"callee_gone_at" timestamp with time zone,
	"quality" jsonb,
	"version" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"accepted_at" timestamp with time zone,
	"active_at" timestamp with time zone,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "media_heard" (
	"conversation_id" text NOT NULL,
	"seq" bigint NOT NULL,
	"user_id" text NOT NULL,
	"heard_at" timestamp with time zone NOT NULL,
	CONSTRAINT "media_heard_conversation_id_seq_user_id_pk" PRIMARY KEY("conversation_id","seq","user_id")
);
--> statement-breakpoint
CREATE TABLE "media_objects" (
	"id" text PRIMARY KEY NOT NULL,
	"owner_id" text NOT NULL,
	"conversation_id" text NOT NULL,
	"kind" text NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"name" text NOT NULL,
	"declared_mime" text NOT NULL,
	"declared_size" bigint NOT NULL,
	"mime" text,
	"size" bigint,
	"storage_key" text NOT NULL,
	"thumb_key" text,
	"width" integer,
	"height" integer,
	"placeholder" text,
	"duration_ms" integer,
	"waveform" jsonb,
	"message_seq" bigint,
	"due_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"finalized_at" timestamp with time zone
);
--> statement-breakpoint
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
CREATE TABLE "support_canned" (
	"id" text PRIMARY KEY NOT NULL,
	"topic" text,
	"owner_id" text,
	"title" text NOT NULL,
	"text" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "support_notes" (
	"id" text PRIMARY KEY NOT NULL,
	"chat_id" text NOT NULL,
	"author_id" text NOT NULL,
	"text" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "support_chats" ADD COLUMN "csat_score" integer;--> statement-breakpoint
ALTER TABLE "support_chats" ADD COLUMN "csat_comment" text;--> statement-breakpoint
ALTER TABLE "support_chats" ADD COLUMN "csat_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "support_chats" ADD COLUMN "last_activity_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "support_chats" ADD COLUMN "skipped_by" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "support_chats" ADD COLUMN "sla_wait_warned_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "support_chats" ADD COLUMN "sla_response_warned_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "support_operators" ADD COLUMN "seen_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "call_recordings" ADD CONSTRAINT "call_recordings_call_id_calls_id_fk" FOREIGN KEY ("call_id") REFERENCES "public"."calls"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "media_objects" ADD CONSTRAINT "media_objects_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "support_notes" ADD CONSTRAINT "support_notes_chat_id_support_chats_id_fk" FOREIGN KEY ("chat_id") REFERENCES "public"."support_chats"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "call_recordings_call" ON "call_recordings" USING btree ("call_id");--> statement-breakpoint
CREATE INDEX "calls_due" ON "calls" USING btree ("due_at") WHERE state <> 'ended';--> statement-breakpoint
CREATE INDEX "calls_gone" ON "calls" USING btree ("caller_gone_at","callee_gone_at") WHERE state <> 'ended' and (caller_gone_at is not null or callee_gone_at is not null);--> statement-breakpoint
CREATE INDEX "calls_caller" ON "calls" USING btree ("caller_id","created_at");--> statement-breakpoint
CREATE INDEX "calls_callee" ON "calls" USING btree ("callee_id","created_at");--> statement-breakpoint
CREATE INDEX "media_objects_due" ON "media_objects" USING btree ("due_at") WHERE due_at is not null;--> statement-breakpoint
CREATE INDEX "media_objects_owner" ON "media_objects" USING btree ("owner_id");--> statement-breakpoint
CREATE INDEX "media_objects_message" ON "media_objects" USING btree ("conversation_id","message_seq") WHERE message_seq is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "notify_devices_token" ON "notify_devices" USING btree ("kind","token");--> statement-breakpoint
CREATE INDEX "notify_devices_user" ON "notify_devices" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "notify_outbox_key" ON "notify_outbox" USING btree ("idempotency_key");--> statement-breakpoint
CREATE INDEX "notify_outbox_due" ON "notify_outbox" USING btree ("next_attempt_at") WHERE state = 'queued';--> statement-breakpoint
CREATE INDEX "notify_outbox_leased" ON "notify_outbox" USING btree ("lease_until") WHERE state = 'sending';--> statement-breakpoint
CREATE INDEX "notify_outbox_receipts" ON "notify_outbox" USING btree ("channel","accepted_at") WHERE state = 'accepted';--> statement-breakpoint
CREATE INDEX "notify_outbox_collapse" ON "notify_outbox" USING btree ("collapse_key") WHERE state = 'queued';--> statement-breakpoint
CREATE INDEX "notify_outbox_user" ON "notify_outbox" USING btree ("user_id","conversation_id") WHERE cleared_at is null and kind in ('message', 'support_reply');--> statement-breakpoint
CREATE INDEX "notify_outbox_call" ON "notify_outbox" USING btree ("user_id","kind");--> statement-breakpoint
CREATE INDEX "notify_outbox_state" ON "notify_outbox" USING btree ("state","updated_at");--> statement-breakpoint
CREATE INDEX "support_canned_owner" ON "support_canned" USING btree ("owner_id");--> statement-breakpoint
CREATE INDEX "support_canned_topic" ON "support_canned" USING btree ("topic");--> statement-breakpoint
CREATE INDEX "support_notes_chat" ON "support_notes" USING btree ("chat_id","created_at");