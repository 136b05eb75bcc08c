//! Reading query parameters; a bad one is refused with 400 naming it.

use super::error::AppError;
use super::extract::parse_id;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use stint_core::RuleError;

pub type Params = HashMap<String, String>;

fn present<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

pub fn text(params: &Params, name: &str) -> Option<String> {
    present(params, name).map(str::to_string)
}

pub fn id(params: &Params, name: &str) -> Result<Option<i64>, AppError> {
    present(params, name)
        .map(|v| parse_id(v).map_err(|_| AppError::bad_input(name, format!("`{v}` is not an id"))))
        .transpose()
}

pub fn time(params: &Params, name: &str) -> Result<Option<DateTime<Utc>>, AppError> {
    present(params, name)
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| AppError::bad_input(name, format!("`{v}` is not an RFC 3339 time")))
        })
        .transpose()
}

/// A positive whole number of seconds.
pub fn seconds(params: &Params, name: &str) -> Result<Option<i64>, AppError> {
    present(params, name)
        .map(|v| {
            v.parse::<i64>().ok().filter(|s| *s > 0).ok_or_else(|| {
                AppError::bad_input(name, format!("`{v}` is not a positive number of seconds"))
            })
        })
        .transpose()
}

/// `true`/`1` (or the bare name) and `false`/`0`; absent is false.
pub fn flag(params: &Params, name: &str) -> Result<bool, AppError> {
    match params.get(name).map(String::as_str) {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") | Some("") => Ok(true),
        Some(other) => Err(AppError::bad_input(
            name,
            format!("`{other}` is not true or false"),
        )),
    }
}

/// A page size between 1 and `max`, `default` when absent.
pub fn limit(params: &Params, default: u32, max: u32) -> Result<u32, AppError> {
    match present(params, "limit") {
        None => Ok(default),
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| AppError::bad_input("limit", format!("limit must be 1 to {max}"))),
    }
}

/// One of a fixed set of words, read by `parse`; absent or `all` is none. `allowed` lists
/// the words for the refusal.
pub fn choice<T>(
    params: &Params,
    name: &str,
    parse: fn(&str) -> Option<T>,
    allowed: &str,
) -> Result<Option<T>, AppError> {
    match present(params, name) {
        None | Some("all") => Ok(None),
        Some(v) => parse(v).map(Some).ok_or_else(|| {
            AppError::bad_input(name, format!("unknown {name} `{v}`: use {allowed}"))
        }),
    }
}

/// A rule's refusal of what the query said: a named field is a 400 like any bad parameter.
pub fn refused(e: RuleError) -> AppError {
    match e {
        RuleError::Invalid { field, message } => AppError::bad_input(field, message),
        other => other.into(),
    }
}

/// A search of requests (or of the grants they made): `q` (words, each in the task or
/// ticket), `ticket`, `identity_id`, `resource_id`, `requester_id`, `since`, `until`.
pub fn search(params: &Params) -> Result<crate::store::Search, AppError> {
    Ok(crate::store::Search {
        words: stint_core::search::words(&text(params, "q").unwrap_or_default())
            .map_err(refused)?,
        ticket: text(params, "ticket"),
        identity_id: id(params, "identity_id")?,
        resource_id: id(params, "resource_id")?,
        requester_id: id(params, "requester_id")?,
        since: time(params, "since")?,
        until: time(params, "until")?,
    })
}
