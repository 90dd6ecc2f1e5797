//! One `Client` method per operation.

use proc_macro2::TokenStream;
use quote::quote;

// The runtime items, named as `#Decode`, `#ApiRequest`, … inside `quote!`.
#[allow(clippy::enum_glob_use)]
use crate::runtime::RuntimeType::*;

use super::{docs, ident, type_tokens, Gates};
use crate::ir::{Body, Operation, TypeRef};

pub(super) fn emit_operation(operation: &Operation, gates: &Gates) -> TokenStream {
    let gate = gates.for_operation(operation);
    let method = ident(&operation.method_name);
    let doc = docs::operation_doc(operation, gates);
    let deprecated = docs::deprecated_attr(operation.deprecated);
    let info = super::operation_info_path(operation);
    let (parameter, request) = match &operation.body {
        Body::None => (quote!(), quote!(#info.empty())),
        Body::Json(ty) => {
            let ty = match ty {
                TypeRef::Array(inner) => {
                    let inner = type_tokens(inner);
                    quote!([#inner])
                }
                TypeRef::String => quote!(str),
                other => type_tokens(other),
            };
            (quote!(body: &#ty), quote!(#info.json(body)))
        }
        Body::Multipart(name) => {
            let ty = type_tokens(&TypeRef::Named(name.clone()));
            (
                quote!(body: &#ty),
                quote!(#info.multipart(body.to_fields())),
            )
        }
        Body::Query(name) => {
            let ty = type_tokens(&TypeRef::Named(name.clone()));
            (quote!(params: &#ty), quote!(#info.query(params.to_query())))
        }
    };
    // What the answer becomes: a function, not a closure per method, where one exists.
    let (output, finish) = match (&operation.response, operation.not_modified) {
        (None, _) => (quote!(()), quote!(|_| ::std::result::Result::Ok(()))),
        (Some(ty), false) => (type_tokens(ty), quote!(#ApiResponse::decode)),
        (Some(ty), true) => {
            let ty = type_tokens(ty);
            (
                quote!(::std::option::Option<#ty>),
                quote!(#ApiResponse::decode_unless_not_modified),
            )
        }
    };
    quote! {
        #doc
        #gate
        #deprecated
        pub fn #method(&self, #parameter) -> #CallFuture<#output> {
            #CallFuture::new(self, #request, #finish)
        }
    }
}
