//! Reading query parameters; a bad one is refused with 400 naming it.

use super::error::AppError;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use stint_core::RuleError;
use stint_core::query as core_query;

pub type Params = HashMap<String, String>;

// Read as stint-core reads every list's parameters, so a parameter means the same here as
// in the portal that wrote it.

pub fn text(params: &Params, name: &'static str) -> Option<String> {
    core_query::text(params, name)
}

pub fn id(params: &Params, name: &'static str) -> Result<Option<i64>, AppError> {
    core_query::id(params, name).map_err(refused)
}

pub fn time(params: &Params, name: &'static str) -> Result<Option<DateTime<Utc>>, AppError> {
    core_query::time(params, name).map_err(refused)
}

/// A positive whole number of seconds.
pub fn seconds(params: &Params, name: &'static str) -> Result<Option<i64>, AppError> {
    text(params, name)
        .map(|v| {
            v.parse::<i64>().ok().filter(|s| *s > 0).ok_or_else(|| {
                AppError::bad_input(name, format!("`{v}` is not a positive number of seconds"))
            })
        })
        .transpose()
}

/// `true`/`1` (or the bare name) and `false`/`0`; absent is false.
pub fn flag(params: &Params, name: &'static str) -> Result<bool, AppError> {
    core_query::flag(params, name).map_err(refused)
}

/// A page size between 1 and `max`, `default` when absent.
pub fn limit(params: &Params, default: u32, max: u32) -> Result<u32, AppError> {
    page_size(core_query::limit(params).map_err(refused)?, default, max)
}

/// The page size a list query asked for, between 1 and `max`; `default` when it asked none.
pub fn page_size(asked: Option<u32>, default: u32, max: u32) -> Result<u32, AppError> {
    match asked {
        None => Ok(default),
        Some(l) if (1..=max).contains(&l) => Ok(l),
        Some(_) => Err(AppError::bad_input(
            "limit",
            format!("limit must be 1 to {max}"),
        )),
    }
}

/// One of a fixed set of words, read by `parse`; absent or `all` is none. `allowed` lists
/// the words for the refusal.
pub fn choice<T>(
    params: &Params,
    name: &'static str,
    parse: fn(&str) -> Option<T>,
    allowed: &str,
) -> Result<Option<T>, AppError> {
    core_query::choice(params, name, parse, allowed).map_err(refused)
}

/// A rule's refusal of what the query said: a named field is a 400 like any bad parameter.
pub fn refused(e: RuleError) -> AppError {
    match e {
        RuleError::Invalid { field, message } => AppError::bad_input(field, message),
        other => other.into(),
    }
}
