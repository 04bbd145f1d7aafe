//! `quarry hash-password`: the SCRAM-SHA-256 verifier of a password, for a user's `password`
//! in `[[coordinator.users]]`. The password is read from standard input (one line), never from
//! a flag, which would show in `ps` and the shell history.

use std::io::BufRead;

use anyhow::{Context, Result, bail};
use quarry_server::coordinator::users::ScramVerifier;

/// Reads one line from `input` and returns its verifier's text.
pub fn hash_password(input: impl BufRead) -> Result<String> {
    let mut line = String::new();
    let mut input = input;
    input
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        bail!("no password on standard input: `echo -n 'PASSWORD' | quarry hash-password`");
    }
    Ok(ScramVerifier::from_password(password).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verifier_checks_the_line_read() {
        let text = hash_password("s3cret pass\n".as_bytes()).unwrap();
        assert!(text.starts_with("SCRAM-SHA-256$4096:"), "{text}");
        assert!(!text.contains("s3cret"));
        assert!(ScramVerifier::parse(&text).unwrap().verify("s3cret pass"));
        assert!(hash_password("".as_bytes()).is_err());
    }
}
