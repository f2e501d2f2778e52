//! Reading certificates back: PEM decoding, SANs, subject identity, key and issuer checks.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{KeyPair, PublicKeyData};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use crate::issue::San;
use crate::PkiError;

/// Who a client certificate says its holder is, read as upstream Kubernetes does: the user is
/// the subject's common name, the groups are its organization entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The user name (subject CN).
    pub user: String,
    /// The groups (subject O entries, in order).
    pub groups: Vec<String>,
}

/// Reads the identity from a client certificate in DER form.
///
/// This only parses: the TLS layer must already have verified the chain to the cluster CA.
///
/// # Errors
/// [`PkiError::ParseCertificate`] when `cert_der` is not a certificate,
/// [`PkiError::ReadSubject`] when a CN or O value is not a string, and
/// [`PkiError::MissingCommonName`] when the subject has no CN.
pub fn client_identity(cert_der: &[u8]) -> Result<ClientIdentity, PkiError> {
    let cert = parse_der(cert_der, "client certificate")?;
    let subject = cert.subject();
    let user = subject
        .iter_common_name()
        .next()
        .ok_or(PkiError::MissingCommonName)?
        .as_str()
        .map_err(PkiError::ReadSubject)?
        .to_owned();
    let groups = subject
        .iter_organization()
        .map(|attr| attr.as_str().map(str::to_owned))
        .collect::<Result<_, _>>()
        .map_err(PkiError::ReadSubject)?;
    Ok(ClientIdentity { user, groups })
}

/// Decodes the first certificate of a PEM document to DER.
pub(crate) fn cert_der_from_pem(
    pem: &str,
    what: &str,
) -> Result<CertificateDer<'static>, PkiError> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .next()
        .ok_or_else(|| PkiError::MissingPemItem {
            what: what.to_owned(),
            expected: "certificate",
        })?
        .map_err(|source| PkiError::DecodePem {
            what: what.to_owned(),
            source,
        })
}

/// Decodes the first private key of a PEM document to DER.
pub(crate) fn key_der_from_pem(pem: &str, what: &str) -> Result<PrivateKeyDer<'static>, PkiError> {
    rustls_pemfile::private_key(&mut pem.as_bytes())
        .map_err(|source| PkiError::DecodePem {
            what: what.to_owned(),
            source,
        })?
        .ok_or_else(|| PkiError::MissingPemItem {
            what: what.to_owned(),
            expected: "private key",
        })
}

/// Parses a DER certificate, naming it `what` in errors.
pub(crate) fn parse_der<'a>(der: &'a [u8], what: &str) -> Result<X509Certificate<'a>, PkiError> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, cert)| cert)
        .map_err(|source| PkiError::ParseCertificate {
            what: what.to_owned(),
            source,
        })
}

/// The DNS and IP subject alternative names of `cert`.
pub(crate) fn sans_of(cert: &X509Certificate<'_>, what: &str) -> Result<BTreeSet<San>, PkiError> {
    let ext = cert
        .subject_alternative_name()
        .map_err(|source| PkiError::ReadSans {
            what: what.to_owned(),
            source,
        })?;
    let names = ext.map(|e| e.value.general_names.as_slice()).unwrap_or(&[]);
    Ok(names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(San::Dns(dns.to_ascii_lowercase())),
            GeneralName::IPAddress(bytes) => ip_from_bytes(bytes).map(San::Ip),
            _ => None,
        })
        .collect())
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// Whether `key` is the private key of `cert`.
pub(crate) fn key_matches(cert: &X509Certificate<'_>, key: &KeyPair) -> bool {
    key.subject_public_key_info() == cert.public_key().raw
}

/// Whether `cert` carries a valid signature by the key of `ca`.
pub(crate) fn signed_by(cert: &X509Certificate<'_>, ca: &X509Certificate<'_>) -> bool {
    cert.verify_signature(Some(ca.public_key())).is_ok()
}

/// Whether `cert` is still valid at `at`.
pub(crate) fn valid_at(cert: &X509Certificate<'_>, at: SystemTime) -> bool {
    let secs = match at.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    let validity = cert.validity();
    validity.not_before.timestamp() <= secs && secs <= validity.not_after.timestamp()
}
