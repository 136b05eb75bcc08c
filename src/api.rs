//! The one typed client of the broker API. Every call is same-origin, so the session cookie
//! travels with it; every state-changing call carries the CSRF header the broker demands.

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cell::{Cell, RefCell};
use stint_core::api::*;
use stint_core::four_eyes::{ProposalState, ProposalView, RejectBody};
use stint_core::oidc::{SignInOptions, SignedOut};
use stint_core::query::{AuditQuery, GrantQuery, RequestQuery, ReviewQuery};
use stint_core::standing::*;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// The broker answered with an error body.
    #[error("{message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
        field: Option<String>,
    },
    #[error("The broker could not be reached ({0}). Check your connection and retry.")]
    Network(String),
}

impl ApiError {
    /// The input field the broker blamed, e.g. `duration_secs`.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::Rejected { field, .. } => field.as_deref(),
            ApiError::Network(_) => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Rejected { status, .. } => Some(*status),
            ApiError::Network(_) => None,
        }
    }
}

/// A query refused before it was sent (a bad value in a link): the same refusal, naming
/// the same parameter, as the broker would have given.
impl From<stint_core::RuleError> for ApiError {
    fn from(e: stint_core::RuleError) -> ApiError {
        let field = match &e {
            stint_core::RuleError::Invalid { field, .. } => Some(field.to_string()),
            _ => None,
        };
        ApiError::Rejected {
            status: 400,
            code: "bad_input".into(),
            message: e.to_string(),
            field,
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

thread_local! {
    static ON_UNAUTHENTICATED: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
    static ON_REACHABLE: RefCell<Option<ReachableHook>> = const { RefCell::new(None) };
    static OLDEST_POSITION: Cell<Option<i64>> = const { Cell::new(None) };
    static ON_POSITION: RefCell<Option<PositionHook>> = const { RefCell::new(None) };
}

/// The oldest live-feed position an answer was read at since `forget_positions` (the
/// broker's `x-stint-position`: every change up to it is in the answer).
pub fn oldest_position() -> Option<i64> {
    OLDEST_POSITION.get()
}

/// Starts over: what was read before (the sign-in page's reads) is not shown once signed in.
pub fn forget_positions() {
    OLDEST_POSITION.set(None);
}

/// What to do with the position of each answer that says one, as it arrives (the live feed
/// compares it with where it started).
pub fn on_position(f: impl Fn(i64) + 'static) {
    ON_POSITION.with(|cell| *cell.borrow_mut() = Some(Box::new(f)));
}

fn answered_at(response: &Response) {
    let at = response
        .headers()
        .get(POSITION_HEADER)
        .and_then(|v| v.parse::<i64>().ok());
    // An answer that does not say (a public call, or a broker from before the header)
    // counts as read at the very start: a feed opening later makes pages read again. It
    // asks nothing of a feed already open.
    let oldest = at.unwrap_or(i64::MIN);
    OLDEST_POSITION.set(Some(
        OLDEST_POSITION.get().map_or(oldest, |o| o.min(oldest)),
    ));
    let Some(at) = at else {
        return;
    };
    ON_POSITION.with(|cell| {
        if let Some(f) = cell.borrow().as_ref() {
            f(at)
        }
    });
}

/// Where the broker says the live feed stood when it began an answer.
const POSITION_HEADER: &str = "x-stint-position";

/// Told whether the broker answered (true) or could not be reached (false).
type ReachableHook = Box<dyn Fn(bool)>;

/// Told the live-feed position each answer was read at.
type PositionHook = Box<dyn Fn(i64)>;

/// What to do when the broker turns out reachable (an answer came) or not (none did).
pub fn on_reachable(f: impl Fn(bool) + 'static) {
    ON_REACHABLE.with(|cell| *cell.borrow_mut() = Some(Box::new(f)));
}

fn reachable(yes: bool) {
    ON_REACHABLE.with(|cell| {
        if let Some(f) = cell.borrow().as_ref() {
            f(yes)
        }
    });
}

/// What to do when the broker says the session has ended (the app signs the user out).
pub fn on_unauthenticated(f: impl Fn() + 'static) {
    ON_UNAUTHENTICATED.with(|cell| *cell.borrow_mut() = Some(Box::new(f)));
}

async fn read<T: DeserializeOwned>(response: Response) -> ApiResult<T> {
    reachable(true);
    let status = response.status();
    if response.ok() {
        answered_at(&response);
        return response
            .json::<T>()
            .await
            .map_err(|e| ApiError::Network(format!("unreadable answer: {e}")));
    }
    let error = match response.json::<ErrorBody>().await {
        Ok(body) => ApiError::Rejected {
            status,
            code: body.error.code,
            message: stint_core::format::sentence(&body.error.message),
            field: body.error.field,
        },
        Err(_) => ApiError::Rejected {
            status,
            code: "http".into(),
            message: format!("The broker answered {status} {}", response.status_text()),
            field: None,
        },
    };
    if status == 401 {
        ON_UNAUTHENTICATED.with(|cell| {
            if let Some(f) = cell.borrow().as_ref() {
                f()
            }
        });
    }
    Err(error)
}

fn network(e: gloo_net::Error) -> ApiError {
    // A read given up (its page was left) says nothing about the broker.
    let given_up = matches!(&e, gloo_net::Error::JsError(js) if js.name == "AbortError");
    if !given_up {
        reachable(false);
    }
    ApiError::Network(e.to_string())
}

/// Ties a read to what asked for it: when that goes (the page is left, or its resource
/// reads anew), the read is given up. On a phone's slow link the next page's reads then
/// do not wait behind the last page's. A resource's future runs under its reactive owner;
/// a change (an action) runs under none, so it is never given up half-way.
fn given_up_with_owner() -> Option<web_sys::AbortSignal> {
    // Outside any owner, nothing's end could give the read up.
    let _owner = leptos::prelude::Owner::current()?;
    let controller = web_sys::AbortController::new().ok()?;
    let signal = controller.signal();
    let controller = send_wrapper::SendWrapper::new(controller);
    leptos::prelude::on_cleanup(move || controller.abort());
    Some(signal)
}

fn mutation(builder: RequestBuilder) -> RequestBuilder {
    builder.header(CSRF_HEADER, "1")
}

pub async fn get<T: DeserializeOwned>(path: &str) -> ApiResult<T> {
    let given_up = given_up_with_owner();
    let request = Request::get(path).abort_signal(given_up.as_ref());
    read(request.send().await.map_err(network)?).await
}

async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> ApiResult<T> {
    let request = mutation(Request::post(path)).json(body).map_err(network)?;
    read(request.send().await.map_err(network)?).await
}

async fn put<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> ApiResult<T> {
    let request = mutation(Request::put(path)).json(body).map_err(network)?;
    read(request.send().await.map_err(network)?).await
}

/// What an admin's change answered: applied (the record as saved), or proposed (202) and
/// waiting for a second admin because it widens access.
#[derive(Debug, Clone, PartialEq)]
pub enum Saved<T> {
    Applied(T),
    Proposed(Box<ProposalView>),
}

async fn save<B: Serialize, T: DeserializeOwned>(
    builder: RequestBuilder,
    body: &B,
) -> ApiResult<Saved<T>> {
    let request = mutation(builder).json(body).map_err(network)?;
    let response = request.send().await.map_err(network)?;
    if response.status() == 202 {
        read(response).await.map(Saved::Proposed)
    } else {
        read(response).await.map(Saved::Applied)
    }
}

async fn post_empty<T: DeserializeOwned>(path: &str) -> ApiResult<T> {
    read(
        mutation(Request::post(path))
            .send()
            .await
            .map_err(network)?,
    )
    .await
}

pub async fn me() -> ApiResult<MeView> {
    get("/api/v1/me").await
}

pub async fn login(username: String, password: String) -> ApiResult<SessionView> {
    post("/api/v1/session", &LoginBody { username, password }).await
}

/// A call whose success has no body (204).
async fn no_content(request: gloo_net::http::Request) -> ApiResult<()> {
    let response = request.send().await.map_err(network)?;
    if response.ok() {
        reachable(true);
        Ok(())
    } else {
        read::<()>(response).await
    }
}

async fn delete(path: &str) -> ApiResult<()> {
    no_content(mutation(Request::delete(path)).build().map_err(network)?).await
}

/// Sets a new password, given the current one; the user's other sessions end.
pub async fn change_password(current_password: String, new_password: String) -> ApiResult<()> {
    let body = PasswordChangeBody {
        current_password,
        new_password,
    };
    no_content(
        mutation(Request::put("/api/v1/me/password"))
            .json(&body)
            .map_err(network)?,
    )
    .await
}

/// An admin sets a temporary password that its user must change at next sign-in.
pub async fn reset_password(user_id: i64, new_password: String) -> ApiResult<()> {
    let path = format!("/api/v1/users/{user_id}/password");
    let body = PasswordResetBody { new_password };
    no_content(
        mutation(Request::post(&path))
            .json(&body)
            .map_err(network)?,
    )
    .await
}

/// Signs out; where to sign out of the identity provider too, when the session came from
/// one that offers it.
pub async fn logout() -> ApiResult<Option<SignedOut>> {
    let response = mutation(Request::delete("/api/v1/session"))
        .send()
        .await
        .map_err(network)?;
    if response.status() == 204 {
        reachable(true);
        return Ok(None);
    }
    read(response).await.map(Some)
}

/// The identity providers the sign-in page offers, and whether passwords are.
pub async fn sign_in_options() -> ApiResult<SignInOptions> {
    get("/api/v1/oidc/providers").await
}

pub async fn identities() -> ApiResult<Vec<IdentityView>> {
    get("/api/v1/identities").await
}

pub async fn identity(id: i64) -> ApiResult<IdentityDetail> {
    get(&format!("/api/v1/identities/{id}")).await
}

pub async fn identity_tokens(id: i64) -> ApiResult<Vec<IdentityTokenView>> {
    get(&format!("/api/v1/identities/{id}/tokens")).await
}

pub async fn mint_identity_token(
    id: i64,
    body: NewIdentityTokenBody,
) -> ApiResult<IssuedIdentityToken> {
    post(&format!("/api/v1/identities/{id}/tokens"), &body).await
}

pub async fn revoke_identity_token(id: i64, token_id: i64) -> ApiResult<()> {
    delete(&format!("/api/v1/identities/{id}/tokens/{token_id}")).await
}

pub async fn identity_federation_rules(
    id: i64,
) -> ApiResult<Vec<stint_core::federation::IdentityRuleView>> {
    get(&format!("/api/v1/identities/{id}/federation-rules")).await
}

pub async fn notification_choices() -> ApiResult<Vec<stint_core::notify::NotificationChoice>> {
    get("/api/v1/me/notifications").await
}

pub async fn set_notification_choices(
    body: stint_core::notify::MutesBody,
) -> ApiResult<Vec<stint_core::notify::NotificationChoice>> {
    put("/api/v1/me/notifications", &body).await
}

pub async fn sinks() -> ApiResult<Vec<stint_core::notify::SinkView>> {
    get("/api/v1/notifications/sinks").await
}

pub async fn add_sink(
    body: stint_core::notify::NewSinkBody,
) -> ApiResult<stint_core::notify::SinkView> {
    post("/api/v1/notifications/sinks", &body).await
}

pub async fn remove_sink(id: i64) -> ApiResult<()> {
    delete(&format!("/api/v1/notifications/sinks/{id}")).await
}

pub async fn deliveries(sink_id: i64) -> ApiResult<Vec<stint_core::notify::DeliveryView>> {
    get(&format!("/api/v1/notifications/sinks/{sink_id}/deliveries")).await
}

pub async fn issuers() -> ApiResult<Vec<stint_core::federation::IssuerView>> {
    get("/api/v1/federation/issuers").await
}

pub async fn register_issuer(
    body: stint_core::federation::IssuerBody,
) -> ApiResult<stint_core::federation::IssuerView> {
    post("/api/v1/federation/issuers", &body).await
}

pub async fn declare(id: i64, body: DeclareBody) -> ApiResult<IdentityDetail> {
    post(&format!("/api/v1/identities/{id}/ownership"), &body).await
}

pub async fn step_down(id: i64, reason: String) -> ApiResult<IdentityDetail> {
    post(
        &format!("/api/v1/identities/{id}/ownership/step-down"),
        &StepDownBody { reason },
    )
    .await
}

/// An admin vouches for someone's takeover of an orphaned identity.
pub async fn confirm_takeover(id: i64, declaration: i64) -> ApiResult<IdentityDetail> {
    post_empty(&format!(
        "/api/v1/identities/{id}/ownership/{declaration}/confirm"
    ))
    .await
}

/// New introspection client credentials for a resource server, shown once.
pub async fn introspection_credentials(resource: i64) -> ApiResult<IntrospectionCredentialsView> {
    post_empty(&format!(
        "/api/v1/resources/{resource}/introspection-credentials"
    ))
    .await
}

/// The connectors the broker loaded (admins and auditors).
pub async fn connectors() -> ApiResult<Vec<stint_core::connectors::ConnectorView>> {
    get("/api/v1/connectors").await
}

pub async fn resources() -> ApiResult<Vec<ResourceView>> {
    get("/api/v1/resources").await
}

/// One resource; with its usage signals for those who see all access.
pub async fn resource(id: i64) -> ApiResult<ResourceView> {
    get(&format!("/api/v1/resources/{id}")).await
}

pub async fn requests(query: &RequestQuery) -> ApiResult<Page<RequestView>> {
    get(&format!("/api/v1/requests?{}", query.to_query())).await
}

pub async fn request(id: i64) -> ApiResult<RequestDetail> {
    get(&format!("/api/v1/requests/{id}")).await
}

pub async fn file_request(body: NewRequestBody) -> ApiResult<RequestDetail> {
    post("/api/v1/requests", &body).await
}

pub async fn approve(id: i64, body: ApproveBody) -> ApiResult<RequestDetail> {
    post(&format!("/api/v1/requests/{id}/approve"), &body).await
}

pub async fn deny(id: i64, comment: String) -> ApiResult<RequestDetail> {
    post(
        &format!("/api/v1/requests/{id}/deny"),
        &DenyBody { comment },
    )
    .await
}

pub async fn cancel(id: i64) -> ApiResult<RequestDetail> {
    post_empty(&format!("/api/v1/requests/{id}/cancel")).await
}

pub async fn grants(query: &GrantQuery) -> ApiResult<Vec<GrantView>> {
    get(&format!("/api/v1/grants?{}", query.to_query())).await
}

pub async fn credential(grant_id: i64) -> ApiResult<CredentialView> {
    post_empty(&format!("/api/v1/grants/{grant_id}/credential")).await
}

pub async fn revoke(grant_id: i64, reason: String) -> ApiResult<GrantView> {
    post(
        &format!("/api/v1/grants/{grant_id}/revoke"),
        &RevokeBody { reason },
    )
    .await
}

/// Every live grant `filter` matches (admins and auditors).
pub async fn live_access(
    filter: &stint_core::oversight::LiveAccessFilter,
) -> ApiResult<stint_core::oversight::LiveAccessView> {
    get(&format!(
        "/api/v1/grants/live?{}",
        live_access_query(filter)
    ))
    .await
}

/// A live-access filter as a query string: what the API takes and the page's URL keeps.
pub fn live_access_query(filter: &stint_core::oversight::LiveAccessFilter) -> String {
    let ids = [
        ("resource_id", filter.resource_id),
        ("identity_id", filter.identity_id),
        ("holder_id", filter.holder_id),
        ("ends_within_secs", filter.ends_within_secs),
    ];
    let mut query: Vec<String> = ids
        .into_iter()
        .filter_map(|(key, value)| value.map(|v| format!("{key}={v}")))
        .collect();
    if let Some(kind) = filter.kind {
        query.push(format!("kind={}", kind.as_str()));
    }
    if let Some(privilege) = &filter.privilege {
        query.push(format!("privilege={}", encode_query(privilege)));
    }
    query.join("&")
}

/// Ends the grants named, or all a filter matches, for one reason.
pub async fn bulk_revoke(
    body: stint_core::oversight::BulkRevokeBody,
) -> ApiResult<stint_core::oversight::BulkRevokeOutcome> {
    post("/api/v1/grants/revoke", &body).await
}

/// Asks for more time on a live grant: the extension request.
pub async fn extend(grant_id: i64, body: ExtendBody) -> ApiResult<RequestDetail> {
    post(&format!("/api/v1/grants/{grant_id}/extend"), &body).await
}

pub async fn break_glass(body: BreakGlassBody) -> ApiResult<RequestDetail> {
    post("/api/v1/break-glass", &body).await
}

pub async fn reviews(query: &ReviewQuery) -> ApiResult<Vec<ReviewView>> {
    get(&format!("/api/v1/reviews?{}", query.to_query())).await
}

pub async fn review(id: i64) -> ApiResult<ReviewDetail> {
    get(&format!("/api/v1/reviews/{id}")).await
}

pub async fn decide_review(id: i64, body: ReviewBody) -> ApiResult<ReviewDetail> {
    post(&format!("/api/v1/reviews/{id}"), &body).await
}

pub async fn audit(query: &AuditQuery) -> ApiResult<Page<AuditEventView>> {
    get(&format!("/api/v1/audit?{}", query.to_query())).await
}

pub async fn verify_audit() -> ApiResult<AuditVerification> {
    get("/api/v1/audit/verify").await
}

pub async fn users() -> ApiResult<Vec<UserAdminView>> {
    get("/api/v1/users").await
}

pub async fn create_user(body: NewUserBody) -> ApiResult<Saved<UserAdminView>> {
    save(Request::post("/api/v1/users"), &body).await
}

pub async fn update_user(id: i64, body: UserUpdateBody) -> ApiResult<Saved<UserAdminView>> {
    save(Request::put(&format!("/api/v1/users/{id}")), &body).await
}

/// The proposals in `state`; every one when `None`.
pub async fn proposals(state: Option<ProposalState>) -> ApiResult<Vec<ProposalView>> {
    let state = state.map_or("all", ProposalState::as_str);
    get(&format!("/api/v1/proposals?state={state}")).await
}

pub async fn approve_proposal(id: i64) -> ApiResult<ProposalView> {
    post_empty(&format!("/api/v1/proposals/{id}/approve")).await
}

/// Rejects another admin's proposal, or withdraws one's own.
pub async fn reject_proposal(id: i64, reason: String) -> ApiResult<ProposalView> {
    post(
        &format!("/api/v1/proposals/{id}/reject"),
        &RejectBody { reason },
    )
    .await
}

/// Creates the identity, or saves it when `id` is given.
pub async fn save_identity(id: Option<i64>, body: IdentityBody) -> ApiResult<IdentityView> {
    match id {
        Some(id) => put(&format!("/api/v1/identities/{id}"), &body).await,
        None => post("/api/v1/identities", &body).await,
    }
}

/// Creates the resource, or saves it and its policy when `id` is given.
pub async fn save_resource(id: Option<i64>, body: ResourceBody) -> ApiResult<Saved<ResourceView>> {
    match id {
        Some(id) => save(Request::put(&format!("/api/v1/resources/{id}")), &body).await,
        None => save(Request::post("/api/v1/resources"), &body).await,
    }
}

pub async fn standing() -> ApiResult<Vec<StandingView>> {
    get("/api/v1/standing").await
}

pub async fn record_standing(body: NewStandingBody) -> ApiResult<StandingView> {
    post("/api/v1/standing", &body).await
}

pub async fn triage_standing(id: i64, body: TriageBody) -> ApiResult<StandingView> {
    post(&format!("/api/v1/standing/{id}/triage"), &body).await
}

pub async fn campaigns() -> ApiResult<Vec<stint_core::campaigns::CampaignView>> {
    get("/api/v1/campaigns").await
}

pub async fn campaign(id: i64) -> ApiResult<stint_core::campaigns::CampaignDetail> {
    get(&format!("/api/v1/campaigns/{id}")).await
}

pub async fn start_campaign(
    body: stint_core::campaigns::NewCampaignBody,
) -> ApiResult<stint_core::campaigns::CampaignDetail> {
    post("/api/v1/campaigns", &body).await
}

pub async fn decide_campaign_item(
    campaign: i64,
    item: i64,
    body: stint_core::campaigns::DecisionBody,
) -> ApiResult<stint_core::campaigns::CampaignDetail> {
    post(
        &format!("/api/v1/campaigns/{campaign}/items/{item}/decide"),
        &body,
    )
    .await
}

pub async fn close_campaign(id: i64) -> ApiResult<stint_core::campaigns::CampaignDetail> {
    post(
        &format!("/api/v1/campaigns/{id}/close"),
        &serde_json::json!({}),
    )
    .await
}

/// `query` is the period (`since=…&until=…`), possibly empty.
pub async fn evidence(query: &str) -> ApiResult<stint_core::evidence::EvidenceReport> {
    get(&format!("/api/v1/reports/evidence?{query}")).await
}

/// A value percent-encoded for a URL's query.
pub fn encode_query(value: &str) -> String {
    js_sys::encode_uri_component(value).into()
}

pub async fn coverage() -> ApiResult<CoverageView> {
    get("/api/v1/standing/coverage").await
}

/// Sends a scanner's report as it is; `query` names its source (and format, if chosen).
pub async fn import_report(query: &str, report: String) -> ApiResult<ImportSummary> {
    let request = mutation(Request::post(&format!("/api/v1/standing/import?{query}")))
        .header("content-type", "application/json")
        .body(report)
        .map_err(network)?;
    read(request.send().await.map_err(network)?).await
}

pub async fn mapping_rules() -> ApiResult<Vec<MappingRuleView>> {
    get("/api/v1/standing/rules").await
}

pub async fn create_mapping_rule(body: MappingRuleBody) -> ApiResult<MappingRuleView> {
    post("/api/v1/standing/rules", &body).await
}

pub async fn retire_mapping_rule(id: i64) -> ApiResult<()> {
    delete(&format!("/api/v1/standing/rules/{id}")).await
}
