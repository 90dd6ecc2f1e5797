//! `serde` for every generated type with a codec: one line per type, behind the crate's
//! `serde` feature (which turns on `server`, so both codec directions exist). The impls are the
//! runtime's `impl_serde!`, generic only over the serializer, so a type's serde code is
//! compiled where a program uses it, not for every type.

use proc_macro2::TokenStream;
use quote::quote;

// The runtime items, named as `#ImplSerde` inside `quote!`.
#[allow(clippy::enum_glob_use)]
use crate::runtime::RuntimeType::*;

use super::{ident, Gates};
use crate::ir::{TypeDef, TypeKind};

/// `impl_serde!(Type);` for a type with both codec directions, gated on its feature and `serde`.
pub(super) fn emit_serde_impl(def: &TypeDef, gates: &Gates) -> TokenStream {
    match def.kind {
        TypeKind::Struct { .. }
        | TypeKind::Enum { .. }
        | TypeKind::Union { .. }
        | TypeKind::Query { .. } => {}
        // Aliases are serde through their target; multipart forms have no JSON form.
        TypeKind::Alias { .. } | TypeKind::Multipart { .. } => return quote!(),
    }
    let gate = gates.for_type(def);
    let name = ident(&def.name);
    quote! {
        #gate
        #[cfg(feature = "serde")]
        #ImplSerde!(#name);
    }
}
