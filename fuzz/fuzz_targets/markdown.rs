//! The Markdown view of untrusted answers: whatever the input, the sanitized HTML holds only
//! allowlisted tags, the attributes `href`, `title` and `rel` (and `start` on `ol`), and links with an http(s) or
//! mailto target. Text `<` is always escaped, so every literal `<` in the output opens a tag.
#![no_main]
use libfuzzer_sys::fuzz_target;

const TAGS: &[&str] = &[
    "p", "br", "em", "strong", "del", "code", "pre", "blockquote", "ul", "ol", "li", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td", "a",
];

fn check(html: &str) {
    let bytes = html.as_bytes();
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        let mut j = i + off + 1;
        if bytes.get(j) == Some(&b'/') {
            j += 1;
        }
        let start = j;
        while j < bytes.len() && bytes[j].is_ascii_alphanumeric() {
            j += 1;
        }
        let name = &html[start..j];
        assert!(TAGS.contains(&name), "tag `{name}` in {html}");
        // Attributes: name="value" pairs up to the closing `>`.
        loop {
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            match bytes.get(j) {
                Some(b'>') => break,
                Some(b'/') => {
                    j += 1;
                    continue;
                }
                None => panic!("unclosed tag in {html}"),
                _ => {}
            }
            let a = j;
            while j < bytes.len() && !matches!(bytes[j], b'=' | b'>' | b' ') {
                j += 1;
            }
            let attr = &html[a..j];
            let allowed = matches!(attr, "href" | "title" | "rel") || (name == "ol" && attr == "start");
            assert!(allowed, "attribute `{attr}` on `{name}` in {html}");
            if bytes.get(j) == Some(&b'=') {
                assert_eq!(bytes.get(j + 1), Some(&b'"'), "unquoted value in {html}");
                let v = j + 2;
                let end = v + html[v..].find('"').expect("closing quote");
                let value = &html[v..end];
                if attr == "href" {
                    let lower = value.trim().to_ascii_lowercase();
                    assert!(
                        lower.starts_with("http:") || lower.starts_with("https:") || lower.starts_with("mailto:"),
                        "href `{value}` in {html}"
                    );
                }
                j = end + 1;
            }
        }
        i = j + 1;
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check(&pairwise_core::markdown::render(text));
});
