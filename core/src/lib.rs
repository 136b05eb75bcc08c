//! Stint's domain, shared by the broker and the portal.
//!
//! Architecture Invariant: nothing here does I/O, reads a clock or draws randomness.
//! The broker *enforces* these rules inside its transactions; the portal only *previews*
//! them by calling the same functions, so the two can never disagree about a rule.

pub mod admin;
pub mod api;
pub mod break_glass;
pub mod campaigns;
pub mod connectors;
pub mod context;
pub mod evidence;
pub mod federation;
pub mod format;
pub mod four_eyes;
pub mod lifecycle;
pub mod live;
pub mod machine;
pub mod model;
pub mod moments;
pub mod notify;
pub mod oidc;
pub mod oversight;
pub mod ownership;
pub mod query;
pub mod rules;
pub mod search;
pub mod standing;
pub mod state;
pub mod throttle;
pub mod usage;
pub mod visibility;

pub use model::{
    Approvers, AutoApprove, BreakGlassPolicy, IdentityKind, Policy, ReviewOutcome, ReviewStatus,
    Role,
};
pub use rules::RuleError;
pub use state::{GrantState, RequestState};
