use std::collections::BTreeSet;
use std::fs;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rudder_pki::{client_identity, ClusterPki, PkiError};
use rustls::pki_types::UnixTime;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use x509_parser::extensions::GeneralName;

use crate::{cert_der, TestResult};

const FILES: [&str; 6] = [
    "ca.crt",
    "ca.key",
    "server.crt",
    "server.key",
    "admin.crt",
    "admin.key",
];

fn hosts(list: &[&str]) -> Vec<String> {
    list.iter().map(|h| (*h).to_owned()).collect()
}

/// The PEMs in the order of `FILES`.
fn pems(pki: &ClusterPki) -> [String; 6] {
    [
        pki.ca_cert_pem(),
        pki.ca_key_pem(),
        pki.server_cert_pem(),
        pki.server_key_pem(),
        pki.admin_cert_pem(),
        pki.admin_key_pem(),
    ]
    .map(str::to_owned)
}

#[test]
fn first_start_writes_all_files_with_private_keys_0600() -> TestResult {
    let dir = tempfile::tempdir()?;
    let tls = dir.path().join("tls");
    let pki = ClusterPki::load_or_create(&tls, &hosts(&["node-1", "10.0.0.5"]))?;
    for (file, pem) in FILES.iter().zip(pems(&pki)) {
        let path = tls.join(file);
        assert_eq!(fs::read_to_string(&path)?, pem, "{file}");
        let mode = fs::metadata(&path)?.permissions().mode() & 0o777;
        if file.ends_with(".key") {
            assert_eq!(mode, 0o600, "{file}");
        }
    }
    assert_eq!(pki.dir(), tls);
    Ok(())
}

#[test]
fn second_start_reuses_identical_pems() -> TestResult {
    let dir = tempfile::tempdir()?;
    let hosts = hosts(&["node-1", "10.0.0.5"]);
    let first = ClusterPki::load_or_create(dir.path(), &hosts)?;
    let second = ClusterPki::load_or_create(dir.path(), &hosts)?;
    assert_eq!(pems(&first), pems(&second));
    Ok(())
}

#[test]
fn new_host_reissues_only_the_serving_cert() -> TestResult {
    let dir = tempfile::tempdir()?;
    let first = ClusterPki::load_or_create(dir.path(), &hosts(&["node-1"]))?;
    let second = ClusterPki::load_or_create(dir.path(), &hosts(&["node-1", "192.168.1.7"]))?;
    assert_eq!(first.ca_cert_pem(), second.ca_cert_pem());
    assert_eq!(first.ca_key_pem(), second.ca_key_pem());
    assert_eq!(first.admin_cert_pem(), second.admin_cert_pem());
    assert_ne!(first.server_cert_pem(), second.server_cert_pem());
    assert_ne!(first.server_key_pem(), second.server_key_pem());
    assert!(sans(second.server_cert_pem())?.contains("IP:192.168.1.7"));
    // Dropping a host keeps the certificate: it still covers everything asked for.
    let third = ClusterPki::load_or_create(dir.path(), &hosts(&["192.168.1.7"]))?;
    assert_eq!(second.server_cert_pem(), third.server_cert_pem());
    Ok(())
}

fn sans(cert_pem: &str) -> Result<BTreeSet<String>, Box<dyn std::error::Error>> {
    let der = cert_der(cert_pem)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)?;
    let ext = cert.subject_alternative_name()?.ok_or("no SAN extension")?;
    let mut out = BTreeSet::new();
    for name in &ext.value.general_names {
        match name {
            GeneralName::DNSName(dns) => out.insert(format!("DNS:{dns}")),
            GeneralName::IPAddress(bytes) => {
                let ip = match bytes.len() {
                    4 => IpAddr::from(<[u8; 4]>::try_from(*bytes)?),
                    _ => IpAddr::from(<[u8; 16]>::try_from(*bytes)?),
                };
                out.insert(format!("IP:{ip}"))
            }
            other => return Err(format!("unexpected SAN {other:?}").into()),
        };
    }
    Ok(out)
}

#[test]
fn serving_cert_carries_default_and_requested_sans() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = ClusterPki::load_or_create(dir.path(), &hosts(&["Node-1", "0.0.0.0", "::1", ""]))?;
    let expected: BTreeSet<String> = [
        "DNS:localhost",
        "DNS:kubernetes",
        "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc",
        "DNS:kubernetes.default.svc.cluster.local",
        "DNS:node-1",
        "IP:127.0.0.1",
        "IP:0.0.0.0",
        "IP:::1",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(sans(pki.server_cert_pem())?, expected);
    Ok(())
}

#[test]
fn ca_is_self_signed_rudder_ca_valid_ten_years() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = ClusterPki::load_or_create(dir.path(), &[])?;
    let der = cert_der(pki.ca_cert_pem())?;
    let (_, ca) = x509_parser::parse_x509_certificate(&der)?;
    assert!(ca.is_ca());
    assert_eq!(ca.subject(), ca.issuer());
    let cn = ca.subject().iter_common_name().next().ok_or("no CN")?;
    assert_eq!(cn.as_str()?, "rudder-ca");
    let years = (ca.validity().not_after.timestamp() - ca.validity().not_before.timestamp())
        / (365 * 24 * 3600);
    assert_eq!(years, 10);
    let usage = ca.key_usage()?.ok_or("no key usage")?;
    assert!(usage.value.key_cert_sign());
    Ok(())
}

#[test]
fn admin_cert_identity_is_system_admin_in_system_masters() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = ClusterPki::load_or_create(dir.path(), &[])?;
    let identity = client_identity(&cert_der(pki.admin_cert_pem())?)?;
    assert_eq!(identity.user, "system:admin");
    assert_eq!(identity.groups, vec!["system:masters".to_owned()]);
    Ok(())
}

fn ca_verifier(
    pki: &ClusterPki,
) -> Result<Arc<dyn ClientCertVerifier>, Box<dyn std::error::Error>> {
    let mut roots = RootCertStore::empty();
    roots.add(cert_der(pki.ca_cert_pem())?)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build()?)
}

#[test]
fn issued_client_cert_chains_to_the_ca_and_names_its_groups() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = ClusterPki::load_or_create(dir.path(), &[])?;
    let (cert_pem, key_pem) =
        pki.issue_client_cert("system:node:n1", &["system:nodes", "extra"])?;
    assert!(key_pem.contains("PRIVATE KEY"));
    let der = cert_der(&cert_pem)?;
    ca_verifier(&pki)?.verify_client_cert(&der, &[], UnixTime::now())?;
    let identity = client_identity(&der)?;
    assert_eq!(identity.user, "system:node:n1");
    assert_eq!(identity.groups, vec!["system:nodes", "extra"]);
    Ok(())
}

#[test]
fn client_cert_from_another_ca_does_not_verify() -> TestResult {
    let ours = tempfile::tempdir()?;
    let theirs = tempfile::tempdir()?;
    let pki = ClusterPki::load_or_create(ours.path(), &[])?;
    let foreign = ClusterPki::load_or_create(theirs.path(), &[])?;
    let der = cert_der(foreign.admin_cert_pem())?;
    assert!(ca_verifier(&pki)?
        .verify_client_cert(&der, &[], UnixTime::now())
        .is_err());
    Ok(())
}

#[test]
fn more_than_two_organizations_are_rejected() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = ClusterPki::load_or_create(dir.path(), &[])?;
    let result = pki.issue_client_cert("u", &["a", "b", "c"]);
    assert!(matches!(
        result,
        Err(PkiError::TooManyOrganizations { count: 3 })
    ));
    Ok(())
}

#[test]
fn leaf_certs_expiring_within_90_days_are_reissued_from_the_same_ca() -> TestResult {
    let dir = tempfile::tempdir()?;
    let now = SystemTime::now();
    let long_ago = now - Duration::from_secs(300 * 24 * 3600);
    let old = ClusterPki::load_or_create_at(dir.path(), &[], long_ago)?;
    let renewed = ClusterPki::load_or_create_at(dir.path(), &[], now)?;
    assert_eq!(old.ca_cert_pem(), renewed.ca_cert_pem());
    assert_ne!(old.server_cert_pem(), renewed.server_cert_pem());
    assert_ne!(old.admin_cert_pem(), renewed.admin_cert_pem());
    Ok(())
}

#[test]
fn mismatched_serving_key_is_repaired_by_reissuing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let first = ClusterPki::load_or_create(dir.path(), &[])?;
    // As if a crash happened between writing server.key and server.crt.
    fs::write(dir.path().join("server.key"), first.admin_key_pem())?;
    let second = ClusterPki::load_or_create(dir.path(), &[])?;
    assert_ne!(first.server_cert_pem(), second.server_cert_pem());
    assert_eq!(first.admin_cert_pem(), second.admin_cert_pem());
    Ok(())
}

#[test]
fn missing_ca_key_is_an_error_not_a_new_ca() -> TestResult {
    let dir = tempfile::tempdir()?;
    let first = ClusterPki::load_or_create(dir.path(), &[])?;
    fs::remove_file(dir.path().join("ca.key"))?;
    let result = ClusterPki::load_or_create(dir.path(), &[]);
    assert!(matches!(result, Err(PkiError::CaKeyMissing { .. })));
    assert_eq!(
        fs::read_to_string(dir.path().join("ca.crt"))?,
        first.ca_cert_pem()
    );
    Ok(())
}

#[test]
fn new_ca_reissues_every_leaf() -> TestResult {
    let dir = tempfile::tempdir()?;
    let first = ClusterPki::load_or_create(dir.path(), &[])?;
    fs::remove_file(dir.path().join("ca.crt"))?;
    let second = ClusterPki::load_or_create(dir.path(), &[])?;
    assert_ne!(first.ca_cert_pem(), second.ca_cert_pem());
    assert_ne!(first.server_cert_pem(), second.server_cert_pem());
    assert_ne!(first.admin_cert_pem(), second.admin_cert_pem());
    Ok(())
}

#[test]
fn invalid_host_name_is_rejected() -> TestResult {
    let dir = tempfile::tempdir()?;
    let result = ClusterPki::load_or_create(dir.path(), &hosts(&["bad\u{e9}host"]));
    assert!(matches!(result, Err(PkiError::InvalidHost { .. })));
    Ok(())
}

#[test]
fn cluster_pki_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ClusterPki>();
}
