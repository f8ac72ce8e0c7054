//! The `admission.k8s.io/v1` AdmissionReview wire format, only the fields the webhook reads
//! or writes.
//!
//! Own serde types rather than `kube::core::admission`: kube's request type parses the
//! object into a typed `DynamicObject` (and pulls in k8s-openapi), while the rules read a
//! plain `serde_json::Value`; parsing straight into `Value` avoids a second conversion on
//! every request and keeps the binary's dependency tree small.
//!
//! `object` and `oldObject` are parsed with the library's [`PrunedObject`], which keeps
//! only what the rules read (annotations, container names, owner references, ...): most
//! of an object as the API server sends it is `managedFields`, defaulted container specs
//! and status, and building a `Value` tree of it was most of the cost of a decision.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use velero_hooks::pruned::PrunedObject;

pub const API_VERSION: &str = "admission.k8s.io/v1";
pub const KIND: &str = "AdmissionReview";

/// The body kube-apiserver POSTs. Everything is optional here and checked by
/// [`parse_review`], so a bad body gets an error message that names what is wrong.
///
/// Strings only compared are borrowed from the body (`Cow`: owned only when the JSON
/// string has escapes).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IncomingReview<'a> {
    #[serde(borrow)]
    api_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    request: Option<IncomingRequest<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IncomingRequest<'a> {
    uid: Option<String>,
    kind: Option<GroupVersionKind>,
    sub_resource: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    #[serde(borrow)]
    operation: Option<Cow<'a, str>>,
    object: Option<PrunedObject>,
    old_object: Option<PrunedObject>,
    dry_run: Option<bool>,
}

/// One admission request, as the decision sees it.
#[derive(Debug, Clone)]
pub struct AdmissionRequest {
    pub uid: String,
    pub kind: GroupVersionKind,
    pub sub_resource: Option<String>,
    /// Empty for objects created with `generateName` (controller-created pods).
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub operation: Operation,
    pub object: Option<Value>,
    pub old_object: Option<Value>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GroupVersionKind {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    pub kind: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

impl Operation {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "CREATE" => Some(Operation::Create),
            "UPDATE" => Some(Operation::Update),
            "DELETE" => Some(Operation::Delete),
            "CONNECT" => Some(Operation::Connect),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub audit_annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<&'static str>,
    /// Base64 of the JSON Patch document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
}

impl AdmissionResponse {
    pub fn allow(uid: &str) -> Self {
        AdmissionResponse {
            uid: uid.to_owned(),
            allowed: true,
            status: None,
            warnings: Vec::new(),
            audit_annotations: BTreeMap::new(),
            patch_type: None,
            patch: None,
        }
    }
}

/// The `metav1.Status` of a denial; kube-apiserver prefixes the message with
/// `admission webhook "<name>" denied the request: `.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub status: &'static str,
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OutgoingReview<'a> {
    api_version: &'static str,
    kind: &'static str,
    response: &'a AdmissionResponse,
}

/// Why a body is not an AdmissionReview the webhook can answer; the text is sent back as
/// the HTTP error body, so it says what was expected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReviewError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("body is not an AdmissionReview: apiVersion is {}, expected \"{API_VERSION}\"", shown(.found))]
    WrongApiVersion { found: Option<String> },
    #[error("body is not an AdmissionReview: kind is {}, expected \"{KIND}\"", shown(.found))]
    WrongKind { found: Option<String> },
    #[error("AdmissionReview has no request")]
    MissingRequest,
    #[error("AdmissionReview request has no uid")]
    MissingUid,
    #[error("AdmissionReview is malformed: {0}")]
    BadRequest(String),
}

fn shown(value: &Option<String>) -> String {
    match value {
        Some(text) => format!("{text:?}"),
        None => "missing".to_owned(),
    }
}

/// Parses and checks an AdmissionReview body.
pub fn parse_review(body: &[u8]) -> Result<AdmissionRequest, ReviewError> {
    // Checking the whole body as UTF-8 once (a fast, mostly-ASCII scan) lets serde_json
    // skip its check of each string. A body that is not UTF-8 takes the byte path, which
    // gives the same result and error message as before.
    let parsed = match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str::<IncomingReview>(text),
        Err(_) => serde_json::from_slice::<IncomingReview>(body),
    };
    let review = parsed.map_err(|e| {
        if e.is_data() {
            ReviewError::BadRequest(e.to_string())
        } else {
            ReviewError::NotJson(e.to_string())
        }
    })?;
    if review.api_version.as_deref() != Some(API_VERSION) {
        return Err(ReviewError::WrongApiVersion {
            found: review.api_version.map(Cow::into_owned),
        });
    }
    if review.kind.as_deref() != Some(KIND) {
        return Err(ReviewError::WrongKind {
            found: review.kind.map(Cow::into_owned),
        });
    }
    let request = review.request.ok_or(ReviewError::MissingRequest)?;
    let uid = request
        .uid
        .filter(|uid| !uid.is_empty())
        .ok_or(ReviewError::MissingUid)?;
    let kind = request
        .kind
        .ok_or_else(|| ReviewError::BadRequest("request.kind is missing".to_owned()))?;
    let operation = request.operation.unwrap_or_default();
    let operation = &*operation;
    let operation = Operation::parse(operation).ok_or_else(|| {
        ReviewError::BadRequest(format!(
            "request.operation is {operation:?}, expected CREATE, UPDATE, DELETE or CONNECT"
        ))
    })?;
    Ok(AdmissionRequest {
        uid,
        kind,
        sub_resource: request.sub_resource.filter(|s| !s.is_empty()),
        name: request.name.filter(|s| !s.is_empty()),
        namespace: request.namespace.filter(|s| !s.is_empty()),
        operation,
        object: request.object.map(|o| o.0).filter(|o| !o.is_null()),
        old_object: request.old_object.map(|o| o.0).filter(|o| !o.is_null()),
        dry_run: request.dry_run.unwrap_or(false),
    })
}

/// The AdmissionReview body answering a request.
pub fn render_review(response: &AdmissionResponse) -> Vec<u8> {
    let review = OutgoingReview {
        api_version: API_VERSION,
        kind: KIND,
        response,
    };
    // Sized for the whole answer up front (the envelope, uid and field names are under
    // 256 bytes), so the buffer is not regrown while writing.
    let text: usize = response.warnings.iter().map(|w| w.len() + 3).sum::<usize>()
        + response.status.as_ref().map_or(0, |s| s.message.len() + 64)
        + response.patch.as_ref().map_or(0, String::len)
        + response
            .audit_annotations
            .values()
            .map(|v| v.len() + 16)
            .sum::<usize>();
    let mut out = Vec::with_capacity(256 + text + text / 8);
    // Serialising plain strings, maps and bools cannot fail.
    match serde_json::to_writer(&mut out, &review) {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_is_not_a_review() {
        type Expect = fn(&ReviewError) -> bool;
        let cases: [(&str, Expect); 8] = [
            ("not json", |e| matches!(e, ReviewError::NotJson(_))),
            (r#"{"kind":"AdmissionReview"}"#, |e| {
                matches!(e, ReviewError::WrongApiVersion { found: None })
            }),
            (
                r#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview"}"#,
                |e| matches!(e, ReviewError::WrongApiVersion { found: Some(_) }),
            ),
            (
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"Pod"}"#,
                |e| matches!(e, ReviewError::WrongKind { .. }),
            ),
            (
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":null}"#,
                |e| *e == ReviewError::MissingRequest,
            ),
            (
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}"#,
                |e| *e == ReviewError::MissingUid,
            ),
            (
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":7}}"#,
                |e| matches!(e, ReviewError::BadRequest(_)),
            ),
            (
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"PATCH","kind":{"kind":"Pod"}}}"#,
                |e| matches!(e, ReviewError::BadRequest(_)),
            ),
        ];
        for (body, expected) in cases {
            let err = parse_review(body.as_bytes()).expect_err(body);
            assert!(expected(&err), "{body}: {err}");
        }
    }

    #[test]
    fn bodies_that_are_not_utf8_are_judged_as_before() {
        let body = |user: &[u8], status: &[u8]| {
            let mut out = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","kind":{"kind":"Pod"},"userInfo":{"username":""#.to_vec();
            out.extend_from_slice(user);
            out.extend_from_slice(
                br#""},"object":{"apiVersion":"v1","kind":"Pod","status":{"message":""#,
            );
            out.extend_from_slice(status);
            out.extend_from_slice(br#""}}}}"#);
            out
        };
        // Fields the webhook never reads were never checked; the object's strings are.
        assert!(parse_review(&body(b"\xff", b"ok")).is_ok());
        let err = parse_review(&body(b"ok", b"\xff")).unwrap_err();
        assert!(
            matches!(&err, ReviewError::NotJson(m) if m.contains("invalid unicode code point")),
            "{err}"
        );
        assert!(parse_review(&body("é".as_bytes(), "é".as_bytes())).is_ok());
    }

    #[test]
    fn renders_v1_review_with_same_uid() {
        let mut response = AdmissionResponse::allow("abc");
        response.warnings.push("w".to_owned());
        let rendered: Value = serde_json::from_slice(&render_review(&response)).unwrap();
        assert_eq!(
            rendered,
            serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "response": {"uid": "abc", "allowed": true, "warnings": ["w"]}})
        );
    }
}
