//! Method names for operations: the snake_case operation id, unless another operation or
//! the hand-written client already has that name.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{CodegenError, Result};
use crate::names;

/// Methods of the hand-written `Client` (in `cloudtower-api`, and `call_operation` of the
/// `dynamic` feature) and of the traits it implements: a generated method of the same name
/// would clash with, or silently shadow, them.
pub const RESERVED_METHODS: &[&str] = &[
    "active_endpoint",
    "base_url",
    "builder",
    "call_multipart",
    "call_operation",
    "clone",
    "count",
    "count_with",
    "deref",
    "discover_active_endpoint",
    "endpoints",
    "execute",
    "fetch_server_version",
    "fmt",
    "from",
    "header_parameters",
    "is_authenticated",
    "new",
    "paginate",
    "paginate_with",
    "reread",
    "reread_with",
    "resolve",
    "resolve_with",
    "runtime",
    "server_version",
    "set_authenticator",
    "set_token",
    "sign_in",
    "sign_in_with",
    "upload_elf_image",
    "upload_elf_image_file",
    "vm_vnc_console",
    "wait_for",
    "wait_task",
    "wait_task_with",
    "wait_tasks",
    "wait_tasks_all",
    "wait_tasks_all_as",
    "wait_tasks_all_observed_as",
    "wait_tasks_as",
    "wait_tasks_with",
    "wait_until_idle",
    "wait_until_idle_with",
    "wait_upload_task",
    "watch_resource_changes",
    "with_call_timeout",
    "with_header_parameter",
    "with_language",
    "with_locked_retry",
    "with_retry_policy",
    "with_timeout",
    "without_locked_retry",
];

/// One operation to name.
pub(super) struct Named<'a> {
    /// The path without its leading `/`.
    pub path: &'a str,
    pub id: &'a str,
    /// The operation's JSON pointer, for errors.
    pub pointer: String,
}

/// The method name of each operation (in the order given, which is path order) and, when it
/// is not the one its operation id gives, why.
///
/// Several operations with one operation id (an upstream copy-paste: 4.0.0's
/// `/create-user-audit-log` reuses `CreateRole`): the one whose path gives the same name keeps
/// it (else the first in path order), the others are named after their path. A name the
/// hand-written client uses is also replaced by the path's.
pub(super) fn assign(operations: &[Named<'_>]) -> Result<Vec<(String, Option<String>)>> {
    let wanted: Vec<String> = operations
        .iter()
        .map(|o| names::method_name(o.id))
        .collect();
    let mut holders: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, name) in wanted.iter().enumerate() {
        holders.entry(name).or_default().push(i);
    }
    let mut assigned: Vec<(String, Option<String>)> = Vec::with_capacity(operations.len());
    for (i, (operation, name)) in operations.iter().zip(&wanted).enumerate() {
        let sharing = &holders[name.as_str()];
        let keeper = sharing
            .iter()
            .copied()
            .find(|&j| names::method_name(operations[j].path) == *name)
            .unwrap_or(sharing[0]);
        let reason = if RESERVED_METHODS.contains(&name.trim_start_matches("r#")) {
            Some(format!("`{name}` is a method of the hand-written Client"))
        } else if keeper != i {
            Some(format!(
                "operation id `{}` is also that of /{}",
                operation.id, operations[keeper].path
            ))
        } else {
            None
        };
        assigned.push(match reason {
            None => (name.clone(), None),
            Some(reason) => {
                let mut renamed = names::method_name(operation.path);
                if RESERVED_METHODS.contains(&renamed.trim_start_matches("r#")) {
                    renamed = format!("{}_operation", renamed.trim_start_matches("r#"));
                }
                let note = format!("named `{renamed}` after its path, not `{name}`: {reason}");
                (renamed, Some(note))
            }
        });
    }
    let mut taken: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, (name, _)) in assigned.iter().enumerate() {
        if let Some(previous) = taken.insert(name, i) {
            return Err(CodegenError::invalid(
                format!("{}/operationId", operations[i].pointer),
                format!(
                    "operation id `{}` gives method `{name}`, as does {}",
                    operations[i].id, operations[previous].pointer
                ),
            ));
        }
    }
    debug_assert_eq!(
        assigned.iter().map(|a| &a.0).collect::<BTreeSet<_>>().len(),
        assigned.len()
    );
    Ok(assigned)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::RESERVED_METHODS;

    /// The public methods of `impl Client` blocks in the `.rs` files under `dir`.
    fn client_methods(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !path.ends_with("generated") {
                    client_methods(&path, out);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            let mut in_client = false;
            for line in source.lines() {
                if line.starts_with("impl Client {") {
                    in_client = true;
                } else if line.starts_with('}') {
                    in_client = false;
                } else if in_client {
                    let signature = line.trim_start_matches("    ");
                    let rest = signature
                        .strip_prefix("pub fn ")
                        .or_else(|| signature.strip_prefix("pub async fn "));
                    if let Some(rest) = rest.filter(|_| line.starts_with("    pub")) {
                        let name: String = rest
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        out.push(name);
                    }
                }
            }
        }
    }

    /// A generated method named as a hand-written one would clash with it or shadow it: every
    /// public method of the runtime's and the crate's hand-written `Client` is reserved.
    #[test]
    fn every_public_method_of_the_hand_written_client_is_reserved() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let mut methods = Vec::new();
        client_methods(&root.join("cloudtower-runtime/src"), &mut methods);
        client_methods(&root.join("cloudtower-api/src"), &mut methods);
        assert!(methods.len() > 20, "found {methods:?}");
        let missing: Vec<&String> = methods
            .iter()
            .filter(|m| !RESERVED_METHODS.contains(&m.as_str()))
            .collect();
        assert!(missing.is_empty(), "not in RESERVED_METHODS: {missing:?}");
    }
}
