use std::fs;
use std::os::unix::fs::PermissionsExt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rudder_pki::{write_admin_kubeconfig, ClusterPki, Kubeconfig};

use crate::TestResult;

#[test]
fn admin_kubeconfig_parses_back_with_ca_and_admin_credentials() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = ClusterPki::load_or_create(&dir.path().join("tls"), &[])?;
    let path = dir.path().join("admin.kubeconfig");
    write_admin_kubeconfig(&path, "https://127.0.0.1:6443", &pki)?;
    assert_eq!(fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);

    let text = fs::read_to_string(&path)?;
    let config: Kubeconfig = serde_yaml::from_str(&text)?;
    assert_eq!(
        (config.api_version.as_str(), config.kind.as_str()),
        ("v1", "Config")
    );
    assert_eq!(config.current_context, "rudder");
    let cluster = &config.clusters[0];
    assert_eq!(cluster.name, "rudder");
    assert_eq!(cluster.cluster.server, "https://127.0.0.1:6443");
    let ca = cluster
        .cluster
        .certificate_authority_data
        .as_deref()
        .ok_or("no CA data")?;
    assert_eq!(BASE64.decode(ca)?, pki.ca_cert_pem().as_bytes());
    let user = &config.users[0];
    assert_eq!(user.name, "admin");
    let cert = user
        .user
        .client_certificate_data
        .as_deref()
        .ok_or("no cert")?;
    assert_eq!(BASE64.decode(cert)?, pki.admin_cert_pem().as_bytes());
    let key = user.user.client_key_data.as_deref().ok_or("no key")?;
    assert_eq!(BASE64.decode(key)?, pki.admin_key_pem().as_bytes());
    let context = &config.contexts[0];
    assert_eq!(
        (
            context.name.as_str(),
            context.context.cluster.as_str(),
            context.context.user.as_str()
        ),
        ("rudder", "rudder", "admin")
    );
    Ok(())
}

#[test]
fn admin_kubeconfig_uses_upstream_kebab_case_keys() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = ClusterPki::load_or_create(dir.path(), &[])?;
    let yaml = serde_yaml::to_string(&Kubeconfig::admin("https://h:6443", &pki))?;
    for key in [
        "apiVersion: v1",
        "kind: Config",
        "current-context: rudder",
        "certificate-authority-data:",
        "client-certificate-data:",
        "client-key-data:",
    ] {
        assert!(yaml.contains(key), "{key} missing from\n{yaml}");
    }
    Ok(())
}
