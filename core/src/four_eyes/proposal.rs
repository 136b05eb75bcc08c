//! A proposal: the change it holds (and how it reads, field by field, for the admin who
//! decides), and where it stands.

use crate::api::{NamedRef, ResourceBody, UserUpdateBody};
use crate::model::{Approvers, Policy, Role};
use crate::rules::{RuleError, bounded_text};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Widening;
/// A change a proposal holds, as it will be applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A new resource and its policy.
    ResourceCreate { resource: ResourceBody },
    /// A resource's edit: `before` is the resource when it was proposed; the proposal
    /// applies only while it still is.
    ResourceUpdate {
        resource_id: i64,
        before: Box<ResourceBody>,
        after: Box<ResourceBody>,
    },
    /// A new account (its first password is kept apart, as a hash, until the decision).
    UserCreate {
        username: String,
        display_name: String,
        roles: Vec<Role>,
    },
    /// A user's edit, against the user as they were when it was proposed.
    UserUpdate {
        user: NamedRef,
        before: UserUpdateBody,
        after: UserUpdateBody,
    },
}

impl Change {
    /// What the change is about, for lists: "resource payments-db".
    pub fn subject(&self) -> String {
        match self {
            Change::ResourceCreate { resource } => format!("new resource {}", resource.name),
            Change::ResourceUpdate { after, .. } => format!("resource {}", after.name),
            Change::UserCreate { username, .. } => format!("new user {username}"),
            Change::UserUpdate { user, .. } => format!("user {}", user.name),
        }
    }

    /// Whether the change is about `user_id` or gives them power: their own account, or
    /// a policy that names them an approver (or lets every approver approve, when they
    /// hold the role). Nobody approves a change that is about them.
    pub fn concerns(&self, user_id: i64, roles: &[Role]) -> bool {
        let named_approver = |policy: &Policy, before: Option<&Policy>| match &policy.approvers {
            Approvers::Users { users } => {
                users.iter().any(|u| u.id == user_id)
                    && !before.is_some_and(|b| b.approvers.includes(user_id))
            }
            Approvers::Role => {
                roles.contains(&Role::Approver)
                    && !before.is_some_and(|b| b.approvers == Approvers::Role)
            }
        };
        match self {
            Change::UserUpdate { user, .. } => user.id == user_id,
            Change::UserCreate { .. } => false,
            Change::ResourceCreate { resource } => named_approver(&resource.policy, None),
            Change::ResourceUpdate { before, after, .. } => {
                named_approver(&after.policy, Some(&before.policy))
            }
        }
    }
}

/// One field a change sets, as a person compares it: `policy.max_duration_secs`, `7200`
/// before, `14400` after (`None` where there was nothing, as in a creation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl Change {
    /// The fields the change sets that differ from before, in the body's order; every
    /// field set, for a creation. What a second admin reads before approving.
    pub fn differences(&self) -> Vec<Difference> {
        fn to_json<T: Serialize>(body: &T) -> serde_json::Value {
            serde_json::to_value(body).unwrap_or_default()
        }
        let (before, after) = match self {
            Change::ResourceCreate { resource } => (serde_json::Value::Null, to_json(resource)),
            Change::ResourceUpdate { before, after, .. } => (to_json(before), to_json(after)),
            Change::UserCreate {
                username,
                display_name,
                roles,
            } => (
                serde_json::Value::Null,
                serde_json::json!({ "username": username, "display_name": display_name,
                                    "roles": roles }),
            ),
            Change::UserUpdate { before, after, .. } => (to_json(before), to_json(after)),
        };
        let (mut old, mut new) = (Vec::new(), Vec::new());
        flatten("", &before, &mut old);
        flatten("", &after, &mut new);
        let mut fields: Vec<&String> = new.iter().map(|(f, _)| f).collect();
        for (f, _) in &old {
            if !fields.contains(&f) {
                fields.push(f);
            }
        }
        let value = |list: &[(String, String)], field: &str| {
            list.iter()
                .find(|(f, _)| f == field)
                .map(|(_, v)| v.clone())
        };
        fields
            .into_iter()
            .map(|f| Difference {
                field: f.clone(),
                before: value(&old, f),
                after: value(&new, f),
            })
            .filter(|d| d.before != d.after)
            .collect()
    }
}

/// Leaves of `value` as (dotted path, text); a list is one leaf, its items joined, and an
/// empty value (null, "") is no leaf.
fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
    use serde_json::Value;
    let path = |key: &str| {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        }
    };
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                flatten(&path(key), v, out);
            }
        }
        Value::Null => {}
        Value::String(s) if s.is_empty() => {}
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        Value::Array(items) => {
            let text: Vec<String> = items
                .iter()
                .map(|item| match item {
                    Value::String(s) => s.clone(),
                    // A named approver reads as their name.
                    Value::Object(o) if o.contains_key("name") => {
                        o["name"].as_str().unwrap_or_default().to_string()
                    }
                    other => other.to_string(),
                })
                .collect();
            out.push((prefix.to_string(), text.join(", ")));
        }
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProposalState {
    /// Waiting for a second admin.
    Pending,
    /// Applied.
    Approved,
    /// Refused by another admin.
    Rejected,
    /// Taken back by its proposer.
    Withdrawn,
}

impl ProposalState {
    pub const ALL: [ProposalState; 4] = [
        ProposalState::Pending,
        ProposalState::Approved,
        ProposalState::Rejected,
        ProposalState::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProposalState::Pending => "pending",
            ProposalState::Approved => "approved",
            ProposalState::Rejected => "rejected",
            ProposalState::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<ProposalState> {
        ProposalState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// A change that widens access, waiting for (or past) a second admin's decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalView {
    pub id: i64,
    pub change: Change,
    /// Why it waits: each way it widens access.
    pub widenings: Vec<Widening>,
    pub state: ProposalState,
    pub proposed_by: NamedRef,
    pub proposed_at: DateTime<Utc>,
    #[serde(default)]
    pub decided_by: Option<NamedRef>,
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was rejected or withdrawn.
    #[serde(default)]
    pub reason: Option<String>,
    /// What an approved creation made: the new resource's or user's id.
    #[serde(default)]
    pub created_id: Option<i64>,
}

/// `POST /api/v1/proposals/{id}/reject`: why (its proposer withdraws it the same way).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RejectBody {
    pub reason: String,
}

/// Checks a rejection's reason; returns it trimmed.
pub fn check_reason(body: &RejectBody) -> Result<String, RuleError> {
    bounded_text(
        "reason",
        &body.reason,
        3,
        "say why, in a few words, for the proposer and the audit trail",
    )
}
