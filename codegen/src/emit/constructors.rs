//! `Type::new(required fields…)` for request types: the compiler then asks for every field
//! the spec requires, where `..Default::default()` would send `""`, `0` or `false` for one
//! that was forgotten. Optional fields stay unset, to be given with struct update syntax:
//! `VmCreationParams { description: Some(..), ..VmCreationParams::new(..) }`.

use proc_macro2::TokenStream;
use quote::quote;

use super::{field_type, ident, type_tokens, Gates};
use crate::ir::{Holding, Presence, TypeDef, TypeKind, TypeRef};

/// The constructor of a request type with required fields; nothing for other types.
pub(super) fn emit_constructor(def: &TypeDef, gates: &Gates) -> TokenStream {
    let fields = match &def.kind {
        TypeKind::Struct { fields }
        | TypeKind::Query { fields }
        | TypeKind::Multipart { fields }
            if def.usage.request =>
        {
            fields
        }
        _ => return quote!(),
    };
    // A field compiled only with some features cannot be a parameter: it keeps its default.
    let (required, others): (Vec<_>, Vec<_>) = fields
        .iter()
        .partition(|f| f.required && gates.for_field(f).is_empty());
    if required.is_empty() {
        return quote!();
    }
    let params = required.iter().map(|f| {
        let field = ident(&f.name);
        match (f.repr, &f.ty, f.holding) {
            // `"web-1"` as well as a `String`.
            (Presence::Plain, TypeRef::String, Holding::Inline) => {
                quote!(#field: impl ::std::convert::Into<::std::string::String>)
            }
            // The value, boxed here.
            (Presence::Plain, ty, Holding::Boxed) => {
                let ty = type_tokens(ty);
                quote!(#field: #ty)
            }
            _ => {
                let ty = field_type(f);
                quote!(#field: #ty)
            }
        }
    });
    let inits = required.iter().map(|f| {
        let field = ident(&f.name);
        match (f.repr, &f.ty, f.holding) {
            (Presence::Plain, TypeRef::String, Holding::Inline) => quote!(#field: #field.into(),),
            (Presence::Plain, _, Holding::Boxed) => {
                quote!(#field: ::std::boxed::Box::new(#field),)
            }
            _ => quote!(#field,),
        }
    });
    let rest = (!others.is_empty()).then(|| quote!(..::std::default::Default::default()));
    let many = (required.len() > 7).then(|| quote!(#[allow(clippy::too_many_arguments)]));
    let gate = gates.for_type(def);
    let name = ident(&def.name);
    let doc = format!(
        " A `{}` with the fields the spec requires; the optional ones are unset.",
        def.name
    );
    quote! {
        #gate
        impl #name {
            #[doc = #doc]
            #many
            pub fn new(#(#params),*) -> Self {
                Self { #(#inits)* #rest }
            }
        }
    }
}
