//! Text normalization and stable content hashes used to deduplicate prompts and (later) pairs.

use sha2::{Digest, Sha256};
use std::borrow::Cow;
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// Unicode NFC, trimmed, every run of whitespace collapsed to one space. Case is kept: "Kill a
/// process" and "kill a process" are the same prompt to a human, but code and names are not.
pub fn normalize_text(text: &str) -> String {
    normalized(text).into_owned()
}

/// [`normalize_text`], borrowing `text` when it is already in normal form (the usual case: NFC
/// with single spaces), so hashing a million rows does not copy each of them twice.
pub fn normalized(text: &str) -> Cow<'_, str> {
    let nfc = if text.is_ascii() || is_nfc_quick(text.chars()) == IsNormalized::Yes {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfc().collect::<String>())
    };
    if single_spaced(&nfc) {
        nfc
    } else {
        Cow::Owned(nfc.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

/// Whether `text` has no whitespace but single spaces between other characters (what
/// `split_whitespace` joined with spaces gives back unchanged).
fn single_spaced(text: &str) -> bool {
    if text.starts_with(' ') || text.ends_with(' ') {
        return false;
    }
    let mut after_space = false;
    for c in text.chars() {
        if c == ' ' {
            if after_space {
                return false;
            }
            after_space = true;
        } else if c.is_whitespace() {
            return false;
        } else {
            after_space = false;
        }
    }
    true
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

    /// The definition the fast path must agree with: NFC, then whitespace runs collapsed.
    fn reference(text: &str) -> String {
        let nfc: String = text.nfc().collect();
        nfc.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn the_borrowing_fast_path_agrees_with_the_definition() {
        let cases = [
            "",
            " ",
            "plain ascii text",
            "two  spaces",
            " leading",
            "trailing ",
            "tab\there",
            "line\nbreak",
            "vertical\u{b}tab and form\u{c}feed",
            "no-break\u{a0}space",
            "ideographic\u{3000}space",
            "next line\u{85}here",
            "caf\u{e9} cr\u{e8}me",
            "cafe\u{301}",
            "\u{212b}ngstr\u{f6}m",
            "\u{1100}\u{1161}\u{11a8}",
            "e\u{301}\u{323} stacked marks",
            "\u{1e0b}\u{323}",
            "emoji \u{1f600} and \u{200b}zero width",
            "  \u{2003}mixed\u{2028}separators\r\n ",
        ];
        for case in cases {
            assert_eq!(normalize_text(case), reference(case), "{case:?}");
            assert_eq!(normalized(case), reference(case), "{case:?}");
        }
        assert!(matches!(normalized("already normal"), Cow::Borrowed(_)));
        assert!(matches!(normalized("caf\u{e9}"), Cow::Borrowed(_)));
    }

    #[test]
    fn stable_hash_matches_the_published_sha256_of_abc() {
        assert_eq!(
            stable_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
