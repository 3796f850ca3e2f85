//! Relay object identification: the `Node` interface and global ids.
//!
//! A global id is base64url (no padding) of `1:Kind:workspace:part[:part]`: a format version, the
//! type, the object's workspace (its `metadata.workspace`, else the caller's: so the same job
//! name in two workspaces has two ids, and a normalised client cache never mixes them), then the
//! object's key (`job` for a
//! `Job`; `job:id` for a `JobExecution`, whose id may itself hold `:`). Workspace and job names
//! are DNS-style labels without `:`.

use async_graphql::{ID, Interface};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};

use super::{execution::JobExecution, job::Job};

/// Version of the global id format.
const ID_VERSION: &str = "1";
/// `__typename` of executions in global ids.
pub const EXECUTION_KIND: &str = "JobExecution";
/// `__typename` of jobs in global ids.
pub const JOB_KIND: &str = "Job";

/// Relay's object identification: every object with a global id.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "Global, opaque id, unique across workspaces; `node(id:)` fetches it again."
))]
pub enum Node {
    /// A job execution.
    JobExecution(JobExecution),
    /// A job.
    Job(Job),
}

/// The global id of an object of `kind` read in `workspace`, keyed by `parts`.
pub fn global_id(kind: &str, workspace: &str, parts: &[&str]) -> ID {
    let len = ID_VERSION.len()
        + 2
        + kind.len()
        + workspace.len()
        + parts.iter().map(|part| 1 + part.len()).sum::<usize>();
    let mut raw = String::with_capacity(len);
    raw.push_str(ID_VERSION);
    raw.push(':');
    raw.push_str(kind);
    raw.push(':');
    raw.push_str(workspace);
    for part in parts {
        raw.push(':');
        raw.push_str(part);
    }
    let mut id = String::with_capacity(base64::encoded_len(len, false).unwrap_or_default());
    URL_SAFE_NO_PAD.encode_string(raw, &mut id);
    ID(id)
}

/// The workspace a global id names: the object's own (`metadata.workspace`, as the upstream
/// reports it), else the caller's.
pub fn id_workspace<'a>(object: Option<&'a str>, caller: &'a str) -> &'a str {
    object.filter(|w| !w.is_empty()).unwrap_or(caller)
}

/// A decoded global id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlobalId {
    /// `JobExecution`: its workspace, job and id.
    JobExecution {
        /// Workspace it was read in.
        workspace: String,
        /// Job name.
        job: String,
        /// Execution id.
        id: String,
    },
    /// `Job`: its workspace and name.
    Job {
        /// Workspace it was read in.
        workspace: String,
        /// Job name.
        name: String,
    },
}

impl GlobalId {
    /// Decodes an id issued by [`global_id`]; `None` for anything else.
    pub fn parse(id: &str) -> Option<GlobalId> {
        let raw = URL_SAFE_NO_PAD.decode(id.as_bytes()).ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let rest = raw.strip_prefix(ID_VERSION)?.strip_prefix(':')?;
        let (kind, rest) = rest.split_once(':')?;
        let (workspace, rest) = rest.split_once(':')?;
        let workspace = workspace.to_owned();
        match kind {
            EXECUTION_KIND => {
                let (job, id) = rest.split_once(':')?;
                Some(GlobalId::JobExecution {
                    workspace,
                    job: job.to_owned(),
                    id: id.to_owned(),
                })
            }
            JOB_KIND => Some(GlobalId::Job {
                workspace,
                name: rest.to_owned(),
            }),
            _ => None,
        }
    }

    /// The workspace the object was read in.
    pub fn workspace(&self) -> &str {
        match self {
            GlobalId::JobExecution { workspace, .. } | GlobalId::Job { workspace, .. } => workspace,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_differ_by_workspace() {
        let id = global_id(EXECUTION_KIND, "ws-a", &["job-1", "exec:with:colons"]);
        assert_eq!(
            GlobalId::parse(&id),
            Some(GlobalId::JobExecution {
                workspace: "ws-a".into(),
                job: "job-1".into(),
                id: "exec:with:colons".into(),
            })
        );
        assert_ne!(
            global_id(JOB_KIND, "ws-a", &["job-1"]),
            global_id(JOB_KIND, "ws-b", &["job-1"])
        );
        assert!(GlobalId::parse("not-base64!").is_none());
        assert!(GlobalId::parse(&global_id("Other", "ws", &["x"])).is_none());
        // An id of the format before workspaces: `Job:name`.
        assert!(GlobalId::parse(&URL_SAFE_NO_PAD.encode("Job:job-1")).is_none());
    }
}
