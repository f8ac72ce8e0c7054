//! The verdict on one object, and its stable JSON form (scripted against by CI users).

use serde::Serialize;

use crate::hook::{BackupHook, HookSource, InitHook, PodHooks, RestoreExecHook};
use crate::rules::{Finding, Severity};
use crate::workload::WorkloadKind;

#[derive(Debug, Clone)]
pub struct ObjectReport {
    pub kind: &'static WorkloadKind,
    pub name: String,
    pub namespace: Option<String>,
    pub hooks: PodHooks,
    pub findings: Vec<Finding>,
}

impl ObjectReport {
    /// `deployment/web -n shop`, as kubectl users name objects.
    pub fn display_name(&self) -> String {
        let mut out = format!("{}/{}", self.kind.kind.to_ascii_lowercase(), self.name);
        if let Some(ns) = &self.namespace {
            out.push_str(" -n ");
            out.push_str(ns);
        }
        out
    }

    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    pub fn summary(&self) -> ObjectSummary<'_> {
        ObjectSummary {
            kind: self.kind.kind,
            api_version: self.kind.api_version,
            name: &self.name,
            namespace: self.namespace.as_deref(),
            hooks: hook_summaries(&self.hooks),
            findings: &self.findings,
        }
    }
}

/// The JSON shape of one checked object (documented in the README).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSummary<'a> {
    pub kind: &'static str,
    pub api_version: &'static str,
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<&'a str>,
    pub hooks: Vec<HookSummary>,
    pub findings: &'a [Finding],
}

/// One hook as Velero will run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookSummary {
    /// `pre` or `post` (backup), `restore` (post-restore exec) or `restore-init`.
    pub phase: &'static str,
    pub source: HookSource,
    /// The container the command runs in (defaults applied); `null` when the pod has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The argv Velero execs.
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_error: Option<&'static str>,
    /// The timeout as written (absent when not written).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// The timeout Velero applies, in nanoseconds; `null` means no limit at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_nanos: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_timeout_nanos: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_for_ready: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_container_name: Option<String>,
}

impl HookSummary {
    fn empty(phase: &'static str) -> Self {
        HookSummary {
            phase,
            source: HookSource::Annotation,
            container: None,
            command: Vec::new(),
            on_error: None,
            timeout: None,
            timeout_nanos: None,
            wait_timeout: None,
            wait_timeout_nanos: None,
            wait_for_ready: None,
            image: None,
            init_container_name: None,
        }
    }
}

pub fn backup_hook_summary(hook: &BackupHook) -> HookSummary {
    HookSummary {
        source: hook.source,
        container: hook.effective_container.clone(),
        command: hook.command.argv.clone(),
        on_error: Some(hook.on_error.as_str()),
        timeout: hook.timeout_raw.clone(),
        timeout_nanos: Some(hook.timeout.nanos()),
        ..HookSummary::empty(hook.phase.as_str())
    }
}

fn restore_hook_summary(hook: &RestoreExecHook) -> HookSummary {
    HookSummary {
        container: hook.effective_container.clone(),
        command: hook.command.argv.clone(),
        on_error: Some(hook.on_error.as_str()),
        timeout: hook.exec_timeout_raw.clone(),
        timeout_nanos: Some(hook.exec_timeout.nanos()),
        wait_timeout: hook.wait_timeout_raw.clone(),
        wait_timeout_nanos: Some(hook.wait_timeout.nanos()),
        wait_for_ready: Some(hook.wait_for_ready),
        ..HookSummary::empty("restore")
    }
}

fn init_hook_summary(hook: &InitHook) -> HookSummary {
    HookSummary {
        command: hook
            .command
            .as_ref()
            .map(|c| c.argv.clone())
            .unwrap_or_default(),
        image: Some(hook.image.clone()),
        init_container_name: hook.name.clone(),
        ..HookSummary::empty("restore-init")
    }
}

pub fn hook_summaries(hooks: &PodHooks) -> Vec<HookSummary> {
    hooks
        .backup()
        .map(backup_hook_summary)
        .chain(hooks.restore_post.as_deref().map(restore_hook_summary))
        .chain(hooks.restore_init.as_deref().map(init_hook_summary))
        .collect()
}
