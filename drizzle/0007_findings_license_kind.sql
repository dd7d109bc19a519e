-- Per-license counts of findings by kind (renewals' idle seats, the dashboard) read only this index. Kept out of
-- schema.ts because Drizzle's index builder has no INCLUDE.
CREATE INDEX IF NOT EXISTS "findings_license_kind_idx" ON "findings" USING btree ("license_id", "kind") INCLUDE ("status", "status_until");
