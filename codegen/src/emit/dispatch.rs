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
