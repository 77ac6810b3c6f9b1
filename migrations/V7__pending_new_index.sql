-- rawx schema, part 7: the jobs whose dependencies the TaskManager has not
-- looked at yet. A pass that can start nothing (the instance full or
-- disabled) reads only these; without the index it filtered every pending
-- row, a pass per burst of launches.
CREATE INDEX unified_jobs_pending_new_idx ON unified_jobs (id)
    WHERE status = 'pending' AND NOT dependencies_processed;
