//! A minimal plain-HTTP stand-in for the Kubernetes API server, enough for
//! `helm template --dry-run=server` to run the chart's `lookup` calls: it
//! serves discovery for the kinds the chart renders and the objects it is
//! given, and answers 404 (as a Status) for anything else.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use serde_json::{Value, json};

pub struct FakeApiServer {
    port: u16,
    objects: Arc<Mutex<BTreeMap<String, Value>>>,
    requests: Arc<Mutex<Vec<String>>>,
    kubeconfig: tempfile_path::TempPath,
}

mod tempfile_path {
    /// A file removed on drop.
    pub struct TempPath(pub std::path::PathBuf);
    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn resource(name: &str, kind: &str, namespaced: bool) -> Value {
    json!({"name": name, "singularName": kind.to_lowercase(), "namespaced": namespaced, "kind": kind,
           "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]})
}

/// (plural resource, kind, namespaced)
type ResourceInfo = (&'static str, &'static str, bool);

fn discovery(path: &str) -> Option<Value> {
    let groups: &[(&str, &[ResourceInfo])] = &[
        ("apps/v1", &[("deployments", "Deployment", true)]),
        (
            "policy/v1",
            &[("poddisruptionbudgets", "PodDisruptionBudget", true)],
        ),
        (
            "networking.k8s.io/v1",
            &[("networkpolicies", "NetworkPolicy", true)],
        ),
        (
            "rbac.authorization.k8s.io/v1",
            &[
                ("roles", "Role", true),
                ("rolebindings", "RoleBinding", true),
            ],
        ),
        (
            "admissionregistration.k8s.io/v1",
            &[
                (
                    "validatingwebhookconfigurations",
                    "ValidatingWebhookConfiguration",
                    false,
                ),
                (
                    "mutatingwebhookconfigurations",
                    "MutatingWebhookConfiguration",
                    false,
                ),
            ],
        ),
        (
            "cert-manager.io/v1",
            &[
                ("issuers", "Issuer", true),
                ("certificates", "Certificate", true),
            ],
        ),
        (
            "monitoring.coreos.com/v1",
            &[("servicemonitors", "ServiceMonitor", true)],
        ),
    ];
    match path {
        "/version" => Some(json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0", "platform": "linux/amd64"})),
        "/api" => Some(json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})),
        "/api/v1" => Some(json!({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
            resource("secrets", "Secret", true), resource("configmaps", "ConfigMap", true),
            resource("services", "Service", true), resource("serviceaccounts", "ServiceAccount", true),
            resource("pods", "Pod", true), resource("namespaces", "Namespace", false)]})),
        "/apis" => Some(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups.iter().map(|(gv, _)| {
            let (g, v) = gv.split_once('/').unwrap();
            json!({"name": g, "versions": [{"groupVersion": gv, "version": v}], "preferredVersion": {"groupVersion": gv, "version": v}})
        }).collect::<Vec<_>>()})),
        _ => groups.iter().find(|(gv, _)| path == format!("/apis/{gv}")).map(|(gv, rs)| {
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                   "resources": rs.iter().map(|(n, k, ns)| resource(n, k, *ns)).collect::<Vec<_>>()})
        }),
    }
}

impl FakeApiServer {
    /// Starts on a free loopback port and writes a kubeconfig for it.
    pub fn start() -> FakeApiServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let objects = Arc::new(Mutex::new(BTreeMap::new()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (o, r) = (objects.clone(), requests.clone());
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (o, r) = (o.clone(), r.clone());
                thread::spawn(move || serve(stream, &o, &r));
            }
        });
        let path = std::env::temp_dir().join(format!("chart-tests-kubeconfig-{port}"));
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters: [{{name: fake, cluster: {{server: \"http://127.0.0.1:{port}\"}}}}]\n\
                 users: [{{name: fake, user: {{}}}}]\ncontexts: [{{name: fake, context: {{cluster: fake, user: fake}}}}]\n\
                 current-context: fake\n"
            ),
        )
        .expect("write kubeconfig");
        FakeApiServer {
            port,
            objects,
            requests,
            kubeconfig: tempfile_path::TempPath(path),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn kubeconfig(&self) -> &std::path::Path {
        &self.kubeconfig.0
    }

    /// Serves a namespaced core/v1 object at its API path.
    pub fn put_core(&self, resource: &str, object: Value) {
        let ns = object["metadata"]["namespace"]
            .as_str()
            .expect("namespace")
            .to_string();
        let name = object["metadata"]["name"]
            .as_str()
            .expect("name")
            .to_string();
        self.objects
            .lock()
            .unwrap()
            .insert(format!("/api/v1/namespaces/{ns}/{resource}/{name}"), object);
    }

    /// Paths requested so far (without query strings).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(
    stream: TcpStream,
    objects: &Mutex<BTreeMap<String, Value>>,
    requests: &Mutex<Vec<String>>,
) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut content_length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                content_length = v.trim().parse().unwrap_or(0);
            }
        }
        if content_length > 0 {
            let mut body = vec![0u8; content_length];
            if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
                return;
            }
        }
        let path = target.split('?').next().unwrap_or("/").to_string();
        requests.lock().unwrap().push(path.clone());
        let (status, body) = match discovery(&path)
            .or_else(|| objects.lock().unwrap().get(&path).cloned())
        {
            Some(v) => ("200 OK", v),
            None => (
                "404 Not Found",
                json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
                       "message": format!("{path} not found")}),
            ),
        };
        let body = body.to_string();
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}
