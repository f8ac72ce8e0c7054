//! Structured logs on stderr (stdout carries only what --self-signed prints): JSON lines
//! for log collectors, or text for a terminal.
//!
//! The one line per admission decision is the busiest thing the server writes: a write
//! system call per request (to the container runtime's pipe, in a pod) cost about as much
//! as the decision itself. Decision lines therefore go into a buffer that is written out
//! when it holds [`FLUSH_BYTES`], every [`FLUSH_INTERVAL`], before any other log line (so
//! lines stay in order), and at exit ([`flush`]). Every other line is written at once.
//! Nothing is dropped: a full buffer is written, not discarded.

use std::io::{self, Write};
use std::sync::{Mutex, MutexGuard, Once};
use std::time::Duration;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{LogFormat, LogLevel};

/// The target of the per-decision line (a child of the crate's target, so the level
/// filter applies to it unchanged).
pub const DECISIONS: &str = "velero_hooks_webhook::decision";
/// Buffered decision lines are written once they reach this size (about 40 lines)...
pub const FLUSH_BYTES: usize = 16 * 1024;
/// ...or after this long, whichever comes first.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(50);

static BUFFER: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static FLUSHER: Once = Once::new();

fn buffer() -> MutexGuard<'static, Vec<u8>> {
    // A panic while holding the lock leaves plain bytes behind: still writable.
    BUFFER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_out(buffer: &mut Vec<u8>) {
    if !buffer.is_empty() {
        // As before (and as tracing-subscriber does), a closed stderr loses the lines.
        let _ = io::stderr().lock().write_all(buffer);
        buffer.clear();
    }
}

/// Writes out the buffered decision lines. Called at exit; harmless at any time.
pub fn flush() {
    write_out(&mut buffer());
}

/// One log line: a decision line is appended to the buffer; any other line first writes
/// out the buffer, then itself.
pub struct LineWriter {
    deferred: bool,
}

impl Write for LineWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut buffer = buffer();
        buffer.extend_from_slice(bytes);
        if !self.deferred || buffer.len() >= FLUSH_BYTES {
            write_out(&mut buffer);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Stderr;

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        LineWriter { deferred: false }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> LineWriter {
        LineWriter {
            deferred: meta.target() == DECISIONS,
        }
    }
}

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
        .with_writer(Stderr)
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
    FLUSHER.call_once(|| {
        // A quiet server's last decisions still reach the log within FLUSH_INTERVAL.
        let _ = std::thread::Builder::new()
            .name("log-flush".to_owned())
            .spawn(|| {
                loop {
                    std::thread::sleep(FLUSH_INTERVAL);
                    flush();
                }
            });
        // A panic's message comes after the decisions that preceded it.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            flush();
            previous(info);
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_lines_wait_other_lines_write_everything_in_order() {
        let mut decision = LineWriter { deferred: true };
        decision.write_all(b"decision 1\n").unwrap();
        assert_eq!(&buffer()[..], b"decision 1\n");
        // Any other line writes out what waited, then itself.
        let mut other = LineWriter { deferred: false };
        other.write_all(b"warning\n").unwrap();
        assert!(buffer().is_empty());
        // A full buffer is written, not dropped.
        let line = vec![b'x'; 1000];
        for _ in 0..FLUSH_BYTES / line.len() {
            decision.write_all(&line).unwrap();
        }
        assert!(buffer().len() < FLUSH_BYTES);
        flush();
        assert!(buffer().is_empty());
    }
}
