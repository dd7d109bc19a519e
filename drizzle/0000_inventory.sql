CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"surface" text NOT NULL,
	"action" text NOT NULL,
	"target" text,
	"before" jsonb,
	"after" jsonb
);
--> statement-breakpoint
CREATE TABLE "cloud_subscribers" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"license_id" bigint NOT NULL,
	"vendor_account_id" text NOT NULL,
	"email" text,
	"login" text,
	"person_id" bigint,
	"is_active" boolean DEFAULT true NOT NULL,
	"inactive_since" timestamp with time zone,
	"account_enabled" boolean DEFAULT true NOT NULL,
	"group_inherited" boolean DEFAULT false NOT NULL,
	"assigned_at" timestamp with time zone,
	"last_activity_at" timestamp with time zone,
	"last_activity_source" text,
	"account_kind" text DEFAULT 'person' NOT NULL,
	"note" text,
	"first_import_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "import_leases" (
	"source" text PRIMARY KEY NOT NULL,
	"run_id" bigint NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "import_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"source" text NOT NULL,
	"trigger" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"outcome" text DEFAULT 'running' NOT NULL,
	"counts" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "license_pools" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"cost_center" text,
	"org_unit" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "license_pools_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "license_requirements" (
	"person_id" bigint NOT NULL,
	"license_id" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"min_entitlement_until" timestamp with time zone NOT NULL,
	CONSTRAINT "license_requirements_person_id_license_id_pk" PRIMARY KEY("person_id","license_id")
);
--> statement-breakpoint
CREATE TABLE "license_snapshots" (
	"license_id" bigint NOT NULL,
	"taken_at" timestamp with time zone NOT NULL,
	"import_run_id" bigint,
	"purchased" integer,
	"consumed" integer NOT NULL,
	"active" integer,
	CONSTRAINT "license_snapshots_license_id_taken_at_pk" PRIMARY KEY("license_id","taken_at")
);
--> statement-breakpoint
CREATE TABLE "licenses" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"source" text NOT NULL,
	"vendor_key" text NOT NULL,
	"vendor" text NOT NULL,
	"sku" text NOT NULL,
	"name" text NOT NULL,
	"product_id" bigint,
	"product_pinned" boolean DEFAULT false NOT NULL,
	"pool_id" bigint,
	"license_model" text DEFAULT 'named_user' NOT NULL,
	"unlimited" boolean DEFAULT false NOT NULL,
	"capability_status" text DEFAULT 'Enabled' NOT NULL,
	"consumed_units" integer DEFAULT 0 NOT NULL,
	"enabled_units" integer DEFAULT 0 NOT NULL,
	"suspended_units" integer DEFAULT 0 NOT NULL,
	"warning_units" integer DEFAULT 0 NOT NULL,
	"locked_out_units" integer DEFAULT 0 NOT NULL,
	"is_trial" boolean DEFAULT false NOT NULL,
	"next_lifecycle_at" timestamp with time zone,
	"usage_signal" boolean DEFAULT false NOT NULL,
	"present" boolean DEFAULT true NOT NULL,
	"unit_price" numeric(14, 4),
	"currency" text,
	"billing_period" text,
	"term_start" date,
	"term_end" date,
	"renewal_date" date,
	"notice_days" integer,
	"auto_renew" boolean,
	"cost_center" text,
	"owner_email" text,
	"commit_floor" integer,
	"min_entitlement_days" integer,
	"first_import_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_import_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "person_emails" (
	"email" text PRIMARY KEY NOT NULL,
	"person_id" bigint NOT NULL,
	"is_primary" boolean DEFAULT false NOT NULL,
	"source" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "persons" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"primary_email" text NOT NULL,
	"display_name" text,
	"department" text,
	"cost_center" text,
	"manager_email" text,
	"employment_status" text DEFAULT 'active' NOT NULL,
	"departed_at" timestamp with time zone,
	"directory_enabled" boolean DEFAULT true NOT NULL,
	"slack_user_id" text,
	"teams_aad_object_id" text,
	"source" text NOT NULL,
	"external_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "product_skus" (
	"sku" text PRIMARY KEY NOT NULL,
	"product_id" bigint NOT NULL,
	"license_model" text DEFAULT 'named_user' NOT NULL,
	"description" text
);
--> statement-breakpoint
CREATE TABLE "products" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"publisher" text NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "staging_accounts" (
	"run_id" bigint NOT NULL,
	"subscription_key" text NOT NULL,
	"vendor_account_id" text NOT NULL,
	"email" text,
	"login" text,
	"account_enabled" boolean NOT NULL,
	"group_inherited" boolean NOT NULL,
	"assigned_at" timestamp with time zone,
	"last_activity_at" timestamp with time zone,
	"last_activity_source" text,
	CONSTRAINT "staging_accounts_run_id_subscription_key_vendor_account_id_pk" PRIMARY KEY("run_id","subscription_key","vendor_account_id")
);
--> statement-breakpoint
CREATE TABLE "staging_persons" (
	"run_id" bigint NOT NULL,
	"email" text NOT NULL,
	"aliases" text[] NOT NULL,
	"display_name" text,
	"department" text,
	"cost_center" text,
	"manager_email" text,
	"enabled" boolean NOT NULL,
	"departed_at" timestamp with time zone,
	"external_id" text,
	CONSTRAINT "staging_persons_run_id_email_pk" PRIMARY KEY("run_id","email")
);
--> statement-breakpoint
CREATE TABLE "staging_subscriptions" (
	"run_id" bigint NOT NULL,
	"vendor_key" text NOT NULL,
	"vendor" text NOT NULL,
	"sku" text NOT NULL,
	"name" text NOT NULL,
	"license_model" text,
	"unlimited" boolean NOT NULL,
	"capability_status" text NOT NULL,
	"consumed_units" integer NOT NULL,
	"enabled_units" integer NOT NULL,
	"suspended_units" integer NOT NULL,
	"warning_units" integer NOT NULL,
	"locked_out_units" integer NOT NULL,
	"is_trial" boolean NOT NULL,
	"next_lifecycle_at" timestamp with time zone,
	"usage_signal" boolean NOT NULL,
	CONSTRAINT "staging_subscriptions_run_id_vendor_key_pk" PRIMARY KEY("run_id","vendor_key")
);
--> statement-breakpoint
ALTER TABLE "cloud_subscribers" ADD CONSTRAINT "cloud_subscribers_license_id_licenses_id_fk" FOREIGN KEY ("license_id") REFERENCES "public"."licenses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cloud_subscribers" ADD CONSTRAINT "cloud_subscribers_person_id_persons_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."persons"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "license_requirements" ADD CONSTRAINT "license_requirements_person_id_persons_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."persons"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "license_requirements" ADD CONSTRAINT "license_requirements_license_id_licenses_id_fk" FOREIGN KEY ("license_id") REFERENCES "public"."licenses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "license_snapshots" ADD CONSTRAINT "license_snapshots_license_id_licenses_id_fk" FOREIGN KEY ("license_id") REFERENCES "public"."licenses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "licenses" ADD CONSTRAINT "licenses_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "licenses" ADD CONSTRAINT "licenses_pool_id_license_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."license_pools"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "person_emails" ADD CONSTRAINT "person_emails_person_id_persons_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."persons"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "product_skus" ADD CONSTRAINT "product_skus_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_at_idx" ON "audit_log" USING btree ("at");--> statement-breakpoint
CREATE INDEX "audit_actor_idx" ON "audit_log" USING btree ("actor");--> statement-breakpoint
CREATE UNIQUE INDEX "subscribers_license_account_uq" ON "cloud_subscribers" USING btree ("license_id","vendor_account_id");--> statement-breakpoint
CREATE INDEX "subscribers_email_idx" ON "cloud_subscribers" USING btree (lower("email"));--> statement-breakpoint
CREATE INDEX "subscribers_person_idx" ON "cloud_subscribers" USING btree ("person_id");--> statement-breakpoint
CREATE INDEX "subscribers_clearing_idx" ON "cloud_subscribers" USING btree ("license_id") WHERE "cloud_subscribers"."person_id" IS NULL AND "cloud_subscribers"."is_active";--> statement-breakpoint
CREATE INDEX "import_runs_source_idx" ON "import_runs" USING btree ("source","started_at");--> statement-breakpoint
CREATE INDEX "requirements_license_idx" ON "license_requirements" USING btree ("license_id");--> statement-breakpoint
CREATE UNIQUE INDEX "licenses_source_key_uq" ON "licenses" USING btree ("source","vendor_key");--> statement-breakpoint
CREATE INDEX "licenses_sku_idx" ON "licenses" USING btree (lower("sku"));--> statement-breakpoint
CREATE INDEX "person_emails_person_idx" ON "person_emails" USING btree ("person_id");--> statement-breakpoint
CREATE UNIQUE INDEX "persons_primary_email_uq" ON "persons" USING btree (lower("primary_email"));--> statement-breakpoint
CREATE INDEX "persons_slack_idx" ON "persons" USING btree ("slack_user_id");--> statement-breakpoint
CREATE INDEX "persons_teams_idx" ON "persons" USING btree ("teams_aad_object_id");--> statement-breakpoint
CREATE INDEX "product_skus_product_idx" ON "product_skus" USING btree ("product_id");--> statement-breakpoint
CREATE UNIQUE INDEX "products_publisher_name_uq" ON "products" USING btree ("publisher","name");--> statement-breakpoint
CREATE VIEW "public"."license_overview" AS (
  SELECT l.id, l.source, l.vendor, l.sku, l.name, l.product_id, p.name AS product, p.publisher,
    CASE WHEN ps.sku IS NULL THEN 'SaaS' ELSE 'Subscription' END AS type,
    CASE
      WHEN l.product_id IS NULL OR l.pool_id IS NULL OR l.unit_price IS NULL OR l.currency IS NULL THEN 'invalid'
      WHEN EXISTS (SELECT 1 FROM license_requirements r WHERE r.license_id = l.id) THEN 'used'
      ELSE 'unused'
    END AS status,
    l.license_model, l.unlimited,
    CASE WHEN l.unlimited THEN NULL ELSE l.enabled_units + l.warning_units END AS purchased,
    l.capability_status, l.consumed_units, l.enabled_units, l.suspended_units, l.warning_units,
    l.locked_out_units,
    CASE WHEN l.unlimited THEN NULL ELSE GREATEST(l.enabled_units + l.warning_units - l.consumed_units, 0) END
      AS available,
    l.present, l.last_import_at
  FROM licenses l
  LEFT JOIN products p ON p.id = l.product_id
  LEFT JOIN product_skus ps ON ps.sku = lower(l.sku)
);