//! The API reference page: the OpenAPI description rendered to HTML here, so reading it
//! runs no script and loads nothing (its one stylesheet is allowed by its hash).

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;

pub const STYLE: &str = "
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#5b6470;--line:#d4d9df;--accent:#1f6feb;--code:#f3f5f7;--bg:#fff}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ed;--muted:#9aa4af;--line:#3a414a;--accent:#58a6ff;--code:#1c232b;--bg:#0f1419}}
body{font:15px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg);max-width:64rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .5rem}h2{font-size:1.25rem;margin:2rem 0 .25rem;border-bottom:1px solid var(--line)}h3{font-size:1rem;margin:0;font-family:ui-monospace,monospace;overflow-wrap:anywhere}
.muted{color:var(--muted)}code{font-family:ui-monospace,monospace;background:var(--code);padding:0 .2rem;border-radius:3px;overflow-wrap:anywhere}
section.op{border:1px solid var(--line);border-radius:8px;padding:.75rem 1rem;margin:.75rem 0}
.method{display:inline-block;min-width:3.5rem;font-weight:700;text-transform:uppercase}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.25rem 0}th,td{text-align:left;border-bottom:1px solid var(--line);padding:.25rem .4rem;vertical-align:top}
th{font-weight:600;color:var(--muted)}td{overflow-wrap:anywhere}a{color:var(--accent)}
nav{display:flex;flex-wrap:wrap;gap:.25rem .75rem}
@media (max-width:40rem){body{margin:1rem auto;padding:0 .5rem}section.op{padding:.5rem}th,td{padding:.25rem .2rem}}
";

/// The page for `spec`, an OpenAPI 3.1 document as JSON.
pub fn page(spec: &Value) -> Markup {
    let info = &spec["info"];
    let title = text(&info["title"]);
    let tags: Vec<&Value> = list(&spec["tags"]).collect();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { (title) " " span.muted { (text(&info["version"])) } }
                    p { (prose(text(&info["description"]))) }
                    p.muted {
                        "OpenAPI 3.1: " a href="openapi.json" { "openapi.json" }
                        ". Paths are relative to this broker's address."
                    }
                    nav aria-label="Sections" {
                        @for tag in &tags {
                            a href={ "#tag-" (text(&tag["name"])) } { (text(&tag["name"])) }
                        }
                        a href="#schemas" { "schemas" }
                    }
                }
                main {
                    h2 { "Authentication" }
                    table {
                        thead { tr { th { "scheme" } th { "how" } } }
                        tbody {
                            @for (name, scheme) in object(&spec["components"]["securitySchemes"]) {
                                tr {
                                    td { code { (name) } }
                                    td { (prose(text(&scheme["description"]))) }
                                }
                            }
                        }
                    }
                    @for tag in &tags {
                        (tag_section(spec, tag))
                    }
                    h2 #schemas { "Schemas" }
                    @for (name, schema) in object(&spec["components"]["schemas"]) {
                        (schema_section(name, schema))
                    }
                }
            }
        }
    }
}

fn tag_section(spec: &Value, tag: &Value) -> Markup {
    let name = text(&tag["name"]);
    html! {
        h2 id={ "tag-" (name) } { (name) }
        p.muted { (prose(text(&tag["description"]))) }
        @for (path, item) in object(&spec["paths"]) {
            @for (method, op) in object(item) {
                @if list(&op["tags"]).any(|t| t.as_str() == Some(name)) {
                    (operation(spec, path, method, op))
                }
            }
        }
    }
}

fn operation(spec: &Value, path: &str, method: &str, op: &Value) -> Markup {
    let id = text(&op["operationId"]);
    let security = op.get("security").unwrap_or(&spec["security"]);
    html! {
        section.op id=(id) {
            h3 { span.method { (method) } " " (path) }
            @if let Some(description) = op["description"].as_str().or(op["summary"].as_str()) {
                p { (prose(description)) }
            }
            p.muted {
                "Authentication: " (authentication(security)) ". Operation " code { (id) } "."
            }
            @let params: Vec<&Value> = list(&op["parameters"]).collect();
            @if !params.is_empty() {
                table {
                    thead { tr { th { "parameter" } th { "in" } th { "type" } th { "" } } }
                    tbody {
                        @for param in params {
                            tr {
                                td { code { (text(&param["name"])) } @if param["required"] == true { " (required)" } }
                                td { (text(&param["in"])) }
                                td { (type_of(&param["schema"])) }
                                td { (prose(text(&param["description"]))) }
                            }
                        }
                    }
                }
            }
            @if let Some(body) = op.get("requestBody") {
                p {
                    "Body: "
                    @for (i, (media, content)) in object(&body["content"]).enumerate() {
                        @if i > 0 { ", or " }
                        (type_of(&content["schema"])) " as " code { (media) }
                    }
                    @if let Some(description) = body["description"].as_str() { ". " (prose(description)) }
                }
            }
            table {
                thead { tr { th { "answer" } th { "body" } th { "" } } }
                tbody {
                    @for (status, response) in object(&op["responses"]) {
                        tr {
                            td { code { (status) } }
                            td {
                                @for (i, (_, content)) in object(&response["content"]).enumerate() {
                                    @if i > 0 { ", " }
                                    (type_of(&content["schema"]))
                                }
                            }
                            td { (prose(text(&response["description"]))) }
                        }
                    }
                }
            }
        }
    }
}

/// The schemes that let a caller in, alternatives joined by "or".
fn authentication(security: &Value) -> String {
    let schemes: Vec<String> = list(security)
        .map(|requirement| {
            let names: Vec<&str> = object(requirement).map(|(name, _)| name).collect();
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(" and ")
            }
        })
        .collect();
    if schemes.is_empty() {
        "none".to_string()
    } else {
        schemes.join(" or ")
    }
}

fn schema_section(name: &str, schema: &Value) -> Markup {
    let (schema, base) = match schema["allOf"].as_array() {
        // A type that flattens another: its own fields, and the other's by link.
        Some(parts) => (
            parts
                .iter()
                .find(|p| p.get("$ref").is_none())
                .unwrap_or(schema),
            parts.iter().find(|p| p.get("$ref").is_some()),
        ),
        None => (schema, None),
    };
    let required: Vec<&str> = list(&schema["required"])
        .filter_map(Value::as_str)
        .collect();
    html! {
        section.op id={ "schema-" (name) } {
            h3 { (name) }
            @if let Some(description) = schema["description"].as_str() { p { (prose(description)) } }
            @if let Some(base) = base { p { "Every field of " (type_of(base)) ", and:" } }
            @if schema["properties"].is_object() {
                table {
                    thead { tr { th { "field" } th { "type" } th { "" } } }
                    tbody {
                        @for (field, property) in object(&schema["properties"]) {
                            tr {
                                td { code { (field) } @if required.contains(&field) { " (required)" } }
                                td { (type_of(property)) }
                                td { (prose(description_of(property))) }
                            }
                        }
                    }
                }
            } @else {
                p { (type_of(schema)) }
            }
        }
    }
}

/// A schema's type as a reader wants it: a link to a named schema, `string`, `[T]`, one
/// of several values, `T or null`.
fn type_of(schema: &Value) -> Markup {
    if let Some(target) = schema["$ref"].as_str() {
        let name = target.rsplit('/').next().unwrap_or(target);
        return html! { a href={ "#schema-" (name) } { (name) } };
    }
    if let Some(values) = schema["enum"].as_array() {
        return html! {
            @for (i, value) in values.iter().enumerate() {
                @if i > 0 { " | " }
                code { (value) }
            }
        };
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            return html! {
                @for (i, option) in options.iter().enumerate() {
                    @if i > 0 { " or " }
                    (type_of(option))
                }
            };
        }
    }
    let kinds: Vec<&str> = match &schema["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    html! {
        @for (i, kind) in kinds.iter().enumerate() {
            @if i > 0 { " or " }
            @if *kind == "array" {
                "[" (type_of(&schema["items"])) "]"
            } @else {
                (kind)
                @if let Some(format) = schema["format"].as_str() { " (" (format) ")" }
            }
        }
        @if kinds.is_empty() { "any" }
    }
}

/// A property's description, which a reference keeps beside it in `oneOf`.
fn description_of(property: &Value) -> &str {
    property["description"]
        .as_str()
        .or_else(|| list(&property["oneOf"]).find_map(|option| option["description"].as_str()))
        .unwrap_or("")
}

/// Descriptions are written with `code` in backticks, as Markdown has it.
fn prose(text: &str) -> Markup {
    html! {
        @for (i, part) in text.split('`').enumerate() {
            @if i % 2 == 1 { code { (part) } } @else { (part) }
        }
    }
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

fn list(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

fn object(value: &Value) -> impl Iterator<Item = (&str, &Value)> {
    value
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v))
}
