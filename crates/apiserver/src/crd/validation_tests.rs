use super::*;

fn crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "crontabs.stable.example.com"},
        "spec": {"group": "stable.example.com", "scope": "Namespaced",
            "names": {"plural": "crontabs", "kind": "CronTab", "shortNames": ["ct"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object", "properties": {"cronSpec": {"type": "string"}}}}}},
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
                "additionalPrinterColumns": [{"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"}]}]}
    })
}

fn fields(obj: &Value) -> Vec<String> {
    let mut obj = obj.clone();
    default_definition(&mut obj);
    validate_definition(&obj, None)
        .into_iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect()
}

#[test]
fn a_complete_crd_is_valid_and_defaults_its_names_and_conversion() {
    let mut obj = crd();
    default_definition(&mut obj);
    assert_eq!(obj["spec"]["names"]["singular"], json!("crontab"));
    assert_eq!(obj["spec"]["names"]["listKind"], json!("CronTabList"));
    assert_eq!(obj["spec"]["conversion"], json!({"strategy": "None"}));
    assert_eq!(fields(&obj), Vec::<String>::new());
}

#[test]
fn name_must_be_plural_dot_group() {
    let mut obj = crd();
    obj["metadata"]["name"] = json!("crontab.stable.example.com");
    assert_eq!(
        fields(&obj),
        vec![
            r#"metadata.name: Invalid value: "crontab.stable.example.com": must be spec.names.plural+"."+spec.group"#
        ]
    );
}

#[test]
fn missing_plural_and_kind_are_required() {
    let mut obj = crd();
    obj["spec"]["names"] = json!({"plural": "", "kind": ""});
    let got = fields(&obj);
    assert!(
        got.contains(&"spec.names.plural: Required value".to_owned()),
        "{got:?}"
    );
    assert!(
        got.contains(&"spec.names.kind: Required value".to_owned()),
        "{got:?}"
    );
}

#[test]
fn exactly_one_storage_version_and_a_schema_are_required() {
    let mut obj = crd();
    obj["spec"]["versions"] = json!([
        {"name": "v1", "served": true, "storage": true},
        {"name": "v2", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object"}}}
    ]);
    let got = fields(&obj);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0].starts_with("spec.versions: Invalid value: ")
            && got[0].ends_with("must have exactly one version marked as storage version")
    );
    assert_eq!(
        got[1],
        "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"
    );
}

#[test]
fn groups_need_a_dot_and_protected_groups_an_approval() {
    let mut obj = crd();
    obj["spec"]["group"] = json!("example");
    obj["metadata"]["name"] = json!("crontabs.example");
    assert_eq!(
        fields(&obj),
        vec![r#"spec.group: Invalid value: "example": should be a domain with at least one dot"#]
    );
    obj["spec"]["group"] = json!("x.k8s.io");
    obj["metadata"]["name"] = json!("crontabs.x.k8s.io");
    assert_eq!(fields(&obj).len(), 1);
}

#[test]
fn scale_paths_and_printer_columns_are_checked() {
    let mut obj = crd();
    obj["spec"]["versions"][0]["subresources"]["scale"]["specReplicasPath"] =
        json!(".status.replicas");
    obj["spec"]["versions"][0]["additionalPrinterColumns"][0]["type"] = json!("text");
    let got = fields(&obj);
    assert_eq!(got, vec![
        r#"spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".status.replicas": should be a json path under .spec"#.to_owned(),
        r#"spec.versions[0].additionalPrinterColumns[0].type: Unsupported value: "text": supported values: "integer", "number", "string", "boolean", "date""#.to_owned(),
    ]);
}

#[test]
fn scope_and_group_are_immutable() {
    let mut old = crd();
    default_definition(&mut old);
    let mut new = old.clone();
    new["spec"]["scope"] = json!("Cluster");
    let got: Vec<String> = validate_definition(&new, Some(&old))
        .into_iter()
        .map(|c| c.field)
        .collect();
    assert_eq!(got, vec!["spec.scope".to_owned()]);
}
