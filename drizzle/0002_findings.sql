CREATE TABLE "findings" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"key" text NOT NULL,
	"severity" text NOT NULL,
	"license_id" bigint,
	"subscriber_id" bigint,
	"person_id" bigint,
	"seats" integer DEFAULT 1 NOT NULL,
	"evidence" jsonb NOT NULL,
	"savings" numeric(14, 2),
	"currency" text,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"status_until" timestamp with time zone,
	"status_reason" text,
	"status_by" text,
	"resolved_at" timestamp with time zone,
	"resolved_how" text,
	CONSTRAINT "findings_key_unique" UNIQUE("key")
);
--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "idle_days" integer;--> statement-breakpoint
ALTER TABLE "findings" ADD CONSTRAINT "findings_license_id_licenses_id_fk" FOREIGN KEY ("license_id") REFERENCES "public"."licenses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "findings" ADD CONSTRAINT "findings_subscriber_id_cloud_subscribers_id_fk" FOREIGN KEY ("subscriber_id") REFERENCES "public"."cloud_subscribers"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "findings" ADD CONSTRAINT "findings_person_id_persons_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."persons"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "findings_open_idx" ON "findings" USING btree ("kind","license_id") WHERE "findings"."status" <> 'resolved';--> statement-breakpoint
CREATE INDEX "findings_subscriber_idx" ON "findings" USING btree ("subscriber_id");