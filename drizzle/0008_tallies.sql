CREATE TABLE "finding_tallies" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"license_id" bigint,
	"kind" text NOT NULL,
	"status" text NOT NULL,
	"currency" text,
	"findings" bigint NOT NULL,
	"seats" bigint NOT NULL,
	"savings" numeric(16, 2) NOT NULL,
	"unpriced" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "subscriber_tallies" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"license_id" bigint NOT NULL,
	"accounts" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "subscriber_tallies_license_idx" ON "subscriber_tallies" USING btree ("license_id");--> statement-breakpoint
CREATE INDEX "subscribers_license_order_idx" ON "cloud_subscribers" USING btree ("license_id","is_active" DESC NULLS LAST,lower(COALESCE("email", "login")) COLLATE "C","id");--> statement-breakpoint
CREATE INDEX "findings_open_savings_idx" ON "findings" USING btree ("savings" DESC NULLS LAST,"kind","id") WHERE "findings"."status" <> 'resolved';--> statement-breakpoint
CREATE INDEX "findings_lapse_idx" ON "findings" USING btree ("status_until") WHERE "findings"."status" IN ('snoozed', 'exempted');--> statement-breakpoint
CREATE INDEX "findings_reclaimed_idx" ON "findings" USING btree ("resolved_at") WHERE "findings"."resolved_how" = 'reclaimed';--> statement-breakpoint
-- Every statement that writes findings appends, per license, kind, status and currency, what it added and took away
-- (from its transition tables): one row per group it changed, however many findings it wrote.
CREATE FUNCTION "finding_tallies_add"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO finding_tallies (license_id, kind, status, currency, findings, seats, savings, unpriced)
  SELECT license_id, kind, status, currency, count(*), sum(seats), COALESCE(sum(savings), 0),
    count(*) FILTER (WHERE savings IS NULL)
  FROM new_rows GROUP BY license_id, kind, status, currency;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION "finding_tallies_take"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO finding_tallies (license_id, kind, status, currency, findings, seats, savings, unpriced)
  SELECT license_id, kind, status, currency, -count(*), -sum(seats), -COALESCE(sum(savings), 0),
    -count(*) FILTER (WHERE savings IS NULL)
  FROM old_rows GROUP BY license_id, kind, status, currency;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- An update that leaves a finding in its group (a recomputation touching last_seen_at) adds nothing.
CREATE FUNCTION "finding_tallies_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO finding_tallies (license_id, kind, status, currency, findings, seats, savings, unpriced)
  SELECT license_id, kind, status, currency, sum(n), sum(seats), COALESCE(sum(savings), 0), sum(unpriced)
  FROM (
    SELECT n.license_id, n.kind, n.status, n.currency, 1 AS n, n.seats, n.savings,
      (n.savings IS NULL)::int AS unpriced
    FROM new_rows n
    UNION ALL
    SELECT o.license_id, o.kind, o.status, o.currency, -1, -o.seats, -o.savings, -(o.savings IS NULL)::int
    FROM old_rows o
  ) d
  GROUP BY license_id, kind, status, currency
  HAVING sum(n) <> 0 OR sum(seats) <> 0 OR COALESCE(sum(savings), 0) <> 0 OR sum(unpriced) <> 0;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "findings_tally_insert" AFTER INSERT ON "findings" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION finding_tallies_add();
--> statement-breakpoint
CREATE TRIGGER "findings_tally_update" AFTER UPDATE ON "findings" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION finding_tallies_change();
--> statement-breakpoint
CREATE TRIGGER "findings_tally_delete" AFTER DELETE ON "findings" REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION finding_tallies_take();
--> statement-breakpoint
-- The totals as of `at`: snoozes and exemptions that have ended count as open, as EFFECTIVE_STATUS reads them. A
-- group's savings are null when none of its findings has a price (unknown, never 0), as sum() over the findings is.
CREATE FUNCTION "finding_tally"("at" timestamptz)
RETURNS TABLE (license_id bigint, kind text, status text, currency text, findings bigint, seats bigint,
  savings numeric, unpriced bigint)
LANGUAGE sql STABLE AS $$
  SELECT t.license_id, t.kind, t.status, t.currency, sum(t.findings)::bigint, sum(t.seats)::bigint,
    CASE WHEN sum(t.findings) > sum(t.unpriced) THEN sum(t.savings) END, sum(t.unpriced)::bigint
  FROM (
    SELECT ft.license_id, ft.kind, ft.status, ft.currency, ft.findings, ft.seats, ft.savings, ft.unpriced
    FROM finding_tallies ft
    UNION ALL
    SELECT f.license_id, f.kind, x.status, f.currency, x.sign, x.sign * f.seats,
      x.sign * COALESCE(f.savings, 0), x.sign * (f.savings IS NULL)::int
    FROM findings f
    CROSS JOIN LATERAL (VALUES (f.status, -1), ('open', 1)) AS x(status, sign)
    WHERE f.status IN ('snoozed', 'exempted') AND f.status_until <= "at"
  ) t
  GROUP BY t.license_id, t.kind, t.status, t.currency
  HAVING sum(t.findings) <> 0
$$;
--> statement-breakpoint
INSERT INTO "finding_tallies" (license_id, kind, status, currency, findings, seats, savings, unpriced)
SELECT license_id, kind, status, currency, count(*), sum(seats), COALESCE(sum(savings), 0),
  count(*) FILTER (WHERE savings IS NULL)
FROM findings GROUP BY license_id, kind, status, currency;
--> statement-breakpoint
-- Accounts per license: inserts add, deletes (the import's, a license's cascade) take away; updates move nothing.
CREATE FUNCTION "subscriber_tallies_add"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO subscriber_tallies (license_id, accounts)
  SELECT license_id, count(*) FROM new_rows GROUP BY license_id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION "subscriber_tallies_take"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO subscriber_tallies (license_id, accounts)
  SELECT license_id, -count(*) FROM old_rows GROUP BY license_id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "subscribers_tally_insert" AFTER INSERT ON "cloud_subscribers" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION subscriber_tallies_add();
--> statement-breakpoint
CREATE TRIGGER "subscribers_tally_delete" AFTER DELETE ON "cloud_subscribers" REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION subscriber_tallies_take();
--> statement-breakpoint
-- An update may not move an account to another license: the tallies (and the vendor's own identity) rely on it.
CREATE FUNCTION "subscribers_keep_license"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'an account cannot move to another license (subscriber %)', OLD.id;
END $$;
--> statement-breakpoint
CREATE TRIGGER "subscribers_keep_license" BEFORE UPDATE OF license_id ON "cloud_subscribers"
  FOR EACH ROW WHEN (OLD.license_id IS DISTINCT FROM NEW.license_id) EXECUTE FUNCTION subscribers_keep_license();
--> statement-breakpoint
INSERT INTO "subscriber_tallies" (license_id, accounts)
SELECT license_id, count(*) FROM cloud_subscribers GROUP BY license_id;
