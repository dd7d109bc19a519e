CREATE TABLE "actions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"state" text NOT NULL,
	"subscriber_id" bigint,
	"license_id" bigint,
	"batch_id" uuid,
	"undoes" uuid,
	"requested_by" text NOT NULL,
	"surface" text NOT NULL,
	"preview" jsonb,
	"result" jsonb,
	"error" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"undo_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "budgets" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"cost_center" text NOT NULL,
	"product_id" bigint,
	"fiscal_year" integer NOT NULL,
	"amount" numeric(14, 2) NOT NULL,
	"currency" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "chat_addresses" (
	"platform" text NOT NULL,
	"key" text NOT NULL,
	"address" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "chat_addresses_platform_key_pk" PRIMARY KEY("platform","key")
);
--> statement-breakpoint
CREATE TABLE "exemptions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"scope" text NOT NULL,
	"subscriber_id" bigint,
	"person_id" bigint,
	"product_id" bigint,
	"reason" text NOT NULL,
	"until" timestamp with time zone,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone,
	"ended_by" text
);
--> statement-breakpoint
CREATE TABLE "holder_asks" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"action_id" uuid NOT NULL,
	"subscriber_id" bigint,
	"person_id" bigint,
	"deadline" timestamp with time zone NOT NULL,
	"reminded_at" timestamp with time zone,
	"answer" text,
	"answered_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notifications" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"dedupe_key" text NOT NULL,
	"kind" text NOT NULL,
	"target" jsonb NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"error" text,
	CONSTRAINT "notifications_dedupe_key_unique" UNIQUE("dedupe_key")
);
--> statement-breakpoint
CREATE TABLE "plan_overlaps" (
	"covering_sku" text NOT NULL,
	"covered_sku" text NOT NULL,
	"origin" text DEFAULT 'custom' NOT NULL,
	CONSTRAINT "plan_overlaps_covering_sku_covered_sku_pk" PRIMARY KEY("covering_sku","covered_sku")
);
--> statement-breakpoint
CREATE TABLE "renewal_alerts" (
	"license_id" bigint NOT NULL,
	"renewal_date" date NOT NULL,
	"threshold_days" integer NOT NULL,
	"sent_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "renewal_alerts_license_id_renewal_date_threshold_days_pk" PRIMARY KEY("license_id","renewal_date","threshold_days")
);
--> statement-breakpoint
CREATE TABLE "renewal_decisions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"license_id" bigint NOT NULL,
	"renewal_date" date NOT NULL,
	"decision" text NOT NULL,
	"quantity" integer,
	"until" date,
	"state" text NOT NULL,
	"amount" numeric(14, 2),
	"currency" text,
	"requested_by" text NOT NULL,
	"approved_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decided_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "shadow_apps" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"source" text NOT NULL,
	"users" integer DEFAULT 0 NOT NULL,
	"evidence" jsonb,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"dismissed_at" timestamp with time zone,
	"dismissed_by" text,
	CONSTRAINT "shadow_apps_key_unique" UNIQUE("key")
);
--> statement-breakpoint
CREATE TABLE "tasks" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"license_id" bigint,
	"due_at" timestamp with time zone,
	"note" text,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"done_at" timestamp with time zone,
	"done_by" text
);
--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "price_uplift_cap" numeric(6, 2);--> statement-breakpoint
ALTER TABLE "licenses" ADD COLUMN "vendor_contact" text;--> statement-breakpoint
ALTER TABLE "actions" ADD CONSTRAINT "actions_subscriber_id_cloud_subscribers_id_fk" FOREIGN KEY ("subscriber_id") REFERENCES "public"."cloud_subscribers"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "actions" ADD CONSTRAINT "actions_license_id_licenses_id_fk" FOREIGN KEY ("license_id") REFERENCES "public"."licenses"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "budgets" ADD CONSTRAINT "budgets_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "exemptions" ADD CONSTRAINT "exemptions_subscriber_id_cloud_subscribers_id_fk" FOREIGN KEY ("subscriber_id") REFERENCES "public"."cloud_subscribers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "exemptions" ADD CONSTRAINT "exemptions_person_id_persons_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."persons"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "exemptions" ADD CONSTRAINT "exemptions_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "holder_asks" ADD CONSTRAINT "holder_asks_action_id_actions_id_fk" FOREIGN KEY ("action_id") REFERENCES "public"."actions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "holder_asks" ADD CONSTRAINT "holder_asks_subscriber_id_cloud_subscribers_id_fk" FOREIGN KEY ("subscriber_id") REFERENCES "public"."cloud_subscribers"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "holder_asks" ADD CONSTRAINT "holder_asks_person_id_persons_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."persons"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "renewal_alerts" ADD CONSTRAINT "renewal_alerts_license_id_licenses_id_fk" FOREIGN KEY ("license_id") REFERENCES "public"."licenses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "renewal_decisions" ADD CONSTRAINT "renewal_decisions_license_id_licenses_id_fk" FOREIGN KEY ("license_id") REFERENCES "public"."licenses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_license_id_licenses_id_fk" FOREIGN KEY ("license_id") REFERENCES "public"."licenses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "actions_subscriber_idx" ON "actions" USING btree ("subscriber_id");--> statement-breakpoint
CREATE INDEX "actions_batch_idx" ON "actions" USING btree ("batch_id");--> statement-breakpoint
CREATE INDEX "actions_state_idx" ON "actions" USING btree ("state");--> statement-breakpoint
CREATE UNIQUE INDEX "budgets_scope_uq" ON "budgets" USING btree ("cost_center",COALESCE("product_id", 0),"fiscal_year");--> statement-breakpoint
CREATE INDEX "exemptions_subscriber_idx" ON "exemptions" USING btree ("subscriber_id");--> statement-breakpoint
CREATE INDEX "exemptions_person_idx" ON "exemptions" USING btree ("person_id");--> statement-breakpoint
CREATE INDEX "exemptions_product_idx" ON "exemptions" USING btree ("product_id");--> statement-breakpoint
CREATE UNIQUE INDEX "holder_asks_action_uq" ON "holder_asks" USING btree ("action_id");--> statement-breakpoint
CREATE INDEX "notifications_unsent_idx" ON "notifications" USING btree ("created_at") WHERE "notifications"."sent_at" IS NULL;--> statement-breakpoint
CREATE INDEX "renewal_decisions_license_idx" ON "renewal_decisions" USING btree ("license_id","renewal_date");