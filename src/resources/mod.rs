//! Every resource of the API, declared once; `by_type` and `by_path` find them.

pub mod activity_stream;
pub mod ad_hoc_command_events;
pub mod ad_hoc_commands;
pub mod credential_types;
pub mod credentials;
pub mod execution_environments;
pub mod groups;
pub mod hosts;
pub mod instance_groups;
pub mod instances;
pub mod inventories;
pub mod inventory_sources;
pub mod inventory_update_events;
pub mod inventory_updates;
pub mod job_events;
pub mod job_host_summaries;
pub mod job_templates;
pub mod jobs;
pub mod labels;
pub mod organizations;
pub mod project_update_events;
pub mod project_updates;
pub mod projects;
pub mod teams;
pub mod tokens;
pub mod users;
pub mod workflow_job_templates;

use crate::resource::Resource;

/// Every declared resource.
pub const ALL: &[&Resource] = &[
    &activity_stream::ACTIVITY_STREAM,
    &instances::INSTANCE,
    &jobs::JOB,
    &job_events::JOB_EVENT,
    &job_host_summaries::JOB_HOST_SUMMARY,
    &organizations::ORGANIZATION,
    &users::USER,
    &teams::TEAM,
    &tokens::TOKEN,
    &credential_types::CREDENTIAL_TYPE,
    &credentials::CREDENTIAL,
    &execution_environments::EXECUTION_ENVIRONMENT,
    &labels::LABEL,
    &instance_groups::INSTANCE_GROUP,
    &projects::PROJECT,
    &project_updates::PROJECT_UPDATE,
    &project_update_events::PROJECT_UPDATE_EVENT,
    &inventories::INVENTORY,
    &hosts::HOST,
    &groups::GROUP,
    &inventory_sources::INVENTORY_SOURCE,
    &inventory_updates::INVENTORY_UPDATE,
    &inventory_update_events::INVENTORY_UPDATE_EVENT,
    &ad_hoc_commands::AD_HOC_COMMAND,
    &ad_hoc_command_events::AD_HOC_COMMAND_EVENT,
    &job_templates::JOB_TEMPLATE,
    &workflow_job_templates::WORKFLOW_JOB_TEMPLATE,
];

/// A resource by its objects' `type`.
pub fn by_type(type_name: &str) -> Option<&'static Resource> {
    ALL.iter().copied().find(|r| r.type_name == type_name)
}

/// A resource by its URL segment.
pub fn by_path(path: &str) -> Option<&'static Resource> {
    ALL.iter().copied().find(|r| r.path == path)
}
