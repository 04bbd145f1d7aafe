//! [`SecretScrubber`]: replaces a catalog's secret values with `***` in everything a plugin can
//! make the host say: its errors, its validation messages, its log lines. Defence in depth: a
//! plugin that echoes a password, escaped, hex-encoded or base64-encoded, still does not get it
//! into a response or a log.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// What replaces a secret.
pub const REDACTED: &str = "***";

/// Encodings shorter than this are not searched for: a two-character "secret" would blank out
/// half of every message. The value itself always is.
const MIN_ENCODED_LEN: usize = 4;

/// The secret values of one catalog and their common encodings, longest first.
#[derive(Clone, Default)]
pub struct SecretScrubber {
    needles: Arc<[String]>,
}

impl std::fmt::Debug for SecretScrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretScrubber")
            .field("needles", &self.needles.len())
            .finish()
    }
}

impl SecretScrubber {
    /// A scrubber for `secrets` (empty values are ignored).
    pub fn new<S: AsRef<str>>(secrets: &[S]) -> Self {
        let mut needles = Vec::new();
        for secret in secrets {
            let secret = secret.as_ref();
            if secret.is_empty() {
                continue;
            }
            needles.push(secret.to_owned());
            let trimmed = secret.trim();
            let mut encoded = vec![trimmed.to_owned()];
            for value in [secret, trimmed] {
                let bytes = value.as_bytes();
                encoded.extend([
                    json_escaped(value),
                    format!("{value:?}").trim_matches('"').to_owned(),
                    hex::encode(bytes),
                    hex::encode_upper(bytes),
                    STANDARD.encode(bytes),
                    STANDARD_NO_PAD.encode(bytes),
                    URL_SAFE.encode(bytes),
                    URL_SAFE_NO_PAD.encode(bytes),
                    percent_encoded(value),
                ]);
            }
            needles.extend(
                encoded
                    .into_iter()
                    .filter(|needle| needle.len() >= MIN_ENCODED_LEN),
            );
        }
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        SecretScrubber {
            needles: needles.into(),
        }
    }

    /// Whether there is nothing to scrub.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `text` with every secret, in every encoding, replaced by [`REDACTED`].
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for needle in self.needles.iter() {
            if text.contains(needle.as_str()) {
                text = text.replace(needle.as_str(), REDACTED);
            }
        }
        text
    }
}

/// The inside of a JSON string holding `value`.
fn json_escaped(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// `value` percent-encoded as in a URL (unreserved characters kept).
fn percent_encoded(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_common_encoding_of_a_secret_is_scrubbed() {
        let secret = "\nP@ss \"w0rd\"";
        let scrubber = SecretScrubber::new(&[secret]);
        let trimmed = secret.trim();
        for leak in [
            secret.to_owned(),
            trimmed.to_owned(),
            serde_like_json(trimmed),
            format!("{secret:?}"),
            hex::encode(trimmed),
            hex::encode_upper(secret),
            STANDARD.encode(trimmed),
            URL_SAFE_NO_PAD.encode(secret),
            percent_encoded(trimmed),
        ] {
            let said = scrubber.scrub(&format!("bad value <{leak}> given"));
            assert!(said.contains(REDACTED), "{leak:?} → {said}");
            assert!(!said.contains("w0rd"), "{leak:?} → {said}");
            assert!(!said.contains(&hex::encode("w0rd")), "{leak:?} → {said}");
        }
        assert_eq!(scrubber.scrub("nothing here"), "nothing here");
    }

    fn serde_like_json(value: &str) -> String {
        format!("\"{}\"", json_escaped(value))
    }

    #[test]
    fn short_encodings_do_not_blank_out_messages() {
        let scrubber = SecretScrubber::new(&["ab", ""]);
        assert_eq!(scrubber.scrub("a tab, a b"), "a t***, a b");
        assert!(SecretScrubber::new::<&str>(&[]).is_empty());
    }
}
