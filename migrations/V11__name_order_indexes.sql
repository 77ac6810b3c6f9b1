-- rawx schema, part 11: lists are ordered by name, then id (AWX's default
-- ordering, and the id makes pages stable). Without an index in that order
-- a page of job templates joined and sorted all 1,000 of them (1.3 ms);
-- with it, it reads the 25 it shows (0.14 ms). Hosts likewise.
CREATE INDEX unified_job_templates_name_id_idx ON unified_job_templates (name, id);
CREATE INDEX hosts_name_id_idx ON hosts (name, id);
DROP INDEX hosts_name_idx;
