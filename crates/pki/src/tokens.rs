//! Static bearer tokens, in upstream's `--token-auth-file` format.
//!
//! Each line is a CSV record `token,user,uid[,"group1,group2,..."]`. Blank lines and lines
//! starting with `#` are skipped. Fields may be quoted with `"`; a quoted field may hold commas
//! and doubled quotes (`""`).

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use crate::PkiError;

/// The user a static token authenticates as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUser {
    /// The user name.
    pub name: String,
    /// The user's UID.
    pub uid: String,
    /// The user's groups (empty when the column is absent).
    pub groups: Vec<String>,
}

/// What is wrong with one line of a token file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenLineError {
    /// Fewer than the three required columns (token, user name, uid).
    #[error("expected at least 3 columns (token, user name, uid), found {found}")]
    TooFewColumns {
        /// How many columns the line has.
        found: usize,
    },
    /// The token column is empty.
    #[error("the token column is empty")]
    EmptyToken,
    /// A quoted field is not closed before the end of the line.
    #[error("quoted field is not terminated")]
    UnterminatedQuote,
    /// A quote appears inside an unquoted field, or text follows a closing quote.
    #[error("stray quote in field {field}")]
    StrayQuote {
        /// The 1-based column of the field.
        field: usize,
    },
}

/// The tokens of a static token file, mapped to their users.
#[derive(Clone, Default)]
pub struct TokenFile {
    tokens: HashMap<String, TokenUser>,
}

impl fmt::Debug for TokenFile {
    /// Shows how many tokens there are, never the tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenFile")
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

impl TokenFile {
    /// Reads and parses the token file at `path`.
    ///
    /// When a token appears twice the later line wins, as upstream.
    ///
    /// # Errors
    /// [`PkiError::ReadFile`] when the file cannot be read, [`PkiError::TokenFileLine`] naming
    /// the first malformed line.
    pub fn load(path: &Path) -> Result<TokenFile, PkiError> {
        let text = std::fs::read_to_string(path).map_err(|source| PkiError::ReadFile {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|(line, problem)| PkiError::TokenFileLine {
            path: path.to_path_buf(),
            line,
            problem,
        })
    }

    /// Parses token file contents; an error carries the 1-based line number.
    fn parse(text: &str) -> Result<TokenFile, (usize, TokenLineError)> {
        let mut tokens = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (token, user) = parse_record(trimmed).map_err(|e| (line_no, e))?;
            if tokens.insert(token, user).is_some() {
                tracing::warn!(
                    line = line_no,
                    "duplicate token in token file; the later wins"
                );
            }
        }
        Ok(TokenFile { tokens })
    }

    /// Adds (or replaces) `token`, authenticating as `user`.
    pub fn insert(&mut self, token: impl Into<String>, user: TokenUser) {
        self.tokens.insert(token.into(), user);
    }

    /// The user `token` belongs to, if any.
    pub fn authenticate(&self, token: &str) -> Option<&TokenUser> {
        self.tokens.get(token)
    }

    /// How many tokens the file holds.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the file holds no tokens.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

fn parse_record(line: &str) -> Result<(String, TokenUser), TokenLineError> {
    let fields = split_csv(line)?;
    let [token, name, uid, rest @ ..] = fields.as_slice() else {
        return Err(TokenLineError::TooFewColumns {
            found: fields.len(),
        });
    };
    if token.is_empty() {
        return Err(TokenLineError::EmptyToken);
    }
    let groups = rest
        .first()
        .map(|g| {
            g.split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let user = TokenUser {
        name: name.clone(),
        uid: uid.clone(),
        groups,
    };
    Ok((token.clone(), user))
}

/// Splits one CSV line into fields, undoing quoting.
fn split_csv(line: &str) -> Result<Vec<String>, TokenLineError> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let field_no = fields.len() + 1;
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(TokenLineError::UnterminatedQuote),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            if !matches!(chars.peek(), None | Some(',')) {
                return Err(TokenLineError::StrayQuote { field: field_no });
            }
        } else {
            while let Some(&c) = chars.peek() {
                match c {
                    ',' => break,
                    '"' => return Err(TokenLineError::StrayQuote { field: field_no }),
                    _ => field.push(c),
                }
                chars.next();
            }
        }
        fields.push(field);
        if chars.next().is_none() {
            return Ok(fields);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserted_token_authenticates_as_its_user() {
        let mut file = TokenFile::default();
        let user = TokenUser {
            name: "system:node-agent".to_owned(),
            uid: String::new(),
            groups: vec!["system:nodes".to_owned()],
        };
        file.insert("secret", user.clone());
        assert_eq!(file.authenticate("secret"), Some(&user));
        assert_eq!(file.authenticate("other"), None);
    }

    #[test]
    fn split_csv_undoes_quotes_and_keeps_empty_fields() {
        assert_eq!(
            split_csv(r#"a,"b,c",,"d""e""#),
            Ok(vec![
                "a".to_owned(),
                "b,c".to_owned(),
                String::new(),
                "d\"e".to_owned()
            ])
        );
    }

    #[test]
    fn split_csv_rejects_stray_and_unterminated_quotes() {
        assert_eq!(
            split_csv(r#"a,b"c"#),
            Err(TokenLineError::StrayQuote { field: 2 })
        );
        assert_eq!(
            split_csv(r#"a,"b"c"#),
            Err(TokenLineError::StrayQuote { field: 2 })
        );
        assert_eq!(
            split_csv(r#"a,"bc"#),
            Err(TokenLineError::UnterminatedQuote)
        );
    }

    #[test]
    fn parse_reports_line_number_of_first_bad_line() {
        let text = "# comment\n\ntok,user,uid\ntok2,user2\n";
        assert_eq!(
            TokenFile::parse(text).map(|f| f.len()),
            Err((4, TokenLineError::TooFewColumns { found: 2 }))
        );
    }

    #[test]
    fn parse_rejects_empty_token() {
        assert_eq!(
            TokenFile::parse(",user,uid").map(|f| f.len()),
            Err((1, TokenLineError::EmptyToken))
        );
    }
}
