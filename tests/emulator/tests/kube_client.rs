//! The real kube-rs client against the emulator: every verb and the errors
//! clients depend on.

mod common;

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use kube_emulator::{ApiError, EmulatorConfig, Fault, ResourceType, seed};
use serde_json::json;

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"},
            "annotations": {"pre.hook.backup.velero.io/command": "[\"/sbin/fsfreeze\",\"--freeze\",\"/var/log/nginx\"]"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
    }))
    .unwrap()
}

fn api_error(e: kube::Error) -> Box<kube::core::Status> {
    match e {
        kube::Error::Api(s) => s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn crud_round_trip() {
    let h = common::start(EmulatorConfig::default()).await;
    let pods: Api<Pod> = Api::namespaced(h.client.clone(), "default");
    let created = pods
        .create(&PostParams::default(), &pod("web"))
        .await
        .unwrap();
    let md = &created.metadata;
    assert!(md.uid.is_some() && md.creation_timestamp.is_some() && md.resource_version.is_some());
    // Defaulting happened.
    let spec = created.spec.as_ref().unwrap();
    assert_eq!(spec.dns_policy.as_deref(), Some("ClusterFirst"));
    assert_eq!(
        spec.containers[0].image_pull_policy.as_deref(),
        Some("IfNotPresent")
    );

    let got = pods.get("web").await.unwrap();
    assert_eq!(got.metadata.uid, md.uid);

    let mut replaced = got.clone();
    replaced
        .metadata
        .labels
        .as_mut()
        .unwrap()
        .insert("tier".into(), "front".into());
    let replaced = pods
        .replace("web", &PostParams::default(), &replaced)
        .await
        .unwrap();
    assert_ne!(
        replaced.metadata.resource_version,
        got.metadata.resource_version
    );

    let merged = pods
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"a": "1"}}})),
        )
        .await
        .unwrap();
    assert_eq!(merged.metadata.annotations.as_ref().unwrap()["a"], "1");

    let strategic = pods
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(
                json!({"spec": {"containers": [{"name": "sidecar", "image": "busybox:1.36"}]}}),
            ),
        )
        .await
        .unwrap();
    let names: Vec<_> = strategic
        .spec
        .unwrap()
        .containers
        .iter()
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(names, ["web", "sidecar"], "containers merged by name");

    let jp: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/annotations/a", "value": "1"},
        {"op": "replace", "path": "/metadata/annotations/a", "value": "2"},
    ]))
    .unwrap();
    let patched = pods
        .patch("web", &PatchParams::default(), &Patch::<()>::Json(jp))
        .await
        .unwrap();
    assert_eq!(patched.metadata.annotations.as_ref().unwrap()["a"], "2");

    // Pods are deleted gracefully in Kubernetes: the answer is the object.
    let deleted = pods.delete("web", &DeleteParams::default()).await.unwrap();
    assert!(deleted.is_left());
    let e = api_error(pods.get("web").await.unwrap_err());
    assert_eq!(
        (e.code, e.reason.as_str(), e.message.as_str()),
        (404, "NotFound", "pods \"web\" not found")
    );

    // ConfigMaps answer with a Success Status.
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), "default");
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "c"}, "data": {"k": "v"}})).unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    assert!(
        cms.delete("c", &DeleteParams::default())
            .await
            .unwrap()
            .is_right()
    );
    h.emu.shutdown().await;
}

#[tokio::test]
async fn errors_are_kubernetes_statuses() {
    let h = common::start(EmulatorConfig::default()).await;
    let pods: Api<Pod> = Api::namespaced(h.client.clone(), "default");
    pods.create(&PostParams::default(), &pod("x"))
        .await
        .unwrap();

    let e = api_error(
        pods.create(&PostParams::default(), &pod("x"))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (e.code, e.reason.as_str(), e.message.as_str()),
        (409, "AlreadyExists", "pods \"x\" already exists")
    );

    let missing_ns: Api<Pod> = Api::namespaced(h.client.clone(), "nope");
    let e = api_error(
        missing_ns
            .create(&PostParams::default(), &pod("x"))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (e.code, e.reason.as_str(), e.message.as_str()),
        (404, "NotFound", "namespaces \"nope\" not found")
    );

    // A stale resourceVersion: the real conflict message.
    let stale = pods.get("x").await.unwrap();
    h.emu
        .store()
        .bump_resource_version("", "v1", "pods", Some("default"), "x")
        .unwrap();
    let e = api_error(
        pods.replace("x", &PostParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 409);
    assert_eq!(e.reason, "Conflict");
    assert_eq!(
        e.message,
        "Operation cannot be fulfilled on pods \"x\": the object has been modified; please apply your changes to the latest version and try again"
    );
    // A resourceVersion inside a patch is a precondition too.
    let rv = stale.metadata.resource_version.clone().unwrap();
    let e = api_error(
        pods.patch(
            "x",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"resourceVersion": rv, "labels": {"a": "b"}}})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(e.code, 409);

    let deployments: Api<Deployment> = Api::namespaced(h.client.clone(), "default");
    let e = api_error(deployments.get("nope").await.unwrap_err());
    assert_eq!(e.message, "deployments.apps \"nope\" not found");

    // Invalid objects.
    let mut bad = pod("Bad_Name");
    bad.spec.as_mut().unwrap().containers.clear();
    let e = api_error(pods.create(&PostParams::default(), &bad).await.unwrap_err());
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    assert!(
        e.message
            .starts_with("Pod \"Bad_Name\" is invalid: metadata.name: Invalid value"),
        "{}",
        e.message
    );

    // JSON patch whose test fails: 422 like kube-apiserver.
    let jp: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/metadata/name", "value": "y"}]))
            .unwrap();
    let e = api_error(
        pods.patch("x", &PatchParams::default(), &Patch::<()>::Json(jp))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 422);

    // Server-side apply is not emulated: a clear 415.
    let e = api_error(
        pods.patch("x", &PatchParams::apply("test"), &Patch::Apply(pod("x")))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 415);
    assert!(e.message.contains("server-side apply"), "{}", e.message);

    // Unknown resource type: 404 with the apiserver's generic message.
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Widget"),
        "widgets",
    );
    let widgets: Api<DynamicObject> = Api::namespaced_with(h.client.clone(), "default", &ar);
    let e = api_error(widgets.list(&ListParams::default()).await.unwrap_err());
    assert_eq!(
        (e.code, e.message.as_str()),
        (404, "the server could not find the requested resource")
    );

    // Creating a namespaced object without a namespace: 405.
    let all: Api<Pod> = Api::all(h.client.clone());
    let e = api_error(
        all.create(&PostParams::default(), &pod("y"))
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (405, "MethodNotAllowed"));
    h.emu.shutdown().await;
}

#[tokio::test]
async fn wrong_or_missing_token_is_401() {
    let h = common::start(EmulatorConfig::default()).await;
    let text = std::fs::read_to_string(&h.kubeconfig)
        .unwrap()
        .replace(h.emu.token(), "wrong-token");
    let bad = h.kubeconfig.with_file_name("bad");
    std::fs::write(&bad, text).unwrap();
    let client = common::client_for(&bad).await;
    let pods: Api<Pod> = Api::all(client);
    let e = api_error(pods.list(&ListParams::default()).await.unwrap_err());
    assert_eq!((e.code, e.reason.as_str()), (401, "Unauthorized"));
    h.emu.shutdown().await;
}

#[tokio::test]
async fn list_selectors_and_pagination() {
    let h = common::start(EmulatorConfig::default().seed(seed::generate_pods(45, 3))).await;
    let all: Api<Pod> = Api::all(h.client.clone());
    assert_eq!(
        all.list(&ListParams::default()).await.unwrap().items.len(),
        45
    );

    let team0: Api<Pod> = Api::namespaced(h.client.clone(), "team-0");
    assert_eq!(
        team0
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        15
    );

    // Pages of 10: continue tokens and remainingItemCount.
    let mut names = vec![];
    let mut lp = ListParams::default().limit(10);
    let first = all.list(&lp).await.unwrap();
    assert_eq!(first.metadata.remaining_item_count, Some(35));
    let mut page = first;
    loop {
        names.extend(page.items.iter().map(|p| p.metadata.name.clone().unwrap()));
        match page.metadata.continue_.clone().filter(|c| !c.is_empty()) {
            Some(token) => {
                lp = lp.continue_token(&token);
                page = all.list(&lp).await.unwrap();
            }
            None => break,
        }
    }
    assert_eq!(names.len(), 45);

    for (selector, expected) in [
        ("app=nginx", 9),
        ("app==nginx", 9),
        ("app!=nginx", 36),
        ("app in (nginx,redis)", 18),
        ("app notin (nginx,redis)", 27),
        ("app", 45),
        ("!app", 0),
    ] {
        let got = all
            .list(&ListParams::default().labels(selector))
            .await
            .unwrap()
            .items
            .len();
        assert_eq!(got, expected, "labelSelector {selector}");
    }
    let pending = all
        .list(&ListParams::default().fields("status.phase=Pending"))
        .await
        .unwrap()
        .items
        .len();
    assert_eq!(pending, 3);
    let one = all
        .list(&ListParams::default().fields(&format!("metadata.name={}", names[0])))
        .await
        .unwrap();
    assert_eq!(one.items.len(), 1);
    let ns = all
        .list(&ListParams::default().fields("metadata.namespace=team-1"))
        .await
        .unwrap();
    assert_eq!(ns.items.len(), 15);
    let e = api_error(
        all.list(&ListParams::default().fields("spec.bogus=1"))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (e.code, e.message.as_str()),
        (400, "field label not supported: spec.bogus")
    );
    let e = api_error(
        all.list(&ListParams::default().labels("app in nginx"))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 400);
    h.emu.shutdown().await;
}

#[tokio::test]
async fn watch_events_resume_and_expire() {
    let h = common::start(EmulatorConfig::default().history_limit(20)).await;
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), "default");
    let start_rv = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut stream = cms
        .watch(&WatchParams::default().timeout(20), &start_rv)
        .await
        .unwrap()
        .boxed();

    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "w", "labels": {"a": "b"}}, "data": {"k": "1"}}),
    )
    .unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    cms.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "2"}})),
    )
    .await
    .unwrap();
    cms.delete("w", &DeleteParams::default()).await.unwrap();

    let mut seen = vec![];
    while seen.len() < 3 {
        match tokio::time::timeout(Duration::from_secs(10), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            WatchEvent::Added(c) => seen.push(("ADDED", c.data.unwrap()["k"].clone())),
            WatchEvent::Modified(c) => seen.push(("MODIFIED", c.data.unwrap()["k"].clone())),
            WatchEvent::Deleted(c) => seen.push(("DELETED", c.data.unwrap()["k"].clone())),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        seen,
        [
            ("ADDED", "1".to_string()),
            ("MODIFIED", "2".to_string()),
            ("DELETED", "2".to_string())
        ]
    );

    // Resuming from the first resourceVersion replays the same history.
    let replay: Vec<_> = cms
        .watch(&WatchParams::default().timeout(1), &start_rv)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(replay.len(), 3);

    // Push the start out of the bounded history: 410 Expired.
    for i in 0..25 {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": format!("c{i}")}})).unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }
    let events: Vec<_> = cms
        .watch(&WatchParams::default().timeout(1), &start_rv)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    match &events[..] {
        [WatchEvent::Error(s)] => assert_eq!((s.code, s.reason.as_str()), (410, "Expired")),
        other => panic!("expected one 410 error event, got {other:?}"),
    }
    h.emu.shutdown().await;
}

#[tokio::test]
async fn watch_with_selector_and_bookmarks() {
    let h = common::start(EmulatorConfig::default()).await;
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), "default");
    let wp = WatchParams::streaming_lists()
        .labels("watched=yes")
        .timeout(5);
    let mut stream = cms.watch(&wp, "").await.unwrap().boxed();
    // sendInitialEvents: the end of the (empty) initial list is a bookmark.
    match tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
    {
        WatchEvent::Bookmark(b) => assert_eq!(
            b.metadata
                .annotations
                .get("k8s.io/initial-events-end")
                .map(String::as_str),
            Some("true")
        ),
        other => panic!("expected bookmark, got {other:?}"),
    }
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "s"}})).unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    // Entering the selection is an ADDED event, leaving it a DELETED one.
    cms.patch(
        "s",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"watched": "yes"}}})),
    )
    .await
    .unwrap();
    cms.patch(
        "s",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"watched": "no"}}})),
    )
    .await
    .unwrap();
    let mut kinds = vec![];
    while kinds.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            WatchEvent::Added(_) => kinds.push("ADDED"),
            WatchEvent::Deleted(_) => kinds.push("DELETED"),
            WatchEvent::Bookmark(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(kinds, ["ADDED", "DELETED"]);
    h.emu.shutdown().await;
}

#[tokio::test]
async fn kube_runtime_watcher_sees_changes() {
    use kube::runtime::{WatchStreamExt, watcher};
    let h = common::start(EmulatorConfig::default()).await;
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), "default");
    let mut objects = watcher(cms.clone(), watcher::Config::default())
        .applied_objects()
        .boxed();
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "r"}})).unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), objects.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("r"));
    h.emu.shutdown().await;
}

#[tokio::test]
async fn dry_run_never_stores() {
    let h = common::start(EmulatorConfig::default()).await;
    let pods: Api<Pod> = Api::namespaced(h.client.clone(), "default");
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let created = pods.create(&pp, &pod("dry")).await.unwrap();
    assert!(created.metadata.uid.is_some());
    assert!(pods.get_opt("dry").await.unwrap().is_none());

    pods.create(&PostParams::default(), &pod("real"))
        .await
        .unwrap();
    let before = pods.get("real").await.unwrap();
    let patched = pods
        .patch(
            "real",
            &PatchParams::default().dry_run(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.metadata.labels.unwrap()["x"], "y");
    let after = pods.get("real").await.unwrap();
    assert_eq!(
        before.metadata.resource_version,
        after.metadata.resource_version
    );
    assert!(!after.metadata.labels.unwrap().contains_key("x"));

    pods.delete(
        "real",
        &DeleteParams {
            dry_run: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(pods.get_opt("real").await.unwrap().is_some());
    let e = api_error(pods.create(&pp, &pod("real")).await.unwrap_err());
    assert_eq!(e.reason, "AlreadyExists");
    h.emu.shutdown().await;
}

#[tokio::test]
async fn generation_scale_and_status() {
    let h = common::start(EmulatorConfig::default()).await;
    let deployments: Api<Deployment> = Api::namespaced(h.client.clone(), "default");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
    }))
    .unwrap();
    let created = deployments
        .create(&PostParams::default(), &d)
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.spec.replicas, Some(1));

    let annotated = deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"a": "b"}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        annotated.metadata.generation,
        Some(1),
        "metadata changes keep the generation"
    );

    let scaled = deployments
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await
        .unwrap();
    assert_eq!(scaled.spec.unwrap().replicas, Some(4));
    let d = deployments.get("web").await.unwrap();
    assert_eq!((d.spec.replicas, d.metadata.generation), (Some(4), Some(2)));

    // Status only changes through the status subresource.
    deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"readyReplicas": 4}})),
        )
        .await
        .unwrap();
    assert_eq!(
        deployments
            .get("web")
            .await
            .unwrap()
            .status
            .and_then(|s| s.ready_replicas),
        None
    );
    deployments
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"readyReplicas": 4}})),
        )
        .await
        .unwrap();
    assert_eq!(
        deployments
            .get("web")
            .await
            .unwrap()
            .status
            .and_then(|s| s.ready_replicas),
        Some(4)
    );
    h.emu.shutdown().await;
}

#[tokio::test]
async fn finalizers_and_namespace_deletion() {
    let h = common::start(EmulatorConfig::default()).await;
    let namespaces: Api<Namespace> = Api::all(h.client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "shop"}})).unwrap();
    let ns = namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    assert_eq!(
        ns.metadata.labels.unwrap()["kubernetes.io/metadata.name"],
        "shop"
    );

    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), "shop");
    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "f", "finalizers": ["example.com/keep"]}}),
    )
    .unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    cms.delete("f", &DeleteParams::default()).await.unwrap();
    let pending = cms.get("f").await.unwrap();
    assert!(pending.metadata.deletion_timestamp.is_some());
    cms.patch(
        "f",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(cms.get_opt("f").await.unwrap().is_none());

    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "g"}})).unwrap(),
    )
    .await
    .unwrap();
    namespaces
        .delete("shop", &DeleteParams::default())
        .await
        .unwrap();
    assert!(namespaces.get_opt("shop").await.unwrap().is_none());
    assert!(
        h.emu
            .store()
            .list("", "v1", "configmaps", Some("shop"))
            .unwrap()
            .is_empty()
    );
    h.emu.shutdown().await;
}

#[tokio::test]
async fn injected_faults_and_request_log() {
    let h = common::start(EmulatorConfig::default()).await;
    let pods: Api<Pod> = Api::namespaced(h.client.clone(), "default");
    pods.create(&PostParams::default(), &pod("f"))
        .await
        .unwrap();
    h.emu.inject_fault(
        Fault::new(
            "/api/v1/namespaces/default/pods/f",
            2,
            ApiError::new(500, "InternalError", "etcd is having a bad day"),
        )
        .method("GET"),
    );
    for _ in 0..2 {
        let e = api_error(pods.get("f").await.unwrap_err());
        assert_eq!(
            (e.code, e.message.as_str()),
            (500, "etcd is having a bad day")
        );
    }
    pods.get("f").await.unwrap();
    let gets = h
        .emu
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/pods/f"))
        .count();
    assert_eq!(gets, 3);
    h.emu.shutdown().await;
}

#[tokio::test]
async fn extra_types_and_a_store_controller() {
    // A fake Velero: Backups get status.phase Completed from a controller on the store.
    let backup_type =
        ResourceType::new("velero.io", "v1", "Backup", "backups").short_names(&["backup"]);
    let config = EmulatorConfig::default()
        .resource_type(backup_type)
        .controller(|store| async move {
            let mut events = store.watch("velero.io", "backups", true);
            while let Some(ev) = events.next().await {
                if ev.event_type == kube_emulator::EventType::Deleted
                    || ev.object.pointer("/status/phase").is_some()
                {
                    continue;
                }
                let mut b = ev.object.clone();
                b["status"] = json!({"phase": "Completed"});
                let _ = store.update(b);
            }
        });
    let h = common::start(config).await;
    h.emu.store().ensure_namespace("velero").unwrap();
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("velero.io", "v1", "Backup"),
        "backups",
    );
    let backups: Api<DynamicObject> = Api::namespaced_with(h.client.clone(), "velero", &ar);
    let b: DynamicObject =
        serde_json::from_value(json!({"apiVersion": "velero.io/v1", "kind": "Backup",
        "metadata": {"name": "nightly"}, "spec": {"includedNamespaces": ["shop"]}}))
        .unwrap();
    backups.create(&PostParams::default(), &b).await.unwrap();
    let mut phase = None;
    for _ in 0..50 {
        let got = backups.get("nightly").await.unwrap();
        phase = got
            .data
            .pointer("/status/phase")
            .and_then(|v| v.as_str())
            .map(String::from);
        if phase.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(phase.as_deref(), Some("Completed"));
    // Custom types refuse strategic merge patches, like CRDs.
    let e = api_error(
        backups
            .patch(
                "nightly",
                &PatchParams::default(),
                &Patch::Strategic(json!({"spec": {}})),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 415);
    h.emu.shutdown().await;
}
