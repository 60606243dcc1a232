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
ALTER TABLE "support_notes" ADD CONSTRAINT "support_notes_chat_id_support_chats_id_fk" FOREIGN KEY ("chat_id") REFERENCES "public"."support_chats"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "support_canned_owner" ON "support_canned" USING btree ("owner_id");--> statement-breakpoint
CREATE INDEX "support_canned_topic" ON "support_canned" USING btree ("topic");--> statement-breakpoint
CREATE INDEX "support_notes_chat" ON "support_notes" USING btree ("chat_id","created_at");