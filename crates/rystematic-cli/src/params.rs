//! Reading `parameters.yaml`: a run's resolved parameters, name → value.

use std::collections::BTreeMap;
use std::path::Path;

use rystematic::files::PARAMETERS_FILE;

use crate::read::with_file;

/// Reads `parameters.yaml` into name → value (flat `key: value` YAML).
pub fn read_params(dir: &Path) -> Result<BTreeMap<String, serde_json::Value>, String> {
    read_params_of(dir, true)
}

/// [`read_params`], refusing a symlinked file unless `follow`.
pub(crate) fn read_params_of(
    dir: &Path,
    follow: bool,
) -> Result<BTreeMap<String, serde_json::Value>, String> {
    let path = dir.join(PARAMETERS_FILE);
    let parsed = with_file(&path, follow, |bytes| {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| format!("{PARAMETERS_FILE} is corrupt: not UTF-8: {e}"))?;
        if let Some(params) = parse_flat_yaml(text) {
            return Ok(params);
        }
        let params: Option<BTreeMap<String, serde_json::Value>> = serde_saphyr::from_str(text)
            .map_err(|e| format!("{PARAMETERS_FILE} is corrupt: {e}"))?;
        Ok(params.unwrap_or_default())
    });
    parsed.map_err(|e| format!("cannot read {PARAMETERS_FILE}: {e}"))?
}

/// The common case of `parameters.yaml` — one `key: plain scalar` per line
/// — without a YAML parser, which costs `ls` over many runs more than
/// reading the files. `None` for anything else (lists, quoting, comments,
/// special floats), which then goes to the real parser; the result is the
/// same as the parser's (tested against it).
fn parse_flat_yaml(text: &str) -> Option<BTreeMap<String, serde_json::Value>> {
    let mut params = BTreeMap::new();
    for line in text.lines() {
        let (key, value) = line.split_once(": ")?;
        let key_ok = key
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        let plain = !value.is_empty()
            && !value.starts_with(|c: char| "'\"[]{}&*!|>%@#`?:,+ ".contains(c))
            && !value.starts_with("- ")
            && value != "-"
            // `.inf`, `.nan`, `-.5`: YAML's own float spellings.
            && (!value.starts_with('.') || value.starts_with("./"))
            && !value.starts_with("-.")
            && !value.contains(": ")
            && !value.contains(" #")
            && !value.ends_with([':', ' ']);
        if !key_ok || !plain {
            return None;
        }
        let parsed = match value {
            "null" | "Null" | "NULL" | "~" => serde_json::Value::Null,
            "true" | "True" | "TRUE" => serde_json::Value::Bool(true),
            "false" | "False" | "FALSE" => serde_json::Value::Bool(false),
            v if is_digits(v.strip_prefix('-').unwrap_or(v)) => {
                serde_json::Value::from(v.parse::<i64>().ok()?)
            }
            v if v
                .strip_prefix('-')
                .unwrap_or(v)
                .starts_with(|c: char| c.is_ascii_digit()) =>
            {
                // A number-like value: only plain decimal floats here.
                let float = v
                    .bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
                if !float {
                    serde_json::Value::String(v.to_owned())
                } else {
                    serde_json::Value::from(v.parse::<f64>().ok()?)
                }
            }
            v => serde_json::Value::String(v.to_owned()),
        };
        params.insert(key.to_owned(), parsed);
    }
    Some(params)
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flat_yaml_fast_path_agrees_with_the_parser() {
        let samples = [
            "a: 1\nb: 0.5\nc: hello world\nd: null\ng: true\n",
            "lr: 0.001\nbig: 1.0e+20\nneg: -3\nmodel: resnet18\npath: ./output\n",
            "x: 2026-11-28\ny: 1:20\nz: 0x1F\nw: 1_000\nv: 12abc\nu: 3.\n",
            "h: '1.0'\nf:\n- x\n- y\n",
            "e: [1, 2]\nq: \"quoted\"\n",
            "n: .inf\nm: .nan\nk: -.5\n",
            "j: -\ni: -x\nl: -1e-3\nr: 1e5\n",
            "o: +1\np: 007\n",
            "s: a # comment\nt: ~\n",
        ];
        for text in samples {
            let parser: Result<Option<BTreeMap<String, serde_json::Value>>, _> =
                serde_saphyr::from_str(text);
            match (parse_flat_yaml(text), parser) {
                (Some(fast), Ok(parser)) => assert_eq!(Some(fast), parser, "{text}"),
                (Some(fast), Err(e)) => panic!("{text}: fast path {fast:?}, parser {e}"),
                (None, _) => {}
            }
        }
        assert!(parse_flat_yaml(samples[0]).is_some() && parse_flat_yaml(samples[1]).is_some());
        assert!(
            parse_flat_yaml(samples[3]).is_none(),
            "lists go to the parser"
        );
    }
}
