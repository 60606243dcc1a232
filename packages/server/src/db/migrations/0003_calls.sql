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
ALTER TABLE "call_recordings" ADD CONSTRAINT "call_recordings_call_id_calls_id_fk" FOREIGN KEY ("call_id") REFERENCES "public"."calls"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "call_recordings_call" ON "call_recordings" USING btree ("call_id");--> statement-breakpoint
CREATE INDEX "calls_due" ON "calls" USING btree ("due_at") WHERE state <> 'ended';--> statement-breakpoint
CREATE INDEX "calls_gone" ON "calls" USING btree ("caller_gone_at","callee_gone_at") WHERE state <> 'ended' and (caller_gone_at is not null or callee_gone_at is not null);--> statement-breakpoint
CREATE INDEX "calls_caller" ON "calls" USING btree ("caller_id","created_at");--> statement-breakpoint
CREATE INDEX "calls_callee" ON "calls" USING btree ("callee_id","created_at");