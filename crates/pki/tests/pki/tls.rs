use std::sync::Arc;

use rudder_pki::{client_identity, ClusterPki};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConnection};

use crate::{cert_der, key_der, TestResult};

/// A client config trusting `pki`'s CA, presenting `identity` (cert PEM, key PEM) if given.
fn client_config(
    pki: &ClusterPki,
    identity: Option<(&str, &str)>,
) -> Result<Arc<ClientConfig>, Box<dyn std::error::Error>> {
    let mut roots = RootCertStore::empty();
    roots.add(cert_der(pki.ca_cert_pem())?)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let mut config = match identity {
        Some((cert, key)) => builder.with_client_auth_cert(vec![cert_der(cert)?], key_der(key)?)?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Moves bytes between the two ends until neither has anything to say; errors end it.
fn handshake(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
) -> Result<(), Box<dyn std::error::Error>> {
    for _ in 0..20 {
        let mut progressed = false;
        while client.wants_write() {
            let mut buf = Vec::new();
            client.write_tls(&mut buf)?;
            let mut rest = buf.as_slice();
            while !rest.is_empty() {
                server.read_tls(&mut rest)?;
                server.process_new_packets()?;
            }
            progressed = true;
        }
        while server.wants_write() {
            let mut buf = Vec::new();
            server.write_tls(&mut buf)?;
            let mut rest = buf.as_slice();
            while !rest.is_empty() {
                client.read_tls(&mut rest)?;
                client.process_new_packets()?;
            }
            progressed = true;
        }
        if !progressed {
            break;
        }
    }
    if client.is_handshaking() || server.is_handshaking() {
        return Err("handshake did not complete".into());
    }
    Ok(())
}

fn connect(
    pki: &ClusterPki,
    identity: Option<(&str, &str)>,
    server_name: &str,
) -> Result<(ClientConnection, ServerConnection), Box<dyn std::error::Error>> {
    let name = ServerName::try_from(server_name.to_owned())?;
    let mut client = ClientConnection::new(client_config(pki, identity)?, name)?;
    let mut server = ServerConnection::new(pki.server_tls_config()?)?;
    handshake(&mut client, &mut server)?;
    Ok((client, server))
}

#[test]
fn handshake_with_admin_cert_lets_server_read_the_identity() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = ClusterPki::load_or_create(dir.path(), &[])?;
    let admin = (pki.admin_cert_pem(), pki.admin_key_pem());
    let (client, server) = connect(&pki, Some(admin), "kubernetes.default.svc")?;
    assert_eq!(client.alpn_protocol(), Some(&b"h2"[..]));
    let certs = server
        .peer_certificates()
        .ok_or("server saw no client cert")?;
    let identity = client_identity(&certs[0])?;
    assert_eq!(identity.user, "system:admin");
    assert_eq!(identity.groups, vec!["system:masters"]);
    Ok(())
}

#[test]
fn handshake_without_client_cert_succeeds_anonymously() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = ClusterPki::load_or_create(dir.path(), &["rudder-node".to_owned()])?;
    let (_client, server) = connect(&pki, None, "127.0.0.1")?;
    assert!(server.peer_certificates().is_none());
    let (_client, _server) = connect(&pki, None, "rudder-node")?;
    Ok(())
}

#[test]
fn handshake_with_cert_from_another_ca_fails() -> TestResult {
    let ours = tempfile::tempdir()?;
    let theirs = tempfile::tempdir()?;
    let pki = ClusterPki::load_or_create(ours.path(), &[])?;
    let foreign = ClusterPki::load_or_create(theirs.path(), &[])?;
    let stranger = (foreign.admin_cert_pem(), foreign.admin_key_pem());
    let err = connect(&pki, Some(stranger), "localhost")
        .err()
        .ok_or("handshake succeeded")?;
    assert!(err.to_string().contains("BadSignature"), "{err}");
    Ok(())
}

#[test]
fn handshake_for_a_name_outside_the_sans_fails() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pki = ClusterPki::load_or_create(dir.path(), &[])?;
    let err = connect(&pki, None, "example.com")
        .err()
        .ok_or("handshake succeeded")?;
    assert!(err.to_string().contains("not valid for name"), "{err}");
    Ok(())
}
