ALTER TABLE "import_leases" ADD COLUMN "holder" text;--> statement-breakpoint
CREATE INDEX "persons_external_idx" ON "persons" USING btree ("source","external_id");