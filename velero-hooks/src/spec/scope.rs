//! Which pods a Backup or Restore takes in, and which pods a resource hook applies to:
//! Velero's include/exclude lists (`pkg/util/collections/includes_excludes.go`), resource
//! names as API discovery resolves them, and the backup's namespace wildcard expansion
//! (`pkg/util/wildcard/expand.go`, Velero 1.18.0 and later, PR #9255).

use std::collections::BTreeMap;

use super::glob::{Glob, GlobError, list_matches};
use super::selector::LabelSelector;
use crate::version::{
    NAMESPACE_WILDCARDS, STAR_INCLUDES_EXPANDED, STAR_INCLUDES_NOT_EXPANDED_AGAIN, VeleroVersion,
    empty_includes_expand_to_nothing,
};

/// A resource name as `discovery.Helper.ResourceFor` resolves it (case-insensitive;
/// plural, singular or short name; `name.group`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// Core `pods`.
    Pods,
    /// Another built-in resource, by its canonical `resource.group` name.
    Other {
        canonical: &'static str,
        namespaced: bool,
    },
    /// Not a resource this library knows: Velero keeps such names as written and matches
    /// them as globs (issue #2461), so `po*` covers pods. A cluster's own CRDs land here too.
    Unresolved,
}

/// Built-in resources: (canonical name, namespaced, other names discovery accepts).
const BUILT_IN: &[(&str, bool, &[&str])] = &[
    ("pods", true, &["pod", "po"]),
    ("configmaps", true, &["configmap", "cm"]),
    ("secrets", true, &["secret"]),
    ("services", true, &["service", "svc"]),
    ("serviceaccounts", true, &["serviceaccount", "sa"]),
    (
        "persistentvolumeclaims",
        true,
        &["persistentvolumeclaim", "pvc"],
    ),
    ("endpoints", true, &["ep"]),
    ("events", true, &["event", "ev"]),
    (
        "replicationcontrollers",
        true,
        &["replicationcontroller", "rc"],
    ),
    ("podtemplates", true, &["podtemplate"]),
    ("limitranges", true, &["limitrange", "limits"]),
    ("resourcequotas", true, &["resourcequota", "quota"]),
    ("deployments.apps", true, &["deployment", "deploy"]),
    ("statefulsets.apps", true, &["statefulset", "sts"]),
    ("daemonsets.apps", true, &["daemonset", "ds"]),
    ("replicasets.apps", true, &["replicaset", "rs"]),
    ("jobs.batch", true, &["job"]),
    ("cronjobs.batch", true, &["cronjob", "cj"]),
    ("ingresses.networking.k8s.io", true, &["ingress", "ing"]),
    (
        "networkpolicies.networking.k8s.io",
        true,
        &["networkpolicy", "netpol"],
    ),
    ("roles.rbac.authorization.k8s.io", true, &["role"]),
    (
        "rolebindings.rbac.authorization.k8s.io",
        true,
        &["rolebinding"],
    ),
    (
        "poddisruptionbudgets.policy",
        true,
        &["poddisruptionbudget", "pdb"],
    ),
    (
        "horizontalpodautoscalers.autoscaling",
        true,
        &["horizontalpodautoscaler", "hpa"],
    ),
    ("namespaces", false, &["namespace", "ns"]),
    ("nodes", false, &["node", "no"]),
    ("persistentvolumes", false, &["persistentvolume", "pv"]),
    (
        "storageclasses.storage.k8s.io",
        false,
        &["storageclass", "sc"],
    ),
    (
        "clusterroles.rbac.authorization.k8s.io",
        false,
        &["clusterrole"],
    ),
    (
        "clusterrolebindings.rbac.authorization.k8s.io",
        false,
        &["clusterrolebinding"],
    ),
    (
        "customresourcedefinitions.apiextensions.k8s.io",
        false,
        &["customresourcedefinition", "crd", "crds"],
    ),
    (
        "priorityclasses.scheduling.k8s.io",
        false,
        &["priorityclass", "pc"],
    ),
];

/// Resolves `name` like `schema.ParseGroupResource` then discovery: `resource.group`,
/// where an empty group (`pods.`) is the core group.
pub fn resolve(name: &str) -> Resolved {
    let lower = name.to_ascii_lowercase();
    let (resource, group) = match lower.split_once('.') {
        Some((resource, group)) => (resource, Some(group)),
        None => (lower.as_str(), None),
    };
    for (canonical, namespaced, aliases) in BUILT_IN {
        let (plural, own_group) = canonical.split_once('.').unwrap_or((canonical, ""));
        let named = resource == plural || aliases.contains(&resource);
        let grouped = group.is_none_or(|g| g == own_group);
        if named && grouped {
            return if *canonical == "pods" {
                Resolved::Pods
            } else {
                Resolved::Other {
                    canonical,
                    namespaced: *namespaced,
                }
            };
        }
    }
    Resolved::Unresolved
}

/// A list entry as Velero stores it: `*` kept, resolved names canonical, others as written;
/// `None` when a scoped filter drops it (a cluster-scoped name in a namespaced list).
fn mapped(name: &str, only_namespaced: bool) -> Option<String> {
    if name == "*" {
        return Some(name.to_owned());
    }
    match resolve(name) {
        Resolved::Pods => Some("pods".to_owned()),
        Resolved::Other { namespaced, .. } if only_namespaced && !namespaced => None,
        Resolved::Other { canonical, .. } => Some(canonical.to_owned()),
        Resolved::Unresolved => Some(name.to_owned()),
    }
}

/// `IncludesExcludes.ShouldInclude`: an exclusion wins; no inclusions, or `*`, include all.
pub fn should_include(included: &[String], excluded: &[String], item: &str) -> bool {
    if list_matches(excluded, item) {
        return false;
    }
    included.is_empty() || included.iter().any(|i| i == "*") || list_matches(included, item)
}

/// Whether a hook's (or the old-style Backup's) resource lists take in pods:
/// `GetResourceIncludesExcludes`, which drops `*` from the exclusions.
pub fn resources_include_pods(included: &[String], excluded: &[String]) -> bool {
    // The usual resource hook names no resources: asked once per pod, answered at once.
    if included.is_empty() && excluded.is_empty() {
        return true;
    }
    let included: Vec<String> = included.iter().filter_map(|r| mapped(r, false)).collect();
    let excluded: Vec<String> = excluded
        .iter()
        .filter(|r| *r != "*")
        .filter_map(|r| mapped(r, false))
        .collect();
    should_include(&included, &excluded, "pods")
}

/// Whether `includedNamespaceScopedResources`/`excludedNamespaceScopedResources` take in
/// pods: `ScopeIncludesExcludes.ShouldInclude`, where `*` excluded excludes everything.
pub fn scoped_resources_include_pods(included: &[String], excluded: &[String]) -> bool {
    let included: Vec<String> = included.iter().filter_map(|r| mapped(r, true)).collect();
    let excluded: Vec<String> = excluded.iter().filter_map(|r| mapped(r, true)).collect();
    !excluded.iter().any(|e| e == "*") && should_include(&included, &excluded, "pods")
}

/// Whether a Backup's resource filters take in pods, with whichever filters it uses
/// (`collections.UseOldResourceFilters`, `pkg/backup/backup.go`).
pub fn backup_takes_in_pods(spec: &super::types::BackupSpec) -> bool {
    if spec.uses_old_resource_filters() {
        resources_include_pods(&spec.included_resources, &spec.excluded_resources)
    } else {
        scoped_resources_include_pods(
            &spec.included_namespace_scoped_resources,
            &spec.excluded_namespace_scoped_resources,
        )
    }
}

/// `containsWildcardPattern` (`pkg/util/wildcard/expand.go`): the pattern has `*`, `?` or
/// `[`.
pub fn is_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// `wildcard.ShouldExpandWildcards`: some pattern has `*`, `?` or `[`, and the inclusions
/// are neither empty nor `*` (1.18.1 expands `*` too). Releases before
/// [`NAMESPACE_WILDCARDS`] never expand.
pub fn expands_wildcards(included: &[String], excluded: &[String], version: VeleroVersion) -> bool {
    let star_expanded = version.between(&STAR_INCLUDES_EXPANDED, &STAR_INCLUDES_NOT_EXPANDED_AGAIN);
    version.has(&NAMESPACE_WILDCARDS)
        && !included.is_empty()
        && (star_expanded || !included.iter().any(|i| i == "*"))
        && included.iter().chain(excluded).any(|p| is_wildcard(p))
}

/// `wildcard.ExpandWildcards` (`pkg/util/wildcard/expand.go`): each pattern with a
/// wildcard replaced by the `active` namespaces it matches, plain names kept as written.
pub fn expand_patterns(patterns: &[String], active: &[String]) -> Result<Vec<String>, GlobError> {
    let mut out = Vec::new();
    for pattern in patterns {
        if !is_wildcard(pattern) {
            out.push(pattern.clone());
            continue;
        }
        let glob = Glob::compile(pattern)?;
        out.extend(active.iter().filter(|ns| glob.matches(ns)).cloned());
    }
    Ok(out)
}

/// Whether the namespace lists as written take in no namespace at all: Velero 1.18.0 expands
/// an empty `includedNamespaces` along with wildcard exclusions into an empty list, and an
/// expanded empty list includes nothing (`ShouldInclude` in
/// `pkg/util/collections/includes_excludes.go`).
pub fn takes_in_no_namespace(
    written_included: Option<&[String]>,
    excluded: &[String],
    version: VeleroVersion,
) -> bool {
    empty_includes_expand_to_nothing(version)
        && written_included.is_none_or(<[String]>::is_empty)
        && excluded.iter().any(|p| is_wildcard(p))
}

/// The namespaces a Backup takes in (`NamespaceIncludesExcludes` after
/// `ExpandIncludesExcludes(true)`, `pkg/backup/backup.go`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceScope {
    /// No expansion: the lists are matched as globs.
    Patterns {
        included: Vec<String>,
        excluded: Vec<String>,
    },
    /// Expanded against the cluster's namespaces: plain names.
    Expanded {
        included: Vec<String>,
        excluded: Vec<String>,
    },
}

impl NamespaceScope {
    /// `included` as the controller leaves it (never empty), `excluded` with the namespaces
    /// labelled `velero.io/exclude-from-backup=true` added, `active` the cluster's namespaces.
    /// An error is a wildcard pattern that does not compile: the backup fails.
    pub fn new(
        included: Vec<String>,
        excluded: Vec<String>,
        active: &[String],
        version: VeleroVersion,
    ) -> Result<Self, GlobError> {
        if !expands_wildcards(&included, &excluded, version) {
            return Ok(NamespaceScope::Patterns { included, excluded });
        }
        Ok(NamespaceScope::Expanded {
            included: expand_patterns(&included, active)?,
            excluded: expand_patterns(&excluded, active)?,
        })
    }

    /// `NamespaceIncludesExcludes.ShouldInclude`: after an expansion that matched nothing,
    /// nothing is included.
    pub fn includes(&self, namespace: &str) -> bool {
        match self {
            NamespaceScope::Patterns { included, excluded } => {
                should_include(included, excluded, namespace)
            }
            NamespaceScope::Expanded { included, .. } if included.is_empty() => false,
            NamespaceScope::Expanded { included, excluded } => {
                should_include(included, excluded, namespace)
            }
        }
    }
}

/// Whether the Backup's (or Restore's) label selectors take in an item with `labels`:
/// non-empty `orLabelSelectors` win (any of them), else `labelSelector` (none: all).
/// An invalid selector takes in nothing: the list call with it fails
/// (`pkg/backup/item_collector.go` `listResourceByLabelsPerNamespace`).
pub fn selectors_match(
    label_selector: Option<&LabelSelector>,
    or_label_selectors: Option<&[LabelSelector]>,
    labels: &BTreeMap<String, String>,
) -> bool {
    let valid_and_matches = |s: &LabelSelector| s.validate().is_ok() && s.matches(labels);
    match or_label_selectors {
        Some(list) if !list.is_empty() => list.iter().any(valid_and_matches),
        _ => label_selector.is_none_or(valid_and_matches),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn resource_names_like_discovery() {
        // pkg/util/collections/includes_excludes.go GetResourceIncludesExcludes.
        let cases: &[(&[&str], &[&str], bool)] = &[
            (&[], &[], true),
            (&["*"], &[], true),
            (&["pods"], &[], true),
            (&["Pod"], &[], true),
            (&["po"], &[], true),
            (&["pods."], &[], true),
            (&["po*"], &[], true),
            (&["p?ds"], &[], true),
            (&["deployments"], &[], false),
            (&["deployments", "pods"], &[], true),
            (&[], &["pods"], false),
            (&["*"], &["po"], false),
            (&[], &["*s"], false),
            (&[], &["deployments"], true),
            // `*` in the exclusions is dropped (generateIncludesExcludes).
            (&["pods"], &["*"], true),
            // The first invalid pattern ends the walk: nothing excluded.
            (&[], &["[bad", "pods"], true),
        ];
        for (inc, exc, expected) in cases {
            assert_eq!(
                resources_include_pods(&strings(inc), &strings(exc)),
                *expected,
                "{inc:?} {exc:?}"
            );
        }
    }

    #[test]
    fn namespace_scoped_resource_filters() {
        // includes_excludes.go ScopeIncludesExcludes.ShouldInclude, scopeResourceMapFunc.
        let cases: &[(&[&str], &[&str], bool)] = &[
            (&[], &[], true),
            (&["deployments"], &[], false),
            (&["pods"], &[], true),
            (&[], &["*"], false),
            // A cluster-scoped name in the namespaced list is dropped: all included.
            (&["nodes"], &[], true),
        ];
        for (inc, exc, expected) in cases {
            assert_eq!(
                scoped_resources_include_pods(&strings(inc), &strings(exc)),
                *expected,
                "{inc:?} {exc:?}"
            );
        }
    }

    #[test]
    fn backup_namespaces_with_and_without_expansion() {
        let active = strings(&["shop-eu", "shop-us", "blog", "kube-system"]);
        // (included, excluded, namespace, included?) — expand.go, includes_excludes.go.
        let cases: &[(&[&str], &[&str], &str, bool)] = &[
            (&["*"], &[], "blog", true),
            (&["*"], &["kube-*"], "kube-system", false),
            (&["*"], &["[a-cx]", "kube-system"], "kube-system", true),
            (&["shop-*"], &[], "shop-eu", true),
            (&["shop-*"], &[], "blog", false),
            (&["shop-*"], &["shop-us"], "shop-us", false),
            (&["nothing-*"], &[], "blog", false),
            (&["blog"], &["kube-*"], "blog", true),
        ];
        for (inc, exc, ns, expected) in cases {
            let scope = NamespaceScope::new(
                strings(inc),
                strings(exc),
                &active,
                VeleroVersion::LATEST_RELEASE,
            )
            .unwrap();
            assert_eq!(scope.includes(ns), *expected, "{inc:?} {exc:?} {ns}");
        }
        // 1.18.1 alone expands `*` too, so there the pattern that does not compile fails
        // the backup instead of ending the walk of the exclusions.
        let release = |text| VeleroVersion::parse(text).unwrap();
        let with_bad_exclusion = |version| {
            NamespaceScope::new(
                strings(&["*"]),
                strings(&["[a-cx]", "kube-system"]),
                &active,
                version,
            )
        };
        assert!(with_bad_exclusion(release("1.18.0")).is_ok());
        assert!(with_bad_exclusion(release("1.18.1")).is_err());
        assert!(with_bad_exclusion(release("1.18.2")).is_ok());
        assert!(with_bad_exclusion(VeleroVersion::MAIN).is_ok());
        let expanded = NamespaceScope::new(
            strings(&["*"]),
            strings(&["kube-*"]),
            &active,
            release("1.18.1"),
        )
        .unwrap();
        assert!(expanded.includes("blog") && !expanded.includes("kube-system"));
        // Expansion compiles each pattern: one that does not compile fails the backup.
        assert!(
            NamespaceScope::new(
                strings(&["shop-*"]),
                strings(&["[a-cx]"]),
                &active,
                VeleroVersion::LATEST_RELEASE
            )
            .is_err()
        );
    }

    #[test]
    fn label_selectors_and_or_selectors() {
        let labels: BTreeMap<String, String> = [("app".to_owned(), "db".to_owned())].into();
        let db = LabelSelector::parse("app=db").unwrap();
        let web = LabelSelector::parse("app=web").unwrap();
        assert!(selectors_match(None, None, &labels));
        assert!(selectors_match(Some(&db), None, &labels));
        assert!(!selectors_match(Some(&web), None, &labels));
        assert!(selectors_match(
            None,
            Some(&[web.clone(), db.clone()]),
            &labels
        ));
        assert!(!selectors_match(
            None,
            Some(std::slice::from_ref(&web)),
            &labels
        ));
        // An empty orLabelSelectors list falls back to labelSelector.
        assert!(!selectors_match(Some(&web), Some(&[]), &labels));
    }
}
