//! Structured logs on stderr (stdout carries only what --self-signed prints): JSON lines
//! for log collectors, or text for a terminal.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogLevel};

pub fn init(format: LogFormat, level: LogLevel) {
    let level = match level {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
    };
    // Only this crate logs at the chosen level; hyper, rustls and h2 stay at warn so that
    // debug logs show decisions, not frames.
    let filter = EnvFilter::new(format!("warn,velero_hooks_webhook={level}"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    // A second initialisation (tests starting several servers) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}
