//! Plain-text tables and the short forms of times and durations.

use std::io::{self, Write};

/// Writes `rows` under `header`, columns left-aligned and separated by two
/// spaces, trailing spaces trimmed.
pub fn write_table(out: &mut dyn Write, header: &[String], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let mut line = String::new();
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        line.clear();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            let pad = widths
                .get(i)
                .copied()
                .unwrap_or(0)
                .saturating_sub(cell.chars().count());
            line.extend(std::iter::repeat_n(' ', pad));
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// `2026-11-28T05:15:13.500000+01:00` → `2026-11-28 05:15:13`.
pub fn short_time(rfc3339: &str) -> String {
    match rfc3339.get(..19) {
        Some(s) if s.as_bytes().get(10) == Some(&b'T') => s.replacen('T', " ", 1),
        _ => rfc3339.to_owned(),
    }
}

/// `0.25` → `0.25s`, `125` → `2m05s`, `3725` → `1h02m05s`.
pub fn short_duration(seconds: Option<f64>) -> String {
    let Some(s) = seconds.filter(|s| s.is_finite() && *s >= 0.0) else {
        return "-".into();
    };
    if s < 60.0 {
        return format!("{s:.2}s");
    }
    let total = s.round() as u64;
    let (h, m, sec) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{h}h{m:02}m{sec:02}s")
    } else {
        format!("{m}m{sec:02}s")
    }
}

/// A metric value, short: up to 6 significant digits.
pub fn short_number(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return value.to_string();
    }
    let magnitude = value.abs().log10();
    if !(-4.0..9.0).contains(&magnitude) {
        return format!("{value:.5e}");
    }
    let decimals = (5 - magnitude.floor() as i32).clamp(0, 10) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms() {
        assert_eq!(
            short_time("2026-11-28T05:15:13.500000+01:00"),
            "2026-11-28 05:15:13"
        );
        assert_eq!(short_time("garbage"), "garbage");
        assert_eq!(short_duration(Some(0.25)), "0.25s");
        assert_eq!(short_duration(Some(125.0)), "2m05s");
        assert_eq!(short_duration(Some(3725.0)), "1h02m05s");
        assert_eq!(short_duration(None), "-");
        assert_eq!(short_number(0.001), "0.001");
        assert_eq!(short_number(1.0 / 3.0), "0.333333");
        assert_eq!(short_number(1234.5), "1234.5");
        assert_eq!(short_number(2.0), "2");
        assert_eq!(short_number(1e-9), "1.00000e-9");
    }

    #[test]
    fn aligns_columns() {
        let mut out = Vec::new();
        let header = vec!["a".to_owned(), "bb".to_owned()];
        write_table(&mut out, &header, &[vec!["xxx".into(), "y".into()]]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a    bb\nxxx  y\n");
    }
}
