//! `kubectl hooks keys` and `kubectl hooks rules`: the catalogue, from the library's tables.

use std::process::ExitCode;

use velero_hooks::keys::KEYS;
use velero_hooks::rules::RULES;

use crate::render::Table;

pub fn keys() -> anyhow::Result<ExitCode> {
    let mut table = Table::new(["KEY", "READ BY VELERO", "MEANING"]);
    for key in KEYS {
        table.row([
            key.name.to_owned(),
            if key.read_by_velero { "yes" } else { "never" }.to_owned(),
            key.summary.to_owned(),
        ]);
    }
    print!("{table}");
    Ok(ExitCode::SUCCESS)
}

pub fn rules() -> anyhow::Result<ExitCode> {
    let mut table = Table::new(["CODE", "SEVERITY", "NAME", "SUMMARY"]);
    // Annotation rules (HV0xx), then Velero objects' spec hooks and run-time checks (HV1xx).
    for rule in RULES {
        table.row([
            rule.code.to_owned(),
            rule.severity.as_str().to_owned(),
            rule.name.to_owned(),
            rule.summary.to_owned(),
        ]);
    }
    print!("{table}");
    Ok(ExitCode::SUCCESS)
}
