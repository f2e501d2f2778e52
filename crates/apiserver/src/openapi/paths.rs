//! The `paths` of a group-version's OpenAPI document: one entry per served endpoint, each
//! operation tagged with `x-kubernetes-action` and `x-kubernetes-group-version-kind` as kubectl
//! expects (it finds a kind's PATCH operation by the latter and looks for `fieldValidation`).

use serde_json::{json, Map, Value};

use super::schemas::{DELETE_OPTIONS, PATCH, REF_PREFIX, SCALE, STATUS};
use crate::registry::ResourceType;

/// The definition name of list metadata.
pub(super) const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";

/// The media types an object is returned in.
const MEDIA: &[&str] = &["application/json", "application/yaml"];

/// The media types a PATCH body may have.
const PATCH_MEDIA: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

/// Adds the endpoints of `rt`, whose root definition is `root`, to `paths`.
pub fn add_resource(paths: &mut Map<String, Value>, rt: &ResourceType, root: &str) {
    let base = if rt.group.is_empty() {
        format!("/api/{}", rt.version)
    } else {
        format!("/apis/{}/{}", rt.group, rt.version)
    };
    let ops = Ops::new(rt, root);
    let scope = if rt.namespaced { "Namespaced" } else { "" };
    let collection = if rt.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", rt.plural)
    } else {
        format!("{base}/{}", rt.plural)
    };
    if rt.create_only() {
        // Answered or applied, never stored: only create.
        let create = ops.create(&format!("create{{}}{scope}{}", rt.kind));
        let parameters = ops.scope_parameters(false);
        paths.insert(collection, ops.path_item(parameters, [("post", create)]));
        return;
    }
    let item = format!("{collection}/{{name}}");
    paths.insert(
        collection.clone(),
        ops.path_item(
            ops.scope_parameters(false),
            [
                ("get", ops.list(&format!("list{{}}{scope}{}", rt.kind))),
                ("post", ops.create(&format!("create{{}}{scope}{}", rt.kind))),
                (
                    "delete",
                    ops.delete_collection(&format!("delete{{}}Collection{scope}{}", rt.kind)),
                ),
            ],
        ),
    );
    paths.insert(
        item.clone(),
        ops.path_item(
            ops.scope_parameters(true),
            [
                (
                    "get",
                    ops.read(&format!("read{{}}{scope}{}", rt.kind), "", root),
                ),
                (
                    "put",
                    ops.replace(&format!("replace{{}}{scope}{}", rt.kind), "", root),
                ),
                (
                    "patch",
                    ops.patch(&format!("patch{{}}{scope}{}", rt.kind), "", root),
                ),
                (
                    "delete",
                    ops.delete(&format!("delete{{}}{scope}{}", rt.kind)),
                ),
            ],
        ),
    );
    if rt.namespaced {
        let all = format!("{base}/{}", rt.plural);
        let list = ops.list(&format!("list{{}}{}ForAllNamespaces", rt.kind));
        paths.insert(all, ops.path_item(Vec::new(), [("get", list)]));
    }
    if rt.subresources.status {
        let (id, sub) = (format!("{scope}{}Status", rt.kind), "status");
        paths.insert(
            format!("{item}/status"),
            ops.path_item(
                ops.scope_parameters(true),
                [
                    ("get", ops.read(&format!("read{{}}{id}"), sub, root)),
                    ("put", ops.replace(&format!("replace{{}}{id}"), sub, root)),
                    ("patch", ops.patch(&format!("patch{{}}{id}"), sub, root)),
                ],
            ),
        );
    }
    if rt.subresources.scale {
        let scale = Ops {
            gvk: json!({"group": "autoscaling", "kind": "Scale", "version": "v1"}),
            ..ops.clone()
        };
        let id = format!("{scope}{}Scale", rt.kind);
        paths.insert(
            format!("{item}/scale"),
            scale.path_item(
                ops.scope_parameters(true),
                [
                    ("get", scale.read(&format!("read{{}}{id}"), "scale", SCALE)),
                    (
                        "put",
                        scale.replace(&format!("replace{{}}{id}"), "scale", SCALE),
                    ),
                    (
                        "patch",
                        scale.patch(&format!("patch{{}}{id}"), "scale", SCALE),
                    ),
                ],
            ),
        );
    }
}

/// Builds the operations of one resource type.
#[derive(Clone)]
struct Ops {
    kind: String,
    namespaced: bool,
    root: String,
    group_version: String,
    tag: String,
    gvk: Value,
}

impl Ops {
    fn new(rt: &ResourceType, root: &str) -> Self {
        let group_words: Vec<String> = if rt.group.is_empty() {
            vec!["Core".to_owned()]
        } else {
            rt.group
                .trim_end_matches(".k8s.io")
                .split('.')
                .map(capitalize)
                .collect()
        };
        let group = group_words.concat();
        let mut tag = group.clone();
        if let Some(first) = tag.get(..1) {
            tag.replace_range(..1, &first.to_lowercase());
        }
        Self {
            kind: rt.kind.clone(),
            namespaced: rt.namespaced,
            root: root.to_owned(),
            group_version: format!("{group}{}", capitalize(&rt.version)),
            tag: format!("{tag}_{}", rt.version),
            gvk: json!({"group": rt.group, "kind": rt.kind, "version": rt.version}),
        }
    }

    fn path_item<const N: usize>(
        &self,
        parameters: Vec<Value>,
        operations: [(&str, Value); N],
    ) -> Value {
        let mut item = Map::new();
        for (method, operation) in operations {
            item.insert(method.to_owned(), operation);
        }
        if !parameters.is_empty() {
            item.insert("parameters".to_owned(), Value::Array(parameters));
        }
        Value::Object(item)
    }

    fn scope_parameters(&self, named: bool) -> Vec<Value> {
        let mut out = Vec::new();
        if named {
            let description = format!("name of the {}", self.kind);
            out.push(parameter("name", "path", &description, "string"));
        }
        if self.namespaced {
            out.push(parameter(
                "namespace",
                "path",
                "object name and auth scope, such as for teams and projects",
                "string",
            ));
        }
        out.push(query(
            "pretty",
            "If 'true', then the output is pretty printed.",
            "string",
        ));
        out
    }

    fn operation(
        &self,
        id: &str,
        action: &str,
        description: String,
        parameters: Vec<Value>,
        responses: Value,
    ) -> Value {
        json!({
            "description": description,
            "operationId": id.replace("{}", &self.group_version),
            "parameters": parameters,
            "responses": responses,
            "tags": [self.tag],
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": self.gvk,
        })
    }

    fn list(&self, id: &str) -> Value {
        let list_schema = json!({
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "items": {"type": "array", "items": reference(&self.root)},
                "metadata": reference(LIST_META),
            },
            "required": ["items"],
        });
        let parameters = [
            ("allowWatchBookmarks", "boolean"),
            ("continue", "string"),
            ("fieldSelector", "string"),
            ("labelSelector", "string"),
            ("limit", "integer"),
            ("resourceVersion", "string"),
            ("resourceVersionMatch", "string"),
            ("sendInitialEvents", "boolean"),
            ("timeoutSeconds", "integer"),
            ("watch", "boolean"),
        ]
        .iter()
        .map(|(name, ty)| query(name, LIST_HELP, ty))
        .collect();
        let description = format!("list or watch objects of kind {}", self.kind);
        self.operation(
            id,
            "list",
            description,
            parameters,
            ok(&[("200", "OK")], list_schema),
        )
    }

    fn create(&self, id: &str) -> Value {
        let mut op = self.operation(
            id,
            "post",
            format!("create a {}", self.kind),
            write_parameters(false),
            ok(
                &[("200", "OK"), ("201", "Created"), ("202", "Accepted")],
                reference(&self.root),
            ),
        );
        op["requestBody"] = body(MEDIA, reference(&self.root));
        op
    }

    fn read(&self, id: &str, sub: &str, schema: &str) -> Value {
        let what = subresource_words(sub, &self.kind);
        self.operation(
            id,
            "get",
            format!("read {what}"),
            Vec::new(),
            ok(&[("200", "OK")], reference(schema)),
        )
    }

    fn replace(&self, id: &str, sub: &str, schema: &str) -> Value {
        let what = subresource_words(sub, &self.kind);
        let mut op = self.operation(
            id,
            "put",
            format!("replace {what}"),
            write_parameters(false),
            ok(&[("200", "OK"), ("201", "Created")], reference(schema)),
        );
        op["requestBody"] = body(MEDIA, reference(schema));
        op
    }

    fn patch(&self, id: &str, sub: &str, schema: &str) -> Value {
        let what = subresource_words(sub, &self.kind);
        let mut op = self.operation(
            id,
            "patch",
            format!("partially update {what}"),
            write_parameters(true),
            ok(&[("200", "OK"), ("201", "Created")], reference(schema)),
        );
        op["requestBody"] = body(PATCH_MEDIA, reference(PATCH));
        op
    }

    fn delete(&self, id: &str) -> Value {
        let mut op = self.operation(
            id,
            "delete",
            format!("delete a {}", self.kind),
            delete_parameters(),
            ok(&[("200", "OK"), ("202", "Accepted")], reference(STATUS)),
        );
        op["requestBody"] = body(MEDIA, reference(DELETE_OPTIONS));
        op
    }

    fn delete_collection(&self, id: &str) -> Value {
        let mut parameters = delete_parameters();
        parameters.extend(
            [
                "continue",
                "fieldSelector",
                "labelSelector",
                "limit",
                "resourceVersion",
            ]
            .iter()
            .map(|name| {
                query(
                    name,
                    LIST_HELP,
                    if *name == "limit" {
                        "integer"
                    } else {
                        "string"
                    },
                )
            }),
        );
        let mut op = self.operation(
            id,
            "deletecollection",
            format!("delete collection of {}", self.kind),
            parameters,
            ok(&[("200", "OK")], reference(STATUS)),
        );
        op["requestBody"] = body(MEDIA, reference(DELETE_OPTIONS));
        op
    }
}

const LIST_HELP: &str =
    "Narrows or paginates the list, or turns it into a watch; see the Kubernetes API conventions.";

fn subresource_words(sub: &str, kind: &str) -> String {
    if sub.is_empty() {
        format!("the specified {kind}")
    } else {
        format!("{sub} of the specified {kind}")
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("{REF_PREFIX}{name}")})
}

fn parameter(name: &str, location: &str, description: &str, ty: &str) -> Value {
    let mut p = json!({
        "name": name,
        "in": location,
        "description": description,
        "schema": {"type": ty, "uniqueItems": true},
    });
    if location == "path" {
        p["required"] = json!(true);
    }
    p
}

fn query(name: &str, description: &str, ty: &str) -> Value {
    parameter(name, "query", description, ty)
}

/// dryRun, fieldManager, fieldValidation (what kubectl looks for) and, for PATCH, force.
fn write_parameters(patch: bool) -> Vec<Value> {
    let mut out = vec![
        query("dryRun", "When present, indicates that modifications should not be persisted. Valid value: All.", "string"),
        query("fieldManager", "A name for the actor making these changes, recorded in managedFields.", "string"),
        query(
            "fieldValidation",
            "How to treat unknown or duplicate fields in the body: Ignore, Warn (the default) or Strict.",
            "string",
        ),
    ];
    if patch {
        out.push(query(
            "force",
            "Force an apply patch to take fields owned by other managers.",
            "boolean",
        ));
    }
    out
}

fn delete_parameters() -> Vec<Value> {
    vec![
        query(
            "dryRun",
            "When present, indicates that modifications should not be persisted. Valid value: All.",
            "string",
        ),
        query(
            "gracePeriodSeconds",
            "The duration in seconds before the object should be deleted.",
            "integer",
        ),
        query(
            "orphanDependents",
            "Deprecated: use propagationPolicy.",
            "boolean",
        ),
        query(
            "propagationPolicy",
            "Whether and how garbage collection is performed: Orphan, Background or Foreground.",
            "string",
        ),
    ]
}

fn body(media: &[&str], schema: Value) -> Value {
    let content: Map<String, Value> = media
        .iter()
        .map(|m| ((*m).to_owned(), json!({"schema": schema})))
        .collect();
    json!({"content": content, "required": true})
}

fn ok(codes: &[(&str, &str)], schema: Value) -> Value {
    let content: Map<String, Value> = MEDIA
        .iter()
        .map(|m| ((*m).to_owned(), json!({"schema": schema})))
        .collect();
    let mut out = Map::new();
    for (code, description) in codes {
        out.insert(
            (*code).to_owned(),
            json!({"description": description, "content": content}),
        );
    }
    out.insert("401".to_owned(), json!({"description": "Unauthorized"}));
    Value::Object(out)
}
