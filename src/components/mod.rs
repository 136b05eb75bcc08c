//! Reusable pieces of the portal's views.

pub mod approver_context;
pub mod badges;
pub mod connection;
pub mod coverage_chart;
pub mod credential;
pub mod deny;
pub mod dialog;
pub mod form;
pub mod grant_access;
pub mod grant_card;
pub mod identity_federation;
pub mod identity_form;
pub mod identity_tokens;
pub mod introspection;
pub mod live;
pub mod notification_choices;
pub mod request_form;
pub mod resource_form;
pub mod standing;
pub mod states;
pub mod theme;
pub mod time;
pub mod timeline;
pub mod toast;
