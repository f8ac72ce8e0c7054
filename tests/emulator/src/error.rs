//! `meta/v1` `Status` errors, with the messages kube-apiserver uses.
//!
//! Clients match on `reason` and `code`, and people read `message`, so both
//! are built the way `k8s.io/apimachinery/pkg/api/errors` builds them.

use serde_json::{Value, json};

/// A failed request, rendered as a `Status` object.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: String,
    pub message: String,
    /// `details` of the Status (`name`, `group`, `kind`, `causes`), or `Null`.
    pub details: Value,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} {})", self.message, self.code, self.reason)
    }
}

impl std::error::Error for ApiError {}

/// `pods` or `deployments.apps`: how the apiserver names a resource in messages.
pub fn qualified(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

impl ApiError {
    pub fn new(code: u16, reason: &str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason: reason.to_string(),
            message: message.into(),
            details: Value::Null,
        }
    }

    fn with_details(mut self, name: &str, group: &str, kind: &str) -> Self {
        let mut d = serde_json::Map::new();
        if !name.is_empty() {
            d.insert("name".into(), json!(name));
        }
        if !group.is_empty() {
            d.insert("group".into(), json!(group));
        }
        if !kind.is_empty() {
            d.insert("kind".into(), json!(kind));
        }
        self.details = Value::Object(d);
        self
    }

    /// `pods "x" not found` (details.kind is the resource, as in apimachinery).
    pub fn not_found(group: &str, plural: &str, name: &str) -> Self {
        ApiError::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(group, plural)),
        )
        .with_details(name, group, plural)
    }

    /// The answer for a path that names no known resource.
    pub fn unknown_resource() -> Self {
        let mut e = ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
        e.details = json!({});
        e
    }

    pub fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", qualified(group, plural)),
        )
        .with_details(name, group, plural)
    }

    /// The optimistic-concurrency failure every Kubernetes client knows.
    pub fn conflict(group: &str, plural: &str, name: &str) -> Self {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                qualified(group, plural)
            ),
        )
        .with_details(name, group, plural)
    }

    /// `Pod "x" is invalid: spec.containers: Required value` (details.kind is the Kind).
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<FieldCause>) -> Self {
        let qualified_kind = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let summary: Vec<String> = causes.iter().map(|c| c.summary()).collect();
        let message = match summary.len() {
            1 => format!("{qualified_kind} \"{name}\" is invalid: {}", summary[0]),
            _ => format!(
                "{qualified_kind} \"{name}\" is invalid: [{}]",
                summary.join(", ")
            ),
        };
        let mut e = ApiError::new(422, "Invalid", message).with_details(name, group, kind);
        e.details["causes"] = Value::Array(
            causes
                .iter()
                .map(|c| json!({"reason": c.reason, "message": c.detail_message(), "field": c.field}))
                .collect(),
        );
        e
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }

    pub fn method_not_allowed() -> Self {
        ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    pub fn unauthorized() -> Self {
        ApiError::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {content_type:?})"
            ),
        )
    }

    /// `Internal error occurred: ...`, as `apierrors.NewInternalError` words it.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        let mut e = ApiError::new(
            500,
            "InternalError",
            format!("Internal error occurred: {message}"),
        );
        e.details = json!({"causes": [{"message": message.to_string()}]});
        e
    }

    /// Watch/list from a resourceVersion older than the retained history.
    pub fn expired(message: impl Into<String>) -> Self {
        ApiError::new(410, "Expired", message)
    }

    /// The `Status` object as sent on the wire.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "code": self.code,
        });
        if !self.reason.is_empty() {
            status["reason"] = json!(self.reason);
        }
        if !self.details.is_null() {
            status["details"] = self.details.clone();
        }
        status
    }

    /// Rebuild an error from a `Status` object (used for injected faults and webhook denials).
    pub fn from_status(status: &Value) -> Self {
        ApiError {
            code: status.get("code").and_then(Value::as_u64).unwrap_or(500) as u16,
            reason: status
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            message: status
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            details: status.get("details").cloned().unwrap_or(Value::Null),
        }
    }
}

/// One field error of an `Invalid` Status (`field.Error` in apimachinery).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldCause {
    /// `FieldValueRequired`, `FieldValueInvalid`, `FieldValueForbidden`, ...
    pub reason: &'static str,
    pub field: String,
    pub value: Option<String>,
    pub detail: String,
}

impl FieldCause {
    pub fn required(field: &str, detail: &str) -> Self {
        FieldCause {
            reason: "FieldValueRequired",
            field: field.into(),
            value: None,
            detail: detail.into(),
        }
    }

    pub fn invalid(field: &str, value: &str, detail: &str) -> Self {
        FieldCause {
            reason: "FieldValueInvalid",
            field: field.into(),
            value: Some(value.into()),
            detail: detail.into(),
        }
    }

    pub fn forbidden(field: &str, detail: &str) -> Self {
        FieldCause {
            reason: "FieldValueForbidden",
            field: field.into(),
            value: None,
            detail: detail.into(),
        }
    }

    fn type_text(&self) -> &'static str {
        match self.reason {
            "FieldValueRequired" => "Required value",
            "FieldValueForbidden" => "Forbidden",
            _ => "Invalid value",
        }
    }

    fn detail_message(&self) -> String {
        let mut s = self.type_text().to_string();
        if let Some(v) = &self.value {
            s.push_str(&format!(": {v:?}"));
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }

    fn summary(&self) -> String {
        format!("{}: {}", self.field, self.detail_message())
    }
}
