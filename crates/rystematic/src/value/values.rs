//! [`Values`]: parameter values as code gives them, before resolution.

use std::collections::BTreeMap;

use super::Value;

/// Values for parameters, by name, as code gives them.
pub type Values = BTreeMap<String, Value>;

/// Collects `(name, value)` pairs of any convertible types into [`Values`].
pub(crate) fn collect_values<I, K, V>(values: I) -> Values
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<Value>,
{
    values
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}
