//! The role a node plays in the cluster.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a node does: which actors it runs and whether it serves the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    /// API, scheduling, job control and execution on one node (the default).
    Hybrid,
    /// API, scheduling and job control; jobs run on execution nodes.
    Control,
    /// Runs ansible for controllers; no database.
    Execution,
    /// Routes mesh traffic only.
    Hop,
}

impl NodeRole {
    /// The name AWX gives this role in `node_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::Hybrid => "hybrid",
            NodeRole::Control => "control",
            NodeRole::Execution => "execution",
            NodeRole::Hop => "hop",
        }
    }

    /// Whether this role holds a database connection and serves the API.
    pub fn is_controller(self) -> bool {
        matches!(self, NodeRole::Hybrid | NodeRole::Control)
    }
}

impl fmt::Display for NodeRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a role name that is not one of the four.
#[derive(Debug, thiserror::Error)]
#[error("unknown role `{0}`: expected hybrid, control, execution or hop")]
pub struct UnknownRole(String);

impl FromStr for NodeRole {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hybrid" => Ok(NodeRole::Hybrid),
            "control" => Ok(NodeRole::Control),
            "execution" => Ok(NodeRole::Execution),
            "hop" => Ok(NodeRole::Hop),
            other => Err(UnknownRole(other.to_string())),
        }
    }
}
