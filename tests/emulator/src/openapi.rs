//! A minimal OpenAPI v3 document set.
//!
//! kubectl reads `/openapi/v3` before `apply`/`create` to learn whether the
//! server validates fields itself (the `fieldValidation` query parameter of
//! each type's PATCH operation); without it kubectl refuses to send objects
//! ("failed to download openapi"). The documents list only operations and
//! parameters, no schemas, and advertise no strategic-merge-patch request
//! body, so kubectl builds strategic merge patches from its compiled-in types
//! (built-ins) or sends JSON merge patches (other types), both served here.

use serde_json::{Map, Value, json};

use crate::resources::Registry;

/// `/openapi/v3`: where each group-version's document is.
pub fn index(registry: &Registry) -> Value {
    let mut paths = Map::new();
    for (group, versions) in registry.groups() {
        for version in versions {
            let key = gv_path(&group, &version);
            // The types in the document are part of its hash: kubectl caches
            // documents by URL, and CustomResourceDefinitions change them.
            let content: String = registry
                .in_group_version(&group, &version)
                .iter()
                .map(|t| format!(" {}/{}", t.plural, t.kind))
                .collect();
            paths.insert(
                key.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={}", hash(&format!("{key}{content}")))}),
            );
        }
    }
    json!({"paths": paths})
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// A stable token per document content.
fn hash(key: &str) -> String {
    let h = key.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    format!("{h:016X}")
}

fn query_param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

/// `/openapi/v3/api/v1`, `/openapi/v3/apis/<group>/<version>`.
pub fn group_version(registry: &Registry, rest: &str) -> Option<Value> {
    let (group, version) = match rest.split('/').collect::<Vec<_>>().as_slice() {
        ["api", v] => (String::new(), v.to_string()),
        ["apis", g, v] => (g.to_string(), v.to_string()),
        _ => return None,
    };
    let types = registry.in_group_version(&group, &version);
    if types.is_empty() {
        return None;
    }
    let prefix = format!("/{}", gv_path(&group, &version));
    let mut paths = Map::new();
    for rt in types {
        let path = if rt.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", rt.plural)
        } else {
            format!("{prefix}/{}/{{name}}", rt.plural)
        };
        let gvk = json!({"group": rt.group, "version": rt.version, "kind": rt.kind});
        let schema = json!({"schema": {"type": "object"}});
        let parameters: Vec<Value> = ["dryRun", "fieldManager", "fieldValidation", "force"]
            .iter()
            .map(|p| query_param(p))
            .collect();
        paths.insert(
            path,
            json!({
                "patch": {
                    "operationId": format!("patch{}", rt.kind),
                    "parameters": parameters,
                    "requestBody": {
                        "content": {
                            "application/json-patch+json": schema,
                            "application/merge-patch+json": schema,
                        },
                        "required": true,
                    },
                    "responses": {"200": {"description": "OK"}},
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": gvk,
                },
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}
