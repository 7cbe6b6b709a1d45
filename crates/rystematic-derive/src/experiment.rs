//! `#[experiment]`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Expr, FnArg, ItemFn, LitStr, ReturnType};

use crate::attrs::doc_comment;

#[derive(Default)]
pub(crate) struct Options {
    name: Option<LitStr>,
    group: Option<LitStr>,
    defaults: Vec<(syn::Ident, Expr)>,
    resume_on_requeue: bool,
}

impl Options {
    pub(crate) fn parse(&mut self, meta: ParseNestedMeta<'_>) -> syn::Result<()> {
        if meta.path.is_ident("name") {
            self.name = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("group") {
            self.group = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("defaults") {
            meta.parse_nested_meta(|default| {
                let name = default.path.get_ident().cloned().ok_or_else(|| {
                    default.error("expected a parameter name, e.g. `defaults(lr = 0.1)`")
                })?;
                if self.defaults.iter().any(|(n, _)| *n == name) {
                    return Err(default.error("this default is given twice"));
                }
                self.defaults.push((name, default.value()?.parse()?));
                Ok(())
            })?;
        } else if meta.path.is_ident("resume_on_requeue") {
            self.resume_on_requeue = true;
        } else {
            return Err(meta.error(
                "unknown experiment option; expected name, group, defaults or resume_on_requeue",
            ));
        }
        Ok(())
    }
}

pub(crate) fn expand(options: Options, item: ItemFn) -> syn::Result<TokenStream> {
    let sig = &item.sig;
    if let Some(asyncness) = &sig.asyncness {
        return Err(syn::Error::new(
            asyncness.span(),
            "an experiment cannot be async",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "an experiment cannot be generic",
        ));
    }
    if let ReturnType::Default = sig.output {
        return Err(syn::Error::new(
            sig.span(),
            "an experiment returns a Result, e.g. `-> anyhow::Result<()>`",
        ));
    }
    let inputs: Vec<&FnArg> = sig.inputs.iter().collect();
    let params_ty = match inputs.first() {
        Some(FnArg::Typed(arg)) if !matches!(*arg.ty, syn::Type::Reference(_)) => &arg.ty,
        Some(FnArg::Typed(arg)) => {
            return Err(syn::Error::new(
                arg.ty.span(),
                "take the parameters struct by value: `params: MyParams`",
            ));
        }
        Some(FnArg::Receiver(r)) => {
            return Err(syn::Error::new(
                r.span(),
                "an experiment is a free function",
            ));
        }
        None => {
            return Err(syn::Error::new(
                sig.paren_token.span.join(),
                "an experiment takes its parameters struct (deriving Params) and optionally \
                 `run: &rystematic::Run`",
            ));
        }
    };
    if inputs.len() > 2 {
        return Err(syn::Error::new(
            inputs[2].span(),
            "an experiment takes at most two arguments: its parameters and `&rystematic::Run`",
        ));
    }

    let function = &sig.ident;
    let fn_name = function.to_string();
    let call = if inputs.len() == 2 {
        quote! { #function }
    } else {
        quote! { |params: #params_ty, _run: &::rystematic::Run| #function(params) }
    };
    let mut builder = quote_spanned! {params_ty.span()=>
        ::rystematic::Experiment::typed::<#params_ty, _, _>(#fn_name, #call)
    };
    if let Some(name) = &options.name {
        builder.extend(quote! { .with_name(#name) });
    }
    if let Some(about) = doc_comment(&item.attrs) {
        builder.extend(quote! { .about(#about) });
    }
    for (name, value) in &options.defaults {
        let name = name.to_string();
        builder.extend(quote_spanned! {value.span()=> .default(#name, #value) });
    }
    if options.resume_on_requeue {
        builder.extend(quote! { .resume_on_requeue() });
    }
    let group = options.group.map_or_else(String::new, |g| g.value());
    let build = format_ident!("__rystematic_experiment_{}", function);
    Ok(quote! {
        #item

        #[doc(hidden)]
        fn #build() -> ::rystematic::Experiment {
            #builder
        }

        ::rystematic::__private::inventory::submit! {
            ::rystematic::__private::Registration {
                group: #group,
                build: #build,
            }
        }
    })
}
