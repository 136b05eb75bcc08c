//! Pages (and a part of one) whose code is a file of its own, fetched the first time one is
//! opened, so the first load carries what a request link needs, not the whole portal.
//!
//! `split_page!` marks a split point (`wasm_split`, which Leptos re-exports); the build
//! (`cargo xtask portal`) cuts the wasm at those points. `lazy_page` (and `lazy_part`) shows
//! a skeleton while the code arrives, and, if it cannot be fetched, says so with a way to try
//! again: a failed fetch is not cached, so Retry fetches anew.

use leptos::prelude::*;
use leptos::wasm_split::SplitLoaderError;
use std::future::Future;

/// A page's code could not be fetched: offline, or a newer build replaced it.
pub struct CodeMissing;

impl From<SplitLoaderError> for CodeMissing {
    fn from(_: SplitLoaderError) -> Self {
        CodeMissing
    }
}

/// `split_page!(chunk, fn_name, Component)` declares `async fn fn_name()`, which loads the
/// file `chunk` (once) and renders `<Component/>` from it.
macro_rules! split_page {
    ($chunk:ident, $name:ident, $page:path) => {
        #[::leptos::wasm_split::wasm_split($chunk, wasm_split_path = ::leptos::wasm_split, fallible)]
        pub fn $name() -> Result<::leptos::prelude::AnyView, $crate::lazy_pages::CodeMissing> {
            use ::leptos::prelude::*;
            Ok(view! { <$page/> }.into_any())
        }
    };
}

/// The page `load` renders, once its code is here.
pub fn lazy_page<F>(load: fn() -> F) -> impl IntoView
where
    F: Future<Output = Result<AnyView, CodeMissing>> + 'static,
{
    lazy(load, Shape::Page)
}

/// A part of a page that `load` renders, once its code is here: for what a page shows only
/// sometimes (a request's grant), so the page itself needs no more than the main part.
pub fn lazy_part<F>(load: impl Fn() -> F + 'static) -> impl IntoView
where
    F: Future<Output = Result<AnyView, CodeMissing>> + 'static,
{
    lazy(load, Shape::Part)
}

/// What stands in for the code while it arrives, or when it cannot.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Page,
    Part,
}

fn lazy<F>(load: impl Fn() -> F + 'static, shape: Shape) -> impl IntoView
where
    F: Future<Output = Result<AnyView, CodeMissing>> + 'static,
{
    let attempt = RwSignal::new(0u32);
    let load = send_wrapper::SendWrapper::new(load);
    move || {
        attempt.track();
        let code = send_wrapper::SendWrapper::new(load());
        let arrived = RwSignal::new(false);
        // A skeleton of our own until the code is here, not a `<Suspense>`: a Suspense would
        // also hold the whole page back until every read the page makes has answered, where a
        // page in the main part draws its heading at once and each list its own loading state
        // (and a page left before its reads answered could not give them up).
        view! {
            <Show when=move || !arrived.get()>
                <crate::components::states::Skeleton rows=if shape == Shape::Page { 6 } else { 3 }/>
            </Show>
            {Suspend::new(async move {
                let drawn = match code.await {
                    Ok(drawn) => drawn,
                    Err(CodeMissing) => view! { <CodeMissingState attempt shape/> }.into_any(),
                };
                arrived.set(true);
                drawn
            })}
        }
    }
}

#[component]
fn CodeMissingState(attempt: RwSignal<u32>, shape: Shape) -> impl IntoView {
    let what = if shape == Shape::Page {
        "This page"
    } else {
        "This part of the page"
    };
    view! {
        <section class=(shape == Shape::Page).then_some("page narrow")>
            <div class="error-state" role="alert" data-testid="page-code-missing">
                <p>
                    {what}
                    " could not be loaded. Check the connection and retry; if Stint was updated \
                     since this tab opened, reload the tab instead."
                </p>
                <button class="button" on:click=move |_| attempt.update(|n| *n += 1)>"Retry"</button>
            </div>
        </section>
    }
}

// A request link, which an approver opens from a chat message on a phone, needs only the
// main part: the shell, sign-in and a request's page. Every other page is in one of five
// files, each with the pages that share most of their code, fetched when one of its pages is
// first opened — opened by its link, beside the main part (index.html preloads it), not
// after it. (BENCHMARKS.md has the bytes of each way of cutting that was tried.)

// The pages a signed-in visit lands on: the dashboard, one's requests, the approvals queue.
split_page!(daily, dashboard, crate::pages::dashboard::Dashboard);
split_page!(daily, requests, crate::pages::requests::Requests);
split_page!(daily, approvals, crate::pages::approvals::Approvals);

// Asking for access: the request form, and break-glass.
split_page!(asking, new_request, crate::pages::new_request::NewRequest);
split_page!(asking, break_glass, crate::pages::break_glass::BreakGlass);

// Identities and what they hold: ownership, tokens, standing secrets, one's own account.
split_page!(identities, identities, crate::pages::identities::Identities);
split_page!(
    identities,
    identity_detail,
    crate::pages::identity_detail::IdentityDetailPage
);
split_page!(identities, secrets, crate::pages::secrets::Secrets);
split_page!(identities, account, crate::pages::account::Account);

// Oversight: the trail, the evidence report, live access, reviews and campaigns.
split_page!(oversight, audit, crate::pages::audit::Audit);
split_page!(oversight, evidence, crate::pages::evidence::Evidence);
split_page!(
    oversight,
    live_access,
    crate::pages::live_access::LiveAccess
);
split_page!(oversight, reviews, crate::pages::reviews::Reviews);
split_page!(
    oversight,
    review_detail,
    crate::pages::review_detail::ReviewDetailPage
);
split_page!(oversight, campaigns, crate::pages::campaigns::Campaigns);
split_page!(
    oversight,
    campaign_detail,
    crate::pages::campaign_detail::CampaignDetailPage
);

// Grants, wherever a page shows them (a request's, the dashboard's, an identity's): an
// approver deciding a request sees none, so a request link needs none of their code, nor do
// the lists of requests and approvals.
#[leptos::wasm_split::wasm_split(grant, wasm_split_path = ::leptos::wasm_split, fallible)]
pub fn grant_card(
    grant: stint_core::api::GrantView,
    on_change: Callback<()>,
) -> Result<AnyView, CodeMissing> {
    use crate::components::grant_card::GrantCard;
    Ok(view! { <GrantCard grant on_change/> }.into_any())
}

#[leptos::wasm_split::wasm_split(grant, wasm_split_path = ::leptos::wasm_split, fallible)]
pub fn grant_cards(
    grants: Vec<stint_core::api::GrantView>,
    on_change: Callback<()>,
) -> Result<AnyView, CodeMissing> {
    use crate::components::grant_card::GrantCardList;
    Ok(view! { <GrantCardList grants on_change/> }.into_any())
}

// Administration.
split_page!(
    admin,
    admin_resources,
    crate::pages::admin_resources::AdminResources
);
split_page!(admin, admin_users, crate::pages::admin_users::AdminUsers);
split_page!(
    admin,
    admin_federation,
    crate::pages::admin_federation::AdminFederation
);
split_page!(
    admin,
    notifications,
    crate::pages::notifications::Notifications
);
split_page!(admin, proposals, crate::pages::proposals::Proposals);

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    /// index.html's table of the addresses whose split files it preloads: `group: /regex/,`.
    fn preloaded_groups() -> Vec<(String, regex_lite::Regex)> {
        let index = include_str!("../index.html");
        let table = &index[index.find("var pages = {").expect("index.html's table")..];
        let table = &table[..table.find("};").expect("the table's end")];
        table
            .lines()
            .skip(1)
            .filter_map(|line| {
                let (group, pattern) = line.trim().split_once(": /")?;
                let pattern = pattern.trim_end_matches(',').strip_suffix('/')?;
                Some((group.to_string(), regex_lite::Regex::new(pattern).unwrap()))
            })
            .collect()
    }

    /// Each split page's function and its group, as `split_page!` declares them above.
    fn split_groups() -> HashMap<String, String> {
        include_str!("lazy_pages.rs")
            .split("split_page!(")
            .filter_map(|rest| {
                let args: String = rest[..rest.find(')')?]
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                let [group, name, page] = args.split(',').collect::<Vec<_>>()[..] else {
                    return None;
                };
                page.starts_with("crate::pages::")
                    .then(|| (name.to_string(), group.to_string()))
            })
            .collect()
    }

    /// The router's table (`app.rs`): each address, a sample of it (`:id` → 7), and the
    /// split page's function it shows, if it is one.
    fn routes() -> Vec<(String, Option<String>)> {
        include_str!("app.rs")
            .lines()
            .filter_map(|line| {
                let rest = &line[line.find("path!(\"")? + "path!(\"".len()..];
                let sample = rest[..rest.find('"')?].replace(":id", "7");
                let page = line.find("lazy_pages::").map(|at| {
                    let rest = &line[at + "lazy_pages::".len()..];
                    rest[..rest.find(')').unwrap()].to_string()
                });
                Some((sample, page))
            })
            .collect()
    }

    /// The parts of pages whose code a page's link fetches with the page's own: the grants,
    /// on the pages that list them. Not on a request's page, which shows a grant only once
    /// approved: an approver's link must not wait for it.
    const PARTS_PRELOADED: [(&str, &[&str]); 1] = [("grant", &["dashboard", "identity_detail"])];

    #[test]
    fn index_html_preloads_the_files_of_each_addresss_own_group() {
        let table = preloaded_groups();
        let groups = split_groups();
        let routes = routes();
        assert!(table.len() >= 6 && groups.len() >= 20 && routes.len() >= 20);
        for (address, page) in routes {
            let mut preloaded: Vec<&str> = table
                .iter()
                .filter(|(_, pattern)| pattern.is_match(&address))
                .map(|(group, _)| group.as_str())
                .collect();
            let mut expected: Vec<&str> = page.iter().map(|page| groups[page].as_str()).collect();
            for (part, pages) in PARTS_PRELOADED {
                if page.as_deref().is_some_and(|page| pages.contains(&page)) {
                    expected.push(part);
                }
            }
            preloaded.sort();
            expected.sort();
            assert_eq!(
                preloaded, expected,
                "what index.html preloads for {address}"
            );
        }
    }
}
