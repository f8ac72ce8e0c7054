//! Resource requests: `/api/v1/...` and `/apis/<group>/<version>/...`.
//!
//! Each verb follows kube-apiserver's order: decode → default → mutating
//! admission → validate → validating admission → store, with optimistic
//! concurrency on `metadata.resourceVersion`.

use std::collections::HashMap;
use std::sync::Arc;

use hyper::Response;
use hyper::body::Bytes;
use serde_json::{Value, json};

use crate::admission::{Attributes, Operation, UserInfo};
use crate::error::ApiError;
use crate::meta;
use crate::patch::{self, PatchType};
use crate::resources::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::server::{Body, ServerState, error_response, json_response};
use crate::table::{self, IncludeObject};

/// How many times a write retries after losing a race it did not ask to lose
/// (no resourceVersion precondition from the client), like the apiserver's
/// own retry of unconditional updates and patches.
const WRITE_ATTEMPTS: usize = 5;

pub(crate) struct Query(HashMap<String, String>);

impl Query {
    pub(crate) fn parse(q: &str) -> Self {
        Query(form_urlencoded::parse(q.as_bytes()).into_owned().collect())
    }

    pub(crate) fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }

    fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("true") | Some("1"))
    }
}

/// What a resource path names.
struct Target {
    rt: Arc<ResourceType>,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn resolve(
    state: &ServerState,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Result<(Target, bool), ApiError> {
    let registry = state.store.registry();
    let (rest, watch_path) = match rest.split_first() {
        Some((&"watch", tail)) => (tail, true),
        _ => (rest, false),
    };
    let namespaced_type = |plural: &str| {
        registry
            .find(group, version, plural)
            .filter(|t| t.namespaced)
    };
    let (rt, namespace, tail) = match rest {
        ["namespaces", ns, plural, tail @ ..] if namespaced_type(plural).is_some() => (
            namespaced_type(plural).expect("checked"),
            Some(ns.to_string()),
            tail,
        ),
        [plural, tail @ ..] => {
            let rt = registry
                .find(group, version, plural)
                .ok_or_else(ApiError::unknown_resource)?;
            if rt.namespaced && !tail.is_empty() {
                return Err(ApiError::unknown_resource());
            }
            (rt, None, tail)
        }
        [] => return Err(ApiError::unknown_resource()),
    };
    if tail.len() > 2 {
        return Err(ApiError::unknown_resource());
    }
    let subresource = tail.get(1).map(|s| s.to_string());
    if let Some(sub) = &subresource
        && !rt.has_subresource(sub)
    {
        return Err(ApiError::unknown_resource());
    }
    Ok((
        Target {
            rt,
            namespace,
            name: tail.first().map(|s| s.to_string()),
            subresource,
        },
        watch_path,
    ))
}

/// The per-request context handlers share.
struct Ctx<'a> {
    state: &'a ServerState,
    user: &'a UserInfo,
    query: Query,
    accept: &'a str,
    content_type: &'a str,
    body: Bytes,
}

impl Ctx<'_> {
    fn dry_run(&self) -> Result<bool, ApiError> {
        match self.query.get("dryRun") {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "Invalid dry run value: {other:?}; supported values: \"All\""
            ))),
        }
    }

    fn decode_body(&self) -> Result<Value, ApiError> {
        let media = self.content_type.split(';').next().unwrap_or("").trim();
        match media {
            "" | "application/json" | "*/*" => serde_json::from_slice(&self.body)
                .map_err(|e| ApiError::bad_request(format!("error decoding request body: {e}"))),
            "application/yaml" => {
                let text = std::str::from_utf8(&self.body)
                    .map_err(|e| ApiError::bad_request(e.to_string()))?;
                serde_saphyr::from_str(text).map_err(|e| {
                    ApiError::bad_request(format!("error decoding YAML request body: {e}"))
                })
            }
            other => Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {other:?})"
                ),
            )),
        }
    }

    fn wants_table(&self) -> bool {
        self.accept
            .split(',')
            .any(|m| m.contains("as=Table") && m.contains("g=meta.k8s.io"))
    }

    fn wants_partial_metadata(&self) -> bool {
        self.accept
            .split(',')
            .next()
            .is_some_and(|m| m.contains("as=PartialObjectMetadata") && m.contains("g=meta.k8s.io"))
    }

    fn admission<'b>(
        &'b self,
        t: &'b Target,
        op: Operation,
        name: &'b str,
        old: Option<&'b Value>,
        dry_run: bool,
    ) -> Attributes<'b> {
        Attributes {
            rt: &t.rt,
            subresource: t.subresource.as_deref().unwrap_or(""),
            operation: op,
            name,
            namespace: t.namespace.as_deref().unwrap_or(""),
            old_object: old,
            dry_run,
            field_manager: self.query.get("fieldManager"),
            user: self.user,
            kind_override: (t.subresource.as_deref() == Some("scale")).then_some((
                "autoscaling",
                "v1",
                "Scale",
            )),
        }
    }
}

/// `(status, body, warnings)` or an error with warnings.
type Outcome = Result<(u16, Value), ApiError>;

#[allow(clippy::too_many_arguments)]
pub(crate) async fn handle(
    state: &ServerState,
    user: &UserInfo,
    method: &str,
    group: &str,
    version: &str,
    rest: &[&str],
    query: &str,
    accept: &str,
    content_type: &str,
    body: Bytes,
) -> Response<Body> {
    let (target, watch_path) = match resolve(state, group, version, rest) {
        Ok(t) => t,
        Err(e) => return error_response(&e, &[]),
    };
    let ctx = Ctx {
        state,
        user,
        query: Query::parse(query),
        accept,
        content_type,
        body,
    };
    let watch = watch_path || ctx.query.flag("watch");
    let mut warnings = vec![];
    let outcome = match (method, &target.name, target.subresource.as_deref()) {
        ("GET", _, None) if watch => {
            return crate::watch::serve(
                &ctx.state.store,
                target.rt.clone(),
                target.namespace.clone(),
                target.name.clone(),
                &ctx.query,
                ctx.wants_table().then_some(()),
            )
            .await;
        }
        ("GET", None, _) => list(&ctx, &target),
        ("GET", Some(name), sub) => get(&ctx, &target, name, sub),
        ("POST", None, _) if target.rt.namespaced && target.namespace.is_none() => {
            Err(ApiError::method_not_allowed())
        }
        ("POST", None, _) => create(&ctx, &target, &mut warnings).await,
        ("PUT", Some(name), _) => update(&ctx, &target, name, &mut warnings).await,
        ("PATCH", Some(name), _) => patch_object(&ctx, &target, name, &mut warnings).await,
        ("DELETE", Some(name), None) => delete(&ctx, &target, name, &mut warnings).await,
        ("DELETE", None, _) => delete_collection(&ctx, &target, &mut warnings).await,
        _ => Err(ApiError::method_not_allowed()),
    };
    match outcome {
        Ok((code, value)) => json_response(code, &value, &warnings),
        Err(e) => error_response(&e, &warnings),
    }
}

fn list_metadata(rv: u64, continue_token: Option<String>, remaining: Option<usize>) -> Value {
    let mut md = json!({"resourceVersion": rv.to_string()});
    if let Some(c) = continue_token {
        md["continue"] = json!(c);
    }
    if let Some(r) = remaining {
        md["remainingItemCount"] = json!(r);
    }
    md
}

/// Continue tokens: base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"<ns>/<name>"}`.
fn encode_continue(rv: u64, ns: &str, name: &str) -> String {
    use base64::Engine;
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{ns}/{name}")});
    base64::engine::general_purpose::URL_SAFE.encode(token.to_string())
}

fn decode_continue(token: &str) -> Result<(u64, String, String), ApiError> {
    use base64::Engine;
    let invalid = |why: &str| ApiError::bad_request(format!("continue key is not valid: {why}"));
    let bytes = base64::engine::general_purpose::URL_SAFE
        .decode(token)
        .map_err(|_| invalid("incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|_| invalid("incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))?;
    let rv = v.get("rv").and_then(Value::as_u64).ok_or_else(|| {
        invalid("incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    })?;
    let start = v
        .get("start")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("missing start"))?;
    let (ns, name) = start
        .split_once('/')
        .ok_or_else(|| invalid("malformed start"))?;
    Ok((rv, ns.into(), name.into()))
}

fn selectors(ctx: &Ctx<'_>, rt: &ResourceType) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(ctx.query.get("labelSelector").unwrap_or(""))?;
    let fields = FieldSelector::parse(ctx.query.get("fieldSelector").unwrap_or(""), rt)?;
    Ok((labels, fields))
}

fn list(ctx: &Ctx<'_>, t: &Target) -> Outcome {
    let rt = &t.rt;
    let (labels, fields) = selectors(ctx, rt)?;
    let limit: usize = match ctx.query.get("limit") {
        None | Some("") | Some("0") => 0,
        Some(l) => l
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid limit: {l:?}")))?,
    };
    let (items, store_rv) = ctx.state.store.list_objects(rt, t.namespace.as_deref());
    let (list_rv, start) = match ctx.query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let (rv, ns, name) = decode_continue(token)?;
            (rv, Some((ns, name)))
        }
        None => (store_rv, None),
    };
    let mut matching: Vec<Value> = items
        .into_iter()
        .filter(|o| match &start {
            Some((ns, name)) => {
                (meta::namespace_of(o), meta::name_of(o)) > (ns.as_str(), name.as_str())
            }
            None => true,
        })
        .filter(|o| labels.matches_object(o) && fields.matches(o))
        .collect();
    let mut continue_token = None;
    let mut remaining = None;
    if limit > 0 && matching.len() > limit {
        let rest = matching.split_off(limit);
        let last = matching.last().expect("limit > 0");
        continue_token = Some(encode_continue(
            list_rv,
            meta::namespace_of(last),
            meta::name_of(last),
        ));
        // Like the apiserver, the count is only given when no selector filters the list.
        if labels.is_everything() && fields.is_everything() {
            remaining = Some(rest.len());
        }
    }
    let md = list_metadata(list_rv, continue_token, remaining);
    if ctx.wants_table() {
        let include = IncludeObject::parse(ctx.query.get("includeObject"));
        return Ok((200, table::render(&rt.columns, &matching, include, md)));
    }
    if ctx.wants_partial_metadata() {
        let items: Vec<Value> = matching.iter().map(partial_metadata).collect();
        return Ok((
            200,
            json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": md, "items": items}),
        ));
    }
    Ok((
        200,
        json!({"kind": rt.list_kind(), "apiVersion": rt.api_version(), "metadata": md, "items": matching}),
    ))
}

fn partial_metadata(o: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o.get("metadata").cloned().unwrap_or(json!({}))})
}

fn get(ctx: &Ctx<'_>, t: &Target, name: &str, sub: Option<&str>) -> Outcome {
    let obj = ctx
        .state
        .store
        .get_object(&t.rt, t.namespace.as_deref(), name)?;
    match sub {
        Some("scale") => Ok((200, scale_of(&obj))),
        Some("finalize") => Err(ApiError::method_not_allowed()),
        _ if ctx.wants_table() => {
            let include = IncludeObject::parse(ctx.query.get("includeObject"));
            let md = json!({"resourceVersion": meta::resource_version_of(&obj)});
            Ok((
                200,
                table::render(&t.rt.columns, std::slice::from_ref(&obj), include, md),
            ))
        }
        _ if ctx.wants_partial_metadata() => Ok((200, partial_metadata(&obj))),
        _ => Ok((200, obj)),
    }
}

/// The `autoscaling/v1` Scale view of a workload.
fn scale_of(obj: &Value) -> Value {
    let md = &obj["metadata"];
    let selector = match obj.pointer("/spec/selector") {
        Some(s) if s.get("matchLabels").is_some() || s.get("matchExpressions").is_some() => {
            s.get("matchLabels").cloned()
        }
        other => other.cloned(),
    };
    let selector = selector
        .and_then(|s| s.as_object().cloned())
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": md["name"], "namespace": md["namespace"], "uid": md["uid"],
            "resourceVersion": md["resourceVersion"], "creationTimestamp": md["creationTimestamp"],
        },
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(0))},
        "status": {"replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)), "selector": selector},
    })
}

async fn create(ctx: &Ctx<'_>, t: &Target, warnings: &mut Vec<String>) -> Outcome {
    let dry_run = ctx.dry_run()?;
    let body = ctx.decode_body()?;
    let store = &ctx.state.store;
    let requested_name = body
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let prepared = store.prepare_create(&t.rt, t.namespace.as_deref(), body)?;
    let mut object = Some(prepared);
    let attrs = ctx.admission(t, Operation::Create, &requested_name, None, dry_run);
    let (w, result) = ctx.state.admission.admit(store, &attrs, &mut object).await;
    warnings.extend(w);
    result?;
    let obj = object.expect("create keeps its object");
    revalidate(&t.rt, &obj)?;
    let created = store.commit_create(&t.rt, obj, dry_run)?;
    Ok((201, created))
}

/// Validation again after mutating webhooks changed the object.
fn revalidate(rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
    let causes = crate::defaults::validate(rt, obj);
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(
            &rt.group,
            &rt.kind,
            meta::name_of(obj),
            causes,
        ))
    }
}

/// A precondition resourceVersion as sent by a client; garbage never matches.
fn precondition(rv: &str) -> Option<u64> {
    if rv.is_empty() {
        None
    } else {
        Some(rv.parse().unwrap_or(u64::MAX))
    }
}

/// Build the object to store from the current one and what the client sent,
/// according to the subresource written to.
fn proposed(t: &Target, current: &Value, sent: Value) -> Result<Value, ApiError> {
    match t.subresource.as_deref() {
        None => {
            let mut new = sent;
            // The main resource cannot change status where a status subresource exists.
            if t.rt.has_subresource("status") && new.is_object() {
                match current.get("status") {
                    Some(s) => new["status"] = s.clone(),
                    None => {
                        new.as_object_mut().expect("object").remove("status");
                    }
                }
            }
            Ok(new)
        }
        Some("status") => {
            let mut new = current.clone();
            new["status"] = sent.get("status").cloned().unwrap_or(Value::Null);
            new["metadata"]["resourceVersion"] = json!(meta::resource_version_of(&sent));
            Ok(new)
        }
        Some("scale") => {
            let replicas = sent
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "autoscaling",
                        "Scale",
                        meta::name_of(current),
                        vec![crate::error::FieldCause::required("spec.replicas", "")],
                    )
                })?;
            if replicas < 0 {
                return Err(ApiError::invalid(
                    "autoscaling",
                    "Scale",
                    meta::name_of(current),
                    vec![crate::error::FieldCause::invalid(
                        "spec.replicas",
                        &replicas.to_string(),
                        "must be greater than or equal to 0",
                    )],
                ));
            }
            let mut new = current.clone();
            new["spec"]["replicas"] = json!(replicas);
            new["metadata"]["resourceVersion"] = json!(meta::resource_version_of(&sent));
            Ok(new)
        }
        Some("finalize") => {
            let mut new = current.clone();
            new["spec"]["finalizers"] = sent
                .pointer("/spec/finalizers")
                .cloned()
                .unwrap_or(json!([]));
            Ok(new)
        }
        Some(_) => Err(ApiError::method_not_allowed()),
    }
}

/// The view of an object a subresource shows (and admission sees).
fn view(t: &Target, obj: &Value) -> Value {
    if t.subresource.as_deref() == Some("scale") {
        scale_of(obj)
    } else {
        obj.clone()
    }
}

/// From the current object, what the client sent and its resourceVersion precondition.
type BuildUpdate<'a> = dyn Fn(&Value) -> Result<(Value, Option<u64>), ApiError> + Sync + 'a;

/// The shared tail of PUT and PATCH: prepare, admit, store (retrying lost
/// races when the client set no precondition).
async fn write(
    ctx: &Ctx<'_>,
    t: &Target,
    name: &str,
    warnings: &mut Vec<String>,
    build: &BuildUpdate<'_>,
) -> Outcome {
    let dry_run = ctx.dry_run()?;
    let store = &ctx.state.store;
    for attempt in 1..=WRITE_ATTEMPTS {
        let current = store.get_object(&t.rt, t.namespace.as_deref(), name)?;
        let current_rv: u64 = meta::resource_version_of(&current).parse().unwrap_or(0);
        let (sent, client_precondition) = build(&current)?;
        if client_precondition.is_some_and(|rv| rv != current_rv) {
            return Err(ApiError::conflict(&t.rt.group, &t.rt.plural, name));
        }
        let new = store.prepare_update(&t.rt, &current, proposed(t, &current, sent)?)?;
        let old_view = view(t, &current);
        let mut object = Some(view(t, &new));
        let attrs = ctx.admission(t, Operation::Update, name, Some(&old_view), dry_run);
        let (w, result) = ctx.state.admission.admit(store, &attrs, &mut object).await;
        warnings.extend(w);
        result?;
        let admitted = object.expect("update keeps its object");
        // Mutations of a Scale can only change replicas; of an object, anything.
        let new = if t.subresource.as_deref() == Some("scale") {
            let mut n = new;
            n["spec"]["replicas"] = admitted
                .pointer("/spec/replicas")
                .cloned()
                .unwrap_or(n["spec"]["replicas"].clone());
            n
        } else {
            admitted
        };
        revalidate(&t.rt, &new)?;
        match store.commit_update(&t.rt, new, Some(current_rv), dry_run) {
            Err(e)
                if e.reason == "Conflict"
                    && client_precondition.is_none()
                    && attempt < WRITE_ATTEMPTS =>
            {
                continue;
            }
            Err(e) => return Err(e),
            Ok(stored) => return Ok((200, view(t, &stored))),
        }
    }
    Err(ApiError::conflict(&t.rt.group, &t.rt.plural, name))
}

async fn update(ctx: &Ctx<'_>, t: &Target, name: &str, warnings: &mut Vec<String>) -> Outcome {
    let body = ctx.decode_body()?;
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    }
    let sent_rv = precondition(meta::resource_version_of(&body));
    write(ctx, t, name, warnings, &|_current| {
        Ok((body.clone(), sent_rv))
    })
    .await
}

async fn patch_object(
    ctx: &Ctx<'_>,
    t: &Target,
    name: &str,
    warnings: &mut Vec<String>,
) -> Outcome {
    let patch_type = PatchType::from_content_type(ctx.content_type)
        .ok_or_else(|| ApiError::unsupported_media_type(ctx.content_type))?;
    if patch_type == PatchType::StrategicMerge && !t.rt.supports_strategic_merge {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
        ));
    }
    let body = ctx.body.clone();
    write(ctx, t, name, warnings, &|current| {
        let current_view = view(t, current);
        let patched = patch::apply(patch_type, &current_view, &body)?;
        // A resourceVersion in the patched result differing from the current
        // one can only come from the patch: it is a precondition.
        let rv = meta::resource_version_of(&patched);
        let client_precondition = (rv != meta::resource_version_of(&current_view))
            .then(|| precondition(rv))
            .flatten();
        Ok((patched, client_precondition))
    })
    .await
}

fn delete_options(ctx: &Ctx<'_>) -> Result<(Value, bool), ApiError> {
    let options = if ctx.body.is_empty() {
        json!({})
    } else {
        ctx.decode_body()?
    };
    let body_dry_run = options
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v == "All"));
    Ok((options, ctx.dry_run()? || body_dry_run))
}

async fn delete_one(
    ctx: &Ctx<'_>,
    t: &Target,
    name: &str,
    options: &Value,
    dry_run: bool,
    warnings: &mut Vec<String>,
) -> Result<(Value, bool), ApiError> {
    let store = &ctx.state.store;
    let current = store.get_object(&t.rt, t.namespace.as_deref(), name)?;
    if !ctx.state.admission.is_empty() {
        let attrs = ctx.admission(t, Operation::Delete, name, Some(&current), dry_run);
        let mut object = None;
        let (w, result) = ctx.state.admission.admit(store, &attrs, &mut object).await;
        warnings.extend(w);
        result?;
    }
    let uid = options
        .pointer("/preconditions/uid")
        .and_then(Value::as_str)
        .unwrap_or("");
    let rv = options
        .pointer("/preconditions/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    store.commit_delete(
        &t.rt,
        t.namespace.as_deref(),
        name,
        Some((uid, rv)),
        dry_run,
    )
}

async fn delete(ctx: &Ctx<'_>, t: &Target, name: &str, warnings: &mut Vec<String>) -> Outcome {
    let (options, dry_run) = delete_options(ctx)?;
    let (obj, gone) = delete_one(ctx, t, name, &options, dry_run, warnings).await?;
    if !gone || t.rt.delete_returns_object {
        return Ok((200, obj));
    }
    let mut details = json!({"name": name, "kind": t.rt.plural, "uid": obj.pointer("/metadata/uid").cloned().unwrap_or(Value::Null)});
    if !t.rt.group.is_empty() {
        details["group"] = json!(t.rt.group);
    }
    Ok((
        200,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
    ))
}

async fn delete_collection(ctx: &Ctx<'_>, t: &Target, warnings: &mut Vec<String>) -> Outcome {
    let (options, dry_run) = delete_options(ctx)?;
    let (labels, fields) = selectors(ctx, &t.rt)?;
    let (items, _) = ctx.state.store.list_objects(&t.rt, t.namespace.as_deref());
    let mut deleted = vec![];
    for obj in items
        .iter()
        .filter(|o| labels.matches_object(o) && fields.matches(o))
    {
        let target = Target {
            rt: t.rt.clone(),
            namespace: t.rt.namespaced.then(|| meta::namespace_of(obj).to_string()),
            name: None,
            subresource: None,
        };
        match delete_one(
            ctx,
            &target,
            meta::name_of(obj),
            &options,
            dry_run,
            warnings,
        )
        .await
        {
            Ok((o, _)) => deleted.push(o),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let rv = ctx.state.store.resource_version();
    Ok((
        200,
        json!({"kind": t.rt.list_kind(), "apiVersion": t.rt.api_version(), "metadata": {"resourceVersion": rv.to_string()}, "items": deleted}),
    ))
}
