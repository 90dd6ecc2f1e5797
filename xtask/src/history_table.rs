//! `cargo xtask history`: the version history table (spec/history.txt) from the published
//! specs.

use std::path::Path;
use std::time::Instant;

use cloudtower_codegen::history;

/// `cargo xtask history`: writes the table, or with `check` says whether the committed one is
/// what the specs in `dir` give (naming the lines that differ when not).
pub fn run(root: &Path, dir: &Path, check: bool) -> Result<bool, String> {
    let started = Instant::now();
    let snapshots = history::read_specs(dir)?;
    let read = started.elapsed();
    let table = history::History::build(&snapshots, history::UNOBTAINABLE)?;
    let text = table.render();
    let path = root.join(history::TABLE_FILE);
    println!(
        "{} published versions ({} with a spec, from {}), {} operations, in {:.2} s (reading {:.2} s)",
        table.versions.len(),
        snapshots.len(),
        dir.display(),
        table.operations.len(),
        started.elapsed().as_secs_f64(),
        read.as_secs_f64()
    );
    if check {
        let committed = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        return Ok(match history::differences(&committed, &text) {
            None => {
                println!("{} is up to date", path.display());
                true
            }
            Some(differences) => {
                eprintln!(
                    "{} is stale: the specs in {} give other lines (- committed, + rebuilt):\n{differences}run `{}` and commit the result",
                    path.display(),
                    dir.display(),
                    history::COMMAND
                );
                false
            }
        });
    }
    std::fs::write(&path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(true)
}
