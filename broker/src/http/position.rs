//! `x-stint-position` on a signed-in person's answers: how far the live feed had got when
//! the call began. Everything up to that position was committed before the call read
//! anything, so its answer holds it; a page whose answers are all at or after the position
//! its live feed starts from has missed nothing and need not read again when the feed
//! opens (the portal's `components/live.rs`). Only calls a session let in carry it: the
//! trail's length is nobody else's business.

use crate::live::Hub;
use axum::extract::Request;
use axum::http::Extensions;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::{Arc, OnceLock};

const POSITION_HEADER: &str = "x-stint-position";

/// Where a call's position goes once the session extractor has let its caller in.
#[derive(Clone, Default)]
pub struct Position(Arc<OnceLock<i64>>);

impl Position {
    /// Where the feed stands now: taken before the call reads anything (its session
    /// included), kept by `note` once a session has let the caller in.
    pub fn now(hub: &Hub) -> i64 {
        hub.cursor()
    }

    /// Keeps `at` as the call's position, for its answer to say.
    pub fn note(extensions: &Extensions, at: i64) {
        if let Some(position) = extensions.get::<Position>() {
            let _ = position.0.set(at);
        }
    }
}

/// Sets `x-stint-position` on a successful answer to a call a session let in.
pub async fn stamp(mut req: Request, next: Next) -> Response {
    let position = Position::default();
    req.extensions_mut().insert(position.clone());
    let mut response = next.run(req).await;
    if let Some(at) = position.0.get()
        && response.status().is_success()
    {
        response
            .headers_mut()
            .insert(POSITION_HEADER, HeaderValue::from(*at));
    }
    response
}
