//! `Client::call_operation`: every operation reachable by its path, with a JSON request.

use proc_macro2::TokenStream;
use quote::quote;

// The runtime items, named as `#Decode`, `#ApiRequest`, … inside `quote!`.
#[allow(clippy::enum_glob_use)]
use crate::runtime::RuntimeType::*;

use super::{ident, type_tokens, Gates};
use crate::ir::{Api, Body, TypeRef};

/// The file of [`emit_dispatch`].
pub const DISPATCH_FILE: &str = "dispatch.rs";

/// `Client::call_operation`: any operation by its path, with the request as JSON, checked
/// against the request type and the response decoded into the response type. For CLIs and
/// conformance tests; behind the `dynamic` feature, since it compiles every method.
///
/// The match is a plain function whose arms each hand a closure to a generic runtime function
/// (`call_with_json`, …) and return its boxed future: every operation's request and future
/// live in a frame and a state machine of their own. One `async` match over every operation
/// made a state machine, and a debug-build stack frame, sized for all of them at once (16–32
/// MiB of stack).
pub fn emit_dispatch(api: &Api, gates: &Gates) -> TokenStream {
    let arms = api.operations.iter().map(|operation| {
        let path = &operation.path;
        let method = ident(&operation.method_name);
        let gate = gates.for_operation(operation);
        let respond = match (&operation.response, operation.not_modified) {
            (None, _) => quote! {
                call.await?;
                ::std::result::Result::Ok::<_, #Error>(::std::option::Option::None)
            },
            (Some(_), false) => quote! {
                let response = call.await?;
                ::std::result::Result::Ok::<_, #Error>(::std::option::Option::Some(#EncodeFn(&response)))
            },
            (Some(_), true) => quote! {
                let response = call.await?;
                ::std::result::Result::Ok::<_, #Error>(response.map(|r| #EncodeFn(&r)))
            },
        };
        let with_json = |ty: TokenStream| {
            quote! {
                #CallWithJson(#path, body, |body: &#ty| {
                    let call = self.#method(body);
                    async move { #respond }
                })
            }
        };
        let call = match &operation.body {
            Body::None => quote! {
                #CallWithoutBody(|| {
                    let call = self.#method();
                    async move { #respond }
                })
            },
            Body::Json(ty) => with_json(type_tokens(ty)),
            Body::Query(name) => with_json(type_tokens(&TypeRef::Named(name.clone()))),
            Body::Multipart(_) => quote! {
                #UnsupportedCall(#path, "multipart uploads take files: call the method")
            },
        };
        quote! {
            #gate
            #path => #call,
        }
    });
    let multipart_arms = api.operations.iter().filter_map(|operation| {
        let Body::Multipart(_) = &operation.body else {
            return None;
        };
        let path = &operation.path;
        let gate = gates.for_operation(operation);
        let info = super::operation_info_path(operation);
        let finish = match (&operation.response, operation.not_modified) {
            (None, _) => quote!(::std::option::Option::None),
            (Some(ty), false) => {
                let ty = type_tokens(ty);
                quote!(::std::option::Option::Some(#EncodeFn(&response.decode::<#ty>()?)))
            }
            (Some(ty), true) => {
                let ty = type_tokens(ty);
                quote!(response.decode_unless_not_modified::<#ty>()?.map(|r| #EncodeFn(&r)))
            }
        };
        Some(quote! {
            #gate
            #path => {
                let request = #info.multipart(fields);
                let client = ::std::clone::Clone::clone(self);
                ::std::boxed::Box::pin(async move {
                    let response = client.execute(request).await?;
                    ::std::result::Result::Ok::<_, #Error>(#finish)
                })
            }
        })
    });
    quote! {
        impl crate::models::Client {
            /// Calls the multipart operation (an upload) at `path` with `fields` (text fields
            /// and files, as the operation's form takes them), and returns its response as
            /// `call_operation` does: decoded into its type, encoded again as JSON. For tools
            /// that work with any CloudTower version's uploads without naming their types.
            #[allow(deprecated, unused_variables)]
            pub fn call_multipart(&self, path: &str, fields: ::std::vec::Vec<#MultipartField>) -> #DynamicCall {
                match path {
                    #(#multipart_arms)*
                    _ => #UnsupportedCall("call_multipart", "no multipart operation has this path"),
                }
            }

            /// Calls the operation at `path` (`get-vms`) with `body`, a JSON request that must
            /// decode into the operation's request type (ignored by operations without one).
            /// The request is decoded strictly: a required field that is missing or `null` is
            /// `ConstructionError::InvalidRequest` naming it, and nothing is sent. Returns the response
            /// decoded into its type and encoded again as JSON (`None` for 304 Not Modified
            /// and empty responses).
            ///
            /// The request is checked when this is called; the returned future owns what it
            /// needs (`Send + 'static`), so it can be spawned.
            #[allow(deprecated)]
            pub fn call_operation(&self, path: &str, body: &[u8]) -> #DynamicCall {
                let _ = body;
                match path {
                    #(#arms)*
                    _ => #UnsupportedCall("call_operation", "no operation has this path"),
                }
            }
        }
    }
}
