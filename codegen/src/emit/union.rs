//! [`TypeKind::Union`](crate::ir::TypeKind::Union) types: an enum when the alternatives can be
//! told apart on the wire, else a struct keeping the JSON (see `cloudtower_api::union`).

use heck::ToSnakeCase;
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::types::{direction_gate, directions};
use super::{ident, type_tokens};
use crate::ir::{Alternative, Shape, TypeDef};
#[allow(clippy::enum_glob_use)]
use crate::runtime::RuntimeType::*;

pub(super) fn emit_union(
    def: &TypeDef,
    name: &Ident,
    doc: TokenStream,
    gate: &TokenStream,
    alternatives: &[Alternative],
    told_apart: bool,
) -> TokenStream {
    if told_apart {
        emit_enum(def, name, doc, gate, alternatives)
    } else {
        emit_kept_json(def, name, doc, gate, alternatives)
    }
}

/// The runtime's `Shape` of an alternative.
fn shape_tokens(shape: &Shape) -> TokenStream {
    match shape {
        Shape::Bool => quote!(#UnionShape::Bool),
        Shape::Number => quote!(#UnionShape::Number),
        Shape::String => quote!(#UnionShape::String),
        Shape::Array => quote!(#UnionShape::Array),
        Shape::Object { markers } => quote!(#UnionShape::Object(&[#(#markers),*])),
        // A union with an alternative of any shape is never an enum.
        Shape::Any => unreachable!("alternatives of any shape are not told apart"),
    }
}

fn emit_enum(
    def: &TypeDef,
    name: &Ident,
    doc: TokenStream,
    gate: &TokenStream,
    alternatives: &[Alternative],
) -> TokenStream {
    let (decode_needed, encode_needed) = directions(def);
    let decode_gate = direction_gate(decode_needed);
    let encode_gate = direction_gate(encode_needed);
    let type_name = &def.name;
    let variants: Vec<Ident> = alternatives.iter().map(|a| ident(&a.name)).collect();
    let encode_arms = variants
        .iter()
        .map(|variant| quote!(Self::#variant(value) => #Encode::encode(value, e),));
    let types: Vec<TokenStream> = alternatives.iter().map(|a| type_tokens(&a.ty)).collect();
    let declarations = variants
        .iter()
        .zip(&types)
        .zip(alternatives)
        .map(|((v, ty), a)| {
            let shape_doc = match &a.shape {
                Shape::Object { markers } if !markers.is_empty() => {
                    format!(" An object with `{}`.", markers.join("` or `"))
                }
                shape => format!(" {shape:?} on the wire."),
            };
            quote! { #[doc = #shape_doc] #v(#ty), }
        });
    let first = &variants[0];
    // `From` for each alternative whose type no other alternative shares.
    let conversions = alternatives.iter().enumerate().filter_map(|(i, a)| {
        if alternatives.iter().filter(|b| b.ty == a.ty).count() > 1 {
            return None;
        }
        let (variant, ty) = (&variants[i], &types[i]);
        Some(quote! {
            #gate
            impl ::std::convert::From<#ty> for #name {
                fn from(value: #ty) -> Self {
                    Self::#variant(value)
                }
            }
        })
    });
    let shapes = alternatives.iter().map(|a| shape_tokens(&a.shape));
    let last = variants.len() - 1;
    let picks = variants.iter().enumerate().map(|(i, v)| {
        if i == last {
            quote! { _ => json.decode().map(Self::#v), }
        } else {
            let i = proc_macro2::Literal::usize_unsuffixed(i);
            quote! { #i => json.decode().map(Self::#v), }
        }
    });
    quote! {
        #doc
        #gate
        #[derive(Clone, Debug, PartialEq)]
        pub enum #name {
            #(#declarations)*
        }

        #gate
        impl ::std::default::Default for #name {
            fn default() -> Self {
                Self::#first(::std::default::Default::default())
            }
        }

        #(#conversions)*

        #gate
        #decode_gate
        impl #Decode for #name {
            fn decode(d: &mut #Decoder<'_>) -> ::std::result::Result<Self, #DecodeError> {
                let json = <#UnionJson as #Decode>::decode(d)?;
                match json.pick(d, #type_name, &[#(#shapes),*])? {
                    #(#picks)*
                }
            }
        }

        #gate
        #encode_gate
        impl #Encode for #name {
            fn encode(&self, e: &mut #Encoder) {
                match self {
                    #(#encode_arms)*
                }
            }
        }
    }
}

fn emit_kept_json(
    def: &TypeDef,
    name: &Ident,
    doc: TokenStream,
    gate: &TokenStream,
    alternatives: &[Alternative],
) -> TokenStream {
    let (decode_needed, encode_needed) = directions(def);
    let decode_gate = direction_gate(decode_needed);
    let encode_gate = direction_gate(encode_needed);
    let accessors = alternatives.iter().map(|a| {
        let snake = a.name.to_snake_case();
        let (try_as, from) = (
            format_ident!("try_as_{snake}"),
            format_ident!("from_{snake}"),
        );
        let ty = type_tokens(&a.ty);
        let read_doc = format!(" Reads the value as the `{}` alternative.", a.name);
        let make_doc = format!(" The value of the `{}` alternative.", a.name);
        quote! {
            #[doc = #read_doc]
            #decode_gate
            pub fn #try_as(&self) -> ::std::result::Result<#ty, #DecodeError> {
                self.0.decode()
            }

            #[doc = #make_doc]
            #encode_gate
            pub fn #from(value: &#ty) -> Self {
                Self(#UnionJson::from_value(value))
            }
        }
    });
    quote! {
        #doc
        ///
        /// Its alternatives look alike on the wire, so the JSON is kept as received (and sent
        /// back unchanged): read it with the `try_as_*` methods.
        #gate
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct #name(pub #UnionJson);

        #gate
        impl #name {
            #(#accessors)*
        }

        #gate
        #decode_gate
        impl #Decode for #name {
            fn decode(d: &mut #Decoder<'_>) -> ::std::result::Result<Self, #DecodeError> {
                #Decode::decode(d).map(Self)
            }
        }

        #gate
        #encode_gate
        impl #Encode for #name {
            fn encode(&self, e: &mut #Encoder) {
                #Encode::encode(&self.0, e);
            }
        }
    }
}
