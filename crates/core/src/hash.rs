//! Text normalization and stable content hashes used to deduplicate prompts and (later) pairs.

use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

/// Unicode NFC, trimmed, every run of whitespace collapsed to one space. Case is kept: "Kill a
/// process" and "kill a process" are the same prompt to a human, but code and names are not.
pub fn normalize_text(text: &str) -> String {
    let nfc: String = text.nfc().collect();
    nfc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lowercase hex sha256 of the bytes.
pub fn stable_hash(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(Sha256::digest(bytes.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_and_unicode_forms_do_not_change_the_normal_form() {
        assert_eq!(
            normalize_text("  How can I\tkill a\n\nPython process? "),
            "How can I kill a Python process?"
        );
        // "é" precomposed vs "e" + combining acute accent.
        assert_eq!(normalize_text("caf\u{e9}"), normalize_text("cafe\u{301}"));
        assert_ne!(normalize_text("Kill"), normalize_text("kill"));
    }

    #[test]
    fn stable_hash_matches_the_published_sha256_of_abc() {
        assert_eq!(
            stable_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
