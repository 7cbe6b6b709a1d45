//! Reading `#[param(...)]` and doc comments.

use syn::{Attribute, Expr, Lit, LitStr, Meta};

/// The text of the `///` comments, lines joined by spaces.
pub(crate) fn doc_comment(attrs: &[Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(lit) => match &lit.lit {
                    Lit::Str(s) => Some(s.value().trim().to_owned()),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .filter(|line| !line.is_empty())
        .collect();
    (!lines.is_empty()).then(|| lines.join(" "))
}

/// Everything `#[param(...)]` can say about a field.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) default: Option<Expr>,
    pub(crate) env: Option<LitStr>,
    pub(crate) hidden: bool,
    pub(crate) default_help: Option<LitStr>,
    pub(crate) allow_from_file: Option<bool>,
    pub(crate) rename: Option<LitStr>,
    pub(crate) group: Option<LitStr>,
    pub(crate) help: Option<LitStr>,
    /// The `flatten` keyword, kept for its span.
    pub(crate) flatten: Option<syn::Path>,
}

impl FieldAttrs {
    pub(crate) fn parse(attrs: &[Attribute]) -> syn::Result<FieldAttrs> {
        let mut out = FieldAttrs::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("param")) {
            attr.parse_nested_meta(|meta| {
                let key = meta.path.clone();
                let once = |set: bool| {
                    if set {
                        Err(meta.error("this option is given twice"))
                    } else {
                        Ok(())
                    }
                };
                if key.is_ident("default") {
                    once(out.default.is_some())?;
                    out.default = Some(meta.value()?.parse()?);
                } else if key.is_ident("env") {
                    once(out.env.is_some())?;
                    out.env = Some(meta.value()?.parse()?);
                } else if key.is_ident("hidden") {
                    once(out.hidden)?;
                    out.hidden = true;
                } else if key.is_ident("default_help") {
                    once(out.default_help.is_some())?;
                    out.default_help = Some(meta.value()?.parse()?);
                } else if key.is_ident("allow_from_file") {
                    once(out.allow_from_file.is_some())?;
                    let value: syn::LitBool = meta.value()?.parse()?;
                    out.allow_from_file = Some(value.value);
                } else if key.is_ident("rename") {
                    once(out.rename.is_some())?;
                    out.rename = Some(meta.value()?.parse()?);
                } else if key.is_ident("group") {
                    once(out.group.is_some())?;
                    out.group = Some(meta.value()?.parse()?);
                } else if key.is_ident("help") {
                    once(out.help.is_some())?;
                    out.help = Some(meta.value()?.parse()?);
                } else if key.is_ident("flatten") {
                    once(out.flatten.is_some())?;
                    out.flatten = Some(key);
                } else {
                    return Err(meta.error(
                        "unknown parameter option; expected one of: default, env, hidden, \
                         default_help, allow_from_file, rename, group, help, flatten",
                    ));
                }
                Ok(())
            })?;
        }
        Ok(out)
    }

    /// Whether anything besides `flatten` was given.
    pub(crate) fn has_param_options(&self) -> bool {
        self.default.is_some()
            || self.env.is_some()
            || self.hidden
            || self.default_help.is_some()
            || self.allow_from_file.is_some()
            || self.rename.is_some()
            || self.group.is_some()
            || self.help.is_some()
    }
}

/// A parameter name must be a snake_case identifier (rystematic checks
/// again at run time; catching it here points at the source).
pub(crate) fn is_snake_case(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.ends_with('_')
        && !name.contains("__")
}
