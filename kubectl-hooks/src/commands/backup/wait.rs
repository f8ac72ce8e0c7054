//! `--wait`: follow a Backup (a watch, resumed after every disconnect) until Velero is done
//! with it, with a progress bar on a terminal and plain lines otherwise. Ctrl-C stops the
//! waiting, never the backup.

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt as _;
use kube::api::{Api, WatchEvent, WatchParams};

use super::api::{self, Backup, is_finished};
use crate::cluster::{Cluster, describe_api_error};
use crate::commands::EXIT_FAILURE;

/// Exit status after Ctrl-C, as shells report SIGINT.
const EXIT_INTERRUPTED: u8 = 130;

/// How following a backup ended.
pub enum Followed {
    Finished(Box<Backup>),
    Deleted,
    Interrupted,
}

/// Follows the backup, then prints the report; the exit status is 0 only for `Completed`.
pub async fn follow_and_report(
    cluster: &Cluster,
    velero_namespace: &str,
    name: &str,
) -> anyhow::Result<ExitCode> {
    let api = api::backups(cluster, velero_namespace);
    let mut display = Display::new(name);
    let outcome = tokio::select! {
        outcome = follow(&api, name, &mut display) => outcome?,
        _ = tokio::signal::ctrl_c() => Followed::Interrupted,
    };
    display.finish();
    match outcome {
        Followed::Finished(backup) => {
            print!("{}", super::describe::report(&backup));
            Ok(super::describe::exit_status(&backup))
        }
        Followed::Deleted => {
            eprintln!(
                "error: backup {name} -n {velero_namespace} was deleted while waiting for it to finish"
            );
            Ok(ExitCode::from(EXIT_FAILURE))
        }
        Followed::Interrupted => {
            eprintln!(
                "Stopped waiting; the backup goes on. See where it is with: kubectl hooks backup describe {name}"
            );
            Ok(ExitCode::from(EXIT_INTERRUPTED))
        }
    }
}

/// Watches `name` until it reaches a finished phase or disappears. Each (re)connection
/// starts with a GET, so nothing that happened during a disconnect is missed.
pub async fn follow(
    api: &Api<Backup>,
    name: &str,
    display: &mut Display,
) -> anyhow::Result<Followed> {
    let mut failures = 0u32;
    loop {
        let current = match api.get_opt(name).await {
            Ok(Some(backup)) => backup,
            Ok(None) => return Ok(Followed::Deleted),
            Err(err) => {
                failures += 1;
                if failures > 5 {
                    return Err(describe_api_error(err, &format!("get backup {name}")));
                }
                display.note(&format!("cannot read backup {name} ({err}); retrying"));
                tokio::time::sleep(Duration::from_secs(failures.into())).await;
                continue;
            }
        };
        display.update(&current);
        if is_finished(current.phase()) {
            return Ok(Followed::Finished(Box::new(current)));
        }
        let version = current
            .metadata
            .resource_version
            .clone()
            .unwrap_or_default();
        let params = WatchParams::default()
            .fields(&format!("metadata.name={name}"))
            .timeout(290);
        let mut stream = match api.watch(&params, &version).await {
            Ok(stream) => stream.boxed(),
            Err(err) => {
                failures += 1;
                if failures > 5 {
                    return Err(describe_api_error(err, &format!("watch backup {name}")));
                }
                tokio::time::sleep(Duration::from_secs(failures.into())).await;
                continue;
            }
        };
        while let Some(event) = stream.next().await {
            match event {
                Ok(WatchEvent::Added(backup)) | Ok(WatchEvent::Modified(backup)) => {
                    failures = 0;
                    display.update(&backup);
                    if is_finished(backup.phase()) {
                        return Ok(Followed::Finished(Box::new(backup)));
                    }
                }
                Ok(WatchEvent::Deleted(_)) => return Ok(Followed::Deleted),
                Ok(WatchEvent::Bookmark(_)) => {}
                // 410 Gone and the like: start again from a fresh GET.
                Ok(WatchEvent::Error(_)) | Err(_) => break,
            }
        }
    }
}

/// A progress bar on a terminal; otherwise one plain line per change.
pub struct Display {
    name: String,
    bar: Option<indicatif::ProgressBar>,
    last: String,
}

impl Display {
    pub fn new(name: &str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} items {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("backup {name}"));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Display {
            name: name.to_owned(),
            bar,
            last: String::new(),
        }
    }

    pub fn update(&mut self, backup: &Backup) {
        let status = backup.status();
        let progress = status.progress.unwrap_or_default();
        let line = format!(
            "backup {}: {}, {} of {} items backed up",
            self.name,
            backup.phase(),
            progress.items_backed_up,
            progress.total_items
        );
        if line == self.last {
            return;
        }
        self.last = line.clone();
        match &self.bar {
            Some(bar) => {
                bar.set_length(progress.total_items.max(0) as u64);
                bar.set_position(progress.items_backed_up.max(0) as u64);
                bar.set_message(backup.phase().to_owned());
            }
            None => println!("{line}"),
        }
    }

    pub fn note(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
