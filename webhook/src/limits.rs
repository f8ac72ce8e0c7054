//! The server's memory and CPU budget: how many connections, requests and body bytes it
//! holds at once, how long a client may take, and how much one review may cost.
//!
//! The defaults keep the process under the chart's 64 MiB memory limit whatever a client
//! sends (the worst cases are measured in BENCHMARKS.md, "Admission webhook under attack"):
//!
//! | what                                   | bound                                     |
//! |----------------------------------------|-------------------------------------------|
//! | idle process                           | ≈ 7 MiB                                   |
//! | connections (TLS + HTTP buffers)       | 256 × ≈ 16 KiB ≈ 4 MiB, up to 64 KiB each |
//! | request bodies                         | 16 MiB, then requests wait, then 503      |
//! | responses waiting for a slow reader    | 8 MiB (`budget::RESPONSE_BYTES_IN_FLIGHT`) |
//!
//! Every limit is a flag (and a `VELERO_HOOKS_*` variable) so an operator who raises the
//! chart's memory limit can raise them with it.

use std::time::Duration;

use clap::Args;

use crate::config::parse_duration;

/// Limits on connections and requests (the HTTP side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct ServerLimits {
    /// Connections held at once. When full, the oldest connection that has not sent a
    /// request yet is closed to make room; if every one is serving, new ones wait in the
    /// listen backlog.
    #[arg(
        long,
        env = "VELERO_HOOKS_MAX_CONNECTIONS",
        default_value_t = 256,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_connections: u32,

    /// Admission requests read and decided at once (all connections, HTTP/1.1 requests
    /// and HTTP/2 streams); more wait up to --queue-wait, then get 503.
    #[arg(
        long,
        env = "VELERO_HOOKS_MAX_REQUESTS_IN_FLIGHT",
        default_value_t = 64,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_requests_in_flight: u32,

    /// Bytes of request bodies held at once, beyond the first --body-allowance-bytes of
    /// each request. A request over it waits up to --queue-wait, then gets 503.
    #[arg(
        long,
        env = "VELERO_HOOKS_MAX_BODY_BYTES_IN_FLIGHT",
        default_value_t = 16 * 1024 * 1024,
        value_parser = clap::value_parser!(u64).range(4 * 1024 * 1024..(1 << 40))
    )]
    pub max_body_bytes_in_flight: u64,

    /// The first bytes of each body, which do not count against
    /// --max-body-bytes-in-flight: a typical review (5-50 KiB) never waits for large ones.
    #[arg(
        long,
        env = "VELERO_HOOKS_BODY_ALLOWANCE_BYTES",
        default_value_t = 64 * 1024,
        value_parser = clap::value_parser!(u64).range(0..(1 << 30))
    )]
    pub body_allowance_bytes: u64,

    /// How long a request waits for a request slot or body bytes before it is answered 503
    /// with Retry-After (the API server then applies the webhook's failurePolicy).
    #[arg(long, env = "VELERO_HOOKS_QUEUE_WAIT", default_value = "1s", value_parser = parse_duration)]
    pub queue_wait: Duration,

    /// Time to send request headers, also the first request after the TLS handshake and
    /// the idle time between HTTP/1.1 keep-alive requests.
    #[arg(long, env = "VELERO_HOOKS_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,

    /// Time to receive a request body (the API server sends it at once).
    #[arg(long, env = "VELERO_HOOKS_BODY_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub body_timeout: Duration,

    /// Time a response may wait for a client that does not read it (a full socket, or an
    /// HTTP/2 flow-control window left at zero); the connection is closed after it.
    #[arg(long, env = "VELERO_HOOKS_WRITE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub write_timeout: Duration,

    /// Streams one HTTP/2 connection may open at once.
    #[arg(
        long = "http2-max-concurrent-streams",
        env = "VELERO_HOOKS_HTTP2_MAX_CONCURRENT_STREAMS",
        default_value_t = 32,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub http2_max_concurrent_streams: u32,
}

/// The HTTP/2 receive windows (connection and stream): what a client may send before the
/// server reads it. 64 KiB is the protocol's own default; hyper's 1 MiB would let each
/// connection park a megabyte the body budget never sees.
pub const HTTP2_WINDOW_BYTES: u32 = 64 * 1024;
/// hyper's HTTP/1.1 read buffer; headers larger than this are refused (431).
pub const HTTP1_MAX_BUFFER_BYTES: usize = 64 * 1024;
/// How long a refused request's client is asked to wait before retrying.
pub const RETRY_AFTER_SECONDS: u64 = 1;

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: 256,
            max_requests_in_flight: 64,
            max_body_bytes_in_flight: 16 * 1024 * 1024,
            body_allowance_bytes: 64 * 1024,
            queue_wait: Duration::from_secs(1),
            header_read_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            http2_max_concurrent_streams: 32,
        }
    }
}

/// Limits on what one review may cost (the decision side).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct ReviewLimits {
    /// Annotation keys per object that are not Velero keys but may be meant as one
    /// (they mention velero, hook, backup or restore) checked for typos; the rest are
    /// counted and named as not checked. Each costs edit distances against every key.
    #[arg(
        long,
        env = "VELERO_HOOKS_MAX_UNKNOWN_KEYS",
        default_value_t = 64,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_unknown_keys: u32,

    /// Findings reported per object (denial lines and codes); the rest are counted.
    #[arg(
        long,
        env = "VELERO_HOOKS_MAX_FINDINGS",
        default_value_t = 50,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_findings: u32,

    /// Bytes of a denial message; whole lines are kept and the rest counted.
    #[arg(
        long,
        env = "VELERO_HOOKS_MAX_DENIAL_BYTES",
        default_value_t = 8 * 1024,
        value_parser = clap::value_parser!(u32).range(256..)
    )]
    pub max_denial_bytes: u32,
}

impl Default for ReviewLimits {
    fn default() -> Self {
        ReviewLimits {
            max_unknown_keys: 64,
            max_findings: 50,
            max_denial_bytes: 8 * 1024,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Both {
        #[command(flatten)]
        server: ServerLimits,
        #[command(flatten)]
        review: ReviewLimits,
    }

    #[test]
    fn flag_defaults_are_the_documented_defaults() {
        let both = Both::try_parse_from(["w"]).unwrap();
        assert_eq!(both.server, ServerLimits::default());
        assert_eq!(both.review, ReviewLimits::default());
    }

    #[test]
    fn limits_are_set_and_checked() {
        let both = Both::try_parse_from([
            "w",
            "--max-connections",
            "10",
            "--write-timeout",
            "2s",
            "--max-findings",
            "5",
        ])
        .unwrap();
        assert_eq!(both.server.max_connections, 10);
        assert_eq!(both.server.write_timeout, Duration::from_secs(2));
        assert_eq!(both.review.max_findings, 5);
        for bad in [
            ["w", "--max-connections", "0"],
            ["w", "--queue-wait", "1"],
            ["w", "--max-denial-bytes", "10"],
            ["w", "--max-body-bytes-in-flight", "1000"],
        ] {
            assert!(Both::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }
}
