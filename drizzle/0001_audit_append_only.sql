-- The audit log is append-only: no code path may rewrite history.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
--> statement-breakpoint
-- Staging rows live for one import and are rebuilt after a crash: no need to write them to the WAL.
ALTER TABLE staging_subscriptions SET UNLOGGED;
--> statement-breakpoint
ALTER TABLE staging_accounts SET UNLOGGED;
--> statement-breakpoint
ALTER TABLE staging_persons SET UNLOGGED;
