//! Load generator for the webhook over HTTPS, and the "ceiling" server it is compared with.
//!
//! ```text
//! loadgen load --target 127.0.0.1:8443 --ca ca.pem --body review.json \
//!     [--path /validate] [--proto h1|h2] [--connections 8] [--duration 10s] [--rate 1000]
//! loadgen ceiling --listen 127.0.0.1:8444 --ca-out ca.pem
//! loadgen certs --dir DIR                      # ca.pem, tls.crt, tls.key
//! loadgen startup --ready 127.0.0.1:9090 -- velero-hooks-webhook --tls-cert-file ...
//! ```
//!
//! `load` runs on one thread. With `--rate` each connection sends on a fixed schedule and
//! latency is measured from the time a request was due (so a stalled server shows up as
//! latency, not as fewer samples; requests leave on time to the microsecond, the last
//! 1.5 ms before each is spent yielding rather than in tokio's 1 ms timer); without it every connection sends back to back
//! (saturation). Latencies go into an HDR histogram (µs).
//!
//! `ceiling` is a minimal HTTPS server on the same stack as the webhook (rustls with ring,
//! hyper-util's auto HTTP/1.1 + HTTP/2 builder, the same runtime shape): it reads the body
//! and answers a constant AdmissionReview. The webhook's throughput is reported as a ratio
//! of it.

#[path = "../tests/common/client.rs"]
mod client;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use client::{Proto, connect, tls_config};
use hdrhistogram::Histogram;

/// The webhook binary's allocator, so the ceiling server differs from the webhook only by
/// what it does with a request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Load(LoadArgs),
    Ceiling {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long)]
        ca_out: PathBuf,
        #[arg(long, default_value_t = 1)]
        worker_threads: usize,
    },
    Certs {
        #[arg(long)]
        dir: PathBuf,
    },
    Startup {
        /// Plain-HTTP address whose /readyz is polled.
        #[arg(long)]
        ready: SocketAddr,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
}

#[derive(Parser)]
struct LoadArgs {
    #[arg(long)]
    target: SocketAddr,
    #[arg(long)]
    ca: PathBuf,
    #[arg(long)]
    body: PathBuf,
    #[arg(long, default_value = "/validate")]
    path: String,
    #[arg(long, default_value = "h1")]
    proto: String,
    #[arg(long, default_value_t = 8)]
    connections: usize,
    #[arg(long, default_value = "10s", value_parser = duration)]
    duration: Duration,
    #[arg(long, default_value = "2s", value_parser = duration)]
    warmup: Duration,
    /// Requests per second over all connections; 0 = as fast as possible.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    #[arg(long)]
    label: Option<String>,
}

/// How long before a request is due the fixed-rate schedule stops sleeping and yields.
const SPIN: Duration = Duration::from_micros(1500);

fn duration(text: &str) -> Result<Duration, String> {
    let nanos = velero_hooks::duration::parse_go_duration(text).map_err(|e| e.to_string())?;
    Ok(Duration::from_nanos(nanos.max(0) as u64))
}

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match Cli::parse().command {
        Command::Load(args) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(load(args)),
        Command::Ceiling {
            listen,
            ca_out,
            worker_threads,
        } => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads)
            .enable_all()
            .build()?
            .block_on(ceiling(listen, ca_out)),
        Command::Certs { dir } => {
            let pair = velero_hooks_webhook::tls::self_signed(&[])?;
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join("ca.pem"), pair.ca_pem)?;
            std::fs::write(dir.join("tls.crt"), pair.cert_pem)?;
            std::fs::write(dir.join("tls.key"), pair.key_pem)?;
            Ok(())
        }
        Command::Startup {
            ready,
            runs,
            command,
        } => startup(ready, runs, &command),
    }
}

async fn load(args: LoadArgs) -> anyhow::Result<()> {
    let proto = match args.proto.as_str() {
        "h2" => Proto::H2,
        _ => Proto::H1,
    };
    let ca = std::fs::read_to_string(&args.ca).context("--ca")?;
    let body = std::fs::read(&args.body).context("--body")?;
    let config = tls_config(&ca, proto);
    let cpu_before = own_cpu_seconds();
    let started = Instant::now();
    let measure_from = started + args.warmup;
    let end = measure_from + args.duration;
    let per_connection_interval = (args.rate > 0)
        .then(|| Duration::from_secs_f64(args.connections as f64 / args.rate as f64));
    let mut tasks = Vec::new();
    for i in 0..args.connections {
        let (config, body, path) = (config.clone(), body.clone(), args.path.clone());
        tasks.push(tokio::spawn(async move {
            let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
            let mut errors = 0u64;
            let mut conn = connect(args.target, config.clone(), proto).await?;
            // Spread the connections' schedules over one interval.
            let mut due = per_connection_interval
                .map(|every| started + every.mul_f64(i as f64 / args.connections as f64));
            loop {
                let send_at = match (due, per_connection_interval) {
                    (Some(at), Some(every)) => {
                        // tokio's timer ticks every millisecond and rounds deadlines up,
                        // so a plain sleep_until sends each request 0-1 ms late, and that
                        // delay counted as latency (measured from `at`). Sleep to just
                        // before the due time, then yield until it.
                        if let Some(early) = at.checked_sub(SPIN) {
                            tokio::time::sleep_until(early.into()).await;
                        }
                        while Instant::now() < at {
                            tokio::task::yield_now().await;
                        }
                        due = Some(at + every);
                        at
                    }
                    _ => Instant::now(),
                };
                if send_at >= end {
                    break;
                }
                let ok = matches!(conn.post(&path, body.clone()).await, Ok(r) if r.status == 200);
                let done = Instant::now();
                if send_at >= measure_from {
                    if ok {
                        histogram.saturating_record((done - send_at).as_micros().max(1) as u64);
                    } else {
                        errors += 1;
                    }
                }
                if !ok && conn.is_closed() {
                    conn = connect(args.target, config.clone(), proto).await?;
                }
            }
            anyhow::Ok((histogram, errors))
        }));
    }
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let mut errors = 0;
    for task in tasks {
        let (histogram, task_errors) = task.await??;
        all.add(&histogram)?;
        errors += task_errors;
    }
    let cpu = own_cpu_seconds() - cpu_before;
    let wall = started.elapsed().as_secs_f64();
    let seconds = args.duration.as_secs_f64();
    let report = serde_json::json!({
        "label": args.label,
        "path": args.path,
        "proto": args.proto,
        "connections": args.connections,
        "target_rate": args.rate,
        "requests": all.len(),
        "errors": errors,
        "rps": all.len() as f64 / seconds,
        "p50_us": all.value_at_quantile(0.50),
        "p99_us": all.value_at_quantile(0.99),
        "p999_us": all.value_at_quantile(0.999),
        "max_us": all.max(),
        "loadgen_cpu_percent": 100.0 * cpu / wall,
    });
    println!("{report}");
    Ok(())
}

/// User + system CPU time of this process (from /proc/self/stat, in clock ticks of 10 ms).
fn own_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}

async fn ceiling(listen: SocketAddr, ca_out: PathBuf) -> anyhow::Result<()> {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto;

    let pair = velero_hooks_webhook::tls::self_signed(&[])?;
    std::fs::write(&ca_out, &pair.ca_pem)?;
    let key = velero_hooks_webhook::tls::certified_key(
        pair.cert_pem.as_bytes(),
        pair.key_pem.as_bytes(),
    )?;
    let store = Arc::new(velero_hooks_webhook::tls::CertStore::new(key));
    let acceptor =
        tokio_rustls::TlsAcceptor::from(velero_hooks_webhook::tls::server_config(store)?);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let answer = Bytes::from_static(
        br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"0aff277d-0a63-4cc6-d251-d101e7771509","allowed":true}}"#,
    );
    println!("listening {}", listener.local_addr()?);
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        let (acceptor, answer) = (acceptor.clone(), answer.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(
                move |request: hyper::Request<hyper::body::Incoming>| {
                    let answer = answer.clone();
                    async move {
                        let _ = request.into_body().collect().await;
                        hyper::Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(answer))
                    }
                },
            );
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).keep_alive(true);
            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
        });
    }
}

/// Starts `command` `runs` times and reports how long each took to answer /readyz 200.
fn startup(ready: SocketAddr, runs: usize, command: &[String]) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let mut child = std::process::Command::new(&command[0])
            .args(&command[1..])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .with_context(|| format!("start {}", command[0]))?;
        let elapsed = loop {
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                anyhow::bail!("not ready after 10 s");
            }
            if let Ok(mut tcp) = std::net::TcpStream::connect(ready) {
                let _ =
                    tcp.write_all(b"GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
                let mut reply = String::new();
                let _ = tcp.read_to_string(&mut reply);
                if reply.starts_with("HTTP/1.1 200") {
                    break started.elapsed();
                }
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        times.push(elapsed.as_secs_f64() * 1000.0);
        let _ = child.kill();
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(200));
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{}",
        serde_json::json!({"ready_ms_runs": times, "ready_ms_median": times[times.len() / 2]})
    );
    Ok(())
}
