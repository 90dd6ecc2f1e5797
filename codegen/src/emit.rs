//! Stage 4: the IR as Rust tokens, one token stream per output file.
//!
//! Types derive only cheap traits; the JSON codec is generated as plain non-generic impls of
//! the runtime's `codec::{Decode, Encode}`, in the direction each type is used (see the `codec`
//! module of `cloudtower-runtime` for why). Runtime items are named through
//! [`crate::runtime::RuntimeType`], the one table of them. Every std item is named by its
//! full path, since a spec
//! may name a type `String`, `Option` or `Result`.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

// The runtime items, named as `#Decode`, `#ApiRequest`, … inside `quote!`.
#[allow(clippy::enum_glob_use)]
use crate::runtime::RuntimeType::*;

mod contract;

use crate::ir::{
    Api, Body, Field, HttpMethod, Operation, Presence, TypeDef, TypeKind, TypeRef, Variant,
};

mod union;

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

/// Which cargo features compile which code. With gating off (fixture crates), everything is
/// always compiled.
pub struct Gates<'a> {
    api: &'a Api,
    enabled: bool,
}

/// The feature of a spec module (`vm_snapshot` → `vm-snapshot`).
pub fn feature_name(module: &str) -> String {
    module.replace('_', "-")
}

/// The feature enabling every module.
pub const FULL_FEATURE: &str = "full";

impl<'a> Gates<'a> {
    pub fn new(api: &'a Api, enabled: bool) -> Self {
        Gates { api, enabled }
    }

    /// The features that compile a type: `None` for always. A type no operation reaches is
    /// compiled with `full` only.
    fn type_features(&self, def: &TypeDef) -> Option<BTreeSet<String>> {
        if !self.enabled || def.always_on {
            return None;
        }
        if def.modules.is_empty() {
            return Some(BTreeSet::from([FULL_FEATURE.to_owned()]));
        }
        Some(def.modules.iter().map(|m| feature_name(m)).collect())
    }

    fn cfg(features: Option<BTreeSet<String>>) -> TokenStream {
        match features {
            None => quote!(),
            Some(features) if features.len() == 1 => {
                let feature = features.iter().next();
                quote!(#[cfg(feature = #feature)])
            }
            Some(features) => {
                let features = features.iter();
                quote!(#[cfg(any(#(feature = #features),*))])
            }
        }
    }

    fn for_type(&self, def: &TypeDef) -> TokenStream {
        Self::cfg(self.type_features(def))
    }

    /// A cycle field links types of one cycle and is compiled only when its target is (the
    /// module analysis does not follow it); every other field comes with its type.
    fn for_field(&self, field: &Field) -> TokenStream {
        if !field.in_cycle {
            return quote!();
        }
        match field.ty.named().and_then(|name| self.api.type_named(name)) {
            Some(target) => Self::cfg(self.type_features(target)),
            None => quote!(),
        }
    }

    fn for_operation(&self, operation: &Operation) -> TokenStream {
        if !self.enabled || operation.always_on {
            return quote!();
        }
        let feature = feature_name(&operation.module);
        quote!(#[cfg(feature = #feature)])
    }

    /// Compiled when any of the types is.
    fn for_any_type(&self, types: &[usize]) -> TokenStream {
        let mut union = BTreeSet::new();
        for &i in types {
            match self.type_features(&self.api.types[i]) {
                None => return quote!(),
                Some(features) => union.extend(features),
            }
        }
        Self::cfg(Some(union))
    }
}

/// The `[features]` entries of the generated crate: one per spec module, `full` for all of
/// them, and `full` by default.
pub fn cargo_features(api: &Api) -> String {
    let features: Vec<String> = api.modules().into_iter().map(feature_name).collect();
    let mut out = format!("default = [\"{FULL_FEATURE}\"]\n{FULL_FEATURE} = [");
    out.push_str(
        &features
            .iter()
            .map(|f| format!("\"{f}\""))
            .collect::<Vec<_>>()
            .join(", "),
    );
    out.push_str("]\n");
    for feature in features {
        out.push_str(&format!("{feature} = []\n"));
    }
    out
}

/// The file of [`emit_dispatch`].
pub const DISPATCH_FILE: &str = "dispatch.rs";

/// `Client::call_operation`: any operation by its path, with the request as JSON, checked
/// against the request type and the response decoded into the response type. For CLIs and
/// conformance tests; behind the `dynamic` feature, since it compiles every method.
pub fn emit_dispatch(api: &Api, gates: &Gates) -> TokenStream {
    let arms = api.operations.iter().map(|operation| {
        let path = &operation.path;
        let method = ident(&operation.method_name);
        let gate = gates.for_operation(operation);
        let decode_body = |ty: TokenStream| {
            quote! {
                let body: #ty = #DecodeFn(body).map_err(|source| #Error::InvalidRequest {
                    operation: #path,
                    source: ::std::boxed::Box::new(source),
                })?;
            }
        };
        let (prepare, argument) = match &operation.body {
            Body::None => (quote!(), quote!()),
            Body::Json(ty) => (decode_body(type_tokens(ty)), quote!(&body)),
            Body::Query(name) => (
                decode_body(type_tokens(&TypeRef::Named(name.clone()))),
                quote!(&body),
            ),
            Body::Multipart(_) => {
                return quote! {
                    #gate
                    #path => ::std::result::Result::Err(#Error::Unsupported {
                        operation: #path,
                        reason: "multipart uploads take files: call the method",
                    }),
                };
            }
        };
        let respond = match (&operation.response, operation.not_modified) {
            (None, _) => quote! {
                self.#method(#argument).await?;
                ::std::result::Result::Ok(::std::option::Option::None)
            },
            (Some(_), false) => quote! {
                let response = self.#method(#argument).await?;
                ::std::result::Result::Ok(::std::option::Option::Some(#EncodeFn(&response)))
            },
            (Some(_), true) => quote! {
                let response = self.#method(#argument).await?;
                ::std::result::Result::Ok(response.map(|r| #EncodeFn(&r)))
            },
        };
        quote! {
            #gate
            #path => {
                #prepare
                #respond
            }
        }
    });
    quote! {
        impl crate::models::Client {
            /// Calls the operation at `path` (`get-vms`) with `body`, a JSON request that must
            /// decode into the operation's request type (ignored by operations without one).
            /// Returns the response decoded into its type and encoded again as JSON (`None`
            /// for 304 Not Modified and empty responses).
            #[allow(deprecated)]
            pub async fn call_operation(
                &self,
                path: &str,
                body: &[u8],
            ) -> ::std::result::Result<::std::option::Option<::std::vec::Vec<u8>>, #Error> {
                let _ = body;
                match path {
                    #(#arms)*
                    _ => ::std::result::Result::Err(#Error::Unsupported {
                        operation: "call_operation",
                        reason: "no operation has this path",
                    }),
                }
            }
        }
    }
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
        let modules: Vec<Ident> = files.clone().map(module).collect();
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
    let types = plan.types.iter().map(|&i| emit_type(&api.types[i], gates));
    let methods: Vec<TokenStream> = plan
        .operations
        .iter()
        .map(|&i| emit_operation(&api.operations[i], gates))
        .collect();
    let methods = (!methods.is_empty()).then(|| {
        quote! {
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
    modules: &[Ident],
    exports: &[TokenStream],
    dispatch: Option<TokenStream>,
    gates: &Gates,
) -> TokenStream {
    let contract = contract::module_items(api, gates);
    let operations = api.operations.iter().map(|o| {
        let id = &o.id;
        let path = &o.path;
        let method = &o.method_name.trim_start_matches("r#");
        let module = &o.module;
        quote! { #OperationInfo { operation_id: #id, path: #path, method: #method, module: #module }, }
    });
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
        #(mod #modules;)*
        #dispatch
        #(#exports)*

        /// Every operation of the API, in path order.
        pub const OPERATIONS: &[#OperationInfo] = &[#(#operations)*];

        /// Every component schema of the spec and the Rust type generated for it.
        pub const SCHEMAS: &[(&str, &str)] = &[#(#schemas)*];

        #contract
    }
}

fn ident(name: &str) -> Ident {
    match name.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(name, Span::call_site()),
    }
}

fn docs(doc: Option<&str>, deprecated: bool) -> TokenStream {
    let mut lines: Vec<String> = doc
        .map(|d| d.lines().map(|l| format!(" {}", l.trim_end())).collect())
        .unwrap_or_default();
    if deprecated {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.push(" **Deprecated** in the spec.".into());
    }
    quote! { #(#[doc = #lines])* }
}

/// The Rust type of a reference, fully qualified.
fn type_tokens(ty: &TypeRef) -> TokenStream {
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

fn field_type(field: &Field) -> TokenStream {
    let mut ty = type_tokens(&field.ty);
    if field.in_cycle {
        ty = quote!(#Related<#ty>);
    }
    match field.repr {
        Presence::Plain => ty,
        Presence::Optional | Presence::RequiredNullable => quote!(::std::option::Option<#ty>),
        Presence::Nullable => quote!(#Nullable<#ty>),
    }
}

fn emit_type(def: &TypeDef, gates: &Gates) -> TokenStream {
    let gate = gates.for_type(def);
    let name = ident(&def.name);
    let mut doc_text = def.doc.clone().unwrap_or_default();
    if !doc_text.is_empty() {
        doc_text.push_str("\n\n");
    }
    doc_text.push_str(&format!("Spec: `{}`", def.origin));
    let doc = docs(Some(&doc_text), def.deprecated);
    match &def.kind {
        TypeKind::Alias { target } => {
            let target = type_tokens(target);
            quote! { #doc #gate pub type #name = #target; }
        }
        TypeKind::Enum { variants } => emit_enum(def, &name, doc, &gate, variants),
        TypeKind::Struct { fields } => emit_struct(def, &name, doc, &gate, fields, gates),
        TypeKind::Union {
            alternatives,
            told_apart,
        } => union::emit_union(def, &name, doc, &gate, alternatives, *told_apart),
        TypeKind::Multipart { fields } => {
            let declaration = struct_declaration(&name, &doc, &gate, fields, gates);
            let parts = fields.iter().map(|f| {
                let field = ident(&f.name);
                let wire = &f.wire_name;
                let part = |value: TokenStream| match f.ty {
                    TypeRef::File => quote!(#MultipartField::file(#wire, ::std::clone::Clone::clone(#value))),
                    _ => quote!(#MultipartField::text(#wire, #value)),
                };
                match f.repr {
                    Presence::Plain => Entry::Always(part(quote!(&self.#field))),
                    repr => {
                        let part = part(quote!(value));
                        let value = optional_value(repr, &field);
                        Entry::IfSet(quote! { if let ::std::option::Option::Some(value) = #value { fields.push(#part); } })
                    }
                }
            });
            let body = collect_entries(quote!(fields), parts);
            quote! {
                #declaration
                #gate
                impl #name {
                    /// The form fields, required ones first; unset optional fields are left out.
                    pub fn to_fields(&self) -> ::std::vec::Vec<#MultipartField> {
                        #body
                    }
                }
            }
        }
        TypeKind::Query { fields } => {
            // A struct with a codec too, so that it can also be given as JSON (`dispatch`).
            let declaration = emit_struct(def, &name, doc, &gate, fields, gates);
            let pairs = fields.iter().map(|f| {
                let field = ident(&f.name);
                let wire = &f.wire_name;
                match f.repr {
                    Presence::Plain => Entry::Always(quote! { (#wire, self.#field.to_string()) }),
                    repr => {
                        let value = optional_value(repr, &field);
                        Entry::IfSet(quote! {
                            if let ::std::option::Option::Some(value) = #value {
                                query.push((#wire, value.to_string()));
                            }
                        })
                    }
                }
            });
            let body = collect_entries(quote!(query), pairs);
            quote! {
                #declaration
                #gate
                impl #name {
                    /// The query string pairs; unset parameters are left out.
                    pub fn to_query(&self) -> ::std::vec::Vec<(&'static str, ::std::string::String)> {
                        #body
                    }
                }
            }
        }
    }
}

/// One entry of a list built from a struct's fields (form fields, query pairs).
enum Entry {
    /// An expression for an entry that is always there.
    Always(TokenStream),
    /// A statement pushing the entry onto the list when the field is set.
    IfSet(TokenStream),
}

/// The entries that are always there, then the optional pushes, as the body of a function returning the list.
fn collect_entries(list: TokenStream, entries: impl Iterator<Item = Entry>) -> TokenStream {
    let (mut always, mut if_set) = (Vec::new(), Vec::new());
    for entry in entries {
        match entry {
            Entry::Always(expression) => always.push(expression),
            Entry::IfSet(statement) => if_set.push(statement),
        }
    }
    // `Vec::from([…])` rather than `vec![…]`: the formatter leaves macro bodies unformatted.
    let initial = if always.is_empty() {
        quote!(::std::vec::Vec::new())
    } else {
        quote!(::std::vec::Vec::from([#(#always),*]))
    };
    if if_set.is_empty() {
        return initial;
    }
    quote! {
        let mut #list = #initial;
        #(#if_set)*
        #list
    }
}

/// The value of an optional field as `Option<&T>`.
fn optional_value(repr: Presence, field: &Ident) -> TokenStream {
    match repr {
        Presence::Nullable => quote!(self.#field.as_option()),
        _ => quote!(self.#field.as_ref()),
    }
}

fn struct_declaration(
    name: &Ident,
    doc: &TokenStream,
    gate: &TokenStream,
    fields: &[Field],
    gates: &Gates,
) -> TokenStream {
    let all_fields = fields;
    let fields = fields.iter().map(|f| {
        let field_doc = docs(f.doc.as_deref(), f.deprecated);
        let field_gate = gates.for_field(f);
        let field = ident(&f.name);
        let ty = field_type(f);
        quote! { #field_doc #field_gate pub #field: #ty, }
    });
    if !all_fields.iter().any(|f| f.sensitive) {
        return quote! {
            #doc
            #gate
            #[derive(Clone, Debug, Default, PartialEq)]
            pub struct #name {
                #(#fields)*
            }
        };
    }
    // Credentials never reach logs through `{:?}`.
    let type_name = name.to_string();
    let shown = all_fields.iter().map(|f| {
        let field = ident(&f.name);
        let wire = &f.wire_name;
        let field_gate = gates.for_field(f);
        if f.sensitive {
            quote! { #field_gate debug.field(#wire, &::std::format_args!("<redacted>")); }
        } else {
            quote! { #field_gate debug.field(#wire, &self.#field); }
        }
    });
    quote! {
        #doc
        #gate
        #[derive(Clone, Default, PartialEq)]
        pub struct #name {
            #(#fields)*
        }

        #gate
        impl ::std::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let mut debug = f.debug_struct(#type_name);
                #(#shown)*
                debug.finish()
            }
        }
    }
}

/// `#[cfg(feature = "server")]` for the codec direction the API itself does not need.
fn direction_gate(needed: bool) -> TokenStream {
    if needed {
        quote!()
    } else {
        quote!(#[cfg(feature = "server")])
    }
}

/// (decode, encode): the directions the API needs for this type.
fn directions(def: &TypeDef) -> (bool, bool) {
    (def.usage.response, def.usage.request)
}

fn emit_struct(
    def: &TypeDef,
    name: &Ident,
    doc: TokenStream,
    gate: &TokenStream,
    fields: &[Field],
    gates: &Gates,
) -> TokenStream {
    let declaration = struct_declaration(name, &doc, gate, fields, gates);
    let (decode_needed, encode_needed) = directions(def);
    let decode_gate = direction_gate(decode_needed);
    let encode_gate = direction_gate(encode_needed);
    let type_name = &def.name;

    // Fields behind a feature cannot be required to be present.
    let required: Vec<&Field> = fields
        .iter()
        .filter(|f| f.required && gates.for_field(f).is_empty())
        .collect();
    let arms = fields.iter().map(|f| {
        let field = ident(&f.name);
        let wire = &f.wire_name;
        let field_gate = gates.for_field(f);
        match required.iter().position(|r| r.wire_name == f.wire_name) {
            Some(i) => {
                let i = Literal::usize_unsuffixed(i);
                quote! { #wire => { d.field(&mut out.#field, #wire)?; seen[#i] = true; } }
            }
            None => quote! { #field_gate #wire => d.field(&mut out.#field, #wire)?, },
        }
    });
    let (seen_init, seen_check) = if required.is_empty() {
        (quote!(), quote!())
    } else {
        let count = Literal::usize_unsuffixed(required.len());
        let names = required.iter().map(|f| &f.wire_name);
        (
            quote! { let mut seen = [false; #count]; },
            quote! { d.check_required(&seen, &[#(#names),*], #type_name)?; },
        )
    };
    let writes = fields.iter().map(|f| {
        let field = ident(&f.name);
        let wire = &f.wire_name;
        let field_gate = gates.for_field(f);
        // A required key is always written (`None` as `null`): a required nullable field of a
        // response type is an `Option`, and leaving it out would fail strict decoding.
        match (f.required, f.repr) {
            (true, _) | (_, Presence::Plain | Presence::RequiredNullable) => {
                quote! { #field_gate e.required_field(#wire, &self.#field); }
            }
            (false, Presence::Optional | Presence::Nullable) => {
                quote! { #field_gate e.field(#wire, &self.#field); }
            }
        }
    });
    quote! {
        #declaration

        #gate
        #decode_gate
        impl #Decode for #name {
            fn decode(d: &mut #Decoder<'_>) -> ::std::result::Result<Self, #DecodeError> {
                let mut out = Self::default();
                #seen_init
                let mut key = d.first_key(#type_name)?;
                while let ::std::option::Option::Some(k) = key {
                    match k {
                        #(#arms)*
                        _ => d.skip()?,
                    }
                    key = d.next_key()?;
                }
                #seen_check
                ::std::result::Result::Ok(out)
            }
        }

        #gate
        #encode_gate
        impl #Encode for #name {
            fn encode(&self, e: &mut #Encoder) {
                e.begin_object();
                #(#writes)*
                e.end_object();
            }
        }
    }
}

fn emit_enum(
    def: &TypeDef,
    name: &Ident,
    doc: TokenStream,
    gate: &TokenStream,
    variants: &[Variant],
) -> TokenStream {
    let (decode_needed, encode_needed) = directions(def);
    let decode_gate = direction_gate(decode_needed);
    let encode_gate = direction_gate(encode_needed);
    let other = format_ident!("{}", OTHER_VARIANT);
    let declarations = variants.iter().map(|v| {
        let variant = ident(&v.name);
        let wire_doc = format!(" `{}`", v.wire_name);
        quote! { #[doc = #wire_doc] #variant, }
    });
    let to_wire = variants.iter().map(|v| {
        let variant = ident(&v.name);
        let wire = &v.wire_name;
        quote! { Self::#variant => #wire, }
    });
    let from_wire = variants.iter().map(|v| {
        let variant = ident(&v.name);
        let wire = &v.wire_name;
        quote! { #wire => Self::#variant, }
    });
    let all = variants.iter().map(|v| {
        let variant = ident(&v.name);
        quote! { Self::#variant, }
    });
    let count = Literal::usize_unsuffixed(variants.len());
    quote! {
        #doc
        #gate
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum #name {
            #(#declarations)*
            /// A value this version of the SDK does not know (from a newer CloudTower), kept as sent.
            #other(::std::string::String),
        }

        #gate
        impl #name {
            /// Every value the spec lists.
            pub const ALL: [Self; #count] = [#(#all)*];

            /// The value on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    #(#to_wire)*
                    Self::#other(value) => value,
                }
            }

            /// The variant for a wire value; unknown values are kept in the catch-all variant.
            pub fn from_wire(value: &str) -> Self {
                match value {
                    #(#from_wire)*
                    other => Self::#other(::std::string::String::from(other)),
                }
            }
        }

        /// An empty unknown value: no variant is a safe guess.
        #gate
        impl ::std::default::Default for #name {
            fn default() -> Self {
                Self::#other(::std::string::String::new())
            }
        }

        #gate
        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #gate
        #decode_gate
        impl #Decode for #name {
            fn decode(d: &mut #Decoder<'_>) -> ::std::result::Result<Self, #DecodeError> {
                d.str().map(Self::from_wire)
            }
        }

        #gate
        #encode_gate
        impl #Encode for #name {
            fn encode(&self, e: &mut #Encoder) {
                e.string(self.as_str());
            }
        }
    }
}

fn emit_operation(operation: &Operation, gates: &Gates) -> TokenStream {
    let gate = gates.for_operation(operation);
    let method = ident(&operation.method_name);
    let path = &operation.path;
    let verb = match operation.http_method {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
    };
    let mut doc_text = operation.doc.clone().unwrap_or_default();
    if !doc_text.is_empty() {
        doc_text.push_str("\n\n");
    }
    doc_text.push_str(&format!(
        "`{verb} /v2/api/{path}` (operation `{}`).",
        operation.id
    ));
    if operation.not_modified {
        doc_text.push_str("\n\nReturns `None` when the server answers 304 Not Modified.");
    }
    doc_text.push_str(
        "\n\nThe request is encoded when this is called; the returned future owns what it \
         needs (`Send + 'static`), so it can be spawned.",
    );
    let doc = docs(Some(&doc_text), false);
    let deprecated = operation.deprecated.then(|| quote!(#[deprecated]));
    let (parameter, request) = match (&operation.body, operation.http_method) {
        (Body::None, HttpMethod::Post) => (quote!(), quote!(#ApiRequest::empty(#path))),
        (Body::None, HttpMethod::Get) => (
            quote!(),
            quote!(#ApiRequest::get(#path, ::std::vec::Vec::new())),
        ),
        (Body::Json(ty), _) => {
            let ty = match ty {
                TypeRef::Array(inner) => {
                    let inner = type_tokens(inner);
                    quote!([#inner])
                }
                TypeRef::String => quote!(str),
                other => type_tokens(other),
            };
            (quote!(body: &#ty), quote!(#ApiRequest::json(#path, body)))
        }
        (Body::Multipart(name), _) => {
            let ty = type_tokens(&TypeRef::Named(name.clone()));
            (
                quote!(body: &#ty),
                quote!(#ApiRequest::multipart(#path, body.to_fields())),
            )
        }
        (Body::Query(name), _) => {
            let ty = type_tokens(&TypeRef::Named(name.clone()));
            (
                quote!(params: &#ty),
                quote!(#ApiRequest::get(#path, params.to_query())),
            )
        }
    };
    let request = contract::marked(operation, request);
    let (output, finish) = match (&operation.response, operation.not_modified) {
        (None, _) => (quote!(()), quote!(.map(|_| ()))),
        (Some(ty), false) => (type_tokens(ty), quote!(?.decode())),
        (Some(ty), true) => {
            let ty = type_tokens(ty);
            (
                quote!(::std::option::Option<#ty>),
                quote!(?.decode_unless_not_modified()),
            )
        }
    };
    quote! {
        #doc
        #gate
        #deprecated
        pub fn #method(&self, #parameter) -> impl ::std::future::Future<Output = ::std::result::Result<#output, #Error>> + ::std::marker::Send + 'static {
            let request = #request;
            let client = ::std::clone::Clone::clone(self);
            async move { client.execute(request).await #finish }
        }
    }
}
