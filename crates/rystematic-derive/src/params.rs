//! `#[derive(Params)]`.

use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericArgument, PathArguments, Type};

use crate::attrs::{FieldAttrs, doc_comment, is_snake_case};

/// How a field's type maps to a parameter.
enum Shape<'a> {
    /// `T`: required unless defaulted (a `bool` is a flag: never required).
    Plain(&'a Type),
    /// `Option<T>`: not required, `None` when unset.
    Optional(&'a Type),
    /// `Vec<T>`: any number of values.
    List(&'a Type),
}

pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(
            input.generics.span(),
            "#[derive(Params)] does not support generic structs",
        ));
    }
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => &fields.named,
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "#[derive(Params)] needs a struct with named fields: each field is a parameter",
                ));
            }
        },
        _ => {
            return Err(syn::Error::new(
                name.span(),
                "#[derive(Params)] needs a struct with named fields (for an enum of choices, \
                 derive ParamEnum)",
            ));
        }
    };

    let mut declarations = Vec::new();
    let mut readers = Vec::new();
    let mut seen: HashMap<String, proc_macro2::Span> = HashMap::new();
    for field in fields {
        let ident = field.ident.as_ref().expect("named fields");
        let ty = &field.ty;
        let attrs = FieldAttrs::parse(&field.attrs)?;

        if let Some(flatten) = &attrs.flatten {
            if attrs.has_param_options() {
                return Err(syn::Error::new(
                    flatten.span(),
                    "`flatten` embeds another Params struct; it takes no other options",
                ));
            }
            declarations.push(quote_spanned! {ty.span()=>
                <#ty as ::rystematic::TypedParams>::declare(declarations);
            });
            readers.push(quote_spanned! {ty.span()=>
                #ident: <#ty as ::rystematic::TypedParams>::from_params(params)?
            });
            continue;
        }

        let param_name = match &attrs.rename {
            Some(rename) => {
                if !is_snake_case(&rename.value()) {
                    return Err(syn::Error::new(
                        rename.span(),
                        "a parameter name must be a snake_case identifier such as `learning_rate`",
                    ));
                }
                rename.value()
            }
            None => ident.to_string().trim_start_matches("r#").to_owned(),
        };
        let name_span = attrs.rename.as_ref().map_or(ident.span(), |r| r.span());
        if let Some(_first) = seen.insert(param_name.clone(), name_span) {
            return Err(syn::Error::new(
                name_span,
                format!("parameter `{param_name}` is declared twice in this struct"),
            ));
        }

        let shape = shape(ty)?;
        let inner = match shape {
            Shape::Plain(t) | Shape::Optional(t) | Shape::List(t) => t,
        };
        let is_flag = matches!(shape, Shape::Plain(_)) && is_bool(inner);
        let mut builder = quote_spanned! {inner.span()=>
            <#inner as ::rystematic::ParamType>::param(#param_name)
        };
        if let Shape::List(_) = shape {
            builder.extend(quote! { .multiple() });
        }
        if matches!(shape, Shape::Plain(_)) && !is_flag && attrs.default.is_none() {
            builder.extend(quote! { .required() });
        }
        if let Some(default) = &attrs.default {
            builder.extend(quote_spanned! {default.span()=> .default(#default) });
        }
        if let Some(env) = &attrs.env {
            builder.extend(quote! { .env(#env) });
        }
        if attrs.hidden {
            builder.extend(quote! { .hidden() });
        }
        if let Some(text) = &attrs.default_help {
            builder.extend(quote! { .default_help(#text) });
        }
        if let Some(allow) = attrs.allow_from_file {
            builder.extend(quote! { .allow_from_file(#allow) });
        }
        let help = attrs
            .help
            .as_ref()
            .map(|h| h.value())
            .or_else(|| doc_comment(&field.attrs));
        if let Some(help) = help {
            builder.extend(quote! { .help(#help) });
        }
        declarations.push(match &attrs.group {
            Some(title) => quote! { declarations.param_in(#title, #builder); },
            None => quote! { declarations.param(#builder); },
        });
        readers.push(quote_spanned! {ty.span()=>
            #ident: params.get::<#ty>(#param_name)?
        });
    }

    Ok(quote! {
        impl ::rystematic::TypedParams for #name {
            fn declare(declarations: &mut ::rystematic::Declarations) {
                #(#declarations)*
            }

            fn from_params(
                params: &::rystematic::Params,
            ) -> ::core::result::Result<Self, ::rystematic::ParamAccessError> {
                ::core::result::Result::Ok(Self {
                    #(#readers,)*
                })
            }
        }
    })
}

/// `Option<T>`, `Vec<T>` or a plain `T`.
fn shape(ty: &Type) -> syn::Result<Shape<'_>> {
    let Some((wrapper, inner)) = single_generic(ty) else {
        return Ok(Shape::Plain(ty));
    };
    let nested = single_generic(inner).map(|(w, _)| w);
    match (wrapper.as_str(), nested.as_deref()) {
        ("Option", Some("Option" | "Vec")) | ("Vec", Some("Option" | "Vec")) => {
            Err(syn::Error::new(
                ty.span(),
                "nested Option/Vec is not a parameter type: use Vec<T> (an unset list is empty) or \
             Option<T>",
            ))
        }
        ("Option", _) => Ok(Shape::Optional(inner)),
        ("Vec", _) => Ok(Shape::List(inner)),
        _ => Ok(Shape::Plain(ty)),
    }
}

/// `Wrapper<Inner>` → ("Wrapper", Inner), for a path type with one type argument.
fn single_generic(ty: &Type) -> Option<(String, &Type)> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [GenericArgument::Type(inner)] => Some((last.ident.to_string(), inner)),
        _ => None,
    }
}

fn is_bool(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident("bool"))
}
