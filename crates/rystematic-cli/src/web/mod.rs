//! The page of `rystematic report` and `rystematic ui`: one HTML file with
//! its CSS, script and (for a report) data inline, so it opens with no
//! network and no build step. The script (`app.js`) renders the same
//! document `rystematic ls --json` prints.

use serde_json::{Value, json};

const TEMPLATE: &str = include_str!("page.html");
const STYLE: &str = include_str!("app.css");
const SCRIPT: &str = include_str!("app.js");

/// What the page is given at load time.
pub struct PageData<'a> {
    /// The output directory shown, as given.
    pub source: &'a str,
    /// Whether the page fetches its data from the `ui` server (and polls it).
    pub live: bool,
    /// The `ls --json` document (inline in a report; fetched when live).
    pub ls: Option<Value>,
    /// A report's scalars: one line per run, each `\n` then the JSON
    /// `[path, {tag: {steps, values}}]` (see [`scalar_line`]). The page
    /// parses a run's line only when the run is selected, so opening a
    /// report of 10,000 runs does not parse all their scalars. Empty when
    /// live (fetched from the server instead).
    pub scalar_lines: String,
}

/// One run's line of [`PageData::scalar_lines`].
pub fn scalar_line(path: &str, series: &impl serde::Serialize) -> String {
    // Serialising a path and plain numbers cannot fail.
    let json = serde_json::to_string(&(path, series)).unwrap_or_default();
    format!("\n{}", script_safe(&json))
}

/// The whole page, with `data` inline.
pub fn page(data: PageData<'_>) -> String {
    let boot = json!({
        "source": data.source,
        "live": data.live,
        "generated": jiff::Timestamp::now().to_string(),
        "ls": data.ls,
    });
    let json = script_safe(&boot.to_string());
    fill(
        TEMPLATE,
        &[
            ("/*TITLE*/", &html_escape(data.source)),
            ("/*STYLE*/", STYLE),
            ("/*DATA*/", &json),
            ("/*SCALARS*/", &data.scalar_lines),
            ("/*SCRIPT*/", SCRIPT),
        ],
    )
}

/// `template` with each placeholder, in order of appearance, replaced:
/// only the template is searched, so text put in can never be taken for a
/// placeholder.
fn fill(template: &str, parts: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + parts.iter().map(|p| p.1.len()).sum::<usize>());
    let mut rest = template;
    for (placeholder, text) in parts {
        match rest.split_once(placeholder) {
            Some((before, after)) => {
                out.push_str(before);
                out.push_str(text);
                rest = after;
            }
            // The template is ours: a missing placeholder is a bug the
            // unit test below catches.
            None => continue,
        }
    }
    out.push_str(rest);
    out
}

/// JSON that can sit inside a `<script>` element: no `<` can end it or
/// open a comment there (`\u003c` is the same string to the parser).
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_break_out_of_its_script_element() {
        let html = page(PageData {
            source: "<out>",
            live: false,
            ls: Some(json!({"runs": [{"id": "</script><script>alert(1)</script>"}]})),
            scalar_lines: String::new(),
        });
        assert!(!html.contains("</script><script>alert"), "{html}");
        assert!(html.contains("<title>rystematic: &lt;out&gt;</title>"));
        let start = html.find("type=\"application/json\">").unwrap() + 24;
        let end = start + html[start..].find("</script>").unwrap();
        let boot: Value = serde_json::from_str(&html[start..end]).unwrap();
        assert_eq!(
            boot["ls"]["runs"][0]["id"],
            "</script><script>alert(1)</script>"
        );
        assert_eq!(boot["source"], "<out>");
        for placeholder in [
            "/*TITLE*/",
            "/*STYLE*/",
            "/*DATA*/",
            "/*SCALARS*/",
            "/*SCRIPT*/",
        ] {
            assert!(!html.contains(placeholder), "{placeholder} left");
        }
        let line = scalar_line(
            "exp/</script>",
            &json!({"a": {"steps": [0], "values": [1.0]}}),
        );
        assert!(
            line.starts_with('\n') && !line[1..].contains(['\n', '<']),
            "{line}"
        );
        let back: Value = serde_json::from_str(&line[1..]).unwrap();
        assert_eq!(back[0], "exp/</script>");
        let sneaky = page(PageData {
            source: "/*DATA*/",
            live: true,
            ls: None,
            scalar_lines: String::new(),
        });
        assert!(sneaky.contains("<title>rystematic: /*DATA*/</title>"));
    }
}
