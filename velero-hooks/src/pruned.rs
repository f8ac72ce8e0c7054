//! Parsing a Kubernetes object while keeping only what the rules read.
//!
//! An object as the API server sends it is mostly `managedFields`, the last-applied
//! annotation, defaulted container specs and status; the rules read a few dozen bytes of
//! it. [`PrunedObject`] deserialises straight from the JSON into a [`Value`] that holds
//! only the paths below, so nothing else is ever allocated:
//!
//! - `apiVersion`, `kind`;
//! - `metadata.{name, generateName, namespace, uid, annotations, ownerReferences}`;
//! - at every place a pod template can be (the object itself for a Pod, `template`,
//!   `spec.template`, `spec.jobTemplate.spec.template`): `metadata.annotations`,
//!   `spec.containers[].name` and `spec.initContainers[].{name, restartPolicy}`;
//! - for Velero's own objects, every field of `spec` (a Backup or Restore) and of
//!   `spec.template` (a Schedule) that [`crate::spec::VeleroObject::from_json`] decodes,
//!   whole: the namespace and resource filters, selectors and `hooks`. A test checks the
//!   list against the fields of the library's `BackupSpec` and `RestoreSpec`.
//!
//! Whatever the kind, [`check_object`](crate::check_object),
//! [`locate`](crate::workload::locate), [`hook_annotations_changed`](crate::workload::hook_annotations_changed)
//! and [`normalize`](crate::normalize::normalize) give the same answer on the pruned value
//! as on the full one (property-tested below): the union of the places is kept because
//! the kind may come after `spec` in the document.
//!
//! Shapes the rules do not expect are kept whole rather than guessed at: a `spec` that is
//! a string, `containers` that is an object, a container that is a number. Such values are
//! rare and the readers treat them exactly as in the full object. Skipped values are still
//! parsed the way [`Value`] parses them (strings checked as UTF-8, numbers range-checked,
//! the same nesting limit), so a body is accepted or rejected exactly as before; they are
//! just not stored.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize as _;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A Kubernetes object parsed into a [`Value`] holding only what the rules read.
#[derive(Debug, Clone, PartialEq)]
pub struct PrunedObject(pub Value);

impl<'de> serde::Deserialize<'de> for PrunedObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Prune(&OBJECT).deserialize(deserializer).map(PrunedObject)
    }
}

/// Parses `json` keeping only what the rules read (see the module documentation).
pub fn from_slice(json: &[u8]) -> serde_json::Result<Value> {
    serde_json::from_slice::<PrunedObject>(json).map(|p| p.0)
}

/// What to keep of a value.
#[derive(Debug)]
enum Shape {
    /// The whole value.
    All,
    /// Of an object, the listed members (each pruned by its own shape).
    Fields(&'static [(&'static str, Shape)]),
    /// Of an array, every element, each pruned by this shape.
    Each(&'static Shape),
}

const CONTAINER: Shape = Shape::Fields(&[("name", Shape::All)]);
const INIT_CONTAINER: Shape = Shape::Fields(&[("name", Shape::All), ("restartPolicy", Shape::All)]);
const CONTAINERS: Shape = Shape::Each(&CONTAINER);
const INIT_CONTAINERS: Shape = Shape::Each(&INIT_CONTAINER);
/// A pod template (`metadata` + `spec`) that is not the object itself, or a Schedule's
/// `spec.template` (a Velero `BackupSpec`).
///
/// The `BackupSpec` fields the spec rules read are kept whole, here and in a Backup's
/// `spec` below (listed twice: a const array cannot be spliced). None is a name a pod
/// template or a workload spec uses, so pods and workloads keep no more than before.
const TEMPLATE: Shape = Shape::Fields(&[
    ("metadata", Shape::Fields(&[("annotations", Shape::All)])),
    (
        "spec",
        Shape::Fields(&[
            ("containers", CONTAINERS),
            ("initContainers", INIT_CONTAINERS),
        ]),
    ),
    ("includedNamespaces", Shape::All),
    ("excludedNamespaces", Shape::All),
    ("includedResources", Shape::All),
    ("excludedResources", Shape::All),
    ("includeClusterResources", Shape::All),
    ("includedNamespaceScopedResources", Shape::All),
    ("excludedNamespaceScopedResources", Shape::All),
    ("includedClusterScopedResources", Shape::All),
    ("excludedClusterScopedResources", Shape::All),
    ("labelSelector", Shape::All),
    ("orLabelSelectors", Shape::All),
    ("defaultVolumesToFsBackup", Shape::All),
    ("hooks", Shape::All),
]);
/// The top-level object, for every kind at once.
const OBJECT: Shape = Shape::Fields(&[
    ("apiVersion", Shape::All),
    ("kind", Shape::All),
    (
        "metadata",
        Shape::Fields(&[
            ("name", Shape::All),
            ("generateName", Shape::All),
            ("namespace", Shape::All),
            ("uid", Shape::All),
            ("annotations", Shape::All),
            ("ownerReferences", Shape::All),
        ]),
    ),
    // PodTemplate.
    ("template", TEMPLATE),
    (
        "spec",
        Shape::Fields(&[
            // Pod.
            ("containers", CONTAINERS),
            ("initContainers", INIT_CONTAINERS),
            // ReplicationController, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job.
            ("template", TEMPLATE),
            // CronJob.
            (
                "jobTemplate",
                Shape::Fields(&[("spec", Shape::Fields(&[("template", TEMPLATE)]))]),
            ),
            // Velero Backup; Restore adds the fields after it.
            ("includedNamespaces", Shape::All),
            ("excludedNamespaces", Shape::All),
            ("includedResources", Shape::All),
            ("excludedResources", Shape::All),
            ("includeClusterResources", Shape::All),
            ("includedNamespaceScopedResources", Shape::All),
            ("excludedNamespaceScopedResources", Shape::All),
            ("includedClusterScopedResources", Shape::All),
            ("excludedClusterScopedResources", Shape::All),
            ("labelSelector", Shape::All),
            ("orLabelSelectors", Shape::All),
            ("defaultVolumesToFsBackup", Shape::All),
            ("hooks", Shape::All),
            ("backupName", Shape::All),
            ("scheduleName", Shape::All),
            ("namespaceMapping", Shape::All),
            ("resourceModifier", Shape::All),
            ("skipDefaultResourceModifier", Shape::All),
            ("resourcePolicy", Shape::All),
        ]),
    ),
]);

/// Deserialises one value, pruned by `self.0`.
#[derive(Clone, Copy)]
struct Prune(&'static Shape);

impl<'de> DeserializeSeed<'de> for Prune {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        match self.0 {
            Shape::All => Value::deserialize(deserializer),
            shape => deserializer.deserialize_any(PruneVisitor(shape)),
        }
    }
}

/// Visits a value whose shape says "object" or "array". A value of another type than the
/// shape expects is kept whole, as [`Value`] would build it.
struct PruneVisitor(&'static Shape);

impl<'de> Visitor<'de> for PruneVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // Same as serde_json's own Value: NaN and infinities become null.
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Prune(self.0).deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let element = match self.0 {
            Shape::Each(element) => *element,
            // An array where an object was expected: keep it whole.
            _ => &Shape::All,
        };
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(value) = seq.next_element_seed(Prune(element))? {
            out.push(value);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let fields: &'static [(&'static str, Shape)] = match self.0 {
            Shape::Fields(fields) => fields,
            // An object where an array was expected: keep it whole.
            _ => &[],
        };
        let keep_all = !matches!(self.0, Shape::Fields(_));
        let mut out = Map::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let shape = if keep_all {
                Some(&Shape::All)
            } else {
                fields
                    .iter()
                    .find(|(name, _)| *name == key)
                    .map(|(_, shape)| shape)
            };
            match shape {
                // A repeated key replaces the earlier value, as in serde_json's Value.
                Some(shape) => {
                    let value = map.next_value_seed(Prune(shape))?;
                    out.insert(key.into_owned(), value);
                }
                None => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// Parses a value and drops it. Unlike `serde::de::IgnoredAny` it goes through
/// `deserialize_any`, so serde_json checks it exactly as it checks a [`Value`] (UTF-8 in
/// strings, number range) and a body that the full parse rejects is rejected here too.
struct Skip;

impl<'de> serde::Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_none<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Skip, D::Error> {
        Skip::deserialize(deserializer)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

/// An object key, borrowed from the input when it has no escapes: most keys are skipped,
/// and a skipped key should cost no allocation.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::{Normalizations, normalize};
    use crate::workload::{WORKLOAD_KINDS, hook_annotations_changed, locate};
    use crate::{VeleroVersion, check_object};
    use proptest::prelude::*;
    use serde_json::json;

    /// Everything a caller can observe about an object through the library.
    fn observed(object: &Value, version: VeleroVersion) -> Value {
        let report = check_object(object, version).map(|r| {
            json!({
                "kind": r.kind.kind,
                "name": r.name,
                "namespace": r.namespace,
                "hooks": format!("{:?}", r.hooks),
                "findings": r.findings,
            })
        });
        let located = locate(object).map(|t| {
            json!({
                "kind": t.kind.kind,
                "pointer": t.metadata_pointer(),
                "pod": format!("{:?}", crate::PodView::from_json(t.metadata, t.spec)),
                "own": t.own_metadata.map(|m| m.get("annotations")),
            })
        });
        let all = Normalizations {
            pin_container: true,
            json_command: true,
            explicit_defaults: true,
            migrate_legacy: true,
        };
        let metadata = object.get("metadata");
        json!({
            "report": report,
            "located": located,
            "patch": normalize(object, version, all),
            "generateName": metadata.and_then(|m| m.get("generateName")),
            "ownerReferences": metadata.and_then(|m| m.get("ownerReferences")),
            "uid": metadata.and_then(|m| m.get("uid")),
        })
    }

    fn pruned(full: &Value) -> Value {
        from_slice(&serde_json::to_vec(full).unwrap()).unwrap()
    }

    /// The full and the pruned parse of `value`'s JSON text. Both come from the same text
    /// because floats do not always survive a round trip through text.
    fn parsed(value: &Value) -> (Value, Value) {
        let text = serde_json::to_vec(value).unwrap();
        (
            serde_json::from_slice(&text).unwrap(),
            from_slice(&text).unwrap(),
        )
    }

    const NAMES: &[&str] = &[
        "apiVersion",
        "kind",
        "metadata",
        "spec",
        "template",
        "jobTemplate",
        "containers",
        "initContainers",
        "name",
        "generateName",
        "namespace",
        "uid",
        "annotations",
        "ownerReferences",
        "controller",
        "restartPolicy",
        "labels",
        "managedFields",
        "status",
        "image",
        "pre.hook.backup.velero.io/command",
        "pre.hook.backup.velero.io/container",
        "post.hook.restore.velero.io/command",
    ];

    /// Any JSON, with keys often ones the pruning looks for.
    fn junk() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a-zA-Z/ \\[\\]\"0-9.-]{0,12}".prop_map(Value::String),
            Just(Value::String("Always".into())),
        ];
        leaf.prop_recursive(3, 16, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        proptest::sample::select(NAMES).prop_map(str::to_owned),
                        "[a-z]{1,6}"
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// `expected` mostly, sometimes any other JSON (a `spec` that is a string, ...).
    fn odd<S: Strategy<Value = Value> + 'static>(expected: S) -> BoxedStrategy<Value> {
        prop_oneof![6 => expected, 1 => junk()].boxed()
    }

    /// An object with the `wanted` members (each present or not) and junk beside them.
    fn object(wanted: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
        let members: Vec<_> = wanted
            .into_iter()
            .map(|(name, value)| {
                proptest::option::weighted(0.85, value).prop_map(move |v| (name, v))
            })
            .collect();
        (
            members,
            proptest::collection::btree_map("[a-z]{1,8}", junk(), 0..3),
        )
            .prop_map(|(members, extra)| {
                let mut out: Map<String, Value> = extra.into_iter().collect();
                for (name, value) in members {
                    if let Some(value) = value {
                        out.insert(name.to_owned(), value);
                    }
                }
                Value::Object(out)
            })
            .boxed()
    }

    fn annotations() -> BoxedStrategy<Value> {
        let key = prop_oneof![
            proptest::sample::select(crate::keys::KEYS.iter().map(|k| k.name).collect::<Vec<_>>())
                .prop_map(str::to_owned),
            "[a-z.]{0,8}hook\\.(backup|restore)\\.velero\\.io/[a-z-]{0,10}",
        ];
        let value = prop_oneof![
            4 => "[\\[\\]\" ,a-z0-9/.-]{0,24}".prop_map(Value::String),
            1 => proptest::sample::select(vec!["Fail", "Continue", "30s", "app", "db", ""]).prop_map(|s| Value::String(s.into())),
            1 => junk(),
        ];
        odd(proptest::collection::btree_map(key, value, 0..6)
            .prop_map(|m| Value::Object(m.into_iter().collect())))
    }

    fn container(init: bool) -> BoxedStrategy<Value> {
        let name = odd(proptest::sample::select(vec!["app", "db", "sidecar", ""])
            .prop_map(|s| Value::String(s.into())));
        let mut members = vec![("name", name), ("image", junk().boxed())];
        if init {
            members.push((
                "restartPolicy",
                odd(proptest::sample::select(vec!["Always", "Never"])
                    .prop_map(|s| Value::String(s.into()))),
            ));
        }
        odd(object(members))
    }

    fn pod_spec() -> BoxedStrategy<Value> {
        odd(object(vec![
            (
                "containers",
                odd(proptest::collection::vec(container(false), 0..4).prop_map(Value::Array)),
            ),
            (
                "initContainers",
                odd(proptest::collection::vec(container(true), 0..3).prop_map(Value::Array)),
            ),
        ]))
    }

    fn template() -> BoxedStrategy<Value> {
        odd(object(vec![
            (
                "metadata",
                odd(object(vec![
                    ("annotations", annotations()),
                    ("labels", junk().boxed()),
                ])),
            ),
            ("spec", pod_spec()),
        ]))
    }

    /// A pod or workload of any kind (or a kind the rules do not know), with odd shapes
    /// and junk at every level, and every template place filled now and then.
    fn kubernetes_object() -> BoxedStrategy<Value> {
        let kinds: Vec<(&str, &str)> = WORKLOAD_KINDS
            .iter()
            .map(|k| (k.api_version, k.kind))
            .chain([("v1", "ConfigMap"), ("example.com/v1", "Deployment")])
            .collect();
        let owner = object(vec![
            ("controller", odd(any::<bool>().prop_map(Value::Bool))),
            ("kind", junk().boxed()),
        ]);
        let metadata = odd(object(vec![
            ("name", odd("[a-z]{0,6}".prop_map(Value::String))),
            ("generateName", odd("[a-z]{0,6}-".prop_map(Value::String))),
            ("namespace", odd("[a-z]{0,6}".prop_map(Value::String))),
            ("uid", junk().boxed()),
            ("annotations", annotations()),
            (
                "ownerReferences",
                odd(proptest::collection::vec(odd(owner), 0..3).prop_map(Value::Array)),
            ),
            ("managedFields", junk().boxed()),
        ]));
        let spec = odd(object(vec![
            (
                "containers",
                odd(proptest::collection::vec(container(false), 0..4).prop_map(Value::Array)),
            ),
            (
                "initContainers",
                odd(proptest::collection::vec(container(true), 0..3).prop_map(Value::Array)),
            ),
            ("template", template()),
            (
                "jobTemplate",
                odd(object(vec![(
                    "spec",
                    odd(object(vec![("template", template())])),
                )])),
            ),
            ("replicas", junk().boxed()),
        ]));
        (
            proptest::sample::select(kinds),
            object(vec![
                ("metadata", metadata),
                ("spec", spec),
                ("template", template()),
                ("status", junk().boxed()),
            ]),
            any::<bool>(),
        )
            .prop_map(|((api_version, kind), mut object, typed)| {
                if typed && let Value::Object(map) = &mut object {
                    map.insert("apiVersion".into(), api_version.into());
                    map.insert("kind".into(), kind.into());
                }
                object
            })
            .boxed()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn pruned_objects_give_the_same_answers(
            object in kubernetes_object(),
            other in kubernetes_object(),
            newer in any::<bool>(),
        ) {
            let version = if newer { VeleroVersion::MAIN } else { VeleroVersion::LATEST_RELEASE };
            let (object, small) = parsed(&object);
            let (other, other_small) = parsed(&other);
            prop_assert_eq!(observed(&small, version), observed(&object, version));
            // Pruning keeps only what it keeps: doing it again changes nothing.
            prop_assert_eq!(parsed(&small).1, parsed(&small).0);
            prop_assert_eq!(
                hook_annotations_changed(&small, &other_small),
                hook_annotations_changed(&object, &other)
            );
            prop_assert!(!hook_annotations_changed(&small, &object));
        }

        #[test]
        fn any_json_prunes_like_it_parses(value in junk()) {
            // Whatever the top level is, the same things are found.
            let (value, small) = parsed(&value);
            prop_assert_eq!(observed(&small, VeleroVersion::LATEST_RELEASE), observed(&value, VeleroVersion::LATEST_RELEASE));
        }
    }

    #[test]
    fn drops_what_the_rules_do_not_read() {
        let full = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"},
                "managedFields": [{"manager": "kubectl"}],
                "annotations": {"note": "kept: hooks may be on the workload's own metadata"}},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"},
                        "annotations": {"pre.hook.backup.velero.io/command": "[\"/bin/true\"]"}},
                    "spec": {"containers": [{"name": "app", "image": "nginx", "ports": [{"containerPort": 80}]}],
                        "initContainers": [{"name": "proxy", "restartPolicy": "Always", "image": "envoy"}],
                        "volumes": [{"name": "data"}]}}},
            "status": {"replicas": 3}
        });
        assert_eq!(
            pruned(&full),
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "shop",
                    "annotations": {"note": "kept: hooks may be on the workload's own metadata"}},
                "spec": {"template": {
                    "metadata": {"annotations": {"pre.hook.backup.velero.io/command": "[\"/bin/true\"]"}},
                    "spec": {"containers": [{"name": "app"}],
                        "initContainers": [{"name": "proxy", "restartPolicy": "Always"}]}}}
            })
        );
    }

    /// The field names serde decodes for a struct, as its derived `Deserialize` announces
    /// them to the deserializer.
    fn struct_fields<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
        use serde::de::Error as _;
        use serde::de::value::Error;
        struct Names<'a>(&'a mut &'static [&'static str]);
        impl<'de> Deserializer<'de> for Names<'_> {
            type Error = Error;
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
                Err(Error::custom("not a struct"))
            }
            fn deserialize_struct<V: Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Error> {
                *self.0 = fields;
                Err(Error::custom("names read"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
                byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
                enum identifier ignored_any
            }
        }
        let mut names: &'static [&'static str] = &[];
        let _ = T::deserialize(Names(&mut names));
        assert!(!names.is_empty());
        names
    }

    fn kept_fields(shape: &Shape) -> Vec<&'static str> {
        match shape {
            Shape::Fields(fields) => fields.iter().map(|(name, _)| *name).collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn velero_specs_are_kept_field_for_field() {
        use crate::spec::types::{BackupSpec, RestoreSpec};
        let Shape::Fields(top) = &OBJECT else {
            unreachable!()
        };
        let spec = kept_fields(&top.iter().find(|(name, _)| *name == "spec").unwrap().1);
        let template = kept_fields(&TEMPLATE);
        for field in struct_fields::<BackupSpec>() {
            assert!(spec.contains(field), "Backup spec.{field} is pruned");
            assert!(
                template.contains(field),
                "Schedule spec.template.{field} is pruned"
            );
        }
        for field in struct_fields::<RestoreSpec>() {
            assert!(spec.contains(field), "Restore spec.{field} is pruned");
        }
    }

    #[test]
    fn velero_objects_give_the_same_findings_pruned() {
        use crate::spec::{VeleroObject, check};
        let hooks = json!({"resources": [{"name": "freeze", "includedNamespaces": ["shop"],
            "labelSelector": {"matchLabels": {"app": "db"}},
            "pre": [{"exec": {"container": "db", "command": [], "onError": "Stop", "timeout": "30"}}]}]});
        let filters = json!({"includedNamespaces": ["shop", "[bad"], "excludedNamespaces": ["shop"],
            "excludedResources": ["*"], "orLabelSelectors": [{"matchLabels": {"a": "b"}}],
            "labelSelector": {"matchLabels": {"a": "b"}}, "storageLocation": "default", "ttl": "720h0m0s"});
        let mut backup_spec = filters.clone();
        backup_spec["hooks"] = hooks.clone();
        let restore_hooks = json!({"resources": [{"name": "init",
            "postHooks": [{"init": {"initContainers": [{"image": "busybox"}]}},
                {"exec": {"command": ["/bin/true"], "waitTimeout": "x"}}]}]});
        let objects = [
            json!({"apiVersion": "velero.io/v1", "kind": "Backup",
                "metadata": {"name": "b", "namespace": "velero", "managedFields": [{}]},
                "spec": backup_spec.clone(), "status": {"phase": "New"}}),
            json!({"apiVersion": "velero.io/v1", "kind": "Schedule",
                "metadata": {"name": "s", "namespace": "velero"},
                "spec": {"schedule": "0 1 * * *", "template": backup_spec}}),
            json!({"apiVersion": "velero.io/v1", "kind": "Restore",
                "metadata": {"name": "r", "namespace": "velero"},
                "spec": {"backupName": "b", "includedNamespaces": ["shop"],
                    "namespaceMapping": {"shop": "shop2"}, "hooks": restore_hooks}}),
            // A spec of the wrong shape is the same HV100 either way.
            json!({"apiVersion": "velero.io/v1", "kind": "Schedule",
                "spec": {"template": {"hooks": {"resources": "x"}}}}),
        ];
        for full in objects {
            let (full, small) = parsed(&full);
            let findings = |object: &Value| match VeleroObject::from_json(object).unwrap() {
                Ok(object) => (
                    Some(object.clone()),
                    check(&object, VeleroVersion::LATEST_RELEASE),
                ),
                Err(finding) => (None, vec![finding]),
            };
            let (object, expected) = findings(&full);
            assert!(!expected.is_empty(), "{full}");
            assert_eq!(findings(&small), (object, expected), "{full}");
        }
    }

    #[test]
    fn odd_shapes_are_kept_whole() {
        for full in [
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": "not an object"}),
            json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": {"name": "app"}}}),
            json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [7, null, ["x"]]}}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": [1, 2]}),
            json!(["a", {"kind": "Pod"}]),
            json!(12.5),
        ] {
            let (full, small) = parsed(&full);
            assert_eq!(small, full);
        }
    }

    #[test]
    fn repeated_keys_behave_as_in_the_full_parse() {
        let text = br#"{"apiVersion":"v1","kind":"Pod",
            "metadata":{"annotations":{"pre.hook.backup.velero.io/command":"/bin/a b"}},
            "metadata":{"name":"second","annotations":{"pre.hook.backup.velero.io/timeout":"x"}}}"#;
        let full: Value = serde_json::from_slice(text).unwrap();
        let small = from_slice(text).unwrap();
        assert_eq!(small, full);
    }

    #[test]
    fn rejects_exactly_what_the_full_parse_rejects() {
        let bodies: [&[u8]; 7] = [
            b"{\"kind\":\"Pod\",\"status\":{\"message\":\"\xff\xfe\"}}",
            br#"{"kind":"Pod","status":{"big":1e400}}"#,
            br#"{"kind":"Pod","status":{"bad":"\ud800"}}"#,
            br#"{"kind":"Pod","status":{"unterminated":[1,2}}"#,
            br#"{"kind":"Pod"} trailing"#,
            br#"{"kind":"Pod","status":tru}"#,
            b"{\"kind\":\"Pod\",\"status\":\"tab\there\"}",
        ];
        for body in bodies {
            assert!(serde_json::from_slice::<Value>(body).is_err());
            assert!(
                from_slice(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let deep = format!("{{\"status\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(serde_json::from_slice::<Value>(deep.as_bytes()).is_err());
        assert!(from_slice(deep.as_bytes()).is_err());
        let fine = format!("{{\"status\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(from_slice(fine.as_bytes()).is_ok());
    }
}
