//! A search a page keeps in its URL (a search is a link, and Back returns to it): the
//! form's fields following the URL, and the fields written back to it. The page reads the
//! URL's query as the API's own query type (`stint_core::query`).

use crate::api::encode_query;
use crate::page::Page;
use leptos::prelude::*;
use leptos_router::params::ParamsMap;

/// The URL's query as the API's query types read it (`stint_core::query::Lookup`); an empty
/// value is no value, as the page's own links never carry one.
pub fn url_lookup(query: Memo<ParamsMap>) -> impl Fn(&str) -> Option<String> {
    move |key: &str| query.read().get(key).filter(|v| !v.is_empty())
}

/// Keeps each field equal to the URL's value of its key, also when the URL changes under
/// the page (Clear, Back, a link).
pub fn fields_follow_url(query: Memo<ParamsMap>, fields: Vec<(&'static str, RwSignal<String>)>) {
    Effect::new(move |_| {
        let q = query.read();
        for (key, value) in &fields {
            value.set(q.get(key).unwrap_or_default());
        }
    });
}

/// `page` with the fields that hold something as its query.
pub fn url_of(page: Page, fields: &[(&str, RwSignal<String>)]) -> String {
    let query: Vec<String> = fields
        .iter()
        .filter_map(|(key, value)| {
            let v = value.get_untracked().trim().to_string();
            (!v.is_empty()).then(|| format!("{key}={}", encode_query(&v)))
        })
        .collect();
    page.with_query(&query.join("&"))
}
