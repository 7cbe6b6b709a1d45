//! Entry points for the fuzz targets in `fuzz/` and the corpus replay in
//! the tests: one per parser of untrusted input. Each takes raw bytes,
//! must never panic, and checks what the parser promises (mostly: what is
//! accepted reads back unchanged). Not a public API.

use std::collections::BTreeMap;

use crate::experiment::{Experiment, HasParams};
use crate::param::{Kind, Param, is_snake_case};
use crate::process::spec::{ChildReport, ChildSpec};
use crate::resolve::yaml;
use crate::value::{Params, Value};

/// Params files (`yaml.rs`): parse; what parses renders as
/// `parameters.yaml` and parses back to the same values.
pub fn params_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(map) = yaml::parse_params(text) else {
        return;
    };
    // Only parameter names reach `parameters.yaml`.
    let params: Params = map
        .into_iter()
        .filter(|(key, _)| is_snake_case(key))
        .collect();
    let rendered = yaml::render_params(&params);
    let back = yaml::parse_params(&rendered)
        .unwrap_or_else(|e| panic!("rendered params do not parse back: {e}\n{rendered}"));
    let before: BTreeMap<&str, &Value> = params.iter().collect();
    let after: BTreeMap<&str, &Value> = back.iter().map(|(k, v)| (k.as_str(), v)).collect();
    assert!(
        before.len() == after.len()
            && before
                .iter()
                .zip(&after)
                .all(|((k1, v1), (k2, v2))| k1 == k2 && same(v1, v2)),
        "params changed on the way back:\n{before:?}\n{after:?}\n{rendered}"
    );
}

/// Command-line and environment values (`Kind::parse_text`): the first
/// byte picks the kind, the rest is the text. An accepted value is finite,
/// and reads back from `parameters.yaml` as itself.
pub fn cli_value(data: &[u8]) {
    let Some((&which, text)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let kind = match which % 5 {
        0 => Kind::Str,
        1 => Kind::Int,
        2 => Kind::Float,
        3 => Kind::Bool,
        _ => Kind::Path,
    };
    let Ok(value) = kind.parse_text(text) else {
        return;
    };
    if let Value::Float(x) = value {
        assert!(x.is_finite(), "{text:?} was accepted as {x}");
    }
    let params: Params = [("x", value.clone())].into_iter().collect();
    let rendered = yaml::render_params(&params);
    let back = yaml::parse_params(&rendered)
        .unwrap_or_else(|e| panic!("{text:?} renders unreadably: {e}\n{rendered}"));
    let read = kind.coerce(back["x"].clone());
    assert_eq!(
        read.as_ref(),
        Ok(&value),
        "{text:?} as a {} does not read back from\n{rendered}",
        kind.name()
    );
}

/// Sweep specs (`--sweep NAME=V1,V2 | NAME=A..B`, `cli/sweep.rs`): parse
/// against an experiment with one parameter of each kind; an accepted spec
/// names one of them and has values.
pub fn sweep_spec(data: &[u8]) {
    let Ok(spec) = std::str::from_utf8(data) else {
        return;
    };
    let exp = Experiment::new("fuzz", |_: &Params, _: &crate::runtime::Run| {
        Ok::<_, anyhow::Error>(())
    })
    .param(Param::int("int_param"))
    .param(Param::float("float_param"))
    .param(Param::string("str_param"))
    .param(Param::flag("flag"))
    .param(Param::string("tags").multiple());
    if let Ok(axis) = crate::cli::sweep::parse_axis(&exp, spec) {
        assert!(
            exp.param_set().get(&axis.name).is_some(),
            "{spec:?} → {}",
            axis.name
        );
        assert!(axis.count() > 0, "{spec:?} gave no values");
    }
}

/// Child specs and reports (`process/spec.rs`, JSON): what parses
/// serialises and parses back to the same JSON.
pub fn child_spec(data: &[u8]) {
    if let Ok(spec) = serde_json::from_slice::<ChildSpec>(data) {
        let json = serde_json::to_vec(&spec).expect("a parsed spec serialises");
        let again: ChildSpec = serde_json::from_slice(&json).expect("and parses back");
        let json_again = serde_json::to_vec(&again).expect("a parsed spec serialises");
        assert_eq!(json, json_again);
    }
    if let Ok(report) = serde_json::from_slice::<ChildReport>(data) {
        let json = serde_json::to_vec(&report).expect("a parsed report serialises");
        assert!(serde_json::from_slice::<ChildReport>(&json).is_ok());
    }
}

/// Equality that counts a NaN equal to a NaN (a file may hold `.nan`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Value::List(xs), Value::List(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same(x, y))
        }
        _ => a == b,
    }
}
