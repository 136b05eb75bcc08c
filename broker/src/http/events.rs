//! `GET /api/v1/events`: the live feed as Server-Sent Events, for a signed-in person (the
//! session cookie) or an identity (its Bearer token). Each reader is told of the changes
//! it may see (`stint_core::live::LiveScope`), in the trail's order, each with its
//! sequence number as the event's id; `Last-Event-ID` (or `?after=`, for a client that
//! cannot set headers) resumes after the last one it saw, without loss or repeat.

use super::AppState;
use super::error::AppError;
use super::extract::{CurrentCaller, bearer_token, session_cookie};
use super::openapi::{EventsParams, LiveEvent};
use super::query;
use crate::credential::token_hash;
use crate::live::{LiveItem, READ_BATCH};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::time::Duration;
use stint_core::api::UserView;
use stint_core::live::{RESYNC, SIGNED_OUT};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

/// A comment this often keeps proxies from closing a quiet stream, and finds a reader
/// that has gone.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// How often the reader's session or token is checked again (without touching the
/// session, whose idle timeout watching does not reset): signed out, disabled, a role
/// taken away all reach an open stream this soon.
const RECHECK: Duration = Duration::from_secs(30);

/// How many changes a reader that resumes is caught up with from the trail; one further
/// behind is told to reread what it shows (`resync`).
const MAX_CATCH_UP: u32 = 10 * READ_BATCH;

/// Where a browser's own reconnection waits before trying (the portal reconnects itself,
/// with backoff; other clients get this).
const RETRY: Duration = Duration::from_secs(2);

/// The first message: where the reader stands, so reconnecting after it resumes there.
const READY: &str = "ready";

/// What let the reader in, kept to check again.
enum Credential {
    /// The session cookie's hash.
    Session(String),
    Bearer(String),
}

/// The live feed: the changes the caller may see, as server-sent events, as they commit.
#[utoipa::path(
    get,
    path = "/events",
    operation_id = "events_stream",
    tag = "session",
    security(("session" = []), ("identity_token" = [])),
    params(
        EventsParams,
        ("last-event-id" = Option<i64>, Header, description = "Resume after this sequence number"),
    ),
    responses(
        (
            status = 200,
            description = "Server-sent events: the changes the caller may see, as they commit",
            content_type = "text/event-stream",
            body = LiveEvent,
        ),
    ),
)]
pub async fn stream(
    State(state): State<AppState>,
    CurrentCaller(viewer): CurrentCaller,
    headers: HeaderMap,
    Query(params): Query<query::Params>,
) -> Result<Response, AppError> {
    let resume = resume_after(&headers, &params)?;
    let credential = match bearer_token(&headers) {
        Some(token) => Credential::Bearer(token.to_string()),
        None => Credential::Session(token_hash(
            &session_cookie(&headers).ok_or(AppError::Unauthenticated)?,
        )),
    };
    let (out, body) = mpsc::channel(16);
    let reader = Reader {
        closed: state.live.closed(),
        state,
        viewer,
        credential,
        out,
    };
    tokio::spawn(reader.run(resume));
    let sse = Sse::new(ReceiverStream::new(body).map(Ok::<_, Infallible>));
    // Proxies that buffer responses (nginx) would hold the events back.
    Ok(([("x-accel-buffering", "no")], sse).into_response())
}

/// The sequence number to resume after: `Last-Event-ID`, else `?after=`.
fn resume_after(headers: &HeaderMap, params: &query::Params) -> Result<Option<i64>, AppError> {
    let (field, raw) = match headers.get("last-event-id") {
        Some(value) => ("Last-Event-ID", value.to_str().unwrap_or("?").to_string()),
        None => match params.get("after") {
            Some(value) => ("after", value.clone()),
            None => return Ok(None),
        },
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<i64>()
        .ok()
        .filter(|seq| *seq >= 0)
        .map(Some)
        .ok_or_else(|| {
            AppError::bad_input(
                field,
                format!("`{raw}` is not an event id (a sequence number)"),
            )
        })
}

/// One connected reader: what it may hear of, sent until it leaves, is signed out, or the
/// broker shuts down.
struct Reader {
    state: AppState,
    viewer: UserView,
    credential: Credential,
    out: mpsc::Sender<Event>,
    /// True once the broker shuts down (perhaps before this reader began).
    closed: watch::Receiver<bool>,
}

impl Reader {
    async fn run(mut self, resume: Option<i64>) {
        let hub = self.state.live.clone();
        let (mut changes, cursor) = hub.subscribe();
        if !self.send(Event::default().retry(RETRY)).await {
            return;
        }
        // Everything up to `sent` has been told (or was not this reader's to hear).
        let mut sent = cursor;
        if let Some(last) = resume.filter(|last| *last > cursor)
            && self.is_beyond_the_trail(last).await
        {
            // An id this trail never reached (a database restored from a backup): what the
            // reader holds may be gone, so it rereads rather than wait for ids that will
            // mean other changes.
            let resync = Event::default()
                .event(RESYNC)
                .id(cursor.to_string())
                .data("{}");
            if !self.send(resync).await {
                return;
            }
        } else if let Some(last) = resume {
            match self.catch_up(last, cursor).await {
                Some(read_to) => sent = read_to.max(last),
                None => return,
            }
        }
        let ready = Event::default()
            .event(READY)
            .id(sent.to_string())
            .data("{}");
        if !self.send(ready).await {
            return;
        }
        let mut keepalive = tokio::time::interval(KEEPALIVE);
        let mut recheck = tokio::time::interval(RECHECK);
        keepalive.reset();
        recheck.reset();
        loop {
            tokio::select! {
                received = changes.recv() => match received {
                    Ok(item) if item.event.seq <= sent => {}
                    Ok(item) => {
                        sent = item.event.seq;
                        if self.may_hear(&item) && !self.send(told(&item)).await {
                            return;
                        }
                    }
                    // Too slow for the channel: the rest comes from the trail.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        match self.catch_up(sent, hub.cursor()).await {
                            Some(read_to) => sent = sent.max(read_to),
                            None => return,
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = keepalive.tick() => {
                    if !self.send(Event::default().comment("")).await {
                        return;
                    }
                }
                _ = recheck.tick() => match self.still_let_in().await {
                    Some(viewer) => self.viewer = viewer,
                    None => {
                        let _ = self.send(Event::default().event(SIGNED_OUT).data("{}")).await;
                        return;
                    }
                },
                _ = shut_down(self.closed.clone()) => return,
            }
        }
    }

    /// Whether `seq` is past the trail's head (an error reads as not: the reader resumes).
    async fn is_beyond_the_trail(&self, seq: i64) -> bool {
        matches!(self.state.store.audit_head().await, Ok((head, _)) if seq > head)
    }

    fn may_hear(&self, item: &LiveItem) -> bool {
        item.scope.admits(&self.viewer)
    }

    /// Tells what the reader may hear of after `after`, from the trail, at least up to
    /// `to`; the sequence number read to. Further behind than `MAX_CATCH_UP`, the reader
    /// is told to reread instead. `None`: the reader left.
    async fn catch_up(&self, after: i64, to: i64) -> Option<i64> {
        let store = &self.state.store;
        let mut read_to = after;
        let mut read = 0;
        while read_to < to {
            if read >= MAX_CATCH_UP {
                let resync = Event::default().event(RESYNC).id(to.to_string()).data("{}");
                return self.send(resync).await.then_some(to);
            }
            let now = self.state.clock.now();
            let batch = match store.live_events(read_to, READ_BATCH, now).await {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(error = %e, "catching a live reader up failed");
                    let resync = Event::default().event(RESYNC).id(to.to_string()).data("{}");
                    return self.send(resync).await.then_some(to);
                }
            };
            for (event, scope) in batch.events {
                let item = LiveItem::new(event, scope);
                if self.may_hear(&item) && !self.send(told(&item)).await {
                    return None;
                }
            }
            read += READ_BATCH;
            if batch.read_to <= read_to {
                break;
            }
            read_to = batch.read_to;
        }
        Some(read_to)
    }

    /// The viewer as they are now, if their session or token still lets them in.
    async fn still_let_in(&self) -> Option<UserView> {
        let state = &self.state;
        let now = state.clock.now();
        let found = match &self.credential {
            Credential::Session(hash) => state
                .store
                .session_user_untouched(hash, now, state.config.session_limits)
                .await
                .map(|session| session.map(|s| s.user)),
            Credential::Bearer(token) => state.store.token_caller(token, now).await,
        };
        match found {
            Ok(viewer) => viewer,
            // The database did not answer: that is not a sign-out; look again later.
            Err(e) => {
                tracing::warn!(error = %e, "could not check a live reader's access again");
                Some(self.viewer.clone())
            }
        }
    }

    /// Whether the reader is still there to be sent to: a reader that stops reading holds
    /// this up only until the broker shuts down.
    async fn send(&self, event: Event) -> bool {
        tokio::select! {
            sent = self.out.send(event) => sent.is_ok(),
            _ = shut_down(self.closed.clone()) => false,
        }
    }
}

/// Resolves once the broker shuts down, at once if it already has (a `changed()` would
/// wait for ever on a receiver made after the close).
async fn shut_down(mut closed: watch::Receiver<bool>) {
    let _ = closed.wait_for(|closed| *closed).await;
}

fn told(item: &LiveItem) -> Event {
    Event::default()
        .event(&item.event.kind)
        .id(item.event.seq.to_string())
        .data(&item.data)
}
