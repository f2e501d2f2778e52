use std::fs;

use rudder_pki::{PkiError, TokenFile, TokenLineError, TokenUser};

use crate::TestResult;

#[test]
fn token_file_maps_tokens_to_users_and_groups() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("tokens.csv");
    let text = "# static tokens\n\
                \n\
                abc123,alice,uid-1,\"system:masters,dev\"\n\
                def456,bob,uid-2\n\
                ghi789,carol,uid-3,viewers\n";
    fs::write(&path, text)?;
    let tokens = TokenFile::load(&path)?;
    assert_eq!(tokens.len(), 3);
    assert_eq!(
        tokens.authenticate("abc123"),
        Some(&TokenUser {
            name: "alice".to_owned(),
            uid: "uid-1".to_owned(),
            groups: vec!["system:masters".to_owned(), "dev".to_owned()],
        })
    );
    let bob = tokens.authenticate("def456").ok_or("bob missing")?;
    assert_eq!((bob.name.as_str(), bob.groups.len()), ("bob", 0));
    let carol = tokens.authenticate("ghi789").ok_or("carol missing")?;
    assert_eq!(carol.groups, vec!["viewers"]);
    assert_eq!(tokens.authenticate("abc12"), None);
    assert_eq!(tokens.authenticate(""), None);
    assert!(!format!("{tokens:?}").contains("abc123"));
    Ok(())
}

#[test]
fn token_file_bad_line_is_an_error_naming_the_line() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("tokens.csv");
    fs::write(&path, "abc,alice,uid-1\n# ok\nbroken-line\n")?;
    match TokenFile::load(&path) {
        Err(PkiError::TokenFileLine {
            line: 3, problem, ..
        }) => assert_eq!(problem, TokenLineError::TooFewColumns { found: 1 }),
        other => return Err(format!("expected a line 3 error, got {other:?}").into()),
    }
    Ok(())
}

#[test]
fn missing_token_file_is_a_read_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let result = TokenFile::load(&dir.path().join("absent.csv"));
    assert!(matches!(result, Err(PkiError::ReadFile { .. })));
    Ok(())
}
