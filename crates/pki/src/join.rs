//! The node join token, in k3s's format: `K10<sha256 of the CA certificate PEM>::<user>:<secret>`.
//!
//! The server writes it to `DATA_DIR/node-token`. An agent holding it fetches the CA from the
//! server's public `/cacerts` over an unverified connection, checks the CA's hash against the
//! token (so a man in the middle cannot substitute its own CA), and from then on trusts only
//! that CA and presents the secret as a bearer token.

use std::fmt;
use std::path::Path;

use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};

use crate::files::{read_optional, write_atomic, PRIVATE_MODE};
use crate::PkiError;

/// The prefix of every full join token (k3s's token format version 1.0).
const PREFIX: &str = "K10";
/// The user part of tokens the server writes, as k3s's `server:` tokens.
pub const JOIN_TOKEN_USER: &str = "server";
/// Random bytes in a new secret (hex-encoded, so the secret has twice as many characters).
const SECRET_BYTES: usize = 16;

/// What is wrong with a join token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinTokenError {
    /// The token does not start with `K10`.
    #[error("the join token does not start with {PREFIX}")]
    MissingPrefix,
    /// No `::` separates the CA hash from the credentials.
    #[error("the join token has no `::` between the CA hash and the credentials")]
    MissingSeparator,
    /// The CA hash is not 64 lowercase hex digits.
    #[error("the CA hash of the join token is not a hex SHA-256")]
    InvalidCaHash,
    /// The credentials are not `user:secret` with both parts non-empty.
    #[error("the credentials of the join token are not `user:secret`")]
    InvalidCredentials,
    /// The system random generator failed.
    #[error("generating a random secret")]
    Random,
}

/// A parsed join token.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinToken {
    ca_hash: String,
    user: String,
    secret: String,
}

impl fmt::Debug for JoinToken {
    /// Shows the CA hash and user, never the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinToken")
            .field("ca_hash", &self.ca_hash)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for JoinToken {
    /// The token as the server writes it and `--token` takes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}::{}:{}", self.ca_hash, self.user, self.secret)
    }
}

/// The lowercase hex SHA-256 of a CA bundle, as k3s pins it.
pub fn ca_hash(ca_pem: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, ca_pem).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl JoinToken {
    /// A token for `ca_pem` with a new random secret.
    ///
    /// # Errors
    /// [`JoinTokenError::Random`] when the system random generator fails.
    pub fn generate(ca_pem: &[u8]) -> Result<JoinToken, JoinTokenError> {
        let mut bytes = [0u8; SECRET_BYTES];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| JoinTokenError::Random)?;
        Ok(JoinToken {
            ca_hash: ca_hash(ca_pem),
            user: JOIN_TOKEN_USER.to_owned(),
            secret: hex(&bytes),
        })
    }

    /// Parses `K10<hash>::<user>:<secret>` (surrounding whitespace ignored).
    ///
    /// # Errors
    /// The [`JoinTokenError`] naming what is malformed.
    pub fn parse(text: &str) -> Result<JoinToken, JoinTokenError> {
        let rest = text
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(JoinTokenError::MissingPrefix)?;
        let (hash, credentials) = rest
            .split_once("::")
            .ok_or(JoinTokenError::MissingSeparator)?;
        let hex_digit = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
        if hash.len() != 64 || !hash.chars().all(hex_digit) {
            return Err(JoinTokenError::InvalidCaHash);
        }
        let (user, secret) = credentials
            .split_once(':')
            .filter(|(u, s)| !u.is_empty() && !s.is_empty())
            .ok_or(JoinTokenError::InvalidCredentials)?;
        Ok(JoinToken {
            ca_hash: hash.to_owned(),
            user: user.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// Whether `ca_pem` is the CA this token was made for.
    pub fn ca_matches(&self, ca_pem: &[u8]) -> bool {
        ca_hash(ca_pem) == self.ca_hash
    }

    /// The secret an agent presents as its bearer token.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Reads the token at `path`, or writes a new one (mode 0600) when there is none or it was
    /// made for another CA; an existing secret is kept so joined agents stay valid.
    ///
    /// # Errors
    /// [`PkiError::ReadFile`], [`PkiError::WriteFile`] and [`PkiError::JoinToken`].
    pub fn load_or_create(path: &Path, ca_pem: &str) -> Result<JoinToken, PkiError> {
        let invalid = |source| PkiError::JoinToken {
            path: path.to_path_buf(),
            source,
        };
        let existing = read_optional(path)?
            .map(|text| JoinToken::parse(&text))
            .transpose()
            .map_err(invalid)?;
        let hash = ca_hash(ca_pem.as_bytes());
        let token = match existing {
            Some(token) if token.ca_hash == hash => return Ok(token),
            Some(token) => JoinToken {
                ca_hash: hash,
                ..token
            },
            None => JoinToken::generate(ca_pem.as_bytes()).map_err(invalid)?,
        };
        write_atomic(path, format!("{token}\n").as_bytes(), PRIVATE_MODE)?;
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &[u8] = b"-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n";

    #[test]
    fn generated_token_round_trips_through_its_text() {
        let token = JoinToken::generate(CA).unwrap();
        let text = token.to_string();
        assert!(text.starts_with("K10"));
        assert!(text.contains("::server:"));
        assert_eq!(JoinToken::parse(&text).unwrap(), token);
        assert_eq!(token.secret().len(), 2 * SECRET_BYTES);
    }

    #[test]
    fn token_matches_only_its_own_ca() {
        let token = JoinToken::generate(CA).unwrap();
        assert!(token.ca_matches(CA));
        assert!(!token.ca_matches(b"another CA"));
    }

    #[test]
    fn malformed_tokens_name_their_problem() {
        let hash = ca_hash(CA);
        assert_eq!(JoinToken::parse("abc"), Err(JoinTokenError::MissingPrefix));
        assert_eq!(
            JoinToken::parse(&format!("K10{hash}server:x")),
            Err(JoinTokenError::MissingSeparator)
        );
        assert_eq!(
            JoinToken::parse("K10abc::server:x"),
            Err(JoinTokenError::InvalidCaHash)
        );
        assert_eq!(
            JoinToken::parse(&format!("K10{hash}::server")),
            Err(JoinTokenError::InvalidCredentials)
        );
        assert_eq!(
            JoinToken::parse(&format!("K10{hash}::server:")),
            Err(JoinTokenError::InvalidCredentials)
        );
    }

    #[test]
    fn load_or_create_keeps_the_secret_and_follows_a_new_ca() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node-token");
        let first = JoinToken::load_or_create(&path, "ca one").unwrap();
        assert_eq!(JoinToken::load_or_create(&path, "ca one").unwrap(), first);
        let rotated = JoinToken::load_or_create(&path, "ca two").unwrap();
        assert_eq!(rotated.secret(), first.secret());
        assert!(rotated.ca_matches(b"ca two"));
        let on_disk = std::fs::read_to_string(&path).unwrap();
        assert_eq!(JoinToken::parse(&on_disk).unwrap(), rotated);
    }
}
