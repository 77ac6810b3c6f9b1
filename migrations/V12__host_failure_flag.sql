-- rawx schema, part 12: whether a host's last job failed on it, on the host
-- row. An inventory's `has_active_failures` and
-- `hosts_with_active_failures` joined every host of the inventory to its
-- last summary; with the planner's estimates of a young database it
-- scanned all 10,000 hosts of an inventory for every page that showed the
-- inventory's summary (2.9 ms). A partial index of the failed hosts makes
-- both a probe of the few hosts that failed.
--
-- A trigger keeps the flag equal to the last summary's `failed`: set with
-- the summary, cleared when the summary goes (its foreign key's SET NULL
-- updates the host, which runs the trigger).
ALTER TABLE hosts ADD COLUMN last_job_failed boolean NOT NULL DEFAULT false;

UPDATE hosts h SET last_job_failed = true
  FROM job_host_summaries s
 WHERE s.id = h.last_job_host_summary_id AND s.failed;

CREATE FUNCTION rawx_host_last_job_failed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.last_job_failed := COALESCE(
        (SELECT failed FROM job_host_summaries WHERE id = NEW.last_job_host_summary_id),
        false);
    RETURN NEW;
END
$$;

CREATE TRIGGER hosts_last_job_failed_insert BEFORE INSERT ON hosts
    FOR EACH ROW WHEN (NEW.last_job_host_summary_id IS NOT NULL)
    EXECUTE FUNCTION rawx_host_last_job_failed();
CREATE TRIGGER hosts_last_job_failed_update BEFORE UPDATE OF last_job_host_summary_id ON hosts
    FOR EACH ROW EXECUTE FUNCTION rawx_host_last_job_failed();

CREATE INDEX hosts_failed_idx ON hosts (inventory_id) WHERE last_job_failed;
