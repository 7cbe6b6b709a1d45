//! [`HParam`]: a hyperparameter value as TensorBoard's HParams plugin and
//! `hparams.json` know them.

use rystematic::Value;

/// A hyperparameter value: text, a flag or a number.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum HParam {
    Text(String),
    Bool(bool),
    Number(f64),
}

/// A parameter value as a hyperparameter (`None` for null, which has no
/// HParams form).
pub(crate) fn hparam(value: &Value) -> Option<HParam> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => HParam::Bool(*b),
        Value::Int(i) => HParam::Number(*i as f64),
        Value::Float(x) => HParam::Number(*x),
        other => HParam::Text(other.to_string()),
    })
}
