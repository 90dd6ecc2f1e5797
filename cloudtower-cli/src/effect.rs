//! What an operation does to the tower, as the MCP server's safety switches and `explain`
//! tell it: a read (the table's `read`), a change, or a destructive change.
//!
//! Destructive: what loses data or stops a service, and cannot simply be undone. The rule,
//! over the table's operation kind and path (documented in the README): a `delete`
//! operation; a path with one of the words of [`DESTRUCTIVE_WORDS`] (`delete-`, `remove-`,
//! `poweroff-`, `force-restart-`, `rollback-`, `rebuild-`, …); a path that moves to the
//! recycle bin (`…-to-recycle`) or restores over what exists (`…-in-place`).

use cloudtower_schema::{OperationKind, OperationSchema};
use serde::Serialize;

/// What an operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Changes nothing.
    Read,
    /// Creates or changes something.
    Change,
    /// Loses data or stops a service ([the rule](self)).
    Destructive,
}

/// The words of an operation's path that make it destructive.
pub const DESTRUCTIVE_WORDS: &[&str] = &[
    "delete",
    "remove",
    "poweroff",
    "shutdown",
    "stop",
    "restart",
    "force",
    "rollback",
    "rebuild",
    "reset",
    "uninstall",
    "unmount",
    "eject",
    "clear",
    "disassociate",
    "abort",
    "cancel",
    "power",
];

/// What `operation` does.
pub fn effect(operation: &OperationSchema) -> Effect {
    if operation.read {
        return Effect::Read;
    }
    let path = operation.path.as_str();
    let destructive = matches!(operation.kind, OperationKind::Delete { .. })
        || path
            .split('-')
            .any(|word| DESTRUCTIVE_WORDS.contains(&word))
        || path.contains("-to-recycle")
        || path.ends_with("-in-place");
    if destructive {
        Effect::Destructive
    } else {
        Effect::Change
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::api;

    fn of(path: &str) -> Effect {
        effect(api().operation(path).expect(path))
    }

    #[test]
    fn reads_changes_and_destructive_changes() {
        for path in ["get-vms", "get-vms-connection"] {
            assert_eq!(of(path), Effect::Read, "{path}");
        }
        for path in [
            "create-vm",
            "start-vm",
            "update-vm-basic-info",
            "create-vm-snapshot",
            "recover-vm-from-recycle",
            "update-global-recycle-bin-setting",
        ] {
            assert_eq!(of(path), Effect::Change, "{path}");
        }
        for path in [
            "delete-vm",
            "poweroff-vm",
            "force-restart-vm",
            "rollback-vm",
            "remove-vm-disk",
            "move-vm-to-recycle",
            "backup-restore-vm-in-place",
            "operate-host-power",
            "shutdown-vm",
        ] {
            assert_eq!(of(path), Effect::Destructive, "{path}");
        }
    }
}
