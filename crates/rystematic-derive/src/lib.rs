#![doc = include_str!("../README.md")]

mod attrs;
mod experiment;
mod param_enum;
mod params;

use proc_macro::TokenStream;
use syn::{DeriveInput, ItemFn, parse_macro_input};

/// Derives `rystematic::TypedParams`: one parameter per field.
///
/// Field types: `String`, `bool` (a flag), integers, `f32`/`f64`,
/// `PathBuf`, enums deriving `ParamEnum`; `Option<T>` is not required and
/// `None` when unset; `Vec<T>` takes any number of values. A plain `T`
/// without a default is required. The doc comment is the help text.
///
/// Field attributes, `#[param(...)]`: `default = <expr>`, `env = "VAR"`,
/// `hidden`, `default_help = "..."`, `allow_from_file = false`,
/// `rename = "name"`, `group = "Help section"`, `help = "..."`, and
/// `flatten` to embed another `Params` struct.
#[proc_macro_derive(Params, attributes(param))]
pub fn derive_params(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    params::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives `rystematic::ParamEnum` (and the conversions a parameter needs)
/// for an enum of unit variants, spelled in kebab-case unless
/// `#[param(rename = "...")]` says otherwise.
#[proc_macro_derive(ParamEnum, attributes(param))]
pub fn derive_param_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    param_enum::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Makes `fn name(params: P, run: &Run) -> Result<..>` an experiment and
/// registers it for `rystematic::main!()`. `P` derives `Params`; the `run`
/// argument may be left out. The doc comment is the experiment's help.
///
/// Options: `name = "exact-name"` (default: the function's name in
/// kebab-case), `group = "outer/inner"` (the groups it belongs to),
/// `defaults(param = <expr>, ...)` (per-experiment defaults, built-ins
/// included), `resume_on_requeue` (see `Experiment::resume_on_requeue`).
#[proc_macro_attribute]
pub fn experiment(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = parse_macro_input!(item as ItemFn);
    let mut options = experiment::Options::default();
    let parser = syn::meta::parser(|meta| options.parse(meta));
    parse_macro_input!(args with parser);
    experiment::expand(options, item)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
