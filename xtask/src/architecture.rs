//! `ARCHITECTURE.md` names the code it describes: every `file.rs` it names in backticks is a
//! source file of the checkout, and every `file.rs::item` an item defined in that file
//! (`fn`, `struct`, `enum`, `trait`, `mod`, `const`, `static`, `type`). A test checks the
//! checkout's document, so a rename that leaves it behind fails the tests.

use std::path::{Path, PathBuf};

/// Prints what `ARCHITECTURE.md` names that does not exist; whether everything does.
pub fn check(root: &Path) -> Result<bool, String> {
    let path = root.join("ARCHITECTURE.md");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut sources = Vec::new();
    rust_files(root, &mut sources)?;
    let stale = stale_names(&text, &sources, |file| std::fs::read_to_string(file).ok());
    for name in &stale {
        eprintln!("ARCHITECTURE.md names `{name}`, which the code does not have");
    }
    Ok(stale.is_empty())
}

/// The `.rs` files under `dir`, leaving out build output and installed packages.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !(name.starts_with('.') || name == "target" || name == "node_modules") {
                rust_files(&path, out)?;
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The `file.rs` and `file.rs::item` names in backticks of `text` that no file of `sources`
/// (matched by path suffix) has, or whose item none of those files defines (`read` gives a
/// file's text).
fn stale_names(
    text: &str,
    sources: &[PathBuf],
    read: impl Fn(&Path) -> Option<String>,
) -> Vec<String> {
    let mut stale = Vec::new();
    for span in text.split('`').skip(1).step_by(2) {
        let mut parts = span.split("::");
        // A path, not a pattern (`xtask/src/*.rs`, `<command>.rs`) or prose.
        let is_path = |f: &&str| {
            f.ends_with(".rs")
                && f.chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        };
        let Some(file) = parts.next().filter(is_path) else {
            continue;
        };
        let matching: Vec<&PathBuf> = sources
            .iter()
            .filter(|p| {
                let p = p.to_string_lossy().replace('\\', "/");
                p.ends_with(&format!("/{file}")) || p == file
            })
            .collect();
        // The innermost item named (`file.rs::Type::method` names `method`).
        let item = parts.last();
        let found = match item {
            _ if matching.is_empty() => false,
            None => true,
            Some(item) => matching
                .iter()
                .filter_map(|p| read(p))
                .any(|source| defines(&source, item)),
        };
        if !found && !stale.contains(&span.to_owned()) {
            stale.push(span.to_owned());
        }
    }
    stale
}

/// Whether `source` defines an item called `name`.
fn defines(source: &str, name: &str) -> bool {
    const KINDS: &[&str] = &[
        "fn", "struct", "enum", "trait", "mod", "const", "static", "type",
    ];
    source.lines().any(|line| {
        let words: Vec<&str> = line
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        // `pub const fn store(`: each kind word is tried with the word after it.
        words
            .windows(2)
            .any(|pair| KINDS.contains(&pair[0]) && pair[1] == name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checkout's own document names only what its code has.
    #[test]
    fn architecture_md_names_only_what_exists() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        assert!(check(root).unwrap(), "ARCHITECTURE.md is stale (above)");
    }

    #[test]
    fn names_the_files_and_items_the_code_lacks() {
        let sources = vec![
            PathBuf::from("/repo/runtime/src/client/orchestrator.rs"),
            PathBuf::from("/repo/mock/src/reactors/mod.rs"),
        ];
        let read = |p: &Path| {
            Some(if p.ends_with("orchestrator.rs") {
                "impl Client {\n    pub(crate) async fn invoke(&self) {}\n}\n".to_owned()
            } else {
                "const fn store() {}\npub(crate) const REGISTRY: &[Entry] = &[];\n".to_owned()
            })
        };
        let text = "One call: `client/orchestrator.rs::invoke`, then `orchestrator.rs::send` \
                    (gone); the registry `reactors/mod.rs::REGISTRY` of `reactors/mod.rs::store`; `server.rs` (gone); \
                    `cargo xtask test`, `a.rs b` and `src/*.rs` are no names.";
        assert_eq!(
            stale_names(text, &sources, read),
            ["orchestrator.rs::send", "server.rs"]
        );
    }
}
