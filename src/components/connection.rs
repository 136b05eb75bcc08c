//! Whether the broker can be reached. A background refresh that fails keeps the page as it
//! was and says so in a small banner (`live::ConnectionBanner`), instead of replacing what
//! was read with an error.

use crate::api::{ApiError, ApiResult};
use leptos::prelude::*;

/// True while the last call to the broker failed to reach it.
#[derive(Clone, Copy)]
pub struct Connection {
    pub offline: RwSignal<bool>,
}

impl Connection {
    pub fn provide() -> Connection {
        let connection = Connection {
            offline: RwSignal::new(false),
        };
        provide_context(connection);
        connection
    }
}

/// A resource's value that keeps the last good one while the broker cannot be reached: a
/// page already read stays on screen (the banner says it may be stale). Other errors, and
/// a first load that fails, show as ever.
pub fn steady<T>(resource: LocalResource<ApiResult<T>>) -> Signal<Option<ApiResult<T>>>
where
    T: Clone + Send + Sync + 'static,
{
    let last_good = StoredValue::new(None::<T>);
    Signal::derive(move || match resource.get() {
        Some(Ok(value)) => {
            last_good.set_value(Some(value.clone()));
            Some(Ok(value))
        }
        Some(Err(ApiError::Network(e))) => match last_good.get_value() {
            Some(value) => Some(Ok(value)),
            None => Some(Err(ApiError::Network(e))),
        },
        other => other,
    })
}
