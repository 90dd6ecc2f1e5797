//! Which cargo features compile which generated item, and the `[features]` table itself.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::quote;

use crate::ir::{Api, Field, Operation, TypeDef};

/// Which cargo features compile which code. With gating off (fixture crates), everything is
/// always compiled.
pub struct Gates<'a> {
    api: &'a Api,
    pub(super) enabled: bool,
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
    pub(super) fn type_features(&self, def: &TypeDef) -> Option<BTreeSet<String>> {
        if !self.enabled || def.always_on {
            return None;
        }
        if def.modules.is_empty() {
            return Some(BTreeSet::from([FULL_FEATURE.to_owned()]));
        }
        Some(def.modules.iter().map(|m| feature_name(m)).collect())
    }

    pub(super) fn api(&self) -> &'a Api {
        self.api
    }

    /// The feature that compiles an operation: `None` for always.
    pub(super) fn operation_feature(&self, operation: &Operation) -> Option<String> {
        (self.enabled && !operation.always_on).then(|| feature_name(&operation.module))
    }

    pub(super) fn cfg(features: Option<BTreeSet<String>>) -> TokenStream {
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

    pub(super) fn for_type(&self, def: &TypeDef) -> TokenStream {
        Self::cfg(self.type_features(def))
    }

    /// A cycle field links types of one cycle and is compiled only when its target is (the
    /// module analysis does not follow it); every other field comes with its type.
    pub(super) fn for_field(&self, field: &Field) -> TokenStream {
        if !field.in_cycle() {
            return quote!();
        }
        match field.ty.named().and_then(|name| self.api.type_named(name)) {
            Some(target) => Self::cfg(self.type_features(target)),
            None => quote!(),
        }
    }

    pub(super) fn for_operation(&self, operation: &Operation) -> TokenStream {
        match self.operation_feature(operation) {
            Some(feature) => quote!(#[cfg(feature = #feature)]),
            None => quote!(),
        }
    }

    /// Compiled when any of the types is.
    pub(super) fn for_any_type(&self, types: &[usize]) -> TokenStream {
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
    for feature in &features {
        out.push_str(&format!("{feature} = []\n"));
    }
    // One feature per hand-written helper, present whatever the spec: the modules it needs
    // where the spec supports it, nothing where it does not (its code is compiled out). Crates
    // built on this one (the command line) ask for these, which every regenerated crate has.
    out.push_str("# The helpers (upload, VNC, watch): their modules, or nothing where the spec lacks them.\n");
    for (helper, needs) in super::contract::helper_features(api) {
        let needs: Vec<String> = needs
            .into_iter()
            .flatten()
            .map(|f| format!("\"{f}\""))
            .collect();
        out.push_str(&format!("{helper} = [{}]\n", needs.join(", ")));
    }
    out
}
