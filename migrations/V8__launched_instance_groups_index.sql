-- rawx schema, part 8: the launch configurations that name instance groups.
-- Every TaskManager pass that can start something reads the groups pending
-- jobs were launched with; through this index it reads only the few jobs
-- launched that way, not a probe per pending job.
CREATE INDEX unified_job_launch_configs_instance_groups_idx
    ON unified_job_launch_configs (job_id)
    WHERE jsonb_typeof(prompts -> 'instance_groups') = 'array';
