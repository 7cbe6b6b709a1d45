//! The crate's shape: its modules form layers, and a module uses only its
//! own layer and the layers below (the `# Architecture` section of
//! `lib.rs`). This test reads every `crate::` path in `src/` and fails
//! on one that reaches up, naming the file, the line and both layers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Bottom to top: a layer's modules may use their own layer and those
/// listed before it.
const LAYERS: &[(&str, &[&str])] = &[
    ("base", &["error", "fs", "sync", "clock", "logging"]),
    ("value", &["value"]),
    ("param", &["param"]),
    ("resolve", &["resolve"]),
    ("rundir", &["rundir"]),
    ("process", &["process"]),
    ("distributed", &["distributed"]),
    ("runtime", &["runtime"]),
    ("extensions", &["extensions"]),
    ("experiment", &["experiment"]),
    ("sweep", &["sweep"]),
    (
        "program",
        &["cli", "registry", "__fuzz", "__private", "lib"],
    ),
];

/// The one edge allowed to run up: the runtime's extension registry loads
/// the built-in extensions, a layer above it (the plug-in loop).
const PLUG_IN_LOOP: (&str, &str) = ("runtime/extension.rs", "extensions");

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Layer number of a top-level module.
fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// The top-level module a file belongs to (`sweep/state.rs` → `sweep`,
/// `fuzz.rs`, mounted as `__fuzz` → `__fuzz`).
fn module_of(relative: &Path) -> String {
    let first = relative.components().next().unwrap().as_os_str();
    let name = Path::new(first).file_stem().unwrap().to_string_lossy();
    match name.as_ref() {
        "fuzz" => "__fuzz".to_owned(),
        other => other.to_owned(),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules named by `crate::` paths on one line of code:
/// `crate::sweep::Sweep`, and each name in `crate::{param::Param, value}`.
fn crate_paths(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let macro_path = rest[..at].ends_with('$');
        let after = &rest[at + "crate::".len()..];
        rest = after;
        if macro_path {
            // `$crate::` in a macro names the crate from outside.
            continue;
        }
        if let Some(group) = after.strip_prefix('{') {
            // Top-level names of a group: split at depth-0 commas.
            let (mut depth, mut start) = (0, 0);
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.push(identifier(&group[start..i]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.push(identifier(&group[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            found.push(identifier(after));
        }
    }
    found.retain(|name| !name.is_empty());
    found
}

fn identifier(text: &str) -> String {
    text.trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The code of a file, without comments, with `use` statements that span
/// lines joined into one, so a grouped import is seen whole.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (number, raw) in text.lines().enumerate() {
        let line = raw.split("//").next().unwrap_or("");
        if let Some((start, mut joined)) = pending.take() {
            joined.push_str(line.trim());
            if line.contains(';') {
                lines.push((start, joined));
            } else {
                pending = Some((start, joined));
            }
            continue;
        }
        let trimmed = line.trim_start();
        let is_use = trimmed.starts_with("use ")
            || trimmed.starts_with("pub use ")
            || trimmed.starts_with("pub(crate) use ");
        if is_use && !line.contains(';') {
            pending = Some((number + 1, line.to_owned()));
        } else {
            lines.push((number + 1, line.to_owned()));
        }
    }
    lines
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    assert!(files.len() > 20, "found only {} files", files.len());

    let mut violations = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap();
        let module = module_of(relative);
        let Some(own) = layer_of(&module) else {
            violations.push(format!(
                "{}: module `{module}` is in no layer: add it to LAYERS here and to the \
                 architecture table in lib.rs",
                relative.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in code_lines(&text) {
            for used in crate_paths(&line) {
                let Some(theirs) = layer_of(&used) else {
                    violations.push(format!(
                        "{}:{number}: `crate::{used}` names a module in no layer",
                        relative.display()
                    ));
                    continue;
                };
                let allowed = theirs <= own
                    || (relative == Path::new(PLUG_IN_LOOP.0) && used == PLUG_IN_LOOP.1);
                if !allowed {
                    violations.push(format!(
                        "{}:{number}: `{module}` ({}) uses `crate::{used}` ({}), a layer above",
                        relative.display(),
                        LAYERS[own].0,
                        LAYERS[theirs].0,
                    ));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the layers:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_architecture_table_in_lib_rs_is_this_one() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    // Rows like "//! | 2 value | `value` | ... |".
    let documented: BTreeMap<usize, (String, Vec<String>)> = lib
        .lines()
        .filter_map(|line| line.strip_prefix("//! | "))
        .filter_map(|row| {
            let cells: Vec<&str> = row.split(" | ").collect();
            let (number, name) = cells.first()?.split_once(' ')?;
            let number: usize = number.parse().ok()?;
            let modules = cells[1]
                .split(", ")
                .map(|m| m.trim_matches('`').to_owned())
                .collect();
            Some((number, (name.to_owned(), modules)))
        })
        .collect();
    let expected: BTreeMap<usize, (String, Vec<String>)> = LAYERS
        .iter()
        .enumerate()
        .map(|(i, (name, modules))| {
            let modules = modules
                .iter()
                .filter(|m| !matches!(**m, "lib" | "__private"))
                .map(|m| (*m).to_owned())
                .collect();
            (i + 1, ((*name).to_owned(), modules))
        })
        .collect();
    assert_eq!(documented, expected);
}

#[test]
fn the_path_reader_sees_every_form_of_import() {
    assert_eq!(crate_paths("use crate::sweep::Sweep;"), ["sweep"]);
    assert_eq!(
        crate_paths("use crate::{param::{Param, names}, value::Value};"),
        ["param", "value"]
    );
    assert_eq!(crate_paths("    crate::cli::main(entry)"), ["cli"]);
    assert!(crate_paths("$crate::__private::main()").is_empty());
    let joined = code_lines("use crate::{\n    runtime::Run,\n    sweep,\n};\n");
    assert_eq!(crate_paths(&joined[0].1), ["runtime", "sweep"]);
}
