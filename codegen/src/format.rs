//! Stage 5: emitting and formatting the planned files, in parallel (formatting dominates
//! generation time). Token streams cannot cross threads, so each worker emits the files it
//! formats.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use proc_macro2::TokenStream;

use crate::error::{CodegenError, Result};

/// Runs `emit` then `prettyplease` for each of `names`, prefixing `header`. The first names
/// are taken first: put the largest there so the workers finish together.
pub fn format_files<F>(names: &[String], emit: F, header: &str) -> Result<BTreeMap<String, String>>
where
    F: Fn(usize) -> TokenStream + Sync,
{
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(names.len().max(1));
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(names.len()));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(name) = names.get(i) else {
                    break;
                };
                let formatted = format_one(name, emit(i), header);
                if let Ok(mut done) = done.lock() {
                    done.push((name.clone(), formatted));
                }
            });
        }
    });
    let done = done.into_inner().unwrap_or_default();
    if done.len() != names.len() {
        return Err(CodegenError::Format {
            file: "?".into(),
            message: "a formatter thread panicked".into(),
        });
    }
    done.into_iter()
        .map(|(name, formatted)| formatted.map(|text| (name, text)))
        .collect()
}

fn format_one(name: &str, tokens: TokenStream, header: &str) -> Result<String> {
    let file: syn::File = syn::parse2(tokens).map_err(|e| CodegenError::Format {
        file: name.to_owned(),
        message: e.to_string(),
    })?;
    Ok(format!("{header}\n{}", prettyplease::unparse(&file)))
}
