//! The optional Markdown view of model answers, which are untrusted input: CommonMark with raw
//! HTML turned into text, then an allowlist sanitizer (ammonia). No script, style, svg, math,
//! iframe, object, embed or images survive; links keep only http(s)/mailto targets and get
//! `rel="noopener noreferrer"`; relative URLs are dropped.

use pulldown_cmark::{html, Event, Options, Parser};
use std::collections::{HashMap, HashSet};

const TAGS: &[&str] = &[
    "p",
    "br",
    "em",
    "strong",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "a",
];

/// Sanitized HTML of an answer's Markdown.
pub fn render(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        // Raw HTML is shown as the text it is, never interpreted.
        Event::Html(t) | Event::InlineHtml(t) => Event::Text(t),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, parser);
    ammonia::Builder::empty()
        .add_tags(TAGS)
        // Explicit: `empty()` clears only the tags, not ammonia's default attribute lists.
        .generic_attributes(HashSet::new())
        .tag_attributes(HashMap::from([
            ("a", HashSet::from(["href", "title"])),
            ("ol", HashSet::from(["start"])),
        ]))
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer"))
        .clean(&out)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markdown_renders_and_hostile_markup_does_not() {
        assert!(render("**bold** and `code`").contains("<strong>bold</strong>"));
        for hostile in [
            "<img src=x onerror=alert(1)>",
            "<svg onload=alert(1)></svg>",
            "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
            "<script>alert(1)</script>",
            "<math><mi>x</mi></math>",
            "<object data=x></object><embed src=x>",
            "<style>body{}</style>",
        ] {
            let html = render(hostile);
            for tag in [
                "<img", "<svg", "<iframe", "<script", "<math", "<object", "<embed", "<style",
            ] {
                assert!(!html.contains(tag), "{hostile} → {html}");
            }
        }
        let link = render("[x](javascript:alert(1)) [y](https://example.org)");
        assert!(!link.contains("javascript:"), "{link}");
        assert!(link.contains(r#"href="https://example.org""#), "{link}");
        assert!(link.contains(r#"rel="noopener noreferrer""#), "{link}");
        let list = render("3. three\n4. four");
        assert!(list.contains(r#"<ol start="3">"#), "{list}");
        let cell = render("| a |\n|:-:|\n| <b lang=x>1</b> |");
        assert!(
            !cell.contains("style=") && !cell.contains("lang=\""),
            "{cell}"
        );
        let image = render("![a](https://evil.example/pixel.png)");
        assert!(!image.contains("evil.example"), "{image}");
    }
}
