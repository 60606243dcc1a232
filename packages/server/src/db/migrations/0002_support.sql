CREATE TABLE "support_chats" (
	"id" text PRIMARY KEY NOT NULL,
	"conversation_id" text NOT NULL,
	"customer_id" text NOT NULL,
	"topic" text NOT NULL,
	"priority" text DEFAULT 'normal' NOT NULL,
	"state" text DEFAULT 'queued' NOT NULL,
	"operator_id" text,
	"offered_to" text,
	"offer_expires_at" timestamp with time zone,
	"declined_by" text[] DEFAULT '{}'::text[] NOT NULL,
	"context" jsonb,
	"first_message" text NOT NULL,
	"queued_at" timestamp with time zone NOT NULL,
	"assigned_at" timestamp with time zone,
	"first_response_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"version" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "support_decisions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"chat_id" text NOT NULL,
	"kind" text NOT NULL,
	"decision" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "support_operators" (
	"user_id" text PRIMARY KEY NOT NULL,
	"status" text DEFAULT 'away' NOT NULL,
	"max_chats" integer DEFAULT 3 NOT NULL,
	"active_chats" integer DEFAULT 0 NOT NULL,
	"topics" text[] DEFAULT '{}'::text[] NOT NULL,
	"last_assigned_at" timestamp with time zone,
	"disconnected_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "support_chats" ADD CONSTRAINT "support_chats_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "support_chats_open" ON "support_chats" USING btree ("customer_id","topic") WHERE state <> 'resolved';--> statement-breakpoint
CREATE UNIQUE INDEX "support_chats_conversation" ON "support_chats" USING btree ("conversation_id");--> statement-breakpoint
CREATE INDEX "support_chats_state" ON "support_chats" USING btree ("state","queued_at");--> statement-breakpoint
CREATE INDEX "support_chats_operator" ON "support_chats" USING btree ("operator_id") WHERE operator_id is not null;--> statement-breakpoint
CREATE INDEX "support_chats_offer_due" ON "support_chats" USING btree ("offer_expires_at") WHERE state = 'offered';--> statement-breakpoint
CREATE INDEX "support_decisions_chat" ON "support_decisions" USING btree ("chat_id","id");--> statement-breakpoint
CREATE INDEX "support_operators_gone" ON "support_operators" USING btree ("disconnected_at") WHERE disconnected_at is not null;