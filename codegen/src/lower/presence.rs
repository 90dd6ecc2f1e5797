//! Pass: how each field represents presence and `null`.

use crate::ir::{Api, Presence, TypeKind};

/// Decides how each field says "absent" and "null" (see [`Presence`]).
pub(super) fn assign_presence(api: &mut Api) {
    for def in &mut api.types {
        let request = def.usage.request;
        let fields = match &mut def.kind {
            TypeKind::Struct { fields }
            | TypeKind::Multipart { fields }
            | TypeKind::Query { fields } => fields,
            _ => continue,
        };
        for field in fields {
            field.repr = match (field.required, field.nullable) {
                (true, false) => Presence::Plain,
                (true, true) if request => Presence::RequiredNullable,
                (false, true) if request => Presence::Nullable,
                _ => Presence::Optional,
            };
        }
    }
}
