//! Which hand-written helpers of `cloudtower-api` a spec supports.
//!
//! A helper (VNC consoles, chunked uploads, watching changes) calls generated methods and
//! reads or builds generated types, so another CloudTower version can break it by lacking an
//! operation, renaming a method, or reshaping a field it touches. [`HELPERS`] lists, per
//! helper, everything its code assumes; a helper is compiled (through `cfg_<name>!`) only
//! when the spec has all of it, and regen says why it was left out otherwise.

use crate::ir::{Api, Body, Holding, Presence, TypeKind, TypeRef};

/// A type as a helper's code uses it.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    String,
    I32,
    Json,
    File,
    Named(&'static str),
    ArrayOf(&'static str),
}

/// An operation a helper calls, by path, with the method, body and answer its code expects.
pub struct OperationNeed {
    pub path: &'static str,
    pub method: &'static str,
    /// The named type of the body (JSON, multipart or query parameters).
    pub body: &'static str,
    /// The answer, when the helper reads it.
    pub response: Option<Ty>,
}

/// A field a helper reads or sets, with the type and presences its code works with
/// (`.into()` takes `T` into both `Option<T>` and `Nullable<T>`, so some accept several).
pub struct FieldNeed {
    pub owner: &'static str,
    /// The Rust field name.
    pub field: &'static str,
    pub ty: Ty,
    pub presence: &'static [Presence],
}

/// A hand-written helper of `cloudtower-api` and what it needs of the spec.
pub struct Helper {
    pub name: &'static str,
    pub operations: &'static [OperationNeed],
    pub fields: &'static [FieldNeed],
    /// Enum values it matches on: (enum type, wire value).
    pub variants: &'static [(&'static str, &'static str)],
}

const PLAIN: &[Presence] = &[Presence::Plain];
const OPTIONAL: &[Presence] = &[Presence::Optional];
const INTO_OPTIONAL: &[Presence] = &[Presence::Optional, Presence::Nullable];

const fn field(
    owner: &'static str,
    field: &'static str,
    ty: Ty,
    presence: &'static [Presence],
) -> FieldNeed {
    FieldNeed {
        owner,
        field,
        ty,
        presence,
    }
}

/// Every helper (cloudtower-api/src/{vnc,upload,watch}.rs) and what it needs. Keep in step
/// with their code: the tests regenerate the crate from reduced and older specs.
pub const HELPERS: &[Helper] = &[
    Helper {
        name: "vnc",
        operations: &[OperationNeed {
            path: "get-vm-vnc-info",
            method: "get_vm_vnc_info",
            body: "GetVmVncInfoParams",
            response: Some(Ty::Named("VmVncInfo")),
        }],
        fields: &[
            field(
                "GetVmVncInfoParams",
                "vm",
                Ty::Named("VmWhereUniqueInput"),
                PLAIN,
            ),
            field("VmVncInfo", "vm", Ty::Named("Vm"), PLAIN),
            field("VmVncInfo", "redirect", Ty::String, PLAIN),
            field("VmVncInfo", "direct", Ty::String, OPTIONAL),
            field("VmVncInfo", "cluster_ip", Ty::String, PLAIN),
            field("Vm", "local_id", Ty::String, PLAIN),
        ],
        variants: &[],
    },
    Helper {
        name: "upload",
        operations: &[
            OperationNeed {
                path: "upload-elf-image",
                method: "create_elf_image",
                body: "CreateElfImageRequestBody",
                response: Some(Ty::ArrayOf("UploadTask")),
            },
            OperationNeed {
                path: "get-upload-tasks",
                method: "get_upload_tasks",
                body: "GetUploadTasksRequestBody",
                response: Some(Ty::ArrayOf("UploadTask")),
            },
            OperationNeed {
                path: "cancel-upload-task",
                method: "cancel_upload_task",
                body: "CancelUploadTaskParams",
                response: None,
            },
        ],
        fields: &[
            field("CreateElfImageRequestBody", "file", Ty::File, PLAIN),
            field(
                "CreateElfImageRequestBody",
                "cluster_id",
                Ty::String,
                OPTIONAL,
            ),
            field("CreateElfImageRequestBody", "name", Ty::String, OPTIONAL),
            field("CreateElfImageRequestBody", "size", Ty::String, OPTIONAL),
            field(
                "CreateElfImageRequestBody",
                "size_unit",
                Ty::String,
                OPTIONAL,
            ),
            field(
                "CreateElfImageRequestBody",
                "description",
                Ty::String,
                OPTIONAL,
            ),
            field(
                "CreateElfImageRequestBody",
                "upload_task_id",
                Ty::String,
                OPTIONAL,
            ),
            field(
                "CancelUploadTaskParams",
                "r#where",
                Ty::Named("UploadTaskWhereInput"),
                PLAIN,
            ),
            field(
                "GetUploadTasksRequestBody",
                "r#where",
                Ty::Named("UploadTaskWhereInput"),
                INTO_OPTIONAL,
            ),
            field("UploadTaskWhereInput", "id", Ty::String, INTO_OPTIONAL),
            field("UploadTask", "id", Ty::String, PLAIN),
            field("UploadTask", "status", Ty::Named("UploadTaskStatus"), PLAIN),
            field("UploadTask", "args", Ty::Json, PLAIN),
        ],
        variants: &[
            ("UploadTaskStatus", "FAILED"),
            ("UploadTaskStatus", "SUCCESSED"),
        ],
    },
    Helper {
        name: "watch",
        operations: &[OperationNeed {
            path: "resource-changes",
            method: "get_resource_changes",
            body: "GetResourceChangesParams",
            response: Some(Ty::Named("ResourceChangeResponse")),
        }],
        fields: &[
            field(
                "GetResourceChangesParams",
                "start_revision",
                Ty::String,
                OPTIONAL,
            ),
            field(
                "GetResourceChangesParams",
                "resource_type",
                Ty::String,
                OPTIONAL,
            ),
            field(
                "GetResourceChangesParams",
                "resource_id",
                Ty::String,
                OPTIONAL,
            ),
            field("GetResourceChangesParams", "action", Ty::String, OPTIONAL),
            field("GetResourceChangesParams", "limit", Ty::I32, OPTIONAL),
            field(
                "ResourceChangeResponse",
                "current_revision",
                Ty::String,
                PLAIN,
            ),
            field(
                "ResourceChangeResponse",
                "compact_revision",
                Ty::String,
                PLAIN,
            ),
            field(
                "ResourceChangeResponse",
                "data",
                Ty::ArrayOf("ResourceChangeEvent"),
                PLAIN,
            ),
            field("ResourceChangeResponse", "error", Ty::Json, OPTIONAL),
            field("ResourceChangeResponse", "ec", Ty::String, PLAIN),
            field("ResourceChangeEvent", "revision", Ty::String, PLAIN),
        ],
        variants: &[],
    },
];

/// Follows aliases (`ResourceChangeLimit = i32`) to the type they name.
fn resolved<'a>(api: &'a Api, mut ty: &'a TypeRef) -> &'a TypeRef {
    // Bounded: lowering rejects alias cycles, but a check must not hang on one.
    for _ in 0..16 {
        let TypeRef::Named(name) = ty else { break };
        match api.type_named(name).map(|def| &def.kind) {
            Some(TypeKind::Alias { target }) => ty = target,
            _ => break,
        }
    }
    ty
}

fn matches(api: &Api, ty: &TypeRef, need: Ty) -> bool {
    let named = |ty: &TypeRef, want: &str| matches!(ty, TypeRef::Named(name) if name == want);
    match (resolved(api, ty), need) {
        (TypeRef::String, Ty::String)
        | (TypeRef::I32, Ty::I32)
        | (TypeRef::Json, Ty::Json)
        | (TypeRef::File, Ty::File) => true,
        (ty, Ty::Named(want)) => named(ty, want),
        (TypeRef::Array(item), Ty::ArrayOf(want)) => named(item, want),
        _ => false,
    }
}

/// Whether the spec has everything `helper` needs; otherwise the first thing it lacks.
pub fn support(api: &Api, helper: &Helper) -> Result<(), String> {
    for need in helper.operations {
        let Some(operation) = api.operations.iter().find(|o| o.path == need.path) else {
            return Err(format!("no operation /{}", need.path));
        };
        if operation.method_name != need.method {
            return Err(format!(
                "/{} is method `{}`, not `{}`",
                need.path, operation.method_name, need.method
            ));
        }
        let body = match &operation.body {
            Body::Json(TypeRef::Named(name)) | Body::Multipart(name) | Body::Query(name) => {
                Some(name.as_str())
            }
            _ => None,
        };
        if body != Some(need.body) {
            return Err(format!("/{} does not take a `{}`", need.path, need.body));
        }
        if let Some(response) = need.response {
            if !operation
                .response
                .as_ref()
                .is_some_and(|r| matches(api, r, response))
            {
                return Err(format!("/{} does not answer {response:?}", need.path));
            }
        }
    }
    for need in helper.fields {
        let fields = match api.type_named(need.owner).map(|def| &def.kind) {
            Some(
                TypeKind::Struct { fields }
                | TypeKind::Multipart { fields }
                | TypeKind::Query { fields },
            ) => fields,
            _ => return Err(format!("no struct `{}`", need.owner)),
        };
        let Some(found) = fields.iter().find(|f| f.name == need.field) else {
            return Err(format!("`{}` has no field `{}`", need.owner, need.field));
        };
        if found.holding != Holding::Inline
            || !matches(api, &found.ty, need.ty)
            || !need.presence.contains(&found.repr)
        {
            return Err(format!(
                "`{}.{}` is not {:?} with presence {:?}",
                need.owner, need.field, need.ty, need.presence
            ));
        }
    }
    for (owner, wire) in helper.variants {
        let known = match api.type_named(owner).map(|def| &def.kind) {
            Some(TypeKind::Enum { variants }) => variants.iter().any(|v| v.wire_name == *wire),
            _ => false,
        };
        if !known {
            return Err(format!("enum `{owner}` has no value {wire}"));
        }
    }
    Ok(())
}

/// Regen warnings: each helper the spec has operations of but cannot support, and why. A
/// spec with none of a helper's operations simply has no such feature: no warning.
pub fn unsupported(api: &Api) -> Vec<String> {
    HELPERS
        .iter()
        .filter(|helper| {
            helper
                .operations
                .iter()
                .any(|need| api.operations.iter().any(|o| o.path == need.path))
        })
        .filter_map(|helper| {
            let reason = support(api, helper).err()?;
            Some(format!(
                "the `{}` helper is compiled out: {reason}",
                helper.name
            ))
        })
        .collect()
}
