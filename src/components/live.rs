//! The live feed (`GET /api/v1/events`): one EventSource per signed-in tab. A page says
//! which changes concern it (`on_live`) and rereads when one arrives, instead of polling;
//! the broker decides who hears of what. When the feed drops, a banner says so and the
//! tab reconnects with backoff, resuming after the last change it heard, so nothing is
//! missed in between.

use crate::components::connection::Connection;
use crate::time::use_now;
use chrono::{DateTime, Duration, Utc};
use leptos::prelude::*;
use std::rc::Rc;
use stint_core::live::{LIVE_ACTIONS, LiveEvent, RESYNC, SIGNED_OUT};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{EventSource, MessageEvent};

/// How the feed stands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FeedState {
    Connecting,
    Open,
    /// Dropped; the next try is at this time.
    Retrying(DateTime<Utc>),
}

/// What a page is told: a change, or that it may have missed some and should reread.
type Listener = Rc<dyn Fn(Option<&LiveEvent>)>;

/// The open EventSource and the handlers it calls (dropped with it).
struct Open {
    source: EventSource,
    _handlers: Vec<Closure<dyn FnMut(MessageEvent)>>,
}

#[derive(Clone, Copy)]
pub struct Live {
    pub state: RwSignal<FeedState>,
    listeners: StoredValue<Vec<(u64, Listener)>, LocalStorage>,
    next_listener: StoredValue<u64>,
    open: StoredValue<Option<Open>, LocalStorage>,
    /// The last change heard: where a reconnection resumes.
    last_seq: StoredValue<Option<i64>>,
    /// Failed tries in a row, for the backoff.
    failures: StoredValue<u32>,
    /// Asks the broker who is signed in (`None` once the feed is closed for good): after
    /// the broker said the session ended, and whenever the feed drops, so the portal
    /// tells a broker it cannot reach (the offline banner) from a session that ended
    /// (the sign-in page).
    check_session: StoredValue<Option<Rc<dyn Fn()>>, LocalStorage>,
    /// The next try, cancelled when the feed closes.
    retry: StoredValue<Option<TimeoutHandle>>,
    /// The position the feed started after when it first opened: an answer read before it
    /// may lack a change the feed will not tell of.
    start: StoredValue<Option<i64>>,
    connection: Connection,
}

/// The longest wait between tries.
const MAX_BACKOFF_SECS: f64 = 30.0;

impl Live {
    /// Connects for the signed-in viewer; the feed closes when the calling component
    /// (the signed-in layout) goes. `check_session` asks the broker who is signed in.
    pub fn connect(check_session: impl Fn() + 'static) -> Live {
        let live = Live {
            state: RwSignal::new(FeedState::Connecting),
            listeners: StoredValue::new_local(Vec::new()),
            next_listener: StoredValue::new(0),
            open: StoredValue::new_local(None),
            last_seq: StoredValue::new(None),
            failures: StoredValue::new(0),
            check_session: StoredValue::new_local(Some(Rc::new(check_session))),
            retry: StoredValue::new(None),
            start: StoredValue::new(None),
            connection: expect_context::<Connection>(),
        };
        provide_context(live);
        crate::api::on_position(move |at| live.answered_at(at));
        live.open_now();
        // A page left for another is often kept whole for Back (the back/forward cache),
        // feed and all: its connection stays open, and a browser gives one site only six.
        // A few pages left that way and the next one waits for a connection before it can
        // load anything. So the feed closes when its page is hidden, and when the page is
        // shown again from that cache it reopens, resuming after the last change heard.
        let hidden = window_event_listener(leptos::ev::pagehide, move |_| live.pause());
        let shown = window_event_listener(leptos::ev::pageshow, move |shown| {
            if shown.persisted() {
                live.resume();
            }
        });
        on_cleanup(move || {
            hidden.remove();
            shown.remove();
            live.close();
        });
        live
    }

    /// Closes the feed for good (the tab signed out, or the layout went).
    fn close(self) {
        self.check_session.try_set_value(None);
        self.pause();
    }

    /// An answer read at `at` has arrived. Read before the feed's start, it may lack a
    /// change the feed will not tell of (made in between): pages read again. The start
    /// then counts as `at`, so answers that old do not ask again: every page has just been
    /// told to read anew, and a replica's position can trail another's a little.
    fn answered_at(self, at: i64) {
        if let Some(Some(start)) = self.start.try_get_value()
            && read_too_early(Some(at), start)
        {
            self.start.set_value(Some(at));
            self.tell(None);
        }
    }

    /// Closes the connection and any pending try, keeping what a later `resume` needs.
    fn pause(self) {
        if let Some(Some(retry)) = self.retry.try_update_value(Option::take) {
            retry.clear();
        }
        if let Some(Some(open)) = self.open.try_update_value(Option::take) {
            open.source.close();
        }
    }

    /// Opens the feed again after `pause`, unless it was closed for good meanwhile.
    fn resume(self) {
        let paused = self.open.try_with_value(Option::is_none) == Some(true)
            && self.retry.try_with_value(Option::is_none) == Some(true);
        if paused && self.check_session.try_with_value(Option::is_some) == Some(true) {
            self.open_now();
        }
    }

    fn open_now(self) {
        self.state.set(FeedState::Connecting);
        // Without a change to resume after, what a page read before the feed opened may
        // have changed meanwhile: pages reread once it is open, unless every answer read
        // so far was read at or after the position the feed starts from.
        let fresh = self.last_seq.get_value().is_none();
        let url = match self.last_seq.get_value() {
            Some(seq) => format!("/api/v1/events?after={seq}"),
            None => "/api/v1/events".to_string(),
        };
        let Ok(source) = EventSource::new(&url) else {
            self.retry_later();
            return;
        };
        let mut handlers = Vec::new();
        let mut on = |name: &str, handler: Box<dyn FnMut(MessageEvent)>| {
            let handler = Closure::wrap(handler);
            let _ = source.add_event_listener_with_callback(name, handler.as_ref().unchecked_ref());
            handlers.push(handler);
        };
        for kind in LIVE_ACTIONS {
            on(
                kind,
                Box::new(move |message: MessageEvent| {
                    let event = message
                        .data()
                        .as_string()
                        .and_then(|data| serde_json::from_str::<LiveEvent>(&data).ok());
                    if let Some(event) = event {
                        self.last_seq.set_value(Some(event.seq));
                        self.tell(Some(&event));
                    }
                }),
            );
        }
        on(
            "ready",
            Box::new(move |message: MessageEvent| {
                self.heard_id(&message);
                self.failures.set_value(0);
                self.state.set(FeedState::Open);
                // The broker answered: whatever the offline banner said is over.
                self.connection.offline.set(false);
                if fresh {
                    let start = self.last_seq.get_value();
                    self.start.set_value(start);
                    if start
                        .is_none_or(|start| read_too_early(crate::api::oldest_position(), start))
                    {
                        self.tell(None);
                    }
                }
            }),
        );
        on(
            RESYNC,
            Box::new(move |message: MessageEvent| {
                self.heard_id(&message);
                self.tell(None);
            }),
        );
        on(
            SIGNED_OUT,
            Box::new(move |_| {
                let check = self.check_session.get_value();
                self.close();
                if let Some(check) = check {
                    check();
                }
            }),
        );
        // The browser would retry on its own at a fixed pace; this tab backs off instead.
        let on_error = Closure::wrap(Box::new(move |_: MessageEvent| {
            if let Some(Some(open)) = self.open.try_update_value(Option::take) {
                open.source.close();
            }
            if let Some(check) = self.check_session.get_value() {
                check();
            }
            self.retry_later();
        }) as Box<dyn FnMut(MessageEvent)>);
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        handlers.push(on_error);
        self.open.set_value(Some(Open {
            source,
            _handlers: handlers,
        }));
    }

    fn heard_id(self, message: &MessageEvent) {
        if let Ok(seq) = message.last_event_id().parse::<i64>() {
            self.last_seq.set_value(Some(seq));
        }
    }

    /// Tries again after 1, 2, 4 … 30 s, each with up to half of it at random, so tabs
    /// dropped together by a restart do not all come back in the same instant.
    fn retry_later(self) {
        let failures = self.failures.get_value();
        self.failures.set_value(failures.saturating_add(1));
        let base = 2f64.powi(failures.min(5) as i32).min(MAX_BACKOFF_SECS);
        let wait = base * (0.5 + js_sys::Math::random() / 2.0);
        let at = Utc::now() + Duration::milliseconds((wait * 1000.0) as i64);
        self.state.set(FeedState::Retrying(at));
        let handle = set_timeout_with_handle(
            move || {
                self.retry.try_set_value(None);
                // Closed meanwhile (signed out): the feed stays closed.
                if self.check_session.try_with_value(Option::is_some) == Some(true) {
                    self.open_now();
                }
            },
            std::time::Duration::from_millis((wait * 1000.0) as u64),
        );
        self.retry.set_value(handle.ok());
    }

    fn tell(self, event: Option<&LiveEvent>) {
        let listeners: Vec<Listener> = self
            .listeners
            .with_value(|all| all.iter().map(|(_, l)| l.clone()).collect());
        for listener in listeners {
            listener(event);
        }
    }
}

/// Whether what was read at `read_at` (`None`: not known) may lack a change from before
/// `start`, the position the feed tells of changes after.
fn read_too_early(read_at: Option<i64>, start: i64) -> bool {
    read_at.is_none_or(|at| at < start)
}

/// Calls `refresh` when a change that `concerns` the calling page arrives (and after the
/// feed says it missed some), for as long as the page is shown. Changes arriving together
/// (a mass expiry) make one reread.
pub fn on_live(concerns: impl Fn(&LiveEvent) -> bool + 'static, refresh: impl Fn() + 'static) {
    let Some(live) = use_context::<Live>() else {
        return;
    };
    let refresh = Rc::new(refresh);
    let pending = StoredValue::new(false);
    let listener: Listener = Rc::new(move |event: Option<&LiveEvent>| {
        if event.is_some_and(|e| !concerns(e)) || pending.get_value() {
            return;
        }
        pending.set_value(true);
        let refresh = refresh.clone();
        set_timeout(
            move || {
                // The page may have gone meanwhile: then nothing is reread.
                if pending.try_set_value(false).is_none() {
                    refresh();
                }
            },
            std::time::Duration::from_millis(50),
        );
    });
    let id = live.next_listener.get_value();
    live.next_listener.set_value(id + 1);
    live.listeners.update_value(|all| all.push((id, listener)));
    on_cleanup(move || {
        live.listeners
            .try_update_value(|all| all.retain(|(other, _)| *other != id));
    });
}

/// Says when the page may be out of date, and when the next try is: the broker cannot be
/// reached (a call or the feed failed to reach it), or only the live feed dropped.
#[component]
pub fn ConnectionBanner() -> impl IntoView {
    let live = expect_context::<Live>();
    let connection = expect_context::<Connection>();
    let now = use_now();
    let retry = move || match live.state.get() {
        FeedState::Retrying(at) => match (at - now.get()).num_seconds() {
            s if s > 0 => format!(" Reconnecting in {s} s…"),
            _ => " Reconnecting…".to_string(),
        },
        _ => " Retrying…".to_string(),
    };
    move || {
        if connection.offline.get() {
            Some(
                view! {
                    <div class="offline-banner" role="status" data-testid="offline-banner">
                        "Offline: the broker cannot be reached. What you see may be out of date."
                        {retry}
                    </div>
                }
                .into_any(),
            )
        } else if matches!(live.state.get(), FeedState::Retrying(_)) {
            Some(
                view! {
                    <div class="offline-banner" role="status" data-testid="live-banner">
                        "Live updates paused: the connection to the broker dropped." {retry}
                    </div>
                }
                .into_any(),
            )
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::read_too_early;

    #[test]
    fn only_what_was_read_at_or_after_the_feeds_start_is_known_to_be_current() {
        // Nothing changed between the read and the feed opening.
        assert!(!read_too_early(Some(41), 41));
        assert!(!read_too_early(Some(42), 41));
        // A change (42) came between: the feed will not tell of it.
        assert!(read_too_early(Some(41), 42));
        // An answer that did not say where it stood.
        assert!(read_too_early(None, 41));
    }
}
