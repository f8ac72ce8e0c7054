//! `pods/exec` over WebSocket, the channel protocol kube-apiserver serves
//! (`v5.channel.k8s.io`, and `v4.channel.k8s.io` for older clients): each binary
//! message starts with its channel, 1 stdout, 2 stderr, 3 the final `metav1.Status`
//! (exit code in `details.causes[{reason: ExitCode}]`, as kubelet's
//! `remotecommand` server writes it), 255 a client's "close this stream" (v5).
//!
//! What a container does is scripted per pod by the annotation [`SCRIPT_ANNOTATION`],
//! understood only by this emulator: a JSON object from container name to
//! [`ContainerScript`]. A container not named runs every command with exit code 0
//! and no output.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

use crate::error::ApiError;
use crate::server::{Body, ServerState, error_response, full};

/// The pod annotation holding the scripted behaviour of its containers.
pub const SCRIPT_ANNOTATION: &str = "kube-emulator.test/exec";

/// The subprotocols served, most recent first (kube-apiserver's order of preference).
const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;

/// How one container answers exec.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerScript {
    /// `false`: a distroless image, `sh`/`bash` are not found.
    #[serde(default = "yes")]
    pub shell: bool,
    /// Programs (by name or path) the runtime cannot find.
    #[serde(default)]
    pub missing: Vec<String>,
    /// The first rule whose `match` occurs in the command line decides.
    #[serde(default)]
    pub run: Vec<Rule>,
}

fn yes() -> bool {
    true
}

/// A container no script names: it has a shell and runs every command with exit code 0.
impl Default for ContainerScript {
    fn default() -> Self {
        ContainerScript {
            shell: yes(),
            missing: Vec::new(),
            run: Vec::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    /// A substring of the argv joined by spaces; absent matches every command.
    #[serde(default, rename = "match")]
    pub matches: Option<String>,
    #[serde(default)]
    pub exit_code: i32,
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
    /// How long the command runs before it prints and exits.
    #[serde(default)]
    pub delay_ms: u64,
}

/// What the runtime does with an argv.
enum Outcome {
    /// The runtime cannot start the program.
    NotFound(String),
    Exit {
        code: i32,
        stdout: String,
        stderr: String,
        delay: Duration,
    },
}

/// Whether this request is for `pods/exec` (WebSocket or not: errors about the pod are
/// the same either way, and client-go retries over SPDY when a WebSocket upgrade fails).
pub(crate) fn is_exec(req: &Request<Incoming>) -> bool {
    let path = req.uri().path();
    path.ends_with("/exec") && path.contains("/pods/")
}

fn is_websocket(req: &Request<Incoming>) -> bool {
    req.headers()
        .get("upgrade")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Check the request against the pod, then upgrade and run the scripted command.
pub(crate) fn handle(state: &ServerState, mut req: Request<Incoming>) -> Response<Body> {
    let segments: Vec<&str> = req.uri().path().trim_matches('/').split('/').collect();
    let ["api", "v1", "namespaces", namespace, "pods", pod, "exec"] = segments.as_slice() else {
        return error_response(&ApiError::unknown_resource(), &[]);
    };
    let (namespace, pod) = (namespace.to_string(), pod.to_string());
    let mut container = None;
    let mut command = Vec::new();
    for (k, v) in form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "container" => container = Some(v.into_owned()),
            "command" => command.push(v.into_owned()),
            _ => {}
        }
    }
    let object = match state.store.get("", "v1", "pods", Some(&namespace), &pod) {
        Ok(o) => o,
        Err(e) => return error_response(&e, &[]),
    };
    let containers: Vec<&str> = object
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    let container = match container {
        Some(c) => c,
        None if containers.len() == 1 => containers[0].to_string(),
        None => {
            return error_response(
                &ApiError::bad_request(format!(
                    "a container name must be specified for pod {pod}, choose one of: {containers:?}"
                )),
                &[],
            );
        }
    };
    if !containers.contains(&container.as_str()) {
        return error_response(
            &ApiError::bad_request(format!("container {container} is not valid for pod {pod}")),
            &[],
        );
    }
    if command.is_empty() {
        return error_response(
            &ApiError::bad_request("you must specify at least 1 command"),
            &[],
        );
    }
    // kubelet answers only for running containers.
    if object.pointer("/status/phase").and_then(Value::as_str) != Some("Running") {
        return error_response(
            &ApiError::bad_request(format!("container not found (\"{container}\")")),
            &[],
        );
    }
    let script: Option<ContainerScript> = object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(SCRIPT_ANNOTATION))
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|v| v.get(&container).cloned())
        .and_then(|v| serde_json::from_value(v).ok());
    let outcome = decide(&script.unwrap_or_default(), &command);

    if !is_websocket(&req) {
        return error_response(
            &ApiError::bad_request(format!(
                "this server serves exec over WebSocket only ({PROTOCOLS:?}), not SPDY"
            )),
            &[],
        );
    }
    let offered: Vec<String> = req
        .headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|p| p.trim().to_string()))
        .collect();
    let Some(protocol) = PROTOCOLS.iter().find(|p| offered.iter().any(|o| o == *p)) else {
        return error_response(
            &ApiError::bad_request(format!(
                "no supported WebSocket subprotocol among {offered:?}; this server speaks {PROTOCOLS:?}"
            )),
            &[],
        );
    };
    let Some(key) = req
        .headers()
        .get("sec-websocket-key")
        .map(|k| derive_accept_key(k.as_bytes()))
    else {
        return error_response(&ApiError::bad_request("missing Sec-WebSocket-Key"), &[]);
    };
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        run(ws, outcome, &command).await;
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-accept", key)
        .header("sec-websocket-protocol", *protocol)
        .body(full(""))
        .expect("valid response")
}

/// The scripted answer to `argv`, with the runtime's own "not found".
fn decide(script: &ContainerScript, argv: &[String]) -> Outcome {
    let program = &argv[0];
    let base = program.rsplit('/').next().unwrap_or(program);
    let is_shell = matches!(base, "sh" | "bash" | "ash" | "dash");
    let missing = |p: &str| {
        let b = p.rsplit('/').next().unwrap_or(p);
        script.missing.iter().any(|m| m == p || m == b)
    };
    if (is_shell && !script.shell) || missing(program) {
        return Outcome::NotFound(program.clone());
    }
    // The two questions a shell answers about a program: `command -v NAME`, `test -x PATH`.
    if is_shell && argv.get(1).map(String::as_str) == Some("-c") {
        let line = argv.get(2).map(String::as_str).unwrap_or("");
        let words = shell_words(line);
        if let [cmd, flag, name] = words.as_slice()
            && ((cmd == "command" && flag == "-v") || (cmd == "test" && flag == "-x"))
        {
            let found = !missing(name);
            return Outcome::Exit {
                code: if found { 0 } else { 1 },
                stdout: if found && cmd == "command" {
                    format!(
                        "{}\n",
                        if name.contains('/') {
                            name.clone()
                        } else {
                            format!("/usr/bin/{name}")
                        }
                    )
                } else {
                    String::new()
                },
                stderr: String::new(),
                delay: Duration::ZERO,
            };
        }
    }
    let line = argv.join(" ");
    let rule = script
        .run
        .iter()
        .find(|r| r.matches.as_deref().is_none_or(|m| line.contains(m)));
    match rule {
        Some(r) => Outcome::Exit {
            code: r.exit_code,
            stdout: r.stdout.clone(),
            stderr: r.stderr.clone(),
            delay: Duration::from_millis(r.delay_ms),
        },
        None => Outcome::Exit {
            code: 0,
            stdout: String::new(),
            stderr: String::new(),
            delay: Duration::ZERO,
        },
    }
}

/// Words of a simple shell line: spaces split, single or double quotes group.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

async fn run<S>(ws: WebSocketStream<S>, outcome: Outcome, argv: &[String])
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut tx, mut rx) = ws.split();
    let frame = |channel: u8, data: &[u8]| {
        let mut v = Vec::with_capacity(data.len() + 1);
        v.push(channel);
        v.extend_from_slice(data);
        Message::binary(v)
    };
    let status = match outcome {
        Outcome::NotFound(program) => {
            let err = format!(
                "failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: exec: \"{program}\": executable file not found in $PATH: unknown"
            );
            json!({"metadata": {}, "status": "Failure",
                "message": format!("Internal error occurred: error executing command in container: {err}"),
                "reason": "InternalError", "code": 500,
                "details": {"causes": [{"message": format!("error executing command in container: {err}")}]}})
        }
        Outcome::Exit {
            code,
            stdout,
            stderr,
            delay,
        } => {
            // The client may hang up while the command "runs" (a timeout): stop then.
            let slept = tokio::select! {
                _ = tokio::time::sleep(delay) => true,
                _ = async { while let Some(Ok(m)) = rx.next().await { if m.is_close() { break } } } => false,
            };
            if !slept {
                return;
            }
            if !stdout.is_empty() && tx.send(frame(STDOUT, stdout.as_bytes())).await.is_err() {
                return;
            }
            if !stderr.is_empty() && tx.send(frame(STDERR, stderr.as_bytes())).await.is_err() {
                return;
            }
            if code == 0 {
                json!({"metadata": {}, "status": "Success"})
            } else {
                json!({"metadata": {}, "status": "Failure",
                    "message": format!("command terminated with non-zero exit code: error executing command [{}], exit code {code}", argv.join(" ")),
                    "reason": "NonZeroExitCode",
                    "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}})
            }
        }
    };
    let body = serde_json::to_vec(&status).unwrap_or_default();
    let _ = tx.send(frame(ERROR, &body)).await;
    // A normal close (1000) is the end of every stream to client-go; no code is an error.
    let close = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    let _ = tx.send(Message::Close(Some(close))).await;
    // Let the client read to the end and close its side.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = rx.next().await {}
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_container_no_script_names_has_a_shell_and_succeeds() {
        let argv = ["/bin/sh", "-c", "sync"].map(String::from);
        assert!(matches!(
            decide(&ContainerScript::default(), &argv),
            Outcome::Exit { code: 0, .. }
        ));
        let shell_less: ContainerScript = serde_json::from_str(r#"{"shell": false}"#).unwrap();
        assert!(matches!(decide(&shell_less, &argv), Outcome::NotFound(_)));
    }
}
