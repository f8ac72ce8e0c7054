//! Which objects a command acts on, named the way kubectl users name them: `TYPE/NAME`
//! (several allowed), `TYPE NAME...`, `TYPE -l SELECTOR`, or `-f FILE` (the objects a
//! manifest describes, read live from the cluster).

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use serde_json::Value;
use velero_hooks::WorkloadKind;
use velero_hooks::workload::{WORKLOAD_KINDS, find_by_name, find_kind, group_of};

use crate::cluster::{Cluster, describe_api_error, list_objects, workload_api};
use crate::manifest;

/// The objects asked for, before the cluster is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Objects named one by one (`deploy/web pod/db`, or `deploy web api`).
    Named(Vec<(&'static WorkloadKind, String)>),
    /// Every object of a kind matching a label selector.
    Selector {
        kind: &'static WorkloadKind,
        selector: String,
    },
    /// The objects described by manifests (kind, namespace and name taken from each).
    Files(Vec<PathBuf>),
}

/// A kind from what the user typed, or an error listing what is accepted.
pub fn parse_kind(typed: &str) -> anyhow::Result<&'static WorkloadKind> {
    find_by_name(typed).with_context(|| {
        format!(
            "the server doesn't have a resource type \"{typed}\" that can hold Velero hooks \
             (use one of: {})",
            WORKLOAD_KINDS
                .iter()
                .map(|k| k.resource)
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

impl Selection {
    /// Reads the positional arguments, `-l` and `-f` the way kubectl does.
    pub fn parse(
        resources: &[String],
        selector: Option<&str>,
        files: &[PathBuf],
    ) -> anyhow::Result<Self> {
        if !files.is_empty() {
            if !resources.is_empty() || selector.is_some() {
                bail!(
                    "give either -f FILE or TYPE/NAME (or TYPE -l SELECTOR), not both: \
                     -f already names the objects"
                );
            }
            return Ok(Selection::Files(files.to_vec()));
        }
        let Some(first) = resources.first() else {
            bail!(
                "name the objects: TYPE/NAME (e.g. deployment/web), TYPE -l SELECTOR \
                 (e.g. pods -l app=web) or -f FILE"
            );
        };
        if first.contains('/') {
            if selector.is_some() {
                bail!("-l cannot be combined with TYPE/NAME: give `TYPE -l SELECTOR` instead");
            }
            let named = resources
                .iter()
                .map(|arg| {
                    let (kind, name) = arg.split_once('/').filter(|(k, n)| !k.is_empty() && !n.is_empty()).with_context(|| {
                        format!("`{arg}`: when one argument is TYPE/NAME, all must be (e.g. deployment/web)")
                    })?;
                    Ok((parse_kind(kind)?, name.to_owned()))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            return Ok(Selection::Named(without_repeats(named)));
        }
        let kind = parse_kind(first)?;
        match (&resources[1..], selector) {
            ([], Some(selector)) => Ok(Selection::Selector {
                kind,
                selector: selector.to_owned(),
            }),
            ([], None) => bail!(
                "name the {} to change: {}/NAME, or {} -l SELECTOR for every {} matching labels",
                kind.resource,
                kind.kind.to_ascii_lowercase(),
                kind.resource,
                kind.kind.to_ascii_lowercase()
            ),
            (_, Some(_)) => bail!("give names or -l SELECTOR, not both"),
            (names, None) => Ok(Selection::Named(without_repeats(
                names.iter().map(|n| (kind, n.clone())).collect(),
            ))),
        }
    }

    /// Reads the selected objects from the cluster (whole, with `apiVersion` and `kind`).
    pub async fn fetch(&self, cluster: &Cluster) -> anyhow::Result<Vec<Value>> {
        match self {
            // kubectl's rule: a name names one object in one namespace.
            Selection::Named(_) if cluster.all_namespaces => {
                Err(crate::commands::unusable(anyhow::anyhow!(
                    "a resource cannot be retrieved by name across all namespaces: give -n NAMESPACE instead of -A"
                )))
            }
            Selection::Named(named) => {
                let mut objects = Vec::new();
                for (kind, name) in named {
                    objects.push(get_object(cluster, kind, &cluster.namespace, name).await?);
                }
                Ok(objects)
            }
            Selection::Selector { kind, selector } => {
                list_objects(cluster, kind, Some(selector)).await
            }
            Selection::Files(paths) => {
                let mut objects = Vec::new();
                for (kind, namespace, name) in objects_in_files(paths)? {
                    let namespace = namespace.unwrap_or_else(|| cluster.namespace.clone());
                    objects.push(get_object(cluster, kind, &namespace, &name).await?);
                }
                Ok(objects)
            }
        }
    }
}

/// The objects named, each once, in the order first named: `pod/db pod/db` (or `po/db
/// pods/db`) must not annotate twice, nor run a pod's hooks twice.
fn without_repeats(
    named: Vec<(&'static WorkloadKind, String)>,
) -> Vec<(&'static WorkloadKind, String)> {
    let mut seen = std::collections::HashSet::new();
    named
        .into_iter()
        .filter(|(kind, name)| seen.insert((kind.kind, name.clone())))
        .collect()
}

/// Kind, namespace (if written) and name of every pod or workload in the manifests.
pub fn objects_in_files(
    paths: &[PathBuf],
) -> anyhow::Result<Vec<(&'static WorkloadKind, Option<String>, String)>> {
    let mut found = Vec::new();
    for document in read_documents(paths)? {
        let object = &document.object;
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind_name = object["kind"].as_str().unwrap_or_default();
        let Some(kind) = find_kind(group_of(api_version), kind_name) else {
            bail!(
                "{}:{}: {kind_name} ({api_version}) has no pod template, so it cannot hold \
                 Velero hooks: remove it from the file or name the objects with TYPE/NAME",
                document.source,
                document.line
            );
        };
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .with_context(|| {
                format!(
                    "{}:{}: the {kind_name} has no metadata.name",
                    document.source, document.line
                )
            })?;
        let namespace = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        found.push((kind, namespace, name.to_owned()));
    }
    Ok(found)
}

/// Every document of the manifests; unreadable input is an error naming file and line.
pub fn read_documents(paths: &[PathBuf]) -> anyhow::Result<Vec<manifest::Document>> {
    let (files, errors) = manifest::expand_paths(paths, false);
    if let Some(error) = errors.first() {
        bail!("{error}");
    }
    let mut documents = Vec::new();
    for path in files {
        let (source, text) = manifest::read_text(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
        let (docs, errors) = manifest::parse_documents(&source, &text);
        if let Some(error) = errors.first() {
            bail!("{error}");
        }
        documents.extend(docs);
    }
    Ok(documents)
}

/// One object, read live: NotFound and Forbidden come back as kubectl prints them.
pub async fn get_object(
    cluster: &Cluster,
    kind: &'static WorkloadKind,
    namespace: &str,
    name: &str,
) -> anyhow::Result<Value> {
    let api = workload_api(cluster, kind, Some(namespace));
    let object = api.get(name).await.map_err(|e| {
        describe_api_error(
            e,
            &format!(
                "get {}/{name} -n {namespace}",
                kind.kind.to_ascii_lowercase()
            ),
        )
    })?;
    let mut value = serde_json::to_value(&object)?;
    value["apiVersion"] = kind.api_version.into();
    value["kind"] = kind.kind.into();
    Ok(value)
}

/// `deployment.apps/web`, as kubectl names objects in its messages.
pub fn qualified_name(kind: &WorkloadKind, name: &str) -> String {
    let group = kind.group();
    if group.is_empty() {
        format!("{}/{name}", kind.kind.to_ascii_lowercase())
    } else {
        format!("{}.{group}/{name}", kind.kind.to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn reads_what_kubectl_users_type() {
        let named = Selection::parse(&strings(&["deploy/web", "po/db"]), None, &[]).unwrap();
        let Selection::Named(named) = named else {
            panic!("{named:?}")
        };
        assert_eq!(named[0].0.kind, "Deployment");
        assert_eq!(named[1], (find_by_name("pod").unwrap(), "db".to_owned()));
        let Selection::Named(named) =
            Selection::parse(&strings(&["cj", "a", "b"]), None, &[]).unwrap()
        else {
            panic!()
        };
        assert_eq!(named.len(), 2);
        assert!(matches!(
            Selection::parse(&strings(&["pods"]), Some("app=web"), &[]).unwrap(),
            Selection::Selector { .. }
        ));
    }

    #[test]
    fn refuses_ambiguous_or_unknown_selections() {
        for (words, selector) in [
            (vec![], None),
            (vec!["pods"], None),
            (vec!["configmaps/x"], None),
            (vec!["deploy/web", "api"], None),
            (vec!["deploy/web"], Some("a=b")),
            (vec!["deploy", "web"], Some("a=b")),
            (vec!["deploy/"], None),
        ] {
            assert!(
                Selection::parse(&strings(&words), selector, &[]).is_err(),
                "{words:?} {selector:?}"
            );
        }
        assert!(
            Selection::parse(&strings(&["deploy/web"]), None, &[PathBuf::from("x.yaml")]).is_err()
        );
    }

    #[test]
    fn names_each_object_once() {
        let selection = Selection::parse(
            &strings(&["pod/db", "po/db", "pods/db", "deploy/db"]),
            None,
            &[],
        )
        .unwrap();
        let Selection::Named(named) = selection else {
            panic!("{selection:?}")
        };
        let kinds: Vec<&str> = named.iter().map(|(k, _)| k.kind).collect();
        assert_eq!(kinds, ["Pod", "Deployment"]);
        let Selection::Named(named) =
            Selection::parse(&strings(&["pods", "db", "web", "db"]), None, &[]).unwrap()
        else {
            panic!()
        };
        assert_eq!(named.len(), 2);
    }

    #[test]
    fn names_objects_like_kubectl() {
        assert_eq!(
            qualified_name(find_by_name("deploy").unwrap(), "web"),
            "deployment.apps/web"
        );
        assert_eq!(qualified_name(find_by_name("po").unwrap(), "db"), "pod/db");
    }
}
