//! `kubectl hooks backup create NAME`: find every pod the backup takes in, show which hooks
//! Velero will run on each (and which spec hooks it skips), check them, and only then
//! create the `velero.io/v1` Backup.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, ListParams, PostParams};
use serde_json::{Value, json};
use velero_hooks::duration::{GoDuration, parse_go_duration};
use velero_hooks::spec::plan::PodPlan;
use velero_hooks::spec::rules::check_storage_location;
use velero_hooks::spec::scope::{NamespaceScope, backup_takes_in_pods};
use velero_hooks::spec::selector::LabelSelector;
use velero_hooks::spec::{Inventory, ObjectPlan, VeleroObject, VeleroSpec, plan};
use velero_hooks::{Finding, Subject, VeleroVersion};

use super::api::{self, Backup};
use crate::cli::GlobalArgs;
use crate::cluster::{Cluster, describe_api_error};
use crate::commands::{EXIT_FAILURE, EXIT_OK, unusable};
use crate::render::{Table, finding_block};

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Name of the Backup to create
    pub name: String,
    /// Namespaces to back up (comma-separated, globs allowed; default: all)
    #[arg(long, value_delimiter = ',', value_name = "NAMESPACES")]
    pub include_namespaces: Vec<String>,
    /// Namespaces to leave out (comma-separated, globs allowed)
    #[arg(long, value_delimiter = ',', value_name = "NAMESPACES")]
    pub exclude_namespaces: Vec<String>,
    /// Resources to back up (comma-separated; default: all)
    #[arg(long, value_delimiter = ',', value_name = "RESOURCES")]
    pub include_resources: Vec<String>,
    /// Resources to leave out (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "RESOURCES")]
    pub exclude_resources: Vec<String>,
    /// Only back up objects matching this label selector (e.g. app=db,tier!=cache)
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// How long to keep the backup (a Go duration, e.g. 720h0m0s)
    #[arg(long, value_name = "DURATION")]
    pub ttl: Option<String>,
    /// The BackupStorageLocation to write to (default: Velero's default location)
    #[arg(long, value_name = "NAME")]
    pub storage_location: Option<String>,
    /// Take snapshots of PersistentVolumes
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub snapshot_volumes: Option<bool>,
    /// Back up every pod volume with file-system backup
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub default_volumes_to_fs_backup: Option<bool>,
    /// A Backup (or Schedule) manifest whose spec, hooks included, is the starting point;
    /// flags given on the command line replace its fields
    #[arg(long, value_name = "PATH")]
    pub from_file: Option<PathBuf>,
    /// Create the backup even if the preflight finds errors
    #[arg(long)]
    pub force: bool,
    /// Only run the preflight; create nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Follow the backup until it ends and report what its hooks did
    #[arg(long)]
    pub wait: bool,
}

pub async fn run(
    cluster: &Cluster,
    global: &GlobalArgs,
    velero_namespace: &str,
    args: &CreateArgs,
) -> anyhow::Result<ExitCode> {
    let spec = build_spec(args).map_err(unusable)?;
    if let Some(problem) = invalid_name(&args.name) {
        return Err(unusable(anyhow::anyhow!(
            "backup name \"{}\" is not valid: {problem} (the API server refuses it)",
            args.name
        )));
    }
    // Known before the preflight is worth running: the name is taken, or Velero's
    // namespace is not there.
    let backups = api::backups(cluster, velero_namespace);
    match backups.get_opt(&args.name).await {
        Ok(Some(_)) => anyhow::bail!(
            "backup {name} already exists in namespace {velero_namespace}: choose another name, e.g. {name}-{suffix}",
            name = args.name,
            suffix = name_suffix()
        ),
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(err) => {
            return Err(describe_api_error(
                err,
                &format!("get backup {} -n {velero_namespace}", args.name),
            ));
        }
    }
    let namespaces: Api<Namespace> = Api::all(cluster.client.clone());
    if let Ok(None) = namespaces.get_opt(velero_namespace).await {
        return Err(unusable(anyhow::anyhow!(
            "namespace {velero_namespace} not found: Velero runs in another namespace? name it with --velero-namespace"
        )));
    }
    let preflight = preflight(cluster, &spec, velero_namespace, global.velero_version).await?;
    print!(
        "{}",
        preflight.render(&args.name, velero_namespace, global.velero_version)
    );
    let errors = preflight.errors();
    if args.dry_run {
        println!("dry run: backup {} not created", args.name);
        return Ok(ExitCode::from(if errors > 0 {
            EXIT_FAILURE
        } else {
            EXIT_OK
        }));
    }
    if errors > 0 && !args.force {
        eprintln!(
            "error: the preflight found {errors} error{}: backup {} was not created (fix them, or use --force to create it anyway)",
            plural(errors),
            args.name
        );
        return Ok(ExitCode::from(EXIT_FAILURE));
    }
    let backup = Backup {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(args.name.clone()),
            namespace: Some(velero_namespace.to_owned()),
            ..Default::default()
        },
        spec,
        ..Backup::default()
    };
    match backups.create(&PostParams::default(), &backup).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => anyhow::bail!(
            "backup {name} already exists in namespace {velero_namespace}: choose another name, e.g. {name}-{suffix}",
            name = args.name,
            suffix = name_suffix()
        ),
        Err(err) => {
            return Err(describe_api_error(
                err,
                &format!("create backup {} -n {velero_namespace}", args.name),
            ));
        }
    }
    println!("backup.velero.io/{} created", args.name);
    if errors > 0 {
        eprintln!(
            "warning: created despite {errors} preflight error{} (--force)",
            plural(errors)
        );
    }
    if args.wait {
        super::wait::follow_and_report(cluster, velero_namespace, &args.name).await
    } else {
        println!(
            "Follow it with: kubectl hooks backup describe {}  (logs: kubectl hooks backup logs {} --hooks-only)",
            args.name, args.name
        );
        Ok(ExitCode::SUCCESS)
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `YYYYMMDDHHMMSS` now, the suffix Velero's schedules give their backups.
fn name_suffix() -> String {
    jiff::Timestamp::now().strftime("%Y%m%d%H%M%S").to_string()
}

/// The Backup spec: the file's spec (or a Schedule's template) with the flags on top.
pub fn build_spec(args: &CreateArgs) -> anyhow::Result<serde_json::Map<String, Value>> {
    let mut spec = match &args.from_file {
        Some(path) => spec_from_file(path)?,
        None => serde_json::Map::new(),
    };
    let mut set = |key: &str, value: Value| {
        spec.insert(key.to_owned(), value);
    };
    let lists = [
        ("includedNamespaces", &args.include_namespaces),
        ("excludedNamespaces", &args.exclude_namespaces),
        ("includedResources", &args.include_resources),
        ("excludedResources", &args.exclude_resources),
    ];
    for (key, values) in lists {
        if !values.is_empty() {
            set(key, json!(values));
        }
    }
    if let Some(text) = &args.selector {
        let selector = LabelSelector::parse(text)
            .map_err(|e| anyhow::anyhow!("invalid --selector `{text}`: {e}"))?;
        set("labelSelector", serde_json::to_value(selector)?);
    }
    if let Some(ttl) = &args.ttl {
        let nanos = parse_go_duration(ttl).map_err(|e| {
            anyhow::anyhow!("invalid --ttl `{ttl}`: {e} (use a Go duration, e.g. 720h0m0s)")
        })?;
        set("ttl", json!(GoDuration(nanos).to_string()));
    }
    if let Some(location) = &args.storage_location {
        set("storageLocation", json!(location));
    }
    if let Some(snapshot) = args.snapshot_volumes {
        set("snapshotVolumes", json!(snapshot));
    }
    if let Some(fs) = args.default_volumes_to_fs_backup {
        set("defaultVolumesToFsBackup", json!(fs));
    }
    Ok(spec)
}

fn spec_from_file(path: &std::path::Path) -> anyhow::Result<serde_json::Map<String, Value>> {
    let (source, text) = crate::manifest::read_text(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (documents, errors) = crate::manifest::parse_documents(&source, &text);
    if let Some(err) = errors.first() {
        anyhow::bail!("{err}");
    }
    let mut found = documents.into_iter().filter(|d| {
        d.object.get("apiVersion").and_then(Value::as_str) == Some(api::API_VERSION)
            && matches!(
                d.object.get("kind").and_then(Value::as_str),
                Some("Backup" | "Schedule")
            )
    });
    let doc = found.next().with_context(|| {
        format!("{source}: no velero.io/v1 Backup or Schedule in it (--from-file takes the spec, hooks included, from one)")
    })?;
    if found.next().is_some() {
        anyhow::bail!("{source}: more than one Backup or Schedule; give a file with exactly one");
    }
    let kind = doc.object["kind"].as_str().unwrap_or_default();
    let spec = if kind == "Schedule" {
        doc.object.pointer("/spec/template")
    } else {
        doc.object.get("spec")
    };
    match spec {
        None | Some(Value::Null) => Ok(serde_json::Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(other) => anyhow::bail!(
            "{source}:{}: the {kind}'s spec{} is not an object but `{other}`",
            doc.line,
            if kind == "Schedule" { ".template" } else { "" }
        ),
    }
}

/// Everything the preflight found.
pub struct Preflight {
    pub pods_in_scope: usize,
    pub pods_includes: bool,
    /// Pods taken in that have hooks, skipped spec hooks or findings.
    pub pods: Vec<PodPlan>,
    pub spec_findings: Vec<Finding>,
    /// Velero refuses the Backup: no hook runs.
    pub refused: bool,
    pub limits: Vec<&'static str>,
}

impl Preflight {
    /// The preflight of a Schedule's `spec.template`, planned as a Backup: its findings'
    /// paths as they are in the Schedule (`spec.template.hooks...`, not `spec.hooks...`).
    pub fn in_schedule_template(mut self) -> Self {
        let findings = self
            .spec_findings
            .iter_mut()
            .chain(self.pods.iter_mut().flat_map(|p| p.findings.iter_mut()));
        for finding in findings {
            if let Subject::Spec(path) = &finding.subject {
                finding.subject = Subject::Spec(path.replacen("spec.", "spec.template.", 1));
            }
        }
        self
    }

    /// The preflight as the planner's result, for `backup plan --schedule`.
    pub fn into_plan(self, kind: velero_hooks::spec::VeleroKind, name: &str) -> ObjectPlan {
        ObjectPlan {
            kind,
            name: name.to_owned(),
            findings: self.spec_findings,
            refused: self.refused,
            pods: self.pods,
            left_out: Vec::new(),
            limits: self.limits,
        }
    }

    pub fn errors(&self) -> usize {
        self.pods
            .iter()
            .flat_map(|p| &p.findings)
            .chain(&self.spec_findings)
            .filter(|f| f.is_error())
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.pods
            .iter()
            .flat_map(|p| &p.findings)
            .chain(&self.spec_findings)
            .filter(|f| !f.is_error())
            .count()
    }

    pub fn render(&self, name: &str, velero_namespace: &str, version: VeleroVersion) -> String {
        let mut out = String::new();
        let with_hooks = self
            .pods
            .iter()
            .filter(|p| !p.hooks.is_empty() || !p.skipped.is_empty())
            .count();
        out.push_str(&format!(
            "Preflight of backup {name} -n {velero_namespace} (as Velero {} runs hooks): {} pod{} in scope, {with_hooks} with hooks\n",
            version,
            self.pods_in_scope,
            plural(self.pods_in_scope),
        ));
        if !self.pods_includes {
            out.push_str("The backup leaves pods out (resource filters): no hooks will run.\n");
        }
        let mut table = Table::new([
            "POD",
            "PHASE",
            "CONTAINER",
            "COMMAND",
            "ON-ERROR",
            "TIMEOUT",
            "FROM",
        ]);
        let mut rows = 0;
        for pod in &self.pods {
            let id = format!("{}/{}", pod.namespace, pod.name);
            for hook in &pod.hooks {
                rows += 1;
                table.row([
                    id.clone(),
                    hook.phase.as_str().to_owned(),
                    hook.effective_container
                        .clone()
                        .unwrap_or_else(|| "(none)".into()),
                    argv(&hook.command),
                    hook.on_error.as_str().to_owned(),
                    hook.timeout.to_string(),
                    hook.origin.describe(),
                ]);
            }
            for skipped in &pod.skipped {
                rows += 1;
                table.row([
                    id.clone(),
                    skipped.phase.as_str().to_owned(),
                    skipped.container.clone().unwrap_or_else(|| "-".into()),
                    argv(&skipped.command),
                    "-".into(),
                    "-".into(),
                    format!(
                        "{} SKIPPED: the pod's {} annotation hook runs instead",
                        skipped.origin.describe(),
                        skipped.phase.as_str()
                    ),
                ]);
            }
        }
        if rows > 0 {
            out.push('\n');
            out.push_str(&table.to_string());
        }
        let blocks: Vec<String> = self
            .spec_findings
            .iter()
            .map(|f| finding_block("", &format!("backup/{name} -n {velero_namespace}"), f))
            .chain(self.pods.iter().flat_map(|pod| {
                pod.findings.iter().map(|f| {
                    finding_block("", &format!("pod/{} -n {}", pod.name, pod.namespace), f)
                })
            }))
            .collect();
        if !blocks.is_empty() {
            out.push('\n');
            for block in blocks {
                out.push_str(&block);
            }
        }
        let hooks: usize = self.pods.iter().map(|p| p.hooks.len()).sum();
        let skipped: usize = self.pods.iter().map(|p| p.skipped.len()).sum();
        let (errors, warnings) = (self.errors(), self.warnings());
        out.push_str(&format!(
            "\n{hooks} hook{} will run, {skipped} spec hook{} skipped: {errors} error{}, {warnings} warning{}\n",
            plural(hooks),
            plural(skipped),
            plural(errors),
            plural(warnings),
        ));
        out
    }
}

/// The argv as an unambiguous JSON array (the preflight's and `backup plan`'s COMMAND).
pub(super) fn argv(command: &[String]) -> String {
    serde_json::to_string(command).unwrap_or_default()
}

/// Lists the namespaces and the pods the backup may take in, and asks the library's
/// planner what Velero will run on each.
/// Why `name` cannot name an object: the API server's RFC 1123 subdomain rule
/// (`k8s.io/apimachinery/pkg/util/validation.IsDNS1123Subdomain`), in its words.
fn invalid_name(name: &str) -> Option<&'static str> {
    let alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if name.is_empty() {
        Some("a name is required")
    } else if name.len() > 253 {
        Some("must be no more than 253 characters")
    } else if !name
        .chars()
        .all(|c| alphanumeric(c) || c == '-' || c == '.')
        || !name.starts_with(alphanumeric)
        || !name.ends_with(alphanumeric)
    {
        Some(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        )
    } else {
        None
    }
}

pub async fn preflight(
    cluster: &Cluster,
    spec: &serde_json::Map<String, Value>,
    velero_namespace: &str,
    version: VeleroVersion,
) -> anyhow::Result<Preflight> {
    let document = json!({"apiVersion": "velero.io/v1", "kind": "Backup", "metadata": {"name": "preflight"}, "spec": spec});
    let object = match VeleroObject::from_json(&document) {
        Some(Ok(object)) => object,
        Some(Err(finding)) => {
            return Ok(Preflight {
                pods_in_scope: 0,
                pods_includes: false,
                pods: Vec::new(),
                spec_findings: vec![finding],
                refused: true,
                limits: Vec::new(),
            });
        }
        None => anyhow::bail!(
            "internal error: the Backup built from the flags is not a velero.io/v1 Backup"
        ),
    };
    let VeleroSpec::Backup(backup) = &object.spec else {
        anyhow::bail!("internal error: a Backup without a Backup spec");
    };
    let pods_includes = backup_takes_in_pods(backup);
    let mut inventory = Inventory::new();
    if pods_includes {
        let namespaces = list_namespaces(cluster).await?;
        let names: Vec<String> = namespaces
            .iter()
            .filter_map(|n| n.get("metadata")?.get("name")?.as_str().map(str::to_owned))
            .collect();
        for namespace in &namespaces {
            inventory.add(namespace);
        }
        inventory.holds_every_namespace();
        // Only the namespaces the backup may take in are listed (a superset: the planner decides).
        let scope = NamespaceScope::new(
            backup.effective_included_namespaces(),
            backup.excluded_namespaces.clone(),
            &names,
            version,
        )
        .ok();
        let wanted: Vec<String> = names
            .into_iter()
            .filter(|n| scope.as_ref().is_none_or(|s| s.includes(n)))
            .collect();
        for pod in list_pods(cluster, &wanted).await? {
            inventory.add_pod(&serde_json::to_value(&pod)?);
        }
    }
    let mut planned = plan(&object, &inventory, version);
    // Where the backup is written: the controller refuses it before any hook runs.
    let named = spec.get("storageLocation").and_then(Value::as_str);
    match api::storage_locations(cluster, velero_namespace)
        .list(&ListParams::default())
        .await
    {
        Ok(list) => {
            let locations: Vec<Value> = list
                .items
                .iter()
                .filter_map(|l| serde_json::to_value(l).ok())
                .collect();
            if let Some(finding) = check_storage_location(named, &locations, "spec", version) {
                planned.findings.push(finding);
                planned.refused = true;
                for pod in &mut planned.pods {
                    pod.hooks.clear();
                }
            }
        }
        Err(_) => planned.limits.push(
            "the BackupStorageLocations could not be listed: whether Velero accepts the storage location is not checked",
        ),
    }
    Ok(Preflight {
        pods_in_scope: planned.pods.len(),
        pods_includes,
        pods: planned
            .pods
            .into_iter()
            .filter(|p| !p.is_empty() || !p.findings.is_empty())
            .collect(),
        spec_findings: planned.findings,
        refused: planned.refused,
        limits: planned.limits,
    })
}

async fn list_namespaces(cluster: &Cluster) -> anyhow::Result<Vec<Value>> {
    let api: Api<Namespace> = Api::all(cluster.client.clone());
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| describe_api_error(e, "list namespaces"))?;
    list.items
        .into_iter()
        .map(|n| {
            let mut value = serde_json::to_value(n)?;
            if let Some(map) = value.as_object_mut() {
                map.insert("kind".into(), json!("Namespace"));
            }
            Ok(value)
        })
        .collect()
}

/// The pods of `namespaces`, a page at a time.
async fn list_pods(cluster: &Cluster, namespaces: &[String]) -> anyhow::Result<Vec<Pod>> {
    let mut pods = Vec::new();
    for namespace in namespaces {
        let namespace = namespace.as_str();
        let api: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
        let mut params = ListParams::default().limit(500);
        loop {
            let page = match api.list(&params).await {
                Ok(page) => page,
                Err(err) => {
                    return Err(describe_api_error(
                        err,
                        &format!("list pods -n {namespace}"),
                    ));
                }
            };
            pods.extend(page.items);
            match page.metadata.continue_ {
                Some(token) if !token.is_empty() => params = params.continue_token(&token),
                _ => break,
            }
        }
    }
    Ok(pods)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: CreateArgs,
    }

    fn spec_of(argv: &[&str]) -> anyhow::Result<serde_json::Map<String, Value>> {
        let wrapper =
            Wrapper::try_parse_from(std::iter::once("create").chain(argv.iter().copied()))?;
        build_spec(&wrapper.args)
    }

    #[test]
    fn flags_become_the_spec() {
        let spec = spec_of(&[
            "b1",
            "--include-namespaces",
            "shop,blog-*",
            "--exclude-resources=secrets",
            "-l",
            "app=db,tier notin (cache)",
            "--ttl",
            "72h",
            "--storage-location",
            "aws",
            "--snapshot-volumes=false",
            "--default-volumes-to-fs-backup",
        ])
        .unwrap();
        assert_eq!(
            Value::Object(spec),
            json!({
                "includedNamespaces": ["shop", "blog-*"],
                "excludedResources": ["secrets"],
                "labelSelector": {"matchLabels": {"app": "db"}, "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["cache"]}]},
                "ttl": "72h0m0s",
                "storageLocation": "aws",
                "snapshotVolumes": false,
                "defaultVolumesToFsBackup": true
            })
        );
    }

    #[test]
    fn bad_flags_are_named() {
        let err = spec_of(&["b1", "--ttl", "30d"]).unwrap_err().to_string();
        assert!(err.contains("invalid --ttl `30d`"), "{err}");
        let err = spec_of(&["b1", "-l", "app in db"]).unwrap_err().to_string();
        assert!(err.contains("invalid --selector"), "{err}");
    }

    #[test]
    fn spec_from_backup_and_schedule_files() {
        let dir = tempfile::tempdir().unwrap();
        let backup = dir.path().join("backup.yaml");
        std::fs::write(
            &backup,
            "apiVersion: velero.io/v1\nkind: Backup\nmetadata:\n  name: x\nspec:\n  includedNamespaces: [shop]\n  hooks:\n    resources:\n    - name: sync\n      pre:\n      - exec:\n          command: [/bin/sync]\n",
        )
        .unwrap();
        let spec = spec_of(&[
            "b1",
            "--from-file",
            backup.to_str().unwrap(),
            "--include-namespaces",
            "blog",
        ])
        .unwrap();
        assert_eq!(spec["includedNamespaces"], json!(["blog"]));
        assert_eq!(spec["hooks"]["resources"][0]["name"], json!("sync"));

        let schedule = dir.path().join("schedule.yaml");
        std::fs::write(
            &schedule,
            "apiVersion: velero.io/v1\nkind: Schedule\nmetadata:\n  name: x\nspec:\n  schedule: '@daily'\n  template:\n    ttl: 24h0m0s\n",
        )
        .unwrap();
        let spec = spec_of(&["b1", "--from-file", schedule.to_str().unwrap()]).unwrap();
        assert_eq!(Value::Object(spec), json!({"ttl": "24h0m0s"}));

        let other = dir.path().join("pod.yaml");
        std::fs::write(&other, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n").unwrap();
        let err = spec_of(&["b1", "--from-file", other.to_str().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("no velero.io/v1 Backup or Schedule"), "{err}");
    }
}
