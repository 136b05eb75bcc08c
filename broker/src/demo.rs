//! The demo organisation `stint serve --demo` seeds into an empty database.

use crate::store::{FourEyes, NewUser, Store, StoreResult};
use chrono::{DateTime, Duration, Utc};
use stint_core::api::{IdentityBody, ResourceBody, UserView};
use stint_core::connectors::ConnectorView;
use stint_core::{Approvers, BreakGlassPolicy, IdentityKind, Policy, Role};

pub const PASSWORD: &str = "stint-demo";

/// Who can sign in, and as what.
pub const USERS: &[(&str, &str, &[Role])] = &[
    ("alice", "Alice Martin", &[Role::Requester]),
    ("bob", "Bob Okafor", &[Role::Approver]),
    ("erin", "Erin Kowalski", &[Role::Approver]),
    ("carol", "Carol Jensen", &[Role::Reviewer]),
    ("dave", "Dave Lindqvist", &[Role::Admin, Role::Auditor]),
    // A second admin: changes that widen access wait for one.
    ("grace", "Grace Moreau", &[Role::Admin]),
];

/// The connector `cargo xtask demo` makes for its local PostgreSQL: when the broker loaded
/// it, the demo's `payments-db` is linked to it.
pub const PAYMENTS_CONNECTOR: &str = "payments-pg";

pub async fn seed(
    store: &dyn Store,
    now: DateTime<Utc>,
    connectors: &[ConnectorView],
) -> StoreResult<()> {
    let password_hash = tokio::task::spawn_blocking(|| crate::password::hash(PASSWORD))
        .await
        .expect("hashing does not panic");
    let mut users = Vec::new();
    for (username, display_name, roles) in USERS {
        let user = NewUser {
            username,
            display_name,
            password_hash: &password_hash,
            roles,
        };
        users.push(UserView {
            id: store
                .create_user(None, &user, FourEyes::Required, now)
                .await?
                .applied()
                .expect("the broker's own bootstrap applies at once"),
            username: username.to_string(),
            display_name: display_name.to_string(),
            roles: roles.to_vec(),
            identity_id: None,
            via: None,
            vouched_by: None,
        });
    }
    let user = |name: &str| users.iter().find(|u| u.username == name);

    let identities = [
        (
            "ci-deployer",
            IdentityKind::CiPipeline,
            "Deploys the payments service from CI",
            "production",
            &["alice"][..],
        ),
        (
            "billing-agent",
            IdentityKind::AiAgent,
            "Reconciles invoices against the ledger",
            "production",
            &["alice", "erin"][..],
        ),
        (
            "report-cron",
            IdentityKind::Workload,
            "Nightly revenue report",
            "production",
            &[][..],
        ),
    ];
    for (name, kind, description, environment, owners) in identities {
        let identity = IdentityBody {
            name: name.into(),
            kind,
            description: description.into(),
            environment: environment.into(),
        };
        let id = store.create_identity(None, &identity, now).await?;
        for owner in owners {
            let statement = format!("I answer for {name}: I run it and know what it touches.");
            let owner = user(owner).expect("demo owners are demo users");
            store
                .seed_ownership(id, owner, &statement, now + Duration::days(90), now)
                .await?;
        }
    }

    let resources = [
        (
            "payments-db",
            "Payments PostgreSQL cluster",
            &["read", "write"][..],
            1,
            4,
        ),
        (
            "prod-cluster",
            "Production Kubernetes cluster",
            &["deploy", "admin"][..],
            2,
            2,
        ),
    ];
    for (name, description, privileges, approvals_required, max_hours) in resources {
        let linked =
            name == "payments-db" && connectors.iter().any(|c| c.name == PAYMENTS_CONNECTOR);
        let resource = ResourceBody {
            connector: linked.then(|| PAYMENTS_CONNECTOR.to_string()),
            name: name.into(),
            description: description.into(),
            privileges: privileges.iter().map(|p| p.to_string()).collect(),
            policy: Policy {
                approvals_required,
                max_duration_secs: max_hours * 3600,
                ticket_required: false,
                // Both demo resources allow break-glass, with the defaults: 1 h, review in 24 h.
                break_glass: Some(BreakGlassPolicy::default()),
                approvers: Approvers::Role,
                ticket_pattern: None,
                auto_approve: None,
                max_start_ahead_secs: None,
                max_total_secs: None,
            },
        };
        store
            .create_resource(None, &resource, connectors, FourEyes::Required, now)
            .await?;
    }
    Ok(())
}
