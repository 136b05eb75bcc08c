//! The API described from its handlers: `GET /api/v1/openapi.json` (OpenAPI 3.1) and its
//! rendered reference at `GET /api/v1/docs`. Each handler carries its `#[utoipa::path]`
//! beside its code and is routed through `utoipa_axum::routes!`, so a route cannot exist
//! without its description, nor a description without its route.

mod reference;

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse};
use serde::Deserialize;
use serde_json::Value;
use std::sync::LazyLock;
use stint_core::api::{ErrorBody, ErrorDetail};
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{IntoParams, Modify, PartialSchema};

/// The schemes callers authenticate with, named in each operation's `security`.
const SESSION: &str = "session";
const IDENTITY_TOKEN: &str = "identity_token";
const INTROSPECTION_CLIENT: &str = "introspection_client";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Stint broker API",
        description = "Just-in-time, task-justified, time-boxed access for non-human identities. \
            People call it with the session cookie `POST /api/v1/session` sets, and send the \
            `x-stint-csrf` header (any value) on every call that changes something; identities \
            call it with a Bearer token. A refusal is a 4xx whose body says why \
            (`error.message`) and names the input at fault (`error.field`) when one is, and \
            changes nothing; token exchange refuses as RFC 6749 says.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    modifiers(&Schemes),
    security(("session" = [])),
    tags(
        (name = "session", description = "Signing in and out; who the caller is"),
        (name = "catalog", description = "Identities, their owners and tokens; resources"),
        (name = "requests", description = "Asking for access for a task, and deciding"),
        (name = "grants", description = "Access granted for a bounded time, and its credentials"),
        (name = "break-glass", description = "Access taken at once, reviewed afterwards"),
        (name = "admin", description = "People, identities and resources; four eyes"),
        (name = "audit", description = "The hash-chained trail, its checkpoints and exports"),
        (name = "oversight", description = "Reviews of access, live access, evidence"),
        (name = "standing", description = "Standing secrets that bypass the JIT path"),
        (name = "notifications", description = "Where events are sent, and who hears what"),
        (name = "machines", description = "Calls made by downstream services and workloads"),
        (name = "reference", description = "This description, as data and as a page"),
    ),
)]
pub struct ApiDoc;

/// The security schemes, which the derive cannot name for a cookie.
struct Schemes;

impl Modify for Schemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                super::SESSION_COOKIE,
                "The session `POST /api/v1/session` sets (HttpOnly, SameSite=Strict). Calls that \
                 change something also send the `x-stint-csrf` header.",
            ))),
        );
        components.add_security_scheme(
            IDENTITY_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An identity's token, minted by an owner or an admin \
                         (`POST /api/v1/identities/{id}/tokens`), or exchanged for a \
                         workload's token (`POST /api/v1/token`)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            INTROSPECTION_CLIENT,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "A resource's introspection client credentials \
                         (`POST /api/v1/resources/{id}/introspection-credentials`); the \
                         secret alone as a Bearer token is taken too",
                    ))
                    .build(),
            ),
        );
    }
}

/// The API's description: what the router was built from, with the shared parts, and the
/// refusal every operation may answer with.
pub fn document(routes: OpenApi) -> OpenApi {
    let mut doc = <ApiDoc as utoipa::OpenApi>::openapi();
    doc.merge(routes);
    let refused = ResponseBuilder::new()
        .description(
            "Refused: `error.code` says how, `error.field` names the input at fault; nothing \
             changed",
        )
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components
        .schemas
        .insert("ErrorBody".to_string(), ErrorBody::schema());
    components
        .schemas
        .insert("ErrorDetail".to_string(), ErrorDetail::schema());
    for item in doc.paths.paths.values_mut() {
        for operation in operations(item) {
            let responses = &mut operation.responses.responses;
            if !responses.keys().any(|status| status.starts_with('4')) {
                responses.insert("default".to_string(), RefOr::T(refused.clone()));
            }
        }
    }
    doc
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The description as JSON, as it is served and committed.
pub fn to_json(doc: &OpenApi) -> String {
    let mut value = serde_json::to_value(doc).expect("the API description is JSON");
    camel_case_links(&mut value);
    serde_json::to_string_pretty(&value).expect("JSON is JSON")
}

/// utoipa 5 writes a link's fields in snake case (`operation_id`); OpenAPI names them in
/// camel case, which is what tools following links (schemathesis' stateful phase) read.
fn camel_case_links(spec: &mut Value) {
    let responses = spec["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation.get_mut("responses"))
        .filter_map(Value::as_object_mut)
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let links = response
            .get_mut("links")
            .and_then(Value::as_object_mut)
            .into_iter()
            .flat_map(|links| links.values_mut())
            .filter_map(Value::as_object_mut);
        for link in links {
            for (from, to) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(field) = link.remove(from) {
                    link.insert(to.to_string(), field);
                }
            }
        }
    }
}

/// The description as served, built once.
static SPEC: LazyLock<String> = LazyLock::new(super::api_description_json);

/// `GET /api/v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi_spec",
    tag = "reference",
    security(()),
    responses((status = 200, description = "This description (OpenAPI 3.1)", body = Object)),
)]
pub async fn spec() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], SPEC.as_str())
}

/// `GET /api/v1/docs`: the description as a page to read, rendered here (no script, so the
/// broker's strict policy holds).
#[utoipa::path(
    get,
    path = "/docs",
    operation_id = "openapi_reference",
    tag = "reference",
    security(()),
    responses(
        (
            status = 200,
            description = "The API reference, as a page",
            content_type = "text/html",
            body = String,
        ),
    ),
)]
pub async fn reference() -> impl IntoResponse {
    static PAGE: LazyLock<(HeaderValue, String)> = LazyLock::new(|| {
        let spec: Value = serde_json::from_str(&SPEC).expect("the API description is JSON");
        (
            crate::report::html::inline_style_policy(reference::STYLE),
            reference::page(&spec).into_string(),
        )
    });
    let (policy, page) = &*PAGE;
    (
        [(header::CONTENT_SECURITY_POLICY, policy.clone())],
        Html(page.as_str()),
    )
}

/// One server-sent event of `GET /events`, as the event stream's fields.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct LiveEvent {
    /// What happened, as the audit trail names it (`request.approved`, `grant.revoked`, …),
    /// or the feed's own: `ready` (caught up), `resync` (read the lists again: too much was
    /// missed), `signed_out` (the session ended; the stream closes).
    event: Option<String>,
    /// The audit sequence number: resume after it with `Last-Event-ID` or `?after=`.
    id: Option<String>,
    /// The change as JSON (`{}` for the feed's own events).
    data: Option<String>,
    /// How long to wait before reconnecting, in milliseconds.
    retry: Option<u64>,
}

// The query parameters of the list calls. They describe what `http::query` reads from the
// query string (which refuses a bad value naming its parameter); the API tests and the
// schemathesis run call every one of them.

/// The search shared by requests, grants and reviews.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SearchParams {
    /// Up to 8 words, each of which must appear (any case) in the task or the ticket.
    q: Option<String>,
    /// The ticket, exactly.
    ticket: Option<String>,
    identity_id: Option<i64>,
    resource_id: Option<i64>,
    /// Who asked (for grants: who holds them; for reviews: who took the access).
    requester_id: Option<i64>,
    /// Asked for at or after (RFC 3339).
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// Asked for before (RFC 3339).
    until: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct RequestListParams {
    /// `pending`, `approved`, `denied`, `cancelled` or `expired`.
    state: Option<String>,
    /// Only the caller's own requests.
    mine: Option<bool>,
    /// Only requests the caller may approve now.
    awaiting_me: Option<bool>,
    /// The page after this request id (`next_cursor` of the page before).
    cursor: Option<i64>,
    /// At most this many (1–200, 50 when absent).
    limit: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct GrantListParams {
    /// `scheduled`, `active`, `expired` or `revoked`.
    state: Option<String>,
    /// Where the grant's account downstream stands: `provisioning`, `ready`, `revoking`,
    /// `revoked` or `failing`.
    access: Option<String>,
    /// Only grants the caller holds.
    mine: Option<bool>,
    /// `<end in ms>.<id>`: the `stint-next-cursor` header of the page before.
    cursor: Option<String>,
    /// At most this many (1–500, 200 when absent).
    limit: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct LiveAccessParams {
    resource_id: Option<i64>,
    identity_id: Option<i64>,
    /// `standard` or `break_glass`.
    kind: Option<String>,
    privilege: Option<String>,
    holder_id: Option<i64>,
    /// Only grants that end within this many seconds.
    ends_within_secs: Option<i64>,
    /// List at most this many (1–1,000); the counts cover every match.
    limit: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ReviewListParams {
    /// `open`, `overdue` or `decided`.
    state: Option<String>,
    /// `justified` or `unjustified`.
    outcome: Option<String>,
    /// At most this many (1–1,000, 200 when absent).
    limit: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AuditFilterParams {
    /// The actor's name.
    actor: Option<String>,
    /// The action, e.g. `request.approved`.
    action: Option<String>,
    request_id: Option<i64>,
    grant_id: Option<i64>,
    /// The identity's name.
    identity: Option<String>,
    /// The resource's name.
    resource: Option<String>,
    /// Text anywhere in the event.
    q: Option<String>,
    /// At or after (RFC 3339).
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// Before (RFC 3339).
    until: Option<chrono::DateTime<chrono::Utc>>,
}

/// A page of the trail: `GET /audit` only (an export streams every match).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AuditPageParams {
    /// The page before this sequence number (`next_cursor` of the page before).
    cursor: Option<i64>,
    /// The events after this sequence number, oldest first.
    after_seq: Option<i64>,
    /// At most this many (1–1,000, 100 when absent).
    limit: Option<u32>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ExportParams {
    /// `ndjson` (the default) or `csv`.
    format: Option<String>,
    /// The IANA time zone the times are written in (UTC when absent).
    tz: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct EvidenceParams {
    /// `json` (the default) or `html`.
    format: Option<String>,
    /// The IANA time zone of the report's times.
    tz: Option<String>,
    /// The period's start (RFC 3339).
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// The period's end (RFC 3339).
    until: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct StandingListParams {
    /// `unmapped`, `mapped`, `false_positive`, `rotated` or `leaked_stint_credential`.
    status: Option<String>,
    identity_id: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ImportParams {
    /// What was scanned (a repository, a CI system).
    source: String,
    /// `detect-secrets`, `gitleaks` or `trufflehog`; told from the report when absent.
    format: Option<String>,
    /// The report covers part of the source: findings it does not list stay as they are.
    partial: Option<bool>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ProposalListParams {
    /// `pending`, `approved`, `rejected`, `withdrawn` or `all` (the default).
    state: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct EventsParams {
    /// Resume after this sequence number (`Last-Event-ID` wins when both are sent).
    after: Option<i64>,
}
