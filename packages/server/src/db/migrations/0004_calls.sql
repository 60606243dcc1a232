ALTER TABLE "call_recordings" ALTER COLUMN "user_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "call_recordings" ALTER COLUMN "storage_key" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "call_recordings" ADD COLUMN "status" text DEFAULT 'ready' NOT NULL;--> statement-breakpoint
ALTER TABLE "call_recordings" ADD COLUMN "error" text;--> statement-breakpoint
ALTER TABLE "call_recordings" ADD COLUMN "duration_ms" integer;--> statement-breakpoint
ALTER TABLE "call_recordings" ADD COLUMN "egress_id" text;--> statement-breakpoint
ALTER TABLE "call_recordings" ADD COLUMN "bucket" text;--> statement-breakpoint
ALTER TABLE "call_recordings" ADD COLUMN "updated_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "call_recordings_open" ON "call_recordings" USING btree ("status") WHERE status = 'recording';