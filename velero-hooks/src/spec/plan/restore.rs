//! Restore plans: which backed-up pods the restore creates, the init containers it injects
//! and the exec hooks it runs once each pod is up, as Velero 1.18.2 does.
//!
//! Pods taken in (`pkg/restore/restore.go`): the namespace (as backed up) passes the
//! restore's namespace lists, `pods` its resource lists, and `labelSelector` (or one of
//! `orLabelSelectors`) matches. Hooks are matched against the *target* namespace, after
//! `namespaceMapping` (issue #4720), with resources always `pods`
//! (`internal/hook/item_hook_handler.go` `GetRestoreHooksFromSpec`). Init and exec hooks
//! are decided separately: an init annotation replaces the spec init hooks only
//! (`InitContainerRestoreHookHandler.HandleRestoreHooks`), an exec annotation the spec exec
//! hooks only (`GroupRestoreExecHooks`).

use serde_json::Value;

use crate::hook::{Limit, OnError, effective_exec_timeout, parse_hooks};
use crate::keys::{Family, Field};
use crate::pod::PodView;
use crate::rules::{Finding, check_pod};
use crate::spec::rules::SPEC_CONTAINER_NOT_FOUND;
use crate::spec::scope::{
    expand_patterns, expands_wildcards, resources_include_pods, selectors_match, should_include,
};
use crate::spec::types::{RestoreResourceHookSpec, RestoreSpec};
use crate::version::{VeleroVersion, WAIT_FOR_READY, restore_expands_namespace_patterns};

use super::run_time::{missing_container, subject_of};
use super::{
    HookOrigin, InjectedInit, Inventory, LeftOut, ObjectPlan, Phase, PlannedHook, PodPlan, labels,
    text,
};

/// The namespace lists as the restore matches them. Velero 1.18.0 and main expand patterns
/// against the backup's namespaces (`expandNamespaceWildcards`, `pkg/restore/restore.go`),
/// here the namespaces of the pods planned; an include list expanded to nothing then
/// means every namespace, as an empty list does (HV142). A pattern that does not compile
/// is left as written (Velero fails the restore; the static rules say so).
fn namespace_lists(
    spec: &RestoreSpec,
    inventory: &Inventory,
    version: VeleroVersion,
) -> (Vec<String>, Vec<String>) {
    let (included, excluded) = (&spec.included_namespaces, &spec.excluded_namespaces);
    if restore_expands_namespace_patterns(version) && expands_wildcards(included, excluded, version)
    {
        let active = inventory.namespaces();
        if let (Ok(i), Ok(e)) = (
            expand_patterns(included, &active),
            expand_patterns(excluded, &active),
        ) {
            return (i, e);
        }
    }
    (included.clone(), excluded.clone())
}

pub(super) fn plan(
    spec: &RestoreSpec,
    inventory: &Inventory,
    version: VeleroVersion,
    out: &mut ObjectPlan,
) {
    out.limits.push("exec hooks run only on pods the restore creates: a pod that already exists in the cluster is skipped (pkg/restore/restore.go); the plan assumes every pod is created");
    // Patches and policies that change pods or the selection before hooks are read
    // (`pkg/restore/restore.go`): named, not applied.
    if spec.resource_modifier.is_some() {
        out.limits.push("spec.resourceModifier patches each object before it is created: a patch to a pod's hook annotations or labels is not applied by this plan");
    } else if version == VeleroVersion::MAIN && spec.skip_default_resource_modifier != Some(true) {
        out.limits.push("Velero main applies the server's default resource modifier, when one is configured, to every restore without spec.resourceModifier (skipDefaultResourceModifier: true leaves it out): its patches are not seen here");
    }
    if version == VeleroVersion::MAIN && spec.resource_policy.is_some() {
        out.limits.push("spec.resourcePolicy (Velero main): for the namespaces it matches, its label selectors and kinds replace the restore's; this plan applies the restore's own");
    }
    let pods_included = resources_include_pods(&spec.included_resources, &spec.excluded_resources);
    let (included, excluded) = namespace_lists(spec, inventory, version);
    for pod in inventory.pods() {
        let namespace = text(pod, "/metadata/namespace").unwrap_or_default();
        let name = text(pod, "/metadata/name").unwrap_or_default();
        let reason = if !pods_included {
            Some("the restore's resource filters leave pods out")
        } else if !should_include(&included, &excluded, namespace) {
            Some("its namespace is not included")
        } else if !selectors_match(
            spec.label_selector.as_ref(),
            spec.or_label_selectors.as_deref(),
            &labels(pod),
        ) {
            Some("the restore's label selector does not match it")
        } else {
            None
        };
        match reason {
            Some(reason) => out.left_out.push(LeftOut {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                reason,
            }),
            None => {
                let target = spec
                    .namespace_mapping
                    .get(namespace)
                    .map_or(namespace, String::as_str);
                let mut planned = plan_pod(pod, target, &spec.hooks.resources, version);
                if target != namespace {
                    planned.source_namespace = Some(namespace.to_owned());
                }
                out.pods.push(inventory.kept(planned));
            }
        }
    }
}

fn applies(hook: &RestoreResourceHookSpec, namespace: &str, pod: &Value) -> bool {
    should_include(
        &hook.included_namespaces,
        &hook.excluded_namespaces,
        namespace,
    ) && hook
        .label_selector
        .as_ref()
        .is_none_or(|s| s.validate().is_ok() && s.matches(&labels(pod)))
}

/// What the restore does to one pod it creates in `target` namespace.
pub fn plan_pod(
    pod: &Value,
    target: &str,
    resource_hooks: &[RestoreResourceHookSpec],
    version: VeleroVersion,
) -> PodPlan {
    let view = PodView::from_json(pod.get("metadata"), pod.get("spec"));
    let annotations = parse_hooks(&view, version);
    let mut plan = PodPlan {
        namespace: target.to_owned(),
        name: text(pod, "/metadata/name").unwrap_or_default().to_owned(),
        ..PodPlan::default()
    };
    let matching: Vec<(usize, &RestoreResourceHookSpec)> = resource_hooks
        .iter()
        .enumerate()
        .filter(|(_, h)| applies(h, target, pod))
        .collect();
    match &annotations.restore_init {
        Some(init) => plan.init_containers.push(InjectedInit {
            origin: HookOrigin::Annotation,
            name: init.name.clone(),
            image: init.image.clone(),
            command: init
                .command
                .as_ref()
                .map(|c| c.argv.clone())
                .unwrap_or_default(),
        }),
        None => {
            for (r, hook) in &matching {
                for (index, item) in hook.post_hooks.iter().enumerate() {
                    for container in item.init.iter().flat_map(|i| &i.init_containers) {
                        let field =
                            |k: &str| container.get(k).and_then(Value::as_str).map(str::to_owned);
                        plan.init_containers.push(InjectedInit {
                            origin: HookOrigin::Spec {
                                name: hook.name().to_owned(),
                                resource: *r,
                                index,
                            },
                            name: field("name"),
                            image: field("image").unwrap_or_default(),
                            command: container
                                .get("command")
                                .and_then(|c| serde_json::from_value(c.clone()).ok())
                                .unwrap_or_default(),
                        });
                    }
                }
            }
        }
    }
    // GroupRestoreExecHooks: a pod without containers gets no exec hooks.
    let first = view.containers.first().map(|c| (*c).to_owned());
    if first.is_some() {
        match &annotations.restore_post {
            Some(hook) => plan.hooks.push(PlannedHook {
                phase: Phase::Restore,
                origin: HookOrigin::Annotation,
                container: hook.container.clone(),
                effective_container: hook.effective_container.clone(),
                command: hook.command.argv.clone(),
                on_error: hook.on_error,
                timeout_nanos: hook.exec_timeout.nanos(),
                timeout: hook.exec_timeout,
                wait_timeout_nanos: Some(hook.wait_timeout.nanos()),
                wait_for_ready: Some(hook.wait_for_ready && version.has(&WAIT_FOR_READY)),
            }),
            None => {
                for (r, hook) in &matching {
                    for (index, exec) in hook
                        .post_hooks
                        .iter()
                        .enumerate()
                        .filter_map(|(i, item)| Some((i, item.exec.as_ref()?)))
                    {
                        let duration = |v: &Option<Value>| match v {
                            Some(Value::String(t)) if !t.is_empty() => {
                                crate::duration::parse_go_duration(t).unwrap_or(0)
                            }
                            _ => 0,
                        };
                        let timeout = effective_exec_timeout(duration(&exec.exec_timeout), version);
                        let wait = duration(&exec.wait_timeout);
                        let container = Some(exec.container.clone()).filter(|c| !c.is_empty());
                        plan.hooks.push(PlannedHook {
                            phase: Phase::Restore,
                            origin: HookOrigin::Spec {
                                name: hook.name().to_owned(),
                                resource: *r,
                                index,
                            },
                            effective_container: container.clone().or_else(|| first.clone()),
                            container,
                            command: exec.command.clone(),
                            on_error: OnError::effective(exec.on_error.as_deref()),
                            timeout_nanos: timeout.nanos(),
                            timeout,
                            wait_timeout_nanos: Some(
                                if wait > 0 {
                                    Limit::After(wait)
                                } else {
                                    Limit::Unlimited
                                }
                                .nanos(),
                            ),
                            wait_for_ready: Some(
                                exec.wait_for_ready == Some(true) && version.has(&WAIT_FOR_READY),
                            ),
                        });
                    }
                }
            }
        }
    }
    plan.findings = check_pod(&view, version)
        .findings
        .into_iter()
        .filter(|f| {
            [Family::RestorePost, Family::RestoreInit]
                .into_iter()
                .any(|fam| f.subject.is_annotation_of(fam))
        })
        .collect();
    for hook in plan
        .hooks
        .iter()
        .filter(|h| matches!(h.origin, HookOrigin::Spec { .. }))
    {
        // wait_exec_hook_handler.go: only spec.containers; sidecars and init containers are not.
        if let Some((problem, _)) =
            missing_container(hook, &view, |c| view.containers.contains(&c), &plan.name)
        {
            plan.findings.push(Finding::about(&SPEC_CONTAINER_NOT_FOUND, subject_of(hook, "spec", "container", Field::Container), problem,
                crate::outcome::restore_container_missing(version),
                "narrow the hook's labelSelector so it matches only pods with that container, or fix the name"));
        }
    }
    plan.findings
        .extend(super::restore_tracker::never_recorded(&plan, version));
    plan
}
