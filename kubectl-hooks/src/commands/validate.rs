//! `kubectl hooks validate`: the library's verdict on manifests or live objects.

use std::process::ExitCode;

use serde::Serialize;
use velero_hooks::report::{HookSummary, hook_summaries};
use velero_hooks::{Finding, ObjectReport, VeleroVersion, check_object};

use super::{EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, written};
use crate::cli::{FailOn, GlobalArgs, ReportFormat, ValidateArgs};
use crate::manifest::{self, Document, InputError, Spot};
use crate::render::finding_block;

pub mod silence;
mod velero;

use silence::{IgnoreAnnotation, Silenced, SilencedBy};
use velero::{ForPlanning, SpecHook};

/// Where a checked object came from.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Origin {
    /// The file (or `<stdin>`); absent for live objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// One checked object with the line of each finding (for files).
pub struct Checked {
    pub origin: Origin,
    pub report: ObjectReport,
    /// Where each finding is written (line, and the key's column when known).
    pub finding_lines: Vec<Option<Spot>>,
    /// The object's `velero-hooks.io/ignore` annotation.
    pub ignore: IgnoreAnnotation,
    /// Findings silenced by `--ignore` or the annotation, filled by [`silence::apply`].
    pub silenced: Vec<Silenced>,
    /// The hooks a Backup, Schedule or Restore declares in `spec.hooks` (empty for others).
    pub spec_hooks: Vec<SpecHook>,
}

pub fn run(global: &GlobalArgs, args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    // `validate deploy/web`: a kubectl habit, not a file.
    if let Some(named) = args.paths.iter().find(|p| {
        !p.exists()
            && p.to_str()
                .and_then(|t| t.split_once('/'))
                .is_some_and(|(kind, name)| {
                    !name.is_empty() && crate::selection::parse_kind(kind).is_ok()
                })
    }) {
        return Err(super::unusable(anyhow::anyhow!(
            "`{}` is not a file: validate reads files (-f) or checks the live objects of a namespace (`kubectl hooks validate -n NAMESPACE`, or -A); to check one live object, `kubectl hooks get {}` shows its hooks and findings",
            named.display(),
            named.display()
        )));
    }
    if !args.paths.is_empty() {
        // Files named without -f are read exactly like -f ones.
        let mut merged = args.clone();
        merged.files.append(&mut merged.paths);
        return run(global, &merged);
    }
    if !args.files.is_empty()
        && (global.namespace.is_some() || global.all_namespaces || args.selector.is_some())
    {
        eprintln!(
            "warning: -n, -A and -l choose live objects; with files they are ignored and every object in the files is checked"
        );
    }
    let (mut checked, mut input_errors) = if args.files.is_empty() {
        match crate::cluster::block_on(check_live(global, args))? {
            Ok(checked) => (checked, Vec::new()),
            Err(err) => {
                // The objects could not be read: that is not a verdict on them.
                eprintln!("error: {err:#}");
                return Ok(ExitCode::from(EXIT_BAD_INPUT));
            }
        }
    } else {
        check_files(args, global.velero_version)
    };
    for item in &mut checked {
        input_errors.extend(silence::apply(item, &args.ignore));
    }
    print_outcome(&checked, &input_errors, args)
}

/// Checks every pod and workload in the namespace (or all, with `-A`), a page at a time.
async fn check_live(global: &GlobalArgs, args: &ValidateArgs) -> anyhow::Result<Vec<Checked>> {
    let cluster = crate::cluster::Cluster::connect(global).await?;
    let global = &global.predicting(crate::velero_release::resolve(&cluster, global).await);
    let namespace = (!cluster.all_namespaces).then_some(cluster.namespace.as_str());
    let mut checked = Vec::new();
    for kind in velero_hooks::workload::WORKLOAD_KINDS {
        let selector = args.selector.as_deref();
        crate::lean::for_each(&cluster, kind, namespace, selector, |object| {
            if let Some(report) = check_object(&object, global.velero_version) {
                checked.push(Checked {
                    origin: Origin {
                        file: None,
                        line: None,
                    },
                    finding_lines: vec![None; report.findings.len()],
                    report,
                    ignore: IgnoreAnnotation::read(&object, |_| None),
                    silenced: Vec::new(),
                    spec_hooks: Vec::new(),
                });
            }
        })
        .await?;
    }
    Ok(checked)
}

/// Reads and checks every document of every input, on every core, in input order; then
/// checks the spec hooks of the input's Backups, Schedules and Restores against its pods
/// and workloads.
pub fn check_files(args: &ValidateArgs, version: VeleroVersion) -> (Vec<Checked>, Vec<InputError>) {
    let (paths, mut input_errors) = manifest::expand_paths(&args.files, args.recursive);
    let mut checked = Vec::new();
    let mut planning = Vec::new();
    let mut namespaces = Vec::new();
    let errors = manifest::stream::for_each_checked(
        &paths,
        |doc| read_document(&doc, version),
        |(item, plan)| match item {
            Some(item) => {
                checked.push(item);
                planning.push(plan);
            }
            // A Namespace is not checked, but its labels count in the plan.
            None => namespaces.extend(plan),
        },
    );
    input_errors.extend(errors);
    velero::cross_check(&mut checked, planning, namespaces, version);
    (checked, input_errors)
}

/// One document's report (for pods, workloads and Velero objects) and what it lends to the
/// plan of the input's Velero objects.
type Read = (Option<Checked>, Option<ForPlanning>);

fn read_document(doc: &Document, version: VeleroVersion) -> Option<Read> {
    if let Some((report, spec_hooks, decoded)) = velero::check(&doc.object, version) {
        let paths: Vec<&str> = report.findings.iter().map(|f| f.subject.text()).collect();
        let finding_lines = doc.spots_of_paths(&paths).into_iter().map(Some).collect();
        let checked = Checked {
            origin: origin(doc),
            report,
            finding_lines,
            ignore: IgnoreAnnotation::read(&doc.object, |key| Some(doc.line_of(key))),
            silenced: Vec::new(),
            spec_hooks,
        };
        return Some((
            Some(checked),
            decoded.map(|d| ForPlanning::Velero(Box::new(d))),
        ));
    }
    let planning = velero::for_planning(&doc.object);
    match (check_document(doc, version), planning) {
        (None, None) => None,
        read => Some(read),
    }
}

fn origin(doc: &Document) -> Origin {
    Origin {
        file: Some(doc.source.clone()),
        line: Some(doc.line),
    }
}

fn check_document(doc: &Document, version: VeleroVersion) -> Option<Checked> {
    let report = check_object(&doc.object, version)?;
    let finding_lines = report
        .findings
        .iter()
        .map(|f| Some(doc.spot_of(f.subject.text())))
        .collect();
    Some(Checked {
        origin: origin(doc),
        report,
        finding_lines,
        ignore: IgnoreAnnotation::read(&doc.object, |key| Some(doc.line_of(key))),
        silenced: Vec::new(),
        spec_hooks: Vec::new(),
    })
}

/// Prints the verdict in the chosen format and picks the exit status.
pub fn print_outcome(
    checked: &[Checked],
    input_errors: &[InputError],
    args: &ValidateArgs,
) -> anyhow::Result<ExitCode> {
    let summary = Summary::of(checked, input_errors);
    match args.output {
        ReportFormat::Text => {
            written(print_text(checked, input_errors, &summary, args.show_clean))?;
        }
        ReportFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json_report(checked, input_errors, &summary))?
        ),
        ReportFormat::Yaml => print!(
            "{}",
            serde_saphyr::to_string(&json_report(checked, input_errors, &summary))?
        ),
        ReportFormat::Sarif => println!(
            "{}",
            serde_json::to_string_pretty(&crate::render::sarif::log(checked, input_errors))?
        ),
        ReportFormat::Github => {
            print!("{}", crate::render::github::commands(checked, input_errors));
            println!("{}", summary.line());
        }
    }
    Ok(ExitCode::from(
        summary.exit_code(args.exit_zero, args.fail_on),
    ))
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub objects: usize,
    pub with_hooks: usize,
    pub errors: usize,
    pub warnings: usize,
    /// Findings silenced by `--ignore` or `velero-hooks.io/ignore`, not counted above.
    pub ignored: usize,
    pub input_errors: usize,
}

impl Summary {
    fn of(checked: &[Checked], input_errors: &[InputError]) -> Self {
        Summary {
            objects: checked.len(),
            with_hooks: checked
                .iter()
                .filter(|c| !c.report.hooks.is_empty() || !c.spec_hooks.is_empty())
                .count(),
            errors: checked.iter().map(|c| c.report.errors()).sum(),
            warnings: checked.iter().map(|c| c.report.warnings()).sum(),
            ignored: checked.iter().map(|c| c.silenced.len()).sum(),
            input_errors: input_errors.len(),
        }
    }

    /// 2 for unusable input whatever the flags (the input was not checked), else 1 when a
    /// finding at or above `fail_on` remains, unless `exit_zero`.
    fn exit_code(&self, exit_zero: bool, fail_on: FailOn) -> u8 {
        let failing = match fail_on {
            FailOn::Error => self.errors,
            FailOn::Warning => self.errors + self.warnings,
        };
        if self.input_errors > 0 {
            EXIT_BAD_INPUT
        } else if failing > 0 && !exit_zero {
            EXIT_FAILURE
        } else {
            EXIT_OK
        }
    }

    /// `3 objects checked, 2 with hooks: 1 error, 0 warnings` and what was ignored or unreadable.
    fn line(&self) -> String {
        let mut line = format!(
            "{} object{} checked, {} with hooks: {} error{}, {} warning{}",
            self.objects,
            plural(self.objects),
            self.with_hooks,
            self.errors,
            plural(self.errors),
            self.warnings,
            plural(self.warnings),
        );
        if self.ignored > 0 {
            line.push_str(&format!(", {} ignored", self.ignored));
        }
        if self.input_errors > 0 {
            line.push_str(&format!(
                ", {} unreadable input{}",
                self.input_errors,
                plural(self.input_errors)
            ));
        }
        line
    }
}

fn print_text(
    checked: &[Checked],
    input_errors: &[InputError],
    summary: &Summary,
    show_clean: bool,
) -> std::io::Result<()> {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for item in checked {
        let object = item.report.display_name();
        if item.report.findings.is_empty() {
            if show_clean {
                writeln!(
                    out,
                    "{}{}: ok",
                    location(&item.origin, None),
                    crate::render::printable(&object)
                )?;
            }
            continue;
        }
        for (finding, line) in item.report.findings.iter().zip(&item.finding_lines) {
            write!(
                out,
                "{}",
                finding_block(
                    location(&item.origin, *line).trim_end_matches(": "),
                    &object,
                    finding
                )
            )?;
        }
    }
    for err in input_errors {
        writeln!(out, "{err}")?;
    }
    writeln!(out, "{}", summary.line())?;
    out.flush()
}

/// Where an object or one of its findings is written, followed by `: `; empty for a live
/// object.
fn location(origin: &Origin, at: Option<Spot>) -> String {
    match &origin.file {
        Some(file) => format!(
            "{}: ",
            Spot::prefix(file, at.or(origin.line.map(Spot::line)))
        ),
        None => String::new(),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    objects: Vec<JsonObject<'a>>,
    input_errors: Vec<JsonInputError<'a>>,
    summary: &'a Summary,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonObject<'a> {
    #[serde(flatten)]
    origin: &'a Origin,
    kind: &'static str,
    api_version: &'static str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
    hooks: Vec<JsonHook<'a>>,
    findings: Vec<JsonFinding<'a>>,
    /// Silenced findings, with `ignoredBy`; absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ignored: Vec<JsonFinding<'a>>,
}

/// An annotation hook, or a hook of a Backup's, Schedule's or Restore's `spec.hooks`.
#[derive(Serialize)]
#[serde(untagged)]
enum JsonHook<'a> {
    Annotation(Box<HookSummary>),
    Spec(&'a SpecHook),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonFinding<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    /// The 1-based column (in characters) of the key or field the finding is about, when
    /// it is written on `line`.
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ignored_by: Option<SilencedBy>,
}

#[derive(Serialize)]
struct JsonInputError<'a> {
    file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
    message: &'a str,
}

fn json_report<'a>(
    checked: &'a [Checked],
    input_errors: &'a [InputError],
    summary: &'a Summary,
) -> JsonReport<'a> {
    JsonReport {
        objects: checked
            .iter()
            .map(|c| JsonObject {
                origin: &c.origin,
                kind: c.report.kind.kind,
                api_version: c.report.kind.api_version,
                name: &c.report.name,
                namespace: c.report.namespace.as_deref(),
                hooks: hook_summaries(&c.report.hooks)
                    .into_iter()
                    .map(|hook| JsonHook::Annotation(Box::new(hook)))
                    .chain(c.spec_hooks.iter().map(JsonHook::Spec))
                    .collect(),
                findings: c
                    .report
                    .findings
                    .iter()
                    .zip(&c.finding_lines)
                    .map(|(finding, spot)| JsonFinding {
                        finding,
                        line: spot.map(|s| s.line),
                        column: spot.and_then(|s| s.column),
                        ignored_by: None,
                    })
                    .collect(),
                ignored: c
                    .silenced
                    .iter()
                    .map(|s| JsonFinding {
                        finding: &s.finding,
                        line: s.line.map(|s| s.line),
                        column: s.line.and_then(|s| s.column),
                        ignored_by: Some(s.by),
                    })
                    .collect(),
            })
            .collect(),
        input_errors: input_errors
            .iter()
            .map(|e| JsonInputError {
                file: &e.source,
                line: e.line.map(|s| s.line),
                column: e.line.and_then(|s| s.column),
                message: &e.message,
            })
            .collect(),
        summary,
    }
}
