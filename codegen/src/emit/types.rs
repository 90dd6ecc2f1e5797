//! Generated types: structs, enums, aliases, multipart forms and query parameters, each with
//! its codec impls in the directions the API uses it.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

// The runtime items, named as `#Decode`, `#ApiRequest`, … inside `quote!`.
#[allow(clippy::enum_glob_use)]
use crate::runtime::RuntimeType::*;

use super::{docs, field_type, ident, type_tokens, union, unset_value, Gates, OTHER_VARIANT};
use crate::ir::{Field, Presence, TypeDef, TypeKind, TypeRef, Variant};

pub(super) fn emit_type(def: &TypeDef, gates: &Gates) -> TokenStream {
    let gate = gates.for_type(def);
    let name = ident(&def.name);
    let doc = super::docs::type_doc(def, gates);
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
    let default = default_impl(name, gate, all_fields, gates);
    if !all_fields.iter().any(|f| f.sensitive) {
        return quote! {
            #doc
            #gate
            #[derive(Clone, Debug, PartialEq)]
            pub struct #name {
                #(#fields)*
            }
            #default
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
        #[derive(Clone, PartialEq)]
        pub struct #name {
            #(#fields)*
        }
        #default

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

/// The most fields a struct's `Default` has and is still `#[inline]`.
const INLINE_DEFAULT_FIELDS: usize = 16;

/// `Default`, written out rather than derived: the derive calls `Default::default()` for
/// every field, each call with an unwinding path that drops the fields made before it, so a
/// filter of 300 fields took thousands of lines of machine code. Here each field is
/// `unset_value`: a constant, but for required fields of other types.
fn default_impl(name: &Ident, gate: &TokenStream, fields: &[Field], gates: &Gates) -> TokenStream {
    let values = fields.iter().map(|f| {
        let field = ident(&f.name);
        let field_gate = gates.for_field(f);
        let value = unset_value(f);
        quote!(#field_gate #field: #value,)
    });
    // Small ones inline, as derived; a large one (a filter) compiled once and called. Inlined
    // (its body is one MIR statement, so rustc inlines it unasked), every place that builds a
    // filter (four in `Resolve::request_by_any`) optimised its hundreds of stores again.
    let inline = if fields.len() <= INLINE_DEFAULT_FIELDS {
        quote!(#[inline])
    } else {
        quote!(#[inline(never)])
    };
    quote! {
        #gate
        #[allow(clippy::derivable_impls)]
        impl ::std::default::Default for #name {
            #inline
            fn default() -> Self {
                Self { #(#values)* }
            }
        }
    }
}

/// `#[cfg(feature = "server")]` for the codec direction the API itself does not need.
pub(super) fn direction_gate(needed: bool) -> TokenStream {
    if needed {
        quote!()
    } else {
        quote!(#[cfg(feature = "server")])
    }
}

/// (decode, encode): the directions the API needs for this type.
pub(super) fn directions(def: &TypeDef) -> (bool, bool) {
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
        #[non_exhaustive]
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
