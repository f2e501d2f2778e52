//! The cluster's certificate authority and the certificates the control plane needs, kept as
//! PEM files in one directory.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rcgen::{Issuer, KeyPair};
use x509_parser::certificate::X509Certificate;

use crate::files::{read_optional, write_atomic, PRIVATE_MODE, PUBLIC_MODE};
use crate::inspect::{cert_der_from_pem, key_matches, parse_der, sans_of, signed_by, valid_at};
use crate::issue::{self, San, RENEW_BEFORE};
use crate::PkiError;

/// File name of the CA certificate.
pub const CA_CERT_FILE: &str = "ca.crt";
/// File name of the CA private key.
pub const CA_KEY_FILE: &str = "ca.key";
/// File name of the API server's serving certificate.
pub const SERVER_CERT_FILE: &str = "server.crt";
/// File name of the API server's serving key.
pub const SERVER_KEY_FILE: &str = "server.key";
/// File name of the admin client certificate.
pub const ADMIN_CERT_FILE: &str = "admin.crt";
/// File name of the admin client key.
pub const ADMIN_KEY_FILE: &str = "admin.key";

/// User name of the admin client certificate.
pub const ADMIN_USER: &str = "system:admin";
/// Group of the admin client certificate; upstream RBAC binds it to `cluster-admin`.
pub const ADMIN_GROUP: &str = "system:masters";

/// A certificate and its private key, both PEM.
#[derive(Clone, PartialEq, Eq)]
struct PemPair {
    cert: String,
    key: String,
}

/// The cluster's PKI: a CA, the API server's serving certificate and the admin client
/// certificate, loaded from (or first written to) one directory.
pub struct ClusterPki {
    dir: PathBuf,
    ca: PemPair,
    server: PemPair,
    admin: PemPair,
    issuer: Issuer<'static, KeyPair>,
}

impl fmt::Debug for ClusterPki {
    /// Shows the directory only; keys never reach logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterPki")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl ClusterPki {
    /// Loads the PKI from `dir`, creating whatever is missing.
    ///
    /// On first start this makes the CA (`ca.crt`, `ca.key`), the serving certificate
    /// (`server.crt`, `server.key`) and the admin client certificate (`admin.crt`,
    /// `admin.key`). Later starts reuse them. The serving certificate is reissued from the same
    /// CA when it lacks a subject alternative name for one of `hosts` (each read as an IP
    /// address if it parses as one, else as a DNS name). A leaf certificate is also reissued
    /// when its files are missing or unreadable, its key does not match, it was not signed by
    /// the CA, or it expires within 90 days. Key files are written with mode 0600, every file
    /// atomically.
    ///
    /// # Errors
    /// I/O failures ([`PkiError::CreateDir`], [`PkiError::ReadFile`], [`PkiError::WriteFile`]),
    /// an unusable CA ([`PkiError::CaKeyMissing`], [`PkiError::CaKeyMismatch`],
    /// [`PkiError::ParseKey`], [`PkiError::ParseCertificate`]) and an invalid host
    /// ([`PkiError::InvalidHost`]).
    pub fn load_or_create(dir: &Path, hosts: &[String]) -> Result<ClusterPki, PkiError> {
        Self::load_or_create_at(dir, hosts, SystemTime::now())
    }

    /// [`ClusterPki::load_or_create`] with the current time given, for tests and tools.
    ///
    /// # Errors
    /// As [`ClusterPki::load_or_create`].
    pub fn load_or_create_at(
        dir: &Path,
        hosts: &[String],
        now: SystemTime,
    ) -> Result<ClusterPki, PkiError> {
        std::fs::create_dir_all(dir).map_err(|source| PkiError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let (ca, ca_created) = load_or_create_ca(dir, now)?;
        let ca_der = cert_der_from_pem(&ca.cert, CA_CERT_FILE)?;
        let ca_cert = parse_der(&ca_der, CA_CERT_FILE)?;
        let ca_key = KeyPair::from_pem(&ca.key).map_err(|source| PkiError::ParseKey {
            what: CA_KEY_FILE.to_owned(),
            source,
        })?;
        let issuer =
            Issuer::from_ca_cert_pem(&ca.cert, ca_key).map_err(|source| PkiError::LoadIssuer {
                what: CA_CERT_FILE.to_owned(),
                source,
            })?;
        let leaves = Leaves {
            dir,
            ca: &ca_cert,
            now,
            force: ca_created,
        };
        let sans = issue::serving_sans(hosts);
        let server = leaves.ensure(SERVER_CERT_FILE, SERVER_KEY_FILE, Some(&sans), |key| {
            issue::serving_cert(key, &sans, &issuer, now)
        })?;
        let admin = leaves.ensure(ADMIN_CERT_FILE, ADMIN_KEY_FILE, None, |key| {
            issue::client_cert(key, ADMIN_USER, &[ADMIN_GROUP], &issuer, now)
        })?;
        Ok(ClusterPki {
            dir: dir.to_path_buf(),
            ca,
            server,
            admin,
            issuer,
        })
    }

    /// Issues a new client certificate signed by the cluster CA, valid for one year, with
    /// subject CN=`common_name` (the user) and one O per entry of `organizations` (the
    /// groups). Nothing is written to disk.
    ///
    /// Returns `(certificate PEM, private key PEM)`.
    ///
    /// # Errors
    /// [`PkiError::TooManyOrganizations`] past [`crate::MAX_ORGANIZATIONS`] groups,
    /// [`PkiError::GenerateKey`] and [`PkiError::SignCertificate`].
    pub fn issue_client_cert(
        &self,
        common_name: &str,
        organizations: &[&str],
    ) -> Result<(String, String), PkiError> {
        let key = issue::new_key()?;
        let cert = issue::client_cert(
            &key,
            common_name,
            organizations,
            &self.issuer,
            SystemTime::now(),
        )?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// The directory the PEM files live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA certificate, PEM. Clients trust the cluster through it.
    pub fn ca_cert_pem(&self) -> &str {
        &self.ca.cert
    }

    /// The CA private key, PEM. Only signers (e.g. a CSR signing controller) need it.
    pub fn ca_key_pem(&self) -> &str {
        &self.ca.key
    }

    /// The API server's serving certificate, PEM.
    pub fn server_cert_pem(&self) -> &str {
        &self.server.cert
    }

    /// The API server's serving private key, PEM.
    pub fn server_key_pem(&self) -> &str {
        &self.server.key
    }

    /// The admin client certificate (`system:admin`, group `system:masters`), PEM.
    pub fn admin_cert_pem(&self) -> &str {
        &self.admin.cert
    }

    /// The admin client private key, PEM.
    pub fn admin_key_pem(&self) -> &str {
        &self.admin.key
    }
}

/// Loads `ca.crt`/`ca.key`, or makes and writes a new CA when `ca.crt` is absent. Returns
/// whether it was created.
fn load_or_create_ca(dir: &Path, now: SystemTime) -> Result<(PemPair, bool), PkiError> {
    let cert_path = dir.join(CA_CERT_FILE);
    let key_path = dir.join(CA_KEY_FILE);
    if let Some(cert) = read_optional(&cert_path)? {
        let key = read_optional(&key_path)?.ok_or_else(|| PkiError::CaKeyMissing {
            cert: cert_path.clone(),
            key: key_path.clone(),
        })?;
        let key_pair = KeyPair::from_pem(&key).map_err(|source| PkiError::ParseKey {
            what: CA_KEY_FILE.to_owned(),
            source,
        })?;
        let der = cert_der_from_pem(&cert, CA_CERT_FILE)?;
        if !key_matches(&parse_der(&der, CA_CERT_FILE)?, &key_pair) {
            return Err(PkiError::CaKeyMismatch {
                cert: cert_path,
                key: key_path,
            });
        }
        return Ok((PemPair { cert, key }, false));
    }
    tracing::info!(dir = %dir.display(), "creating cluster CA");
    let key = issue::new_key()?;
    let cert = issue::self_signed_ca(&key, now)?;
    let pair = PemPair {
        cert: cert.pem(),
        key: key.serialize_pem(),
    };
    // Key first: `ca.crt` is what marks the CA as present.
    write_atomic(&key_path, pair.key.as_bytes(), PRIVATE_MODE)?;
    write_atomic(&cert_path, pair.cert.as_bytes(), PUBLIC_MODE)?;
    Ok((pair, true))
}

/// What deciding about and issuing leaf certificates needs.
struct Leaves<'a> {
    dir: &'a Path,
    ca: &'a X509Certificate<'a>,
    now: SystemTime,
    /// Reissue regardless of what is on disk (the CA is new).
    force: bool,
}

impl Leaves<'_> {
    /// Returns the pair in `cert_file`/`key_file` if it can be reused, else issues a new one
    /// with `sign` and writes it (key first, so a crash between leaves a mismatch that the
    /// next start repairs).
    fn ensure(
        &self,
        cert_file: &str,
        key_file: &str,
        sans: Option<&[San]>,
        sign: impl FnOnce(&KeyPair) -> Result<rcgen::Certificate, PkiError>,
    ) -> Result<PemPair, PkiError> {
        let cert_path = self.dir.join(cert_file);
        let key_path = self.dir.join(key_file);
        let existing = match (read_optional(&cert_path)?, read_optional(&key_path)?) {
            (Some(cert), Some(key)) => Some(PemPair { cert, key }),
            _ => None,
        };
        let reason = match existing {
            Some(pair) if !self.force => match self.reissue_reason(&pair, cert_file, sans) {
                None => return Ok(pair),
                Some(reason) => reason,
            },
            Some(_) => "the CA is new",
            None => "files missing",
        };
        tracing::info!(cert = cert_file, reason, "issuing certificate");
        let key = issue::new_key()?;
        let cert = sign(&key)?;
        let pair = PemPair {
            cert: cert.pem(),
            key: key.serialize_pem(),
        };
        write_atomic(&key_path, pair.key.as_bytes(), PRIVATE_MODE)?;
        write_atomic(&cert_path, pair.cert.as_bytes(), PUBLIC_MODE)?;
        Ok(pair)
    }

    /// Why an existing pair must be replaced, or `None` to reuse it.
    fn reissue_reason(
        &self,
        pair: &PemPair,
        what: &str,
        sans: Option<&[San]>,
    ) -> Option<&'static str> {
        let Ok(der) = cert_der_from_pem(&pair.cert, what) else {
            return Some("certificate unreadable");
        };
        let Ok(cert) = parse_der(&der, what) else {
            return Some("certificate unparsable");
        };
        let Ok(key) = KeyPair::from_pem(&pair.key) else {
            return Some("key unreadable");
        };
        if !key_matches(&cert, &key) {
            return Some("key does not match certificate");
        }
        if !signed_by(&cert, self.ca) {
            return Some("not signed by the CA");
        }
        let renew_at = self.now.checked_add(RENEW_BEFORE).unwrap_or(self.now);
        if !valid_at(&cert, self.now) || !valid_at(&cert, renew_at) {
            return Some("expired or expiring soon");
        }
        if let Some(wanted) = sans {
            let Ok(present) = sans_of(&cert, what) else {
                return Some("subject alternative names unreadable");
            };
            if !wanted.iter().all(|san| present.contains(san)) {
                return Some("subject alternative names missing");
            }
        }
        None
    }
}
