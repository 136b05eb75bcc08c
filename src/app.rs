//! `<App/>`: who is signed in, the ticking clock, toasts, the layout and the routes.

use crate::api;
use crate::components::toast::{ToastRegion, Toasts};
use crate::lazy_pages::{self, lazy_page};
use crate::page::Page;
use crate::pages::{
    account::ForcedPasswordChange, login::Login, not_found::NotFound,
    request_detail::RequestDetailPage,
};
use crate::time::Now;
use chrono::Utc;
use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;
use std::time::Duration;
use stint_core::api::MeView;
use stint_core::oidc::SignedOut;
use stint_core::{Role, visibility};

/// The signed-in user. `None` inside `Some` means: checked, nobody is signed in.
#[derive(Clone, Copy)]
pub struct Auth {
    pub me: RwSignal<Option<Option<MeView>>>,
    /// Set by signing out of a session an identity provider opened, when that provider can
    /// end its own session too: the sign-in page offers it.
    pub signed_out: RwSignal<Option<SignedOut>>,
    /// What the viewer may see and do, apart from `me`'s counts: those change with nearly
    /// every request (and are read again each time), and pages that choose what to read by
    /// role must not read it all again for a count.
    permissions: Memo<Option<Permissions>>,
}

/// The part of who is signed in that decides what a page reads.
#[derive(Clone, PartialEq)]
struct Permissions {
    roles: Vec<Role>,
    owns_identities: bool,
}

impl Auth {
    fn new() -> Auth {
        let me = RwSignal::new(None);
        let permissions = Memo::new(move |_| {
            me.get().flatten().map(|m: MeView| Permissions {
                roles: m.user.roles,
                owns_identities: m.identities_owned > 0,
            })
        });
        Auth {
            me,
            signed_out: RwSignal::new(None),
            permissions,
        }
    }

    pub fn user(&self) -> Option<MeView> {
        self.me.get().flatten()
    }

    pub fn has(&self, role: Role) -> bool {
        self.permissions
            .with(|p| p.as_ref().is_some_and(|p| p.roles.contains(&role)))
    }

    pub fn has_any(&self, set: &[Role]) -> bool {
        self.permissions.with(|p| {
            p.as_ref()
                .is_some_and(|p| visibility::any_of(&p.roles, set))
        })
    }

    /// Whether the viewer owns an identity, and so may ask access for one.
    pub fn owns_identities(&self) -> bool {
        self.permissions
            .with(|p| p.as_ref().is_some_and(|p| p.owns_identities))
    }

    /// Signs out, and shows the sign-in page.
    pub fn sign_out(&self) {
        let (me, signed_out) = (self.me, self.signed_out);
        leptos::task::spawn_local(async move {
            if let Ok(offer) = api::logout().await {
                signed_out.set(offer);
            }
            me.set(Some(None));
        });
    }

    /// Re-reads who is signed in (and the approvals badge).
    pub fn refresh(&self) {
        let me = self.me;
        leptos::task::spawn_local(async move {
            match api::me().await {
                // Unchanged, nothing that shows it is drawn again.
                Ok(view)
                    if me
                        .with_untracked(|m| m.as_ref().and_then(Option::as_ref) == Some(&view)) => {
                }
                Ok(view) => me.set(Some(Some(view))),
                Err(e) if e.status() == Some(401) => me.set(Some(None)),
                // A network blip keeps whoever was signed in.
                Err(_) => {}
            }
        });
    }
}

pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}

#[component]
pub fn App() -> impl IntoView {
    let auth = Auth::new();
    provide_context(auth);
    auth.refresh();
    // Beside it, what a request link will show: the page takes it once signed in.
    crate::early::EarlyRequest::provide();
    // Only a session that ended signs the viewer out: a wrong password at the sign-in form
    // (also a 401) must leave the form, and what was typed in it, alone.
    api::on_unauthenticated(move || {
        if matches!(auth.me.get_untracked(), Some(Some(_))) {
            auth.me.set(Some(None));
        }
    });

    let now = RwSignal::new(Utc::now());
    provide_context(Now(now));
    if let Ok(handle) =
        set_interval_with_handle(move || now.set(Utc::now()), Duration::from_secs(1))
    {
        on_cleanup(move || handle.clear());
    }
    provide_context(Toasts::new());
    let connection = crate::components::connection::Connection::provide();
    api::on_reachable(move |yes| {
        if connection.offline.get_untracked() == yes {
            connection.offline.set(!yes);
        }
    });
    // Fetched credentials outlive a page's refresh, never a sign-out.
    let issued = crate::components::credential::IssuedCredentials::provide();
    Effect::new(move |_| {
        if matches!(auth.me.get(), Some(None)) {
            issued.clear();
        }
    });
    crate::components::theme::init();

    // Which screen to show changes only when this does: rereading who is signed in (after
    // every change the live feed reports) must not rebuild the signed-in layout and the
    // page in it, which would drop a selection, a half-typed form and the feed itself.
    let screen = Memo::new(move |_| match auth.me.get() {
        None => Screen::Loading,
        Some(None) => Screen::SignIn,
        // The broker refuses everything else until the password is changed.
        Some(Some(me)) if me.must_change_password => Screen::ChangePassword,
        Some(Some(me)) => Screen::Portal(me.user.id),
    });
    view! {
        <Router>
            {move || match screen.get() {
                Screen::Loading => view! { <div class="splash" aria-busy="true">"Loading Stint…"</div> }.into_any(),
                Screen::SignIn => view! { <Login/> }.into_any(),
                Screen::ChangePassword => view! { <ForcedPasswordChange/> }.into_any(),
                Screen::Portal(_) => view! { <Shell/> }.into_any(),
            }}
            <ToastRegion/>
        </Router>
    }
}

/// What the whole window shows; the portal is per user.
#[derive(Clone, Copy, PartialEq)]
enum Screen {
    Loading,
    SignIn,
    ChangePassword,
    Portal(i64),
}

/// The signed-in layout: navigation, top bar, and the routed page.
#[component]
fn Shell() -> impl IntoView {
    let auth = use_auth();
    // Open while signed in. When it drops, asking who is signed in tells an unreachable
    // broker (the offline banner) from an ended session (the sign-in page).
    crate::components::live::Live::connect(move || auth.refresh());
    // The navigation's counts (approvals and reviews waiting, identities owned).
    crate::components::live::on_live(
        |e| {
            [
                "request.",
                "review.",
                "ownership.",
                "campaign.",
                "proposal.",
            ]
            .iter()
            .any(|prefix| e.kind.starts_with(prefix))
        },
        move || auth.refresh(),
    );
    let sign_out = move |_| auth.sign_out();
    let user = move || auth.user().map(|m| m.user);
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <div class="shell">
            <header class="topbar">
                <a class="brand" href=Page::Dashboard.path() aria-label="Stint home">
                    <img src="/favicon.svg" alt="" width="24" height="24"/>
                    <span>"Stint"</span>
                </a>
                <div class="topbar-user">
                    <a class="user-name" href=Page::Account.path() data-testid="signed-in-user" title="Your account">
                        {move || user().map(|u| u.display_name).unwrap_or_default()}
                    </a>
                    <span class="user-roles">
                        {move || {
                            user()
                                .map(|u| {
                                    u.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
                                })
                                .unwrap_or_default()
                        }}
                    </span>
                    <crate::components::theme::ThemeToggle/>
                    <button class="button subtle" on:click=sign_out data-testid="sign-out">
                        "Sign out"
                    </button>
                </div>
            </header>
            <Nav/>
            <main id="main" class="content" tabindex="-1">
                <crate::components::live::ConnectionBanner/>
                <AdminPagesNotice/>
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=|| lazy_page(lazy_pages::dashboard)/>
                    <Route path=path!("/login") view=|| lazy_page(lazy_pages::dashboard)/>
                    <Route path=path!("/requests/new") view=|| lazy_page(lazy_pages::new_request)/>
                    <Route path=path!("/requests/:id") view=RequestDetailPage/>
                    <Route path=path!("/requests") view=|| lazy_page(lazy_pages::requests)/>
                    <Route path=path!("/approvals") view=|| lazy_page(lazy_pages::approvals)/>
                    <Route path=path!("/break-glass") view=|| lazy_page(lazy_pages::break_glass)/>
                    <Route path=path!("/audit") view=|| lazy_page(lazy_pages::audit)/>
                    <Route path=path!("/reports/evidence") view=|| lazy_page(lazy_pages::evidence)/>
                    <Route path=path!("/campaigns/:id") view=|| lazy_page(lazy_pages::campaign_detail)/>
                    <Route path=path!("/campaigns") view=|| lazy_page(lazy_pages::campaigns)/>
                    <Route path=path!("/live-access") view=|| lazy_page(lazy_pages::live_access)/>
                    <Route path=path!("/identities/:id") view=|| lazy_page(lazy_pages::identity_detail)/>
                    <Route path=path!("/identities") view=|| lazy_page(lazy_pages::identities)/>
                    <Route path=path!("/admin/resources") view=|| lazy_page(lazy_pages::admin_resources)/>
                    <Route path=path!("/admin/users") view=|| lazy_page(lazy_pages::admin_users)/>
                    <Route path=path!("/admin/federation") view=|| lazy_page(lazy_pages::admin_federation)/>
                    <Route path=path!("/admin/notifications") view=|| lazy_page(lazy_pages::notifications)/>
                    <Route path=path!("/admin/proposals") view=|| lazy_page(lazy_pages::proposals)/>
                    <Route path=path!("/reviews/:id") view=|| lazy_page(lazy_pages::review_detail)/>
                    <Route path=path!("/reviews") view=|| lazy_page(lazy_pages::reviews)/>
                    <Route path=path!("/secrets") view=|| lazy_page(lazy_pages::secrets)/>
                    <Route path=path!("/account") view=|| lazy_page(lazy_pages::account)/>
                </Routes>
            </main>
        </div>
    }
}

/// Above every admin page (`/admin/…`): that a single-admin installation applies changes
/// that widen access without a second admin.
#[component]
fn AdminPagesNotice() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let on_admin_page = move || location.pathname.get().starts_with("/admin/");
    view! {
        <Show when=on_admin_page>
            <crate::components::four_eyes::SingleAdminNotice/>
        </Show>
    }
}

/// The left navigation; `<A>` marks the current page with `aria-current="page"`.
#[component]
fn Nav() -> impl IntoView {
    let auth = use_auth();
    let waiting = move || auth.user().map(|m| m.approvals_waiting).unwrap_or(0);
    let reviews = move || {
        auth.user()
            .map(|m| (m.reviews_waiting, m.reviews_overdue))
            .unwrap_or_default()
    };
    let overseer = move || auth.has_any(visibility::WORKS_REVIEWS);
    let review_items = move || auth.user().map(|m| m.campaign_items_waiting).unwrap_or(0);
    let proposals = move || auth.user().map(|m| m.proposals_waiting).unwrap_or(0);
    // On a narrow screen the nav is one scrolling row: keep the current page's item in it.
    let location = leptos_router::hooks::use_location();
    let list = NodeRef::<leptos::html::Ul>::new();
    Effect::new(move |_| {
        location.pathname.track();
        let Some(list) = list.get() else { return };
        request_animation_frame(move || {
            if let Ok(Some(current)) = list.query_selector("a[aria-current=page]") {
                use wasm_bindgen::JsCast;
                if let Some(current) = current.dyn_ref::<web_sys::HtmlElement>() {
                    list.set_scroll_left(current.offset_left() - 8);
                }
            }
        });
    });
    view! {
        <nav class="sidenav" aria-label="Main">
            <ul node_ref=list>
                <li><A href=Page::Dashboard.path() exact=true>"Dashboard"</A></li>
                // Only owners ask for access; the rest go to Identities to declare first.
                <Show when=move || auth.owns_identities()>
                    <li><A href=Page::NewRequest.path() exact=true>"New request"</A></li>
                </Show>
                <li><A href=Page::Requests.path() exact=true>"Requests"</A></li>
                <li><A href=Page::Identities.path()>"Identities"</A></li>
                <Show when=move || auth.has(Role::Approver)>
                    <li>
                        <A href=Page::Approvals.path()>
                            "Approvals"
                            <Show when=move || { waiting() > 0 }>
                                <span class="count" data-testid="approvals-count">
                                    <span class="visually-hidden">", waiting: "</span>
                                    {waiting}
                                </span>
                            </Show>
                        </A>
                    </li>
                </Show>
                <Show when=overseer>
                    <li>
                        <A href=Page::Reviews.path()>
                            "Reviews"
                            <Show when=move || { reviews().0 > 0 }>
                                <span
                                    class=move || { if reviews().1 > 0 { "count red" } else { "count" } }
                                    data-testid="reviews-count"
                                >
                                    <span class="visually-hidden">", waiting: "</span>
                                    {move || reviews().0}
                                    {move || (reviews().1 > 0).then(|| format!(" ({} overdue)", reviews().1))}
                                </span>
                            </Show>
                        </A>
                    </li>
                </Show>
                <li>
                    <A href=Page::Campaigns.path()>
                        "Access reviews"
                        <Show when=move || { review_items() > 0 }>
                            <span class="count" data-testid="review-items-count">
                                <span class="visually-hidden">", waiting for you: "</span>
                                {review_items}
                            </span>
                        </Show>
                    </A>
                </li>
                <li><A href=Page::Secrets.path()>"Secrets"</A></li>
                <Show when=move || auth.has_any(visibility::READS_EVERYTHING)>
                    <li><A href=Page::LiveAccess.path()>"Live access"</A></li>
                    <li><A href=Page::Audit.path()>"Audit"</A></li>
                    <li><A href=Page::Evidence.path()>"Evidence"</A></li>
                    <li><A href=Page::AdminFederation.path()>"Federation"</A></li>
                    <li><A href=Page::AdminNotifications.path()>"Notifications"</A></li>
                </Show>
                <Show when=move || auth.has(Role::Admin)>
                    <li><A href=Page::AdminResources.path()>"Resources & policies"</A></li>
                    <li><A href=Page::AdminUsers.path()>"Users"</A></li>
                </Show>
                <Show when=move || auth.has_any(visibility::READS_EVERYTHING)>
                    <li>
                        <A href=Page::AdminProposals.path()>
                            "Proposals"
                            <Show when=move || { proposals() > 0 }>
                                <span class="count" data-testid="proposals-count">
                                    <span class="visually-hidden">", waiting for you: "</span>
                                    {proposals}
                                </span>
                            </Show>
                        </A>
                    </li>
                </Show>
                <li><A href=Page::Account.path()>"Account"</A></li>
                <Show when=move || auth.owns_identities()>
                    <li class="nav-danger"><A href=Page::BreakGlass.path()>"Break-glass"</A></li>
                </Show>
            </ul>
        </nav>
    }
}
