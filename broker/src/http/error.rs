//! One error type at the HTTP edge, always answered as `{"error": {code, message, field?}}`.

use crate::store::StoreError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use stint_core::RuleError;
use stint_core::api::{ErrorBody, ErrorDetail};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("sign in first")]
    Unauthenticated,
    #[error("unknown username or wrong password")]
    BadCredentials,
    #[error("{0}")]
    Csrf(&'static str),
    /// A machine caller without valid client credentials.
    #[error("authenticate with the resource's client credentials (HTTP Basic) or a session")]
    ClientUnauthenticated,
    /// A Bearer token that lets nobody in.
    #[error("this token is unknown, expired or revoked, or its identity has no owner right now")]
    InvalidToken,
    /// A call for people only, made with an identity's token.
    #[error(
        "an identity's token may file, read and cancel its own requests and fetch and release \
         its own grants; this call is for people"
    )]
    PeopleOnly,
    /// Too many calls from one caller: try again after this many seconds.
    #[error("too many calls; try again in {0} s")]
    RateLimited(i64),
    #[error("an admin reset your password: choose a new one first")]
    PasswordChangeRequired,
    /// Too many wrong passwords: try again after this many seconds.
    #[error("too many wrong passwords; try again in {0} s")]
    Throttled(i64),
    /// Input that could not be read at all (malformed JSON, a non-numeric id, …).
    #[error("{message}")]
    BadInput {
        status: StatusCode,
        field: Option<String>,
        message: String,
    },
    #[error("{0}")]
    NotFound(String),
    /// The broker is stopping and can no longer see the call through.
    #[error("the broker is shutting down; try again")]
    ShuttingDown,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RuleError> for AppError {
    fn from(e: RuleError) -> Self {
        AppError::Store(StoreError::Rule(e))
    }
}

impl AppError {
    /// Refused until `until`: 429 with `Retry-After` in whole seconds, rounded up.
    pub fn throttled_until(
        until: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let ms = (until - now).num_milliseconds().max(0);
        AppError::Throttled((ms + 999) / 1000)
    }

    pub fn bad_input(field: &str, message: impl Into<String>) -> Self {
        AppError::BadInput {
            status: StatusCode::BAD_REQUEST,
            field: Some(field.to_string()),
            message: message.into(),
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        let text = rejection.body_text();
        AppError::BadInput {
            status: rejection.status(),
            field: json_error_field(&text),
            message: text,
        }
    }
}

/// The field a deserialisation error is about. axum reports the path to it first
/// ("justification.task: invalid type…"), or names a missing field in backticks.
fn json_error_field(text: &str) -> Option<String> {
    let detail = text.split_once("target type: ").map(|(_, d)| d)?;
    if let Some(name) = detail
        .split_once("missing field `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(name, _)| name)
    {
        let path = detail.split_once(": ").map(|(p, _)| p).unwrap_or(".");
        return Some(if path == "." || path.contains(' ') {
            name.to_string()
        } else {
            format!("{path}.{name}")
        });
    }
    let (path, _) = detail.split_once(": ")?;
    (!path.contains(' ') && path != ".").then(|| path.to_string())
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code, field) = match &self {
            AppError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated", None),
            AppError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials", None),
            AppError::Csrf(_) => (StatusCode::FORBIDDEN, "csrf", None),
            AppError::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, "throttled", None),
            AppError::ClientUnauthenticated => (StatusCode::UNAUTHORIZED, "invalid_client", None),
            AppError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited", None),
            AppError::InvalidToken => (StatusCode::UNAUTHORIZED, "invalid_token", None),
            AppError::PeopleOnly => (StatusCode::FORBIDDEN, "forbidden", None),
            AppError::PasswordChangeRequired => {
                (StatusCode::FORBIDDEN, "password_change_required", None)
            }
            AppError::BadInput { status, field, .. } => (*status, "bad_input", field.clone()),
            AppError::ShuttingDown | AppError::Store(StoreError::Unavailable(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None)
            }
            AppError::Store(StoreError::Provisioning(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, "provisioning", None)
            }
            AppError::NotFound(_) | AppError::Store(StoreError::NotFound(_)) => {
                (StatusCode::NOT_FOUND, "not_found", None)
            }
            AppError::Store(StoreError::Rule(rule)) => match rule {
                RuleError::Invalid { field, .. } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid",
                    Some(field.to_string()),
                ),
                RuleError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", None),
                RuleError::Conflict(_) => (StatusCode::CONFLICT, "conflict", None),
                RuleError::TooMany(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many", None),
            },
            AppError::Store(
                StoreError::Db(_)
                | StoreError::Corrupt(_)
                | StoreError::Config(_)
                | StoreError::NotCommitted(_),
            ) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", None),
        };
        // A downstream that is not ready (503) says why in words meant for the caller.
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            // The cause goes to the log, not to the caller.
            tracing::error!(error = %self, "request failed");
            "the broker could not complete this; it has been logged".to_string()
        } else {
            self.to_string()
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message,
                field,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let AppError::Store(StoreError::Unavailable(_) | StoreError::Provisioning(_)) = self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
        }
        if let AppError::Throttled(secs) | AppError::RateLimited(secs) = self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs.max(1)),
            );
        }
        if let AppError::InvalidToken = self {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(
                    "Bearer realm=\"stint\", error=\"invalid_token\"",
                ),
            );
        }
        if let AppError::ClientUnauthenticated = self {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Basic realm=\"stint\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::json_error_field;

    #[test]
    fn names_the_field_of_a_json_error() {
        let prefix = "Failed to deserialize the JSON body into the target type: ";
        let cases = [
            (
                "duration_secs: invalid type: string \"x\", expected i64 at line 1",
                Some("duration_secs"),
            ),
            (
                "justification: missing field `task` at line 1 column 9",
                Some("justification.task"),
            ),
            (
                "missing field `justification` at line 1 column 90",
                Some("justification"),
            ),
            ("expected value at line 1 column 1", None),
        ];
        for (detail, field) in cases {
            assert_eq!(
                json_error_field(&format!("{prefix}{detail}")).as_deref(),
                field,
                "{detail}"
            );
        }
    }
}
