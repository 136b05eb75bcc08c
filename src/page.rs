//! Every page's address, written once. Links and redirects name a page, never spell its
//! path, so a route renamed in `app.rs` cannot leave a link behind pointing nowhere.

/// A page of the portal, with what its address carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Dashboard,
    Login,
    Requests,
    NewRequest,
    /// The request form filled in from an earlier request.
    RequestAgain(i64),
    Request(i64),
    Approvals,
    BreakGlass,
    Identities,
    Identity(i64),
    Secrets,
    Account,
    Reviews,
    Review(i64),
    Campaigns,
    Campaign(i64),
    LiveAccess,
    Audit,
    /// The audit trail of one grant: its story from request to end.
    GrantStory(i64),
    Evidence,
    AdminResources,
    AdminUsers,
    AdminFederation,
    AdminNotifications,
    AdminProposals,
}

impl Page {
    /// The page's address, as the router's table (`app.rs`) matches it.
    pub fn path(self) -> String {
        match self {
            Page::Dashboard => "/".into(),
            Page::Login => "/login".into(),
            Page::Requests => "/requests".into(),
            Page::NewRequest => "/requests/new".into(),
            Page::RequestAgain(id) => format!("/requests/new?again={id}"),
            Page::Request(id) => format!("/requests/{id}"),
            Page::Approvals => "/approvals".into(),
            Page::BreakGlass => "/break-glass".into(),
            Page::Identities => "/identities".into(),
            Page::Identity(id) => format!("/identities/{id}"),
            Page::Secrets => "/secrets".into(),
            Page::Account => "/account".into(),
            Page::Reviews => "/reviews".into(),
            Page::Review(id) => format!("/reviews/{id}"),
            Page::Campaigns => "/campaigns".into(),
            Page::Campaign(id) => format!("/campaigns/{id}"),
            Page::LiveAccess => "/live-access".into(),
            Page::Audit => "/audit".into(),
            Page::GrantStory(id) => format!("/audit?grant_id={id}"),
            Page::Evidence => "/reports/evidence".into(),
            Page::AdminResources => "/admin/resources".into(),
            Page::AdminUsers => "/admin/users".into(),
            Page::AdminFederation => "/admin/federation".into(),
            Page::AdminNotifications => "/admin/notifications".into(),
            Page::AdminProposals => "/admin/proposals".into(),
        }
    }

    /// The page's address with a query (`state=pending&q=…`), none when it is empty.
    pub fn with_query(self, query: &str) -> String {
        match query {
            "" => self.path(),
            query => format!("{}?{query}", self.path()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Page;

    /// One of each page, numbered pages with a sample number.
    const EVERY_PAGE: [Page; 25] = [
        Page::Dashboard,
        Page::Login,
        Page::Requests,
        Page::NewRequest,
        Page::RequestAgain(7),
        Page::Request(42),
        Page::Approvals,
        Page::BreakGlass,
        Page::Identities,
        Page::Identity(3),
        Page::Secrets,
        Page::Account,
        Page::Reviews,
        Page::Review(5),
        Page::Campaigns,
        Page::Campaign(6),
        Page::LiveAccess,
        Page::Audit,
        Page::GrantStory(9),
        Page::Evidence,
        Page::AdminResources,
        Page::AdminUsers,
        Page::AdminFederation,
        Page::AdminNotifications,
        Page::AdminProposals,
    ];

    /// The router's table, as `app.rs` spells it: `path!("/requests/:id")`, …
    fn routes() -> Vec<&'static str> {
        include_str!("app.rs")
            .split("path!(\"")
            .skip(1)
            .map(|rest| &rest[..rest.find('"').unwrap()])
            .collect()
    }

    fn matches(route: &str, path: &str) -> bool {
        let (route, path): (Vec<_>, Vec<_>) =
            (route.split('/').collect(), path.split('/').collect());
        route.len() == path.len()
            && route
                .iter()
                .zip(&path)
                .all(|(r, p)| r == p || (r.starts_with(':') && p.parse::<i64>().is_ok()))
    }

    #[test]
    fn every_page_is_an_address_the_router_serves() {
        let routes = routes();
        assert!(routes.len() > 10, "the routes were not read: {routes:?}");
        for page in EVERY_PAGE {
            let path = page.path();
            let path = path.split('?').next().unwrap();
            assert!(
                routes.iter().any(|route| matches(route, path)),
                "{page:?} links to {path}, which no route serves"
            );
        }
    }

    #[test]
    fn a_query_follows_the_path() {
        assert_eq!(Page::RequestAgain(7).path(), "/requests/new?again=7");
        assert_eq!(Page::Audit.with_query("actor=bob"), "/audit?actor=bob");
        assert_eq!(Page::Reviews.with_query(""), "/reviews");
    }
}
