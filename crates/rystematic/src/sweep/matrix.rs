//! [`param_matrix`]: the parameter sets of a grid.

use crate::value::Value;
use crate::value::Values;

/// The cartesian product of value lists, in row-major order of the names
/// as given (the last name varies fastest). A scalar is a constant; to
/// hold a list constant, wrap it in a one-element list.
///
/// ```
/// use rystematic::{param_matrix, Value};
///
/// let sets = param_matrix([
///     ("int_param", Value::from(vec![1, 2])),
///     ("str_param", Value::from(vec!["hello", "world"])),
///     ("fixed", Value::from(0.5)),
/// ]);
/// let pairs: Vec<String> = sets
///     .iter()
///     .map(|s| format!("{}-{}", s["int_param"], s["str_param"]))
///     .collect();
/// assert_eq!(pairs, ["1-hello", "1-world", "2-hello", "2-world"]);
/// assert!(sets.iter().all(|s| s["fixed"] == Value::Float(0.5)));
/// ```
pub fn param_matrix<I, K, V>(params: I) -> Vec<Values>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<Value>,
{
    let axes: Vec<(String, Vec<Value>)> = params
        .into_iter()
        .map(|(name, value)| {
            let values = match value.into() {
                Value::List(items) => items,
                scalar => vec![scalar],
            };
            (name.into(), values)
        })
        .collect();
    let mut sets = vec![Values::new()];
    for (name, values) in &axes {
        sets = sets
            .into_iter()
            .flat_map(|set| {
                values.iter().map(move |value| {
                    let mut set = set.clone();
                    set.insert(name.clone(), value.clone());
                    set
                })
            })
            .collect();
    }
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_matrix_is_row_major_with_constants() {
        let sets = param_matrix([
            ("a", Value::from(vec![1, 2, 3])),
            ("b", Value::from(vec!["x", "y"])),
            ("c", Value::Null),
        ]);
        assert_eq!(sets.len(), 6);
        let order: Vec<String> = sets
            .iter()
            .map(|s| format!("{}{}", s["a"], s["b"]))
            .collect();
        assert_eq!(order, ["1x", "1y", "2x", "2y", "3x", "3y"]);
        assert!(sets.iter().all(|s| s["c"] == Value::Null));
        assert!(param_matrix([("a", Value::List(vec![]))]).is_empty());
        assert_eq!(
            param_matrix(Vec::<(String, Value)>::new()),
            vec![Values::new()]
        );
    }
}
