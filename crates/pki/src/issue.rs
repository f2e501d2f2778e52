//! Building and signing certificates: the CA, serving and client certificates.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};

use crate::PkiError;

/// Common name of the cluster CA.
pub const CA_COMMON_NAME: &str = "rudder-ca";
/// Common name of the serving certificate.
const SERVING_COMMON_NAME: &str = "rudder-apiserver";

/// How long the CA is valid.
pub(crate) const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);
/// How long serving and client certificates are valid (upstream kubeadm: one year).
pub(crate) const LEAF_VALIDITY: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// Leaf certificates expiring sooner than this are reissued on start (as k3s does).
pub(crate) const RENEW_BEFORE: Duration = Duration::from_secs(90 * 24 * 60 * 60);
/// Certificates are valid from slightly before their creation, to tolerate clock skew.
const BACKDATE: Duration = Duration::from_secs(5 * 60);

/// The DNS names every serving certificate carries, as upstream's API server does.
const DEFAULT_DNS_NAMES: [&str; 5] = [
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
];

/// A subject alternative name, normalized for comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum San {
    /// A DNS name, lower-cased.
    Dns(String),
    /// An IP address.
    Ip(IpAddr),
}

impl San {
    /// Reads a host as an IP address if it parses as one (brackets allowed), else as a DNS name.
    pub(crate) fn from_host(host: &str) -> Self {
        let trimmed = host.trim();
        let unbracketed = trimmed
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(trimmed);
        match unbracketed.parse::<IpAddr>() {
            Ok(ip) => San::Ip(ip),
            Err(_) => San::Dns(trimmed.to_ascii_lowercase()),
        }
    }

    fn to_rcgen(&self) -> Result<SanType, PkiError> {
        Ok(match self {
            San::Ip(ip) => SanType::IpAddress(*ip),
            San::Dns(name) => SanType::DnsName(name.clone().try_into().map_err(|source| {
                PkiError::InvalidHost {
                    host: name.clone(),
                    source,
                }
            })?),
        })
    }
}

/// The SANs of the serving certificate: the defaults, `127.0.0.1`, then `hosts`, deduplicated
/// and sorted. Empty entries of `hosts` are ignored.
pub(crate) fn serving_sans(hosts: &[String]) -> Vec<San> {
    let mut sans: Vec<San> = DEFAULT_DNS_NAMES
        .iter()
        .map(|name| San::Dns((*name).to_owned()))
        .chain([San::Ip(IpAddr::from([127, 0, 0, 1]))])
        .chain(
            hosts
                .iter()
                .filter(|h| !h.trim().is_empty())
                .map(|h| San::from_host(h)),
        )
        .collect();
    sans.sort();
    sans.dedup();
    sans
}

/// Generates a fresh ECDSA P-256 key pair.
pub(crate) fn new_key() -> Result<KeyPair, PkiError> {
    KeyPair::generate().map_err(PkiError::GenerateKey)
}

/// Makes the self-signed cluster CA certificate for `key`, valid for ten years from `now`.
pub(crate) fn self_signed_ca(key: &KeyPair, now: SystemTime) -> Result<Certificate, PkiError> {
    let mut params = base_params(CA_COMMON_NAME, &[], now, CA_VALIDITY)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
        .self_signed(key)
        .map_err(|source| PkiError::SignCertificate { what: "CA", source })
}

/// Issues the serving certificate for `key` with `sans`, signed by `issuer`.
pub(crate) fn serving_cert(
    key: &KeyPair,
    sans: &[San],
    issuer: &Issuer<'_, KeyPair>,
    now: SystemTime,
) -> Result<Certificate, PkiError> {
    let mut params = base_params(SERVING_COMMON_NAME, &[], now, LEAF_VALIDITY)?;
    params.subject_alt_names = sans.iter().map(San::to_rcgen).collect::<Result<_, _>>()?;
    // ECDSA keys only sign; key encipherment applies to RSA key exchange.
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params
        .signed_by(key, issuer)
        .map_err(|source| PkiError::SignCertificate {
            what: "serving",
            source,
        })
}

/// Issues a client certificate for `key` whose subject is CN=`common_name` and one O per
/// entry of `organizations` (how Kubernetes reads user and groups), signed by `issuer`.
pub(crate) fn client_cert(
    key: &KeyPair,
    common_name: &str,
    organizations: &[&str],
    issuer: &Issuer<'_, KeyPair>,
    now: SystemTime,
) -> Result<Certificate, PkiError> {
    let mut params = base_params(common_name, organizations, now, LEAF_VALIDITY)?;
    // ECDSA keys only sign; key encipherment applies to RSA key exchange.
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    params
        .signed_by(key, issuer)
        .map_err(|source| PkiError::SignCertificate {
            what: "client",
            source,
        })
}

/// At most this many organizations (O entries, i.e. groups) fit in one certificate subject:
/// rcgen 0.14 keeps one value per attribute key, and two keys encode organizationName.
pub const MAX_ORGANIZATIONS: usize = 2;

/// The OID of the organizationName attribute (2.5.4.10).
const ORGANIZATION_OID: [u64; 4] = [2, 5, 4, 10];

/// Builds CN=`common_name` plus one O attribute per organization.
///
/// rcgen 0.14 keeps one value per attribute type, keyed by `DnType`. `OrganizationName` and
/// `CustomDnType(2.5.4.10)` are distinct keys that encode the same attribute type, which gives
/// room for two organizations; more are rejected rather than silently dropped.
fn subject(common_name: &str, organizations: &[&str]) -> Result<DistinguishedName, PkiError> {
    if organizations.len() > MAX_ORGANIZATIONS {
        return Err(PkiError::TooManyOrganizations {
            count: organizations.len(),
        });
    }
    let mut name = DistinguishedName::new();
    let keys = [
        DnType::OrganizationName,
        DnType::CustomDnType(ORGANIZATION_OID.to_vec()),
    ];
    for (key, org) in keys.into_iter().zip(organizations) {
        name.push(key, *org);
    }
    name.push(DnType::CommonName, common_name);
    Ok(name)
}

fn base_params(
    common_name: &str,
    organizations: &[&str],
    now: SystemTime,
    validity: Duration,
) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = subject(common_name, organizations)?;
    params.not_before = now.checked_sub(BACKDATE).unwrap_or(now).into();
    params.not_after = now.checked_add(validity).unwrap_or(now).into();
    Ok(params)
}
