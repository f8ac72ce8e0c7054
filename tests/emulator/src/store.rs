//! The object store: every object of every type, one global resourceVersion
//! counter, and a bounded history of change events for watches.
//!
//! All writes go through one mutex so that resourceVersions are assigned and
//! events are broadcast in one total order, which is what lets a watch resume
//! from any resourceVersion still in the history.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::defaults;
use crate::error::{ApiError, FieldCause};
use crate::meta;
use crate::resources::{Registry, ResourceType};

/// ADDED / MODIFIED / DELETED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change to one object.
#[derive(Debug, Clone)]
pub struct StoreEvent {
    pub event_type: EventType,
    pub group: String,
    pub plural: String,
    /// `""` for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
    /// The object after the change (for DELETED: as it was, with the deletion's resourceVersion).
    pub object: Value,
    /// For MODIFIED: the object before the change (lets watches with selectors
    /// turn a change into ADDED/DELETED when the object enters/leaves the selection).
    pub previous: Option<Value>,
    pub resource_version: u64,
}

type Key = (String, String);
type EventReceiver = broadcast::Receiver<Arc<StoreEvent>>;

struct State {
    resource_version: u64,
    /// (group, plural) → (namespace, name) → object. BTreeMap: lists come out
    /// sorted by namespace then name, like etcd keys.
    objects: HashMap<Key, BTreeMap<Key, Value>>,
    history: VecDeque<Arc<StoreEvent>>,
    /// Highest resourceVersion whose event has been dropped from `history`.
    history_floor: u64,
}

struct Shared {
    registry: Registry,
    state: Mutex<State>,
    events: broadcast::Sender<Arc<StoreEvent>>,
    history_limit: usize,
}

/// A handle on the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("resource_version", &self.resource_version())
            .finish()
    }
}

fn ns_key(rt: &ResourceType, ns: Option<&str>) -> String {
    if rt.namespaced {
        ns.unwrap_or("").to_string()
    } else {
        String::new()
    }
}

impl Store {
    pub(crate) fn new(registry: Registry, history_limit: usize) -> Self {
        let (events, _) = broadcast::channel(16 * 1024);
        Store {
            shared: Arc::new(Shared {
                registry,
                state: Mutex::new(State {
                    resource_version: 1,
                    objects: HashMap::new(),
                    history: VecDeque::new(),
                    history_floor: 0,
                }),
                events,
                history_limit: history_limit.max(1),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every write is
        // a single insert), so poisoning is not a reason to stop serving.
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn registry(&self) -> &Registry {
        &self.shared.registry
    }

    /// The type served at `group/version/plural`, or the apiserver's 404.
    pub fn resource(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Result<Arc<ResourceType>, ApiError> {
        self.shared
            .registry
            .find(group, version, plural)
            .ok_or_else(ApiError::unknown_resource)
    }

    /// The current (latest assigned) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.lock().resource_version
    }

    fn emit(
        &self,
        st: &mut State,
        event_type: EventType,
        rt: &ResourceType,
        object: &Value,
        previous: Option<Value>,
        rv: u64,
    ) {
        let ev = Arc::new(StoreEvent {
            event_type,
            group: rt.group.clone(),
            plural: rt.plural.clone(),
            namespace: meta::namespace_of(object).to_string(),
            name: meta::name_of(object).to_string(),
            object: object.clone(),
            previous,
            resource_version: rv,
        });
        st.history.push_back(ev.clone());
        while st.history.len() > self.shared.history_limit {
            if let Some(old) = st.history.pop_front() {
                st.history_floor = old.resource_version;
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.shared.events.send(ev);
    }

    fn next_rv(st: &mut State) -> u64 {
        st.resource_version += 1;
        st.resource_version
    }

    // ---------------------------------------------------------------------
    // Simple API for tests and controllers (no admission, no HTTP).

    /// Create an object; its type is taken from `apiVersion` and `kind`.
    /// Namespaced objects without `metadata.namespace` go to `default`.
    pub fn create(&self, obj: Value) -> Result<Value, ApiError> {
        let rt = self.type_of(&obj)?;
        let ns = if rt.namespaced {
            let ns = meta::namespace_of(&obj);
            Some(if ns.is_empty() {
                "default".to_string()
            } else {
                ns.to_string()
            })
        } else {
            None
        };
        let prepared = self.prepare_create(&rt, ns.as_deref(), obj)?;
        self.commit_create(&rt, prepared, false)
    }

    /// Create every object, creating their namespaces first when missing.
    pub fn seed(&self, objects: impl IntoIterator<Item = Value>) -> Result<(), ApiError> {
        for obj in objects {
            let rt = self.type_of(&obj)?;
            if rt.namespaced {
                let ns = meta::namespace_of(&obj);
                let ns = if ns.is_empty() { "default" } else { ns };
                self.ensure_namespace(ns)?;
            }
            self.create(obj)?;
        }
        Ok(())
    }

    /// Create namespace `name` unless it exists.
    pub fn ensure_namespace(&self, name: &str) -> Result<(), ApiError> {
        match self
            .create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
        {
            Ok(_) => Ok(()),
            Err(e) if e.reason == "AlreadyExists" => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub fn get(
        &self,
        group: &str,
        version: &str,
        plural: &str,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let rt = self.resource(group, version, plural)?;
        self.get_object(&rt, ns, name)
    }

    /// All objects of a type (in one namespace, or everywhere with `None`), sorted.
    pub fn list(
        &self,
        group: &str,
        version: &str,
        plural: &str,
        ns: Option<&str>,
    ) -> Result<Vec<Value>, ApiError> {
        let rt = self.resource(group, version, plural)?;
        Ok(self.list_objects(&rt, ns).0)
    }

    /// Replace an object as is, status included. A `metadata.resourceVersion`
    /// in `obj` is a precondition (409 Conflict when stale); without one the
    /// update is unconditional.
    pub fn update(&self, obj: Value) -> Result<Value, ApiError> {
        let rt = self.type_of(&obj)?;
        let ns = meta::namespace_of(&obj).to_string();
        let name = meta::name_of(&obj).to_string();
        let expected = meta::resource_version_of(&obj).parse::<u64>().ok();
        let current = self.get_object(&rt, Some(&ns), &name)?;
        let merged = self.prepare_update(&rt, &current, obj)?;
        self.commit_update(&rt, merged, expected, false)
    }

    pub fn delete(
        &self,
        group: &str,
        version: &str,
        plural: &str,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let rt = self.resource(group, version, plural)?;
        self.commit_delete(&rt, ns, name, None, false)
            .map(|(obj, _)| obj)
    }

    /// Write the object again unchanged so that its resourceVersion moves on
    /// (emits MODIFIED): a client holding the old version now gets 409 Conflict.
    pub fn bump_resource_version(
        &self,
        group: &str,
        version: &str,
        plural: &str,
        ns: Option<&str>,
        name: &str,
    ) -> Result<String, ApiError> {
        let rt = self.resource(group, version, plural)?;
        let current = self.get_object(&rt, ns, name)?;
        let updated = self.commit_update(&rt, current, None, false)?;
        Ok(meta::resource_version_of(&updated).to_string())
    }

    /// Change notifications for every type, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoreEvent>> {
        self.shared.events.subscribe()
    }

    /// Change notifications for one type (`group`, `plural`), optionally
    /// preceded by ADDED events for the objects that exist now.
    pub fn watch(&self, group: &str, plural: &str, initial: bool) -> StoreWatch {
        let st = self.lock();
        let rx = self.shared.events.subscribe();
        let mut pending = VecDeque::new();
        if initial && let Some(objs) = st.objects.get(&(group.to_string(), plural.to_string())) {
            for obj in objs.values() {
                pending.push_back(Arc::new(StoreEvent {
                    event_type: EventType::Added,
                    group: group.into(),
                    plural: plural.into(),
                    namespace: meta::namespace_of(obj).into(),
                    name: meta::name_of(obj).into(),
                    object: obj.clone(),
                    previous: None,
                    resource_version: meta::resource_version_of(obj).parse().unwrap_or(0),
                }));
            }
        }
        StoreWatch {
            rx,
            group: group.into(),
            plural: plural.into(),
            pending,
        }
    }

    // ---------------------------------------------------------------------
    // The building blocks the REST layer composes (admission runs between
    // prepare_* and commit_*).

    pub(crate) fn type_of(&self, obj: &Value) -> Result<Arc<ResourceType>, ApiError> {
        let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        if api_version.is_empty() || kind.is_empty() {
            return Err(ApiError::bad_request("Object 'Kind' is missing in object"));
        }
        self.shared
            .registry
            .find_kind(api_version, kind)
            .ok_or_else(|| {
                ApiError::new(
                    404,
                    "NotFound",
                    format!("no matches for kind \"{kind}\" in version \"{api_version}\""),
                )
            })
    }

    pub(crate) fn get_object(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let st = self.lock();
        st.objects
            .get(&(rt.group.clone(), rt.plural.clone()))
            .and_then(|m| m.get(&(ns_key(rt, ns), name.to_string())))
            .map(|o| with_api_version(rt, o))
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))
    }

    /// Objects sorted by (namespace, name), and the resourceVersion of the snapshot.
    pub(crate) fn list_objects(&self, rt: &ResourceType, ns: Option<&str>) -> (Vec<Value>, u64) {
        let st = self.lock();
        let items = match st.objects.get(&(rt.group.clone(), rt.plural.clone())) {
            None => vec![],
            Some(m) => match ns.filter(|_| rt.namespaced) {
                Some(ns) => m
                    .range((ns.to_string(), String::new())..)
                    .take_while(|((n, _), _)| n == ns)
                    .map(|(_, o)| with_api_version(rt, o))
                    .collect(),
                None => m.values().map(|o| with_api_version(rt, o)).collect(),
            },
        };
        (items, st.resource_version)
    }

    /// Validate a create body and fill in what the server owns: name from
    /// generateName, uid, creationTimestamp, generation, defaults.
    pub(crate) fn prepare_create(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON object",
            ));
        }
        check_type_matches(rt, &obj)?;
        let md = meta::metadata_mut(&mut obj);
        if rt.namespaced {
            let body_ns = md.get("namespace").and_then(Value::as_str).unwrap_or("");
            let ns = ns.unwrap_or("");
            if !body_ns.is_empty() && body_ns != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            md.insert("namespace".into(), json!(ns));
        } else {
            md.remove("namespace");
        }
        let name = md
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let generate = md
            .get("generateName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let name = if name.is_empty() && !generate.is_empty() {
            let mut base = generate.clone();
            base.truncate(58);
            format!("{base}{}", meta::generated_suffix())
        } else {
            name
        };
        if name.is_empty() {
            return Err(ApiError::invalid(
                &rt.group,
                &rt.kind,
                "",
                vec![FieldCause::required(
                    "metadata.name",
                    "name or generateName is required",
                )],
            ));
        }
        let name_problem = if rt.kind == "Namespace" || rt.kind == "Service" {
            meta::check_label(&name)
        } else {
            meta::check_subdomain(&name)
        };
        if let Some(problem) = name_problem {
            return Err(ApiError::invalid(
                &rt.group,
                &rt.kind,
                &name,
                vec![FieldCause::invalid("metadata.name", &name, &problem)],
            ));
        }
        md.insert("name".into(), json!(name));
        md.insert("uid".into(), json!(meta::new_uid()));
        md.insert("creationTimestamp".into(), json!(meta::now_rfc3339()));
        md.remove("resourceVersion");
        md.remove("deletionTimestamp");
        md.remove("deletionGracePeriodSeconds");
        if rt.tracks_generation {
            md.insert("generation".into(), json!(1));
        } else {
            md.remove("generation");
        }
        obj["apiVersion"] = json!(rt.api_version());
        obj["kind"] = json!(rt.kind);
        defaults::apply(rt, &mut obj);
        let causes = defaults::validate(rt, &obj);
        if !causes.is_empty() {
            return Err(ApiError::invalid(&rt.group, &rt.kind, &name, causes));
        }
        Ok(obj)
    }

    /// Merge an update body onto the current object: identity and
    /// server-owned metadata are kept, generation moves when the spec changed.
    pub(crate) fn prepare_update(
        &self,
        rt: &ResourceType,
        current: &Value,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON object",
            ));
        }
        check_type_matches(rt, &obj)?;
        let name = meta::name_of(current).to_string();
        let body_name = meta::name_of(&obj).to_string();
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let body_ns = meta::namespace_of(&obj).to_string();
        if rt.namespaced && !body_ns.is_empty() && body_ns != meta::namespace_of(current) {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let body_uid = obj
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if !body_uid.is_empty()
            && Some(body_uid.as_str()) != current.pointer("/metadata/uid").and_then(Value::as_str)
        {
            return Err(ApiError::conflict(&rt.group, &rt.plural, &name));
        }
        let rv = meta::resource_version_of(&obj).to_string();
        let md = meta::metadata_mut(&mut obj);
        for key in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ] {
            match current.pointer(&format!("/metadata/{key}")) {
                Some(v) => md.insert(key.into(), v.clone()),
                None => md.remove(key),
            };
        }
        if rv.is_empty() {
            md.remove("resourceVersion");
        }
        obj["apiVersion"] = json!(rt.api_version());
        obj["kind"] = json!(rt.kind);
        defaults::apply(rt, &mut obj);
        if rt.tracks_generation && meta::spec_changed(current, &obj) {
            let g = current
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                + 1;
            meta::metadata_mut(&mut obj).insert("generation".into(), json!(g));
        }
        let causes = defaults::validate(rt, &obj);
        if !causes.is_empty() {
            return Err(ApiError::invalid(&rt.group, &rt.kind, &name, causes));
        }
        Ok(obj)
    }

    pub(crate) fn commit_create(
        &self,
        rt: &ResourceType,
        mut obj: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let mut st = self.lock();
        let ns = meta::namespace_of(&obj).to_string();
        let name = meta::name_of(&obj).to_string();
        if rt.namespaced {
            let ns_exists = st
                .objects
                .get(&(String::new(), "namespaces".into()))
                .is_some_and(|m| m.contains_key(&(String::new(), ns.clone())));
            if !ns_exists {
                return Err(ApiError::not_found("", "namespaces", &ns));
            }
        }
        let key = (ns_key(rt, Some(&ns)), name.clone());
        let table = st
            .objects
            .entry((rt.group.clone(), rt.plural.clone()))
            .or_default();
        if table.contains_key(&key) {
            return Err(ApiError::already_exists(&rt.group, &rt.plural, &name));
        }
        self.check_definition(rt, &obj)?;
        if dry_run {
            return Ok(obj);
        }
        let rv = Self::next_rv(&mut st);
        meta::metadata_mut(&mut obj).insert("resourceVersion".into(), json!(rv.to_string()));
        st.objects
            .entry((rt.group.clone(), rt.plural.clone()))
            .or_default()
            .insert(key, obj.clone());
        self.emit(&mut st, EventType::Added, rt, &obj, None, rv);
        self.definition_changed(&mut st, rt, &obj, false);
        Ok(obj)
    }

    /// Store `obj` in place of the current object. `expected_rv` is the
    /// optimistic-concurrency precondition. An object being deleted whose
    /// last finalizer is removed goes away here.
    pub(crate) fn commit_update(
        &self,
        rt: &ResourceType,
        mut obj: Value,
        expected_rv: Option<u64>,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let mut st = self.lock();
        let ns = ns_key(rt, Some(meta::namespace_of(&obj)));
        let name = meta::name_of(&obj).to_string();
        let key = (ns, name.clone());
        let current = st
            .objects
            .get(&(rt.group.clone(), rt.plural.clone()))
            .and_then(|m| m.get(&key))
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &name))?;
        let current_rv: u64 = meta::resource_version_of(current).parse().unwrap_or(0);
        let previous = current.clone();
        if expected_rv.is_some_and(|e| e != current_rv) {
            return Err(ApiError::conflict(&rt.group, &rt.plural, &name));
        }
        self.check_definition(rt, &obj)?;
        if dry_run {
            meta::metadata_mut(&mut obj)
                .insert("resourceVersion".into(), json!(current_rv.to_string()));
            return Ok(obj);
        }
        let rv = Self::next_rv(&mut st);
        meta::metadata_mut(&mut obj).insert("resourceVersion".into(), json!(rv.to_string()));
        let finalized = obj.pointer("/metadata/deletionTimestamp").is_some()
            && obj
                .pointer("/metadata/finalizers")
                .and_then(Value::as_array)
                .is_none_or(|f| f.is_empty());
        let table = st
            .objects
            .get_mut(&(rt.group.clone(), rt.plural.clone()))
            .expect("checked above");
        if finalized {
            table.remove(&key);
            self.emit(&mut st, EventType::Deleted, rt, &obj, None, rv);
        } else {
            table.insert(key, obj.clone());
            self.emit(&mut st, EventType::Modified, rt, &obj, Some(previous), rv);
        }
        self.definition_changed(&mut st, rt, &obj, finalized);
        Ok(obj)
    }

    /// Delete, honouring finalizers (the object then only gets a
    /// deletionTimestamp). Returns the object and whether it is gone.
    /// Deleting a namespace deletes everything in it at once.
    pub(crate) fn commit_delete(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
        preconditions: Option<(&str, &str)>,
        dry_run: bool,
    ) -> Result<(Value, bool), ApiError> {
        let mut st = self.lock();
        let key = (ns_key(rt, ns), name.to_string());
        let tk = (rt.group.clone(), rt.plural.clone());
        let mut obj = st
            .objects
            .get(&tk)
            .and_then(|m| m.get(&key))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
        if let Some((uid, rv)) = preconditions {
            let uid_ok =
                uid.is_empty() || obj.pointer("/metadata/uid").and_then(Value::as_str) == Some(uid);
            let rv_ok = rv.is_empty() || meta::resource_version_of(&obj) == rv;
            if !uid_ok || !rv_ok {
                let which = if !uid_ok {
                    format!(
                        "UID in precondition: {uid}, UID in object meta: {}",
                        obj.pointer("/metadata/uid")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                    )
                } else {
                    format!(
                        "ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                        meta::resource_version_of(&obj)
                    )
                };
                let mut e = ApiError::conflict(&rt.group, &rt.plural, name);
                e.message = format!(
                    "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: {which}",
                    crate::error::qualified(&rt.group, &rt.plural)
                );
                return Err(e);
            }
        }
        let has_finalizers = obj
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if dry_run {
            return Ok((with_api_version(rt, &obj), !has_finalizers));
        }
        if has_finalizers {
            if obj.pointer("/metadata/deletionTimestamp").is_none() {
                let rv = Self::next_rv(&mut st);
                let previous = obj.clone();
                let md = meta::metadata_mut(&mut obj);
                md.insert("deletionTimestamp".into(), json!(meta::now_rfc3339()));
                md.insert("deletionGracePeriodSeconds".into(), json!(0));
                md.insert("resourceVersion".into(), json!(rv.to_string()));
                st.objects
                    .get_mut(&tk)
                    .expect("present")
                    .insert(key, obj.clone());
                self.emit(&mut st, EventType::Modified, rt, &obj, Some(previous), rv);
            }
            return Ok((with_api_version(rt, &obj), false));
        }
        if rt.group.is_empty() && rt.plural == "namespaces" {
            self.delete_namespace_contents(&mut st, name);
        }
        let rv = Self::next_rv(&mut st);
        st.objects.get_mut(&tk).expect("present").remove(&key);
        meta::metadata_mut(&mut obj).insert("resourceVersion".into(), json!(rv.to_string()));
        if rt.plural == "namespaces" {
            obj["status"] = json!({"phase": "Terminating"});
        }
        self.emit(&mut st, EventType::Deleted, rt, &obj, None, rv);
        self.definition_changed(&mut st, rt, &obj, true);
        Ok((with_api_version(rt, &obj), true))
    }

    /// A CustomResourceDefinition may not define a type another definition (or
    /// the server itself) already serves.
    fn check_definition(&self, rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
        if !crate::crd::is_definition(rt) {
            return Ok(());
        }
        let name = meta::name_of(obj);
        let types = crate::crd::types_of(obj);
        match self.shared.registry.conflict(name, &types) {
            None => Ok(()),
            Some(taken) => Err(ApiError::invalid(
                &rt.group,
                &rt.kind,
                name,
                vec![FieldCause::invalid(
                    "spec.names.plural",
                    &taken.plural,
                    &format!(
                        "{}/{} {} is already served{}",
                        taken.api_version(),
                        taken.plural,
                        taken.kind,
                        taken
                            .defined_by
                            .as_deref()
                            .map(|crd| format!(" by customresourcedefinition {crd}"))
                            .unwrap_or_default()
                    ),
                )],
            )),
        }
    }

    /// Serve what a stored CustomResourceDefinition defines, or, once it is
    /// gone, stop serving it and delete its custom resources (as the
    /// apiextensions server does before it lets a CRD go).
    fn definition_changed(&self, st: &mut State, rt: &ResourceType, obj: &Value, gone: bool) {
        if !crate::crd::is_definition(rt) {
            return;
        }
        let name = meta::name_of(obj);
        if !gone {
            self.shared.registry.define(name, crate::crd::types_of(obj));
            return;
        }
        for defined in self.shared.registry.undefine(name) {
            let tk = (defined.group.clone(), defined.plural.clone());
            let still_served = self
                .shared
                .registry
                .all()
                .iter()
                .any(|t| t.group == defined.group && t.plural == defined.plural);
            if still_served {
                continue;
            }
            let objects = st.objects.remove(&tk).unwrap_or_default();
            for (_, mut object) in objects {
                let rv = Self::next_rv(st);
                meta::metadata_mut(&mut object)
                    .insert("resourceVersion".into(), json!(rv.to_string()));
                self.emit(st, EventType::Deleted, &defined, &object, None, rv);
            }
        }
    }

    fn delete_namespace_contents(&self, st: &mut State, ns: &str) {
        let registry = self.shared.registry.clone();
        for rt in registry.all().iter().filter(|t| t.namespaced) {
            let tk = (rt.group.clone(), rt.plural.clone());
            let keys: Vec<Key> = match st.objects.get(&tk) {
                Some(m) => m
                    .range((ns.to_string(), String::new())..)
                    .take_while(|((n, _), _)| n == ns)
                    .map(|(k, _)| k.clone())
                    .collect(),
                None => continue,
            };
            for k in keys {
                if let Some(mut obj) = st.objects.get_mut(&tk).and_then(|m| m.remove(&k)) {
                    let rv = Self::next_rv(st);
                    meta::metadata_mut(&mut obj)
                        .insert("resourceVersion".into(), json!(rv.to_string()));
                    self.emit(st, EventType::Deleted, rt, &obj, None, rv);
                }
            }
        }
    }

    /// Events after `rv` still in the history plus a live receiver, taken
    /// atomically so that nothing falls in between. `Err(floor)` when events
    /// after `rv` have already been dropped (the watch gets 410 Gone).
    pub(crate) fn events_since(
        &self,
        rv: u64,
    ) -> Result<(Vec<Arc<StoreEvent>>, EventReceiver), u64> {
        let st = self.lock();
        if rv < st.history_floor {
            return Err(st.history_floor + 1);
        }
        let rx = self.shared.events.subscribe();
        let replay = st
            .history
            .iter()
            .filter(|e| e.resource_version > rv)
            .cloned()
            .collect();
        Ok((replay, rx))
    }

    /// The current objects of a type plus a live receiver, atomically.
    pub(crate) fn snapshot_and_subscribe(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
    ) -> (Vec<Value>, u64, broadcast::Receiver<Arc<StoreEvent>>) {
        let st = self.lock();
        let rx = self.shared.events.subscribe();
        let items = match st.objects.get(&(rt.group.clone(), rt.plural.clone())) {
            None => vec![],
            Some(m) => m
                .iter()
                .filter(|((n, _), _)| ns.is_none_or(|ns| !rt.namespaced || n == ns))
                .map(|(_, o)| with_api_version(rt, o))
                .collect(),
        };
        (items, st.resource_version, rx)
    }
}

/// Stored objects keep the apiVersion they were created with; serve them at the requested version.
pub(crate) fn with_api_version(rt: &ResourceType, obj: &Value) -> Value {
    let mut o = obj.clone();
    o["apiVersion"] = json!(rt.api_version());
    o
}

fn check_type_matches(rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if (!kind.is_empty() && kind != rt.kind)
        || (!api_version.is_empty()
            && crate::resources::split_api_version(api_version).0 != rt.group)
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    Ok(())
}

/// Store events for one type, for controllers written against the store.
pub struct StoreWatch {
    rx: broadcast::Receiver<Arc<StoreEvent>>,
    group: String,
    plural: String,
    pending: VecDeque<Arc<StoreEvent>>,
}

impl StoreWatch {
    /// The next event for this type; `None` once the store is gone. If the
    /// watcher fell more than 16k events behind, the missed events are
    /// skipped (logged): re-list with [`Store::list`] if that matters.
    pub async fn next(&mut self) -> Option<Arc<StoreEvent>> {
        if let Some(e) = self.pending.pop_front() {
            return Some(e);
        }
        loop {
            match self.rx.recv().await {
                Ok(e) if e.group == self.group && e.plural == self.plural => return Some(e),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "store watcher lagged");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
