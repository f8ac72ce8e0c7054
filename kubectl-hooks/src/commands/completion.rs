//! Shell completion, two ways:
//!
//! * `kubectl hooks completion SHELL` prints a clap-generated script that completes the
//!   `kubectl-hooks` binary when called by that name;
//! * `kubectl hooks <TAB>`: kubectl 1.26+ completes a plugin's arguments by running the
//!   executable `kubectl_complete-hooks` (shipped next to `kubectl-hooks`) with the words
//!   after `kubectl hooks`, the last one being the word under the cursor (maybe empty). It
//!   expects cobra's protocol: one candidate per line, then a `:DIRECTIVE` line. That
//!   executable calls `kubectl-hooks __complete WORDS...`, answered here from the clap
//!   definition (subcommands, flags, flag values) and, for object names, from the cluster.

use std::process::ExitCode;

use clap::{Arg, Args, CommandFactory};
use velero_hooks::workload::WORKLOAD_KINDS;

use crate::cli::Cli;
use crate::cluster::{Cluster, block_on};
use crate::lean;
use crate::selection::parse_kind;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  source <(kubectl-hooks completion bash)       # completes `kubectl-hooks ...`
  kubectl-hooks completion zsh > \"${fpath[1]}/_kubectl-hooks\"
For `kubectl hooks <TAB>` (kubectl 1.26+), put kubectl_complete-hooks (installed with
kubectl-hooks) on PATH and enable kubectl's own completion.")]
pub struct CompletionArgs {
    /// The shell to print a completion script for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(args: &CompletionArgs) -> anyhow::Result<ExitCode> {
    let mut command = Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "kubectl-hooks",
        &mut std::io::stdout(),
    );
    Ok(ExitCode::SUCCESS)
}

/// cobra's `ShellCompDirectiveDefault`: the shell may also complete file names.
const FILES: u8 = 0;
/// cobra's `ShellCompDirectiveNoFileComp`.
const NO_FILES: u8 = 4;

/// Answers `kubectl-hooks __complete WORDS...` in cobra's format.
pub fn complete_command_line(words: &[String]) -> ExitCode {
    let (candidates, directive) = complete(words, &mut |kind, namespace_args, prefix| {
        object_names(kind, namespace_args, prefix)
    });
    let mut out = String::new();
    for candidate in candidates {
        out.push_str(&candidate);
        out.push('\n');
    }
    out.push_str(&format!(":{directive}\n"));
    print!("{out}");
    ExitCode::SUCCESS
}

/// Finds object names in the cluster: `lookup(kind, connection flags, prefix)`.
type NameLookup<'a> = dyn FnMut(&str, &[String], &str) -> Vec<String> + 'a;

/// The candidates for the last word of `words` and cobra's directive.
pub fn complete(words: &[String], lookup: &mut NameLookup<'_>) -> (Vec<String>, u8) {
    let mut root = Cli::command();
    root.build();
    let (current, done) = match words.split_last() {
        Some((last, rest)) => (last.as_str(), rest),
        None => ("", &[][..]),
    };
    let mut sub: Option<&clap::Command> = None;
    let mut expecting: Option<&Arg> = None;
    let mut positionals: Vec<&str> = Vec::new();
    // The flags that say which cluster to ask, passed on to the name lookup.
    let mut connection: Vec<String> = Vec::new();
    let mut after_separator = false;
    for word in done {
        if after_separator {
            continue;
        }
        let scope = sub.unwrap_or(&root);
        if let Some(arg) = expecting.take() {
            remember_connection(arg, word, &mut connection);
            continue;
        }
        if word == "--" {
            after_separator = true;
        } else if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            if let Some(arg) = scope.get_arguments().find(|a| a.get_long() == Some(name)) {
                match inline {
                    Some(value) => remember_connection(arg, value, &mut connection),
                    None if takes_value(arg) => expecting = Some(arg),
                    None => remember_connection(arg, "", &mut connection),
                }
            }
        } else if let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            for (i, c) in shorts.char_indices() {
                let Some(arg) = scope.get_arguments().find(|a| a.get_short() == Some(c)) else {
                    break;
                };
                if takes_value(arg) {
                    let rest = &shorts[i + c.len_utf8()..];
                    if rest.is_empty() {
                        expecting = Some(arg);
                    } else {
                        remember_connection(arg, rest, &mut connection);
                    }
                    break;
                }
                remember_connection(arg, "", &mut connection);
            }
        } else if sub.is_none() {
            sub = root.find_subcommand(word);
            if sub.is_none() {
                return (Vec::new(), NO_FILES);
            }
        } else {
            positionals.push(word);
        }
    }
    if after_separator {
        // The words of a hook command: nothing to suggest.
        return (Vec::new(), NO_FILES);
    }
    let scope = sub.unwrap_or(&root);
    if let Some(arg) = expecting {
        return flag_values(arg, current, "", &connection, lookup);
    }
    if let Some(long) = current.strip_prefix("--")
        && let Some((name, value)) = long.split_once('=')
    {
        return match scope.get_arguments().find(|a| a.get_long() == Some(name)) {
            Some(arg) => flag_values(arg, value, &format!("--{name}="), &connection, lookup),
            None => (Vec::new(), NO_FILES),
        };
    }
    if current.starts_with('-') {
        let mut flags: Vec<String> = scope
            .get_arguments()
            .filter(|a| !a.is_positional() && !a.is_hide_set())
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .filter(|f| f.starts_with(current))
            .collect();
        flags.sort();
        flags.dedup();
        return (flags, NO_FILES);
    }
    let Some(sub) = sub else {
        let names = root
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| s.get_name().to_owned())
            .filter(|n| n.starts_with(current))
            .collect();
        return (names, NO_FILES);
    };
    match sub.get_name() {
        "annotate" | "remove" | "get" => {
            object_words(current, &positionals, sub.get_name(), &connection, lookup)
        }
        "completion" if positionals.is_empty() => {
            let shells = ["bash", "elvish", "fish", "powershell", "zsh"]
                .into_iter()
                .filter(|s| s.starts_with(current))
                .map(str::to_owned)
                .collect();
            (shells, NO_FILES)
        }
        _ => (Vec::new(), NO_FILES),
    }
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

/// Keeps `--kubeconfig`, `--context`, `-n` and `-A` for the name lookup.
fn remember_connection(arg: &Arg, value: &str, connection: &mut Vec<String>) {
    match arg.get_id().as_str() {
        "kubeconfig" | "context" | "namespace" => {
            connection.push(format!("--{}", arg.get_long().unwrap_or_default()));
            connection.push(value.to_owned());
        }
        "all_namespaces" => connection.push("--all-namespaces".to_owned()),
        _ => {}
    }
}

/// Values for a flag: its possible values, namespaces or contexts; files where it reads files.
fn flag_values(
    arg: &Arg,
    current: &str,
    prefix: &str,
    connection: &[String],
    lookup: &mut NameLookup<'_>,
) -> (Vec<String>, u8) {
    let mut values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_owned())
        .collect();
    match arg.get_id().as_str() {
        "kubeconfig" | "files" => return (Vec::new(), FILES),
        "on_error" => values = vec!["Fail".into(), "Continue".into()],
        "velero_version_flag" => values = velero_version_values(),
        "namespace" => values = lookup("namespaces", connection, current),
        "context" => values = contexts(connection),
        _ => {}
    }
    let candidates = values
        .into_iter()
        .filter(|v| v.starts_with(current))
        .map(|v| format!("{prefix}{v}"))
        .collect();
    (candidates, NO_FILES)
}

/// Release lines (`1.14`) before the releases themselves (`1.14.0`), then `main`.
fn velero_version_values() -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for version in velero_hooks::VeleroVersion::all() {
        let text = version.to_string();
        if let Some(line) = text.strip_suffix(".0") {
            values.push(line.to_owned());
        }
        values.push(text);
    }
    values
}

/// TYPE, TYPE/NAME or NAME, depending on what is already typed.
fn object_words(
    current: &str,
    positionals: &[&str],
    command: &str,
    connection: &[String],
    lookup: &mut NameLookup<'_>,
) -> (Vec<String>, u8) {
    if let Some((kind, partial)) = current.split_once('/') {
        let Ok(found) = parse_kind(kind) else {
            return (Vec::new(), NO_FILES);
        };
        let names = lookup(found.resource, connection, partial)
            .into_iter()
            .map(|n| format!("{kind}/{n}"))
            .collect();
        return (names, NO_FILES);
    }
    match positionals {
        [] => {
            let types = WORKLOAD_KINDS
                .iter()
                .map(|k| k.resource.to_owned())
                .filter(|t| t.starts_with(current))
                .collect();
            (types, NO_FILES)
        }
        [kind, ..] if !kind.contains('/') && (command != "get" || positionals.len() == 1) => {
            match parse_kind(kind) {
                Ok(found) => (lookup(found.resource, connection, current), NO_FILES),
                Err(_) => (Vec::new(), NO_FILES),
            }
        }
        _ => (Vec::new(), NO_FILES),
    }
}

/// Context names from the kubeconfig in use (best effort).
fn contexts(connection: &[String]) -> Vec<String> {
    let path = connection
        .iter()
        .position(|w| w == "--kubeconfig")
        .and_then(|i| connection.get(i + 1));
    crate::cluster::read_kubeconfig(path.map(std::path::Path::new))
        .map(|c| c.contexts.into_iter().map(|c| c.name).collect())
        .unwrap_or_default()
}

/// Names of objects of `resource` (or namespaces) starting with `prefix`, asked of the
/// cluster with a short timeout; nothing when it cannot be reached.
fn object_names(resource: &str, connection: &[String], prefix: &str) -> Vec<String> {
    let mut argv = vec!["kubectl-hooks".to_owned()];
    argv.extend(connection.iter().cloned());
    argv.extend([
        "--request-timeout".to_owned(),
        "5s".to_owned(),
        "version".to_owned(),
    ]);
    let Ok(cli) = <Cli as clap::Parser>::try_parse_from(&argv) else {
        return Vec::new();
    };
    let names = block_on(async {
        let cluster = Cluster::connect(&cli.global).await?;
        if resource == "namespaces" {
            let api: kube::Api<k8s_openapi::api::core::v1::Namespace> =
                kube::Api::all(cluster.client.clone());
            let list = api.list_metadata(&Default::default()).await?;
            return anyhow::Ok(
                list.items
                    .into_iter()
                    .filter_map(|n| n.metadata.name)
                    .collect(),
            );
        }
        let kind = parse_kind(resource)?;
        let namespace = (!cluster.all_namespaces).then_some(cluster.namespace.as_str());
        let mut names = Vec::new();
        lean::for_each(&cluster, kind, namespace, None, |object| {
            if let Some(name) = object.pointer("/metadata/name").and_then(|n| n.as_str()) {
                names.push(name.to_owned());
            }
        })
        .await?;
        Ok(names)
    });
    match names {
        Ok(Ok(names)) => names
            .into_iter()
            .filter(|n| n.starts_with(prefix))
            .collect(),
        Ok(Err(error)) | Err(error) => {
            tracing::debug!("cannot list {resource} for completion: {error:#}");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        let mut words: Vec<String> = line.split(' ').map(str::to_owned).collect();
        if line.is_empty() {
            words = vec![String::new()];
        }
        words
    }

    fn run(line: &str) -> (Vec<String>, u8) {
        complete(&words(line), &mut |kind, connection, prefix| {
            vec![format!("{kind}|{}|{prefix}", connection.join(" "))]
        })
    }

    #[test]
    fn subcommands_flags_and_values() {
        let (subs, directive) = run("an");
        assert_eq!(subs, ["annotate"]);
        assert_eq!(directive, NO_FILES);
        assert!(run("").0.contains(&"get".to_owned()));
        assert!(!run("").0.iter().any(|s| s.starts_with("__")));
        let (flags, _) = run("annotate --ph");
        assert_eq!(flags, ["--phase"]);
        assert!(run("annotate --").0.contains(&"--overwrite".to_owned()));
        assert!(run("annotate --").0.contains(&"--kubeconfig".to_owned()));
        assert_eq!(run("annotate --phase ").0, ["pre", "post"]);
        assert_eq!(run("annotate --phase=p").0, ["--phase=pre", "--phase=post"]);
        assert_eq!(run("annotate --on-error F").0, ["Fail"]);
        assert_eq!(run("remove --phase a").0, ["all"]);
        assert_eq!(run("get -o w").0, ["wide"]);
        assert_eq!(run("completion b").0, ["bash"]);
        assert_eq!(run("annotate -f ").1, FILES);
        assert_eq!(
            run("annotate deploy/web --phase pre -- /sbin/f").0,
            Vec::<String>::new()
        );
    }

    #[test]
    fn types_then_names_from_the_cluster() {
        assert_eq!(run("annotate dep").0, ["deployments"]);
        assert_eq!(
            run("annotate --kubeconfig /k -n shop deploy/w").0,
            ["deploy/deployments|--kubeconfig /k --namespace shop|w"]
        );
        assert_eq!(run("get pods d").0, ["pods||d"]);
        assert_eq!(
            run("-n shop get pods -A ").0,
            ["pods|--namespace shop --all-namespaces|"]
        );
        assert_eq!(run("get -n ").0, ["namespaces||"]);
    }
}
