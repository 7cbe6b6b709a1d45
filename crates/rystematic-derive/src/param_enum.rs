//! `#[derive(ParamEnum)]`.

use heck::ToKebabCase;
use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

use crate::attrs::FieldAttrs;

pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(
            input.generics.span(),
            "#[derive(ParamEnum)] does not support generic enums",
        ));
    }
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new(
            name.span(),
            "#[derive(ParamEnum)] needs an enum of unit variants",
        ));
    };
    if data.variants.is_empty() {
        return Err(syn::Error::new(
            name.span(),
            "#[derive(ParamEnum)] needs at least one variant",
        ));
    }
    let mut names = Vec::new();
    let mut idents = Vec::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            return Err(syn::Error::new(
                variant.fields.span(),
                "a ParamEnum variant cannot hold data: each variant is one allowed value",
            ));
        }
        let attrs = FieldAttrs::parse(&variant.attrs)?;
        if attrs.has_param_options() && attrs.rename.is_none() || attrs.flatten.is_some() {
            return Err(syn::Error::new(
                variant.span(),
                "a ParamEnum variant takes only #[param(rename = \"...\")]",
            ));
        }
        let spelling = attrs
            .rename
            .map_or_else(|| variant.ident.to_string().to_kebab_case(), |r| r.value());
        if names.contains(&spelling) {
            return Err(syn::Error::new(
                variant.span(),
                format!("two variants are spelled `{spelling}`"),
            ));
        }
        names.push(spelling);
        idents.push(&variant.ident);
    }
    let indices = 0..idents.len();
    let indices2 = indices.clone();
    Ok(quote! {
        impl ::rystematic::ParamEnum for #name {
            const NAMES: &'static [&'static str] = &[#(#names),*];

            fn from_index(index: usize) -> Self {
                match index {
                    #(#indices => #name::#idents,)*
                    _ => ::core::panic!("no variant at index {}", index),
                }
            }

            fn index(&self) -> usize {
                match self {
                    #(#name::#idents => #indices2,)*
                }
            }
        }

        impl ::rystematic::ParamType for #name {
            fn param(name: &str) -> ::rystematic::Param {
                <Self as ::rystematic::ParamEnum>::enum_param(name)
            }
        }

        impl ::rystematic::FromValue for #name {
            fn from_value(value: &::rystematic::Value) -> ::core::result::Result<Self, ::rystematic::ConversionError> {
                <Self as ::rystematic::ParamEnum>::from_enum_value(value)
            }
        }

        impl ::core::convert::From<#name> for ::rystematic::Value {
            fn from(value: #name) -> Self {
                ::rystematic::Value::Str(
                    ::rystematic::ParamEnum::as_str(&value).to_owned(),
                )
            }
        }

        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(::rystematic::ParamEnum::as_str(self))
            }
        }
    })
}
