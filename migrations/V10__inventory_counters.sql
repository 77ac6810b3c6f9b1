-- rawx schema, part 10: an inventory's host, group and source counts kept
-- on its row, as AWX keeps them (update_computed_fields), but by triggers,
-- so they are never stale. Every list that shows an inventory's summary
-- (hosts, job templates, ...) read them by counting its hosts each time:
-- 1.2 ms a page for an inventory of 10,000 hosts.
--
-- Inserts and deletes: statement-level triggers with transition tables, so
-- a bulk insert (an inventory import) updates each inventory once. Updates:
-- a row-level trigger that fires only for a row moved to another inventory
-- (a host's facts written after a job do not run it).

CREATE FUNCTION rawx_count_inventory_members() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        EXECUTE format(
            'UPDATE inventories i SET %1$I = i.%1$I + d.n
               FROM (SELECT inventory_id, count(*) AS n FROM new_rows GROUP BY inventory_id) d
              WHERE i.id = d.inventory_id', TG_ARGV[0]);
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE format(
            'UPDATE inventories i SET %1$I = i.%1$I - d.n
               FROM (SELECT inventory_id, count(*) AS n FROM old_rows GROUP BY inventory_id) d
              WHERE i.id = d.inventory_id', TG_ARGV[0]);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION rawx_move_inventory_member() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('UPDATE inventories SET %1$I = %1$I - 1 WHERE id = $1', TG_ARGV[0])
        USING OLD.inventory_id;
    EXECUTE format('UPDATE inventories SET %1$I = %1$I + 1 WHERE id = $1', TG_ARGV[0])
        USING NEW.inventory_id;
    RETURN NULL;
END
$$;

-- The same three triggers on each table that counts toward an inventory.
DO $$
DECLARE
    counted record;
BEGIN
    FOR counted IN SELECT * FROM (VALUES
        ('hosts', 'total_hosts'),
        ('groups', 'total_groups'),
        ('inventory_sources', 'total_inventory_sources')) AS t(tbl, counter)
    LOOP
        EXECUTE format(
            'CREATE TRIGGER %1$s_counted_insert AFTER INSERT ON %1$I
                 REFERENCING NEW TABLE AS new_rows
                 FOR EACH STATEMENT EXECUTE FUNCTION rawx_count_inventory_members(%2$L)',
            counted.tbl, counted.counter);
        EXECUTE format(
            'CREATE TRIGGER %1$s_counted_delete AFTER DELETE ON %1$I
                 REFERENCING OLD TABLE AS old_rows
                 FOR EACH STATEMENT EXECUTE FUNCTION rawx_count_inventory_members(%2$L)',
            counted.tbl, counted.counter);
        EXECUTE format(
            'CREATE TRIGGER %1$s_counted_move AFTER UPDATE OF inventory_id ON %1$I
                 FOR EACH ROW WHEN (OLD.inventory_id IS DISTINCT FROM NEW.inventory_id)
                 EXECUTE FUNCTION rawx_move_inventory_member(%2$L)',
            counted.tbl, counted.counter);
    END LOOP;
END
$$;

UPDATE inventories i SET
    total_hosts = (SELECT count(*) FROM hosts h WHERE h.inventory_id = i.id),
    total_groups = (SELECT count(*) FROM groups g WHERE g.inventory_id = i.id),
    total_inventory_sources = (SELECT count(*) FROM inventory_sources s WHERE s.inventory_id = i.id);
