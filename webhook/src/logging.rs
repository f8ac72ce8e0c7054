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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, Once};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
/// Whether this module's JSON subscriber is the process's (then [`decision`] writes its
/// line itself).
static JSON_DECISIONS: AtomicBool = AtomicBool::new(false);

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
    let installed = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
    if installed.is_ok() {
        JSON_DECISIONS.store(format == LogFormat::Json, Ordering::Relaxed);
    }
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

/// What the line logged for each admission decision says.
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    pub uid: &'a str,
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub operation: &'a str,
    pub path: &'a str,
    pub verdict: &'a str,
    pub codes: &'a [&'a str],
    pub dry_run: bool,
    pub elapsed_us: u64,
}

/// Logs one admission decision at info level, target [`DECISIONS`].
///
/// With JSON logs the line is written here, into the decision buffer, byte for byte as
/// tracing-subscriber's JSON formatter writes it (checked by a test below): that
/// formatter builds each field through `fmt::Debug`/`Display` and a JSON serialiser and
/// cost ≈ 5 µs a line, a quarter of a whole request. Text logs go through tracing.
pub fn decision(d: &Decision<'_>) {
    if !tracing::enabled!(target: DECISIONS, tracing::Level::INFO) {
        return;
    }
    if !JSON_DECISIONS.load(Ordering::Relaxed) {
        tracing::info!(
            target: DECISIONS,
            uid = d.uid,
            kind = d.kind,
            namespace = d.namespace,
            name = d.name,
            operation = d.operation,
            path = d.path,
            verdict = d.verdict,
            codes = %d.codes.join(","),
            dry_run = d.dry_run,
            elapsed_us = d.elapsed_us,
            "admission decision"
        );
        return;
    }
    let mut buffer = buffer();
    json_line(&mut buffer, SystemTime::now(), d);
    if buffer.len() >= FLUSH_BYTES {
        write_out(&mut buffer);
    }
}

/// The JSON line of a decision, as tracing-subscriber's JSON formatter writes it.
fn json_line(out: &mut Vec<u8>, now: SystemTime, d: &Decision<'_>) {
    // Writing into a Vec cannot fail.
    let string = |out: &mut Vec<u8>, text: &str| {
        let _ = serde_json::to_writer(&mut *out, text);
    };
    out.extend_from_slice(b"{\"timestamp\":\"");
    timestamp(out, now);
    out.extend_from_slice(b"\",\"level\":\"INFO\",\"message\":\"admission decision\",\"uid\":");
    string(out, d.uid);
    for (key, value) in [
        ("kind", d.kind),
        ("namespace", d.namespace),
        ("name", d.name),
        ("operation", d.operation),
        ("path", d.path),
        ("verdict", d.verdict),
    ] {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        string(out, value);
    }
    out.extend_from_slice(b",\"codes\":\"");
    for (i, code) in d.codes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Rule codes are letters and digits: nothing to escape.
        out.extend_from_slice(code.as_bytes());
    }
    out.extend_from_slice(if d.dry_run {
        b"\",\"dry_run\":true,\"elapsed_us\":"
    } else {
        b"\",\"dry_run\":false,\"elapsed_us\":"
    });
    let _ = writeln!(out, "{}}}", d.elapsed_us);
}

/// `2026-11-20T10:00:00.123456Z`, tracing-subscriber's UTC timestamp.
fn timestamp(out: &mut Vec<u8>, now: SystemTime) {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs();
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let of_day = seconds % 86_400;
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since.subsec_micros()
    );
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic Gregorian calendar;
/// H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects what a tracing subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn decision_lines_are_those_tracing_writes() {
        let captured = Captured::default();
        for (codes, dry_run, name) in [
            (&["HV022", "HV002", "HV011"][..], false, "web"),
            (&[][..], true, "odd \"name\"\n\u{1}é"),
        ] {
            let d = Decision {
                uid: "7592b89f-f910-468a-baee-bb48936b7ac2",
                kind: "Deployment",
                namespace: "shop",
                name,
                operation: "CREATE",
                path: "/validate",
                verdict: "denied",
                codes,
                dry_run,
                elapsed_us: 14,
            };
            captured.0.lock().unwrap().clear();
            let sink = captured.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(move || sink.clone())
                .with_target(false)
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .finish();
            tracing::subscriber::with_default(subscriber, || {
                tracing::info!(
                    target: DECISIONS,
                    uid = %d.uid,
                    kind = %d.kind,
                    namespace = d.namespace,
                    name = d.name,
                    operation = d.operation,
                    path = d.path,
                    verdict = d.verdict,
                    codes = %d.codes.join(","),
                    dry_run = d.dry_run,
                    elapsed_us = d.elapsed_us,
                    "admission decision"
                );
            });
            let theirs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
            let mut ours = Vec::new();
            json_line(&mut ours, SystemTime::now(), &d);
            let ours = String::from_utf8(ours).unwrap();
            // Everything after the timestamp is the same, byte for byte.
            let rest = |line: &str| line.split_once("\",\"level\"").unwrap().1.to_owned();
            assert_eq!(rest(&ours), rest(&theirs));
            assert_eq!(ours.find("\",\"level\""), theirs.find("\",\"level\""));
        }
    }

    #[test]
    fn timestamps_are_utc_with_microseconds() {
        let at = |seconds: u64, micros: u32| {
            let mut out = Vec::new();
            timestamp(
                &mut out,
                UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_micros(micros.into()),
            );
            String::from_utf8(out).unwrap()
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 7), "2000-02-29T00:00:00.000007Z");
        assert_eq!(at(1_795_687_314, 530_394), "2026-11-26T10:01:54.530394Z");
        assert_eq!(at(4_102_444_799, 999_999), "2099-12-31T23:59:59.999999Z");
    }

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
