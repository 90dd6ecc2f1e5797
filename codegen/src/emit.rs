//! Stage 4: the IR as Rust tokens, one token stream per output file.
//!
//! Types derive only cheap traits; the JSON codec is generated as plain non-generic impls of
//! the runtime's `codec::{Decode, Encode}`, in the direction each type is used (see the `codec`
//! module of `cloudtower-runtime` for why). Runtime items are named through
//! [`crate::runtime::RuntimeType`], the one table of them. Every std item is named by its
//! full path, since a spec
//! may name a type `String`, `Option` or `Result`.

use std::collections::BTreeMap;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

// The runtime items, named as `#Decode`, `#ApiRequest`, … inside `quote!`.
#[allow(clippy::enum_glob_use)]
use crate::runtime::RuntimeType::*;

use crate::ir::{Api, Field, Holding, Presence, TypeDef, TypeRef};

mod constructors;
mod contract;
mod dispatch;
mod docs;
mod features;
mod operations;
mod serde_impl;
mod types;
mod union;

pub use dispatch::{emit_dispatch, DISPATCH_FILE};
pub use features::{cargo_features, feature_name, Gates, FULL_FEATURE};
use operations::emit_operation;
use types::emit_type;

/// The file holding types reached from more than one spec module (or from none).
pub const SHARED_MODULE: &str = "shared";

/// The file holding the shared `*WhereInput` filter types: nearly half of all code, so kept
/// apart from [`SHARED_MODULE`] to review and to format in parallel.
pub const SHARED_FILTERS_MODULE: &str = "shared_filters";

/// The catch-all variant of every generated enum, holding values newer than the spec.
pub const OTHER_VARIANT: &str = "Other";

/// One output file: which types and operations it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct FilePlan {
    /// `mod.rs`, `shared.rs`, `vm.rs`, …
    pub name: String,
    /// Indices into `Api::types`.
    pub types: Vec<usize>,
    /// Indices into `Api::operations`.
    pub operations: Vec<usize>,
}

/// Decides the output files: one per spec module (its operations and the types only it
/// uses), one for shared types, and `mod.rs`. In name order.
pub fn plan(api: &Api) -> Vec<FilePlan> {
    let mut files: BTreeMap<String, FilePlan> = BTreeMap::new();
    fn file<'f>(files: &'f mut BTreeMap<String, FilePlan>, module: &str) -> &'f mut FilePlan {
        let name = format!("{module}.rs");
        files.entry(name.clone()).or_insert_with(|| FilePlan {
            name,
            types: Vec::new(),
            operations: Vec::new(),
        })
    }
    for (i, def) in api.types.iter().enumerate() {
        file(&mut files, home_module(def)).types.push(i);
    }
    for (i, operation) in api.operations.iter().enumerate() {
        file(&mut files, &operation.module).operations.push(i);
    }
    let mut plans: Vec<FilePlan> = files.into_values().collect();
    plans.push(FilePlan {
        name: "mod.rs".into(),
        types: Vec::new(),
        operations: Vec::new(),
    });
    plans.sort_by(|a, b| a.name.cmp(&b.name));
    plans
}

/// The tokens of one planned file.
pub fn emit_file(api: &Api, plan: &FilePlan, all: &[FilePlan], gates: &Gates) -> TokenStream {
    if plan.name == DISPATCH_FILE {
        return emit_dispatch(api, gates);
    }
    if plan.name == "mod.rs" {
        let module = |p: &FilePlan| format_ident!("{}", p.name.trim_end_matches(".rs"));
        let mut files: Vec<&FilePlan> = all
            .iter()
            .filter(|p| p.name != "mod.rs" && p.name != DISPATCH_FILE)
            .collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        let files = files.into_iter();
        let modules: Vec<TokenStream> = files
            .clone()
            .map(|p| {
                let doc = docs::module_doc(p, gates);
                let name = module(p);
                // The spec marks some fields deprecated: users are warned, the codec is not.
                quote! { #doc #[allow(deprecated)] pub mod #name; }
            })
            .collect();
        let exports: Vec<TokenStream> = files
            .filter(|p| !p.types.is_empty())
            .map(|p| {
                let gate = gates.for_any_type(&p.types);
                let module = module(p);
                quote! { #gate pub use self::#module::*; }
            })
            .collect();
        let dispatch = all.iter().any(|p| p.name == DISPATCH_FILE).then(|| {
            quote! {
                #[cfg(feature = "dynamic")]
                mod dispatch;
            }
        });
        return emit_mod(api, &modules, &exports, dispatch, gates);
    }
    let types = plan.types.iter().map(|&i| {
        let def = &api.types[i];
        let (ty, constructor) = (
            emit_type(def, gates),
            constructors::emit_constructor(def, gates),
        );
        let serde = serde_impl::emit_serde_impl(def, gates);
        quote! { #ty #constructor #serde }
    });
    let methods: Vec<TokenStream> = plan
        .operations
        .iter()
        .map(|&i| emit_operation(&api.operations[i], gates))
        .collect();
    let methods = (!methods.is_empty()).then(|| {
        let doc = docs::client_impl_doc(plan);
        quote! {
            #doc
            impl crate::models::Client {
                #(#methods)*
            }
        }
    });
    let list_requests = plan
        .operations
        .iter()
        .filter_map(|&i| contract::list_impls(api, &api.operations[i], gates));
    quote! { #(#types)* #methods #(#list_requests)* }
}

/// The module a type's code lives in: the one spec module that uses it, else the shared one.
pub fn home_module(def: &TypeDef) -> &str {
    match def.modules.iter().next() {
        Some(module) if def.modules.len() == 1 => module,
        _ if def.name.ends_with("WhereInput") => SHARED_FILTERS_MODULE,
        _ => SHARED_MODULE,
    }
}

fn emit_mod(
    api: &Api,
    modules: &[TokenStream],
    exports: &[TokenStream],
    dispatch: Option<TokenStream>,
    gates: &Gates,
) -> TokenStream {
    let contract = contract::module_items(api, gates);
    let infos = api.operations.iter().map(operation_info);
    let spec_version = &api.version;
    let entries = api.operations.iter().map(|o| {
        let name = ident(&operation_info_name(o));
        quote!(&operations::#name,)
    });
    let since_consts = since_consts(api);
    let schemas = api.types.iter().filter(|t| t.is_component).map(|t| {
        let wire = t
            .origin
            .trim_start_matches("#/components/schemas/")
            .replace("~1", "/")
            .replace("~0", "~");
        let name = &t.name;
        quote! { (#wire, #name), }
    });
    quote! {
        // Doc links name items by their full path, since what is in scope differs per file.
        #![allow(rustdoc::redundant_explicit_links)]

        #(#modules)*
        #dispatch
        #(#exports)*

        /// What each operation is, one `static` per operation (`operations::GET_VMS`): the
        /// table every call is built from (the methods, `call_operation`, the command line).
        pub mod operations {
            #(#infos)*
        }

        /// The version of the CloudTower spec this crate was generated from (`info.version`).
        pub const SPEC_VERSION: &str = #spec_version;

        /// Every operation of the API, in path order.
        pub static OPERATIONS: &[&#OperationInfo] = &[#(#entries)*];

        #since_consts

        /// Every component schema of the spec and the Rust type generated for it.
        pub const SCHEMAS: &[(&str, &str)] = &[#(#schemas)*];

        #contract
    }
}

/// The name of an operation's table entry in `models::operations` (`get-vms` → `GET_VMS`).
fn operation_info_name(operation: &crate::ir::Operation) -> String {
    use heck::ToShoutySnakeCase;
    operation.path.to_shouty_snake_case()
}

/// The path of an operation's table entry, from any generated file.
pub(super) fn operation_info_path(operation: &crate::ir::Operation) -> TokenStream {
    let name = ident(&operation_info_name(operation));
    let models = crate::runtime::models_path();
    quote!(#models::operations::#name)
}

/// An operation's table entry: everything the runtime decides a call by.
fn operation_info(o: &crate::ir::Operation) -> TokenStream {
    let name = ident(&operation_info_name(o));
    let id = &o.id;
    let path = &o.path;
    let method = &o.method_name.trim_start_matches("r#");
    let module = &o.module;
    let since = since_path(&o.since);
    let http_method = match o.http_method {
        crate::ir::HttpMethod::Get => quote!(#HttpMethod::Get),
        crate::ir::HttpMethod::Post => quote!(#HttpMethod::Post),
    };
    let read = o.read;
    let auth = match &o.auth {
        Some(scheme) => quote!(::std::option::Option::Some(#scheme)),
        None => quote!(::std::option::Option::None),
    };
    let headers = o.headers.iter().map(|h| {
        let header = &h.wire_name;
        let required = h.required;
        quote!(#HeaderInfo { name: #header, required: #required },)
    });
    let content_language = o.content_language;
    let doc = format!(" `{}` (`{}`).", o.path, o.id);
    quote! {
        #[doc = #doc]
        pub static #name: #OperationInfo = #OperationInfo {
            operation_id: #id,
            path: #path,
            method: #method,
            module: #module,
            since: #since,
            http_method: #http_method,
            read: #read,
            auth: #auth,
            headers: &[#(#headers)*],
            content_language: #content_language,
        };
    }
}

/// The name of the constant holding a [`crate::ir::Since`] value (`SINCE_4_0_0`): one per first
/// version, since the version before it follows from the history.
fn since_const_name(since: &crate::ir::Since) -> String {
    let version: String = since
        .first_seen
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("SINCE_{}", version.to_ascii_uppercase())
}

/// The path of `since`'s constant, from any generated file.
pub(super) fn since_path(since: &crate::ir::Since) -> TokenStream {
    let name = ident(&since_const_name(since));
    let models = crate::runtime::models_path();
    quote!(#models::#name)
}

/// One private constant per distinct [`crate::ir::Since`] of the operations (the methods' requests and
/// `OPERATIONS` name them).
fn since_consts(api: &Api) -> TokenStream {
    let mut distinct: std::collections::BTreeMap<String, &crate::ir::Since> =
        std::collections::BTreeMap::new();
    for operation in &api.operations {
        let previous = distinct.insert(since_const_name(&operation.since), &operation.since);
        debug_assert!(
            previous.is_none_or(|p| p.first_seen == operation.since.first_seen
                && p.last_absent == operation.since.last_absent),
            "two Since values share a constant name"
        );
    }
    // Oldest first, versions compared numerically.
    let mut distinct: Vec<(String, &crate::ir::Since)> = distinct.into_iter().collect();
    distinct.sort_by_key(|(name, since)| {
        (
            crate::history::Version::parse(&since.first_seen).ok(),
            name.clone(),
        )
    });
    let consts = distinct.into_iter().map(|(name, since)| {
        let name = ident(&name);
        let first = &since.first_seen;
        let doc = match &since.last_absent {
            Some(last) => {
                format!(" Operations first seen in CloudTower {first}, absent from {last}.")
            }
            None => {
                format!(" Operations first seen in CloudTower {first}, the oldest obtainable spec.")
            }
        };
        let last = match &since.last_absent {
            Some(last) => quote!(::std::option::Option::Some(#last)),
            None => quote!(::std::option::Option::None),
        };
        quote! {
            #[doc = #doc]
            const #name: #Since = #Since { first_seen: #first, last_absent: #last };
        }
    });
    quote! { #(#consts)* }
}

fn ident(name: &str) -> Ident {
    match name.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(name, Span::call_site()),
    }
}

fn docs(doc: Option<&str>, deprecated: bool) -> TokenStream {
    let lines: Vec<String> = doc
        .map(|d| d.lines().map(|l| format!(" {}", l.trim_end())).collect())
        .unwrap_or_default();
    let deprecated = docs::deprecated_attr(deprecated);
    quote! { #(#[doc = #lines])* #deprecated }
}

/// The Rust type of a reference, fully qualified.
pub(super) fn type_tokens(ty: &TypeRef) -> TokenStream {
    match ty {
        TypeRef::String => quote!(::std::string::String),
        TypeRef::Bool => quote!(bool),
        TypeRef::I32 => quote!(i32),
        TypeRef::I64 => quote!(i64),
        TypeRef::F32 => quote!(f32),
        TypeRef::F64 => quote!(f64),
        TypeRef::Json => quote!(::serde_json::Value),
        TypeRef::File => quote!(#FilePart),
        TypeRef::Named(name) => {
            let name = ident(name);
            quote!(crate::models::#name)
        }
        TypeRef::Array(inner) => {
            let inner = type_tokens(inner);
            quote!(::std::vec::Vec<#inner>)
        }
        TypeRef::WithTask(inner) => {
            let inner = type_tokens(inner);
            quote!(#WithTask<#inner>)
        }
    }
}

/// The value of a field left unset: absent when it may be, else its type's default,
/// written as a constant where there is one (a call to `Default::default` per field is what
/// made derived `Default` large).
fn unset_value(field: &Field) -> TokenStream {
    match (field.repr, field.holding, &field.ty) {
        (Presence::Nullable, _, _) => quote!(#Nullable::Absent),
        (Presence::Optional | Presence::RequiredNullable, _, _) => {
            quote!(::std::option::Option::None)
        }
        (Presence::Plain, Holding::Inline, TypeRef::String) => quote!(::std::string::String::new()),
        (Presence::Plain, Holding::Inline, TypeRef::Array(_)) => quote!(::std::vec::Vec::new()),
        (Presence::Plain, Holding::Inline, TypeRef::Bool) => quote!(false),
        (Presence::Plain, Holding::Inline, TypeRef::I32 | TypeRef::I64) => quote!(0),
        (Presence::Plain, Holding::Inline, TypeRef::F32 | TypeRef::F64) => quote!(0.0),
        (Presence::Plain, _, _) => quote!(::std::default::Default::default()),
    }
}

fn field_type(field: &Field) -> TokenStream {
    let mut ty = type_tokens(&field.ty);
    match field.holding {
        Holding::Inline => {}
        Holding::Boxed => ty = quote!(::std::boxed::Box<#ty>),
        Holding::Related => ty = quote!(#Related<#ty>),
    }
    match field.repr {
        Presence::Plain => ty,
        Presence::Optional | Presence::RequiredNullable => quote!(::std::option::Option<#ty>),
        Presence::Nullable => quote!(#Nullable<#ty>),
    }
}
