//! The demo organisation `stint serve --demo` seeds into an empty database.

use crate::store::{NewIdentity, NewResource, NewUser, Store, StoreResult};
use chrono::{DateTime, Duration, Utc};
use stint_core::{BreakGlassPolicy, IdentityKind, Policy, Role};

pub const PASSWORD: &str = "stint-demo";

/// Who can sign in, and as what.
pub const USERS: &[(&str, &str, &[Role])] = &[
    ("alice", "Alice Martin", &[Role::Requester]),
    ("bob", "Bob Okafor", &[Role::Approver]),
    ("erin", "Erin Kowalski", &[Role::Approver]),
    ("carol", "Carol Jensen", &[Role::Reviewer]),
    ("dave", "Dave Lindqvist", &[Role::Admin, Role::Auditor]),
];

pub async fn seed(store: &dyn Store, now: DateTime<Utc>) -> StoreResult<()> {
    let password_hash = tokio::task::spawn_blocking(|| crate::password::hash(PASSWORD))
        .await
        .expect("hashing does not panic");
    let mut ids = Vec::new();
    for (username, display_name, roles) in USERS {
        let user = NewUser {
            username,
            display_name,
            password_hash: &password_hash,
            roles,
        };
        ids.push((*username, store.create_user(&user, now).await?));
    }
    let user = |name: &str| ids.iter().find(|(n, _)| *n == name).map(|(_, id)| *id);

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
        let identity = NewIdentity {
            name,
            kind,
            description,
            environment,
        };
        let id = store.create_identity(&identity, now).await?;
        for owner in owners {
            let statement = format!("I answer for {name}: I run it and know what it touches.");
            let user_id = user(owner).expect("demo owners are demo users");
            store
                .declare_ownership(id, user_id, &statement, now + Duration::days(90), now)
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
        let resource = NewResource {
            name,
            description,
            privileges,
            policy: Policy {
                approvals_required,
                max_duration_secs: max_hours * 3600,
                ticket_required: false,
                // Both demo resources allow break-glass, with the defaults: 1 h, review in 24 h.
                break_glass: Some(BreakGlassPolicy::default()),
            },
        };
        store.create_resource(&resource, now).await?;
    }
    Ok(())
}
