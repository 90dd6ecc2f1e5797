//! The documentation of generated items. The spec has next to no descriptions, so what a
//! reader needs comes from what the generator knows: the HTTP path, the request and response
//! types, whether an answer holds tasks to wait for, the runtime helpers a list operation gets,
//! which operations use a type, and the feature that compiles each item.
//!
//! Links point at items compiled whenever the documented item is; a line linking to an
//! operation compiled under another feature is itself gated on that feature, so that the docs
//! of any feature set have no broken links.

use proc_macro2::TokenStream;
use quote::quote;

use super::{contract, FilePlan, Gates, SHARED_FILTERS_MODULE, SHARED_MODULE};
use crate::ir::{Api, Body, HttpMethod, Operation, TypeDef, TypeKind, TypeRef};
use crate::runtime::{RuntimeType, MODELS_PATH, TASKS_OPERATION};

/// How many of the operations that reach a type only through other types' fields its
/// documentation lists (a filter type is inside dozens).
const INDIRECT_USES_LISTED: usize = 8;

/// Documentation lines, each compiled always or only with a feature.
#[derive(Default)]
struct DocLines(Vec<(Option<String>, String)>);

impl DocLines {
    fn text(&mut self, text: &str) {
        self.gated(None, text);
    }

    fn gated(&mut self, feature: Option<String>, text: &str) {
        for line in text.lines() {
            self.0
                .push((feature.clone(), format!(" {}", line.trim_end())));
        }
    }

    fn blank(&mut self) {
        self.0.push((None, String::new()));
    }

    /// One `#[doc]` per line, and one `#[cfg_attr(feature = …, doc = …)]` per run of lines
    /// with the same feature.
    fn tokens(&self) -> TokenStream {
        let mut attributes = Vec::new();
        let mut lines = self.0.iter().peekable();
        while let Some((feature, line)) = lines.next() {
            let Some(feature) = feature else {
                attributes.push(quote!(#[doc = #line]));
                continue;
            };
            let mut run = line.clone();
            while let Some((_, next)) = lines.next_if(|(next, _)| next.as_ref() == Some(feature)) {
                run.push('\n');
                run.push_str(next);
            }
            attributes.push(quote!(#[cfg_attr(feature = #feature, doc = #run)]));
        }
        quote!(#(#attributes)*)
    }
}

/// `#[deprecated]` for what the spec marks deprecated.
pub(super) fn deprecated_attr(deprecated: bool) -> TokenStream {
    if deprecated {
        quote!(#[deprecated(note = "deprecated in the CloudTower API spec")])
    } else {
        quote!()
    }
}

/// `1 operation`, `2 operations`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn type_link(name: &str) -> String {
    format!("[`{name}`]({MODELS_PATH}::{name})")
}

fn method_link(operation: &Operation, prefix: &str) -> String {
    let method = &operation.method_name;
    let shown = method.trim_start_matches("r#");
    format!("[`{prefix}{shown}`]({MODELS_PATH}::Client::{method})")
}

fn runtime_link(text: &str, item: RuntimeType, member: Option<&str>) -> String {
    format!("[`{text}`]({})", item.doc_link(member))
}

/// A type reference in words, linking every named type.
fn describe(ty: &TypeRef) -> String {
    match ty {
        TypeRef::Named(name) => type_link(name),
        TypeRef::Array(inner) => format!("`Vec` of {}", describe(inner)),
        TypeRef::WithTask(inner) => format!(
            "{} of {}",
            runtime_link("WithTask", RuntimeType::WithTask, None),
            describe(inner)
        ),
        TypeRef::Json => "JSON (`serde_json::Value`)".into(),
        TypeRef::File => runtime_link("FilePart", RuntimeType::FilePart, None),
        scalar => format!("`{}`", scalar.describe()),
    }
}

/// Whether values of the type hold tasks to wait for.
fn holds_tasks(api: &Api, ty: &TypeRef) -> bool {
    let mut ty = ty;
    // Aliases of aliases end: lowering resolves them to a type, and no spec nests many.
    for _ in 0..8 {
        match ty {
            TypeRef::WithTask(_) => return true,
            TypeRef::Array(inner) => ty = inner,
            TypeRef::Named(name) => match api.type_named(name).map(|t| &t.kind) {
                Some(TypeKind::Alias { target }) => ty = target,
                _ => return false,
            },
            _ => return false,
        }
    }
    false
}

fn http_line(operation: &Operation) -> String {
    let verb = match operation.http_method {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
    };
    format!("`{verb} /v2/api/{}`", operation.path)
}

/// A method's documentation.
pub(super) fn operation_doc(operation: &Operation, gates: &Gates) -> TokenStream {
    let api = gates.api();
    let mut doc = DocLines::default();
    if let Some(text) = &operation.doc {
        doc.text(text);
        doc.blank();
    }
    doc.text(&format!(
        "{} (operation `{}`, spec module [`{}`]({MODELS_PATH}::{})).",
        http_line(operation),
        operation.id,
        operation.module,
        operation.module
    ));
    doc.blank();
    let request = match &operation.body {
        Body::None => "none".to_owned(),
        Body::Json(ty) => describe(ty),
        Body::Multipart(name) => format!("{} (`multipart/form-data`)", type_link(name)),
        Body::Query(name) => format!("{} (query parameters)", type_link(name)),
    };
    doc.text(&format!("- Request: {request}"));
    let response = match &operation.response {
        None => "none (an empty answer)".to_owned(),
        Some(ty) if operation.not_modified => {
            format!(
                "{}, or `None` when the server answers 304 Not Modified",
                describe(ty)
            )
        }
        Some(ty) => describe(ty),
    };
    doc.text(&format!("- Response: {response}"));
    doc.text(&format!(
        "- Availability: {}",
        crate::history::since_sentence(&operation.since)
    ));
    if gates.enabled {
        match gates.operation_feature(operation) {
            Some(feature) => doc.text(&format!("- Feature: `{feature}`")),
            None => doc.text("- Always compiled: the client's sign-in and task waits use it"),
        }
    }
    let tasks = operation
        .response
        .as_ref()
        .is_some_and(|ty| holds_tasks(api, ty));
    if tasks && contract::task_type(api).is_some() {
        doc.blank();
        doc.text(&format!(
            "The answer holds tasks to wait for: `.wait(&client)` ({}) polls `{TASKS_OPERATION}` \
             (one request per poll for all of them) until they end and gives back the data; \
             {} takes task ids. The data is the resources as they were when the request was \
             accepted: read them again by id ({}) for their final state.",
            runtime_link(
                "WaitForTasks::wait",
                RuntimeType::WaitForTasks,
                Some("wait")
            ),
            format_args!("[`Client::wait_tasks`]({MODELS_PATH}::Client::wait_tasks)"),
            runtime_link("client.reread", RuntimeType::Client, Some("reread")),
        ));
    }
    if let Some(helpers) = contract::list_helpers(api, operation) {
        let item = type_link(helpers.item);
        doc.blank();
        doc.text("What the runtime's client does with this list:");
        doc.text(&format!(
            "- {}: a `Stream` of every {item}, page by page (`first`/`after`), keeping the \
             request's `where` and `orderBy`",
            runtime_link(
                "client.paginate(request)",
                RuntimeType::Client,
                Some("paginate")
            ),
        ));
        if let Some(counter) = helpers.counted_by {
            let feature = gates
                .operation_feature(counter)
                .filter(|feature| gates.operation_feature(operation).as_ref() != Some(feature));
            doc.gated(
                feature,
                &format!(
                    "- {}: how many items the request's `where` matches, in one `{}` call",
                    runtime_link("client.count(&request)", RuntimeType::Client, Some("count")),
                    counter.path
                ),
            );
        }
        if helpers.rereads {
            doc.text(&format!(
                "- {}: reads {item} values again by id (`id_in`) through this operation, in \
                 their order",
                runtime_link("client.reread(&items)", RuntimeType::Client, Some("reread")),
            ));
        }
    }
    doc.blank();
    doc.text(
        "The request is encoded when this is called; the returned future owns what it needs \
         (`Send + 'static`), so it can be spawned.",
    );
    doc.tokens()
}

/// A type's documentation, and `#[deprecated]` when the spec says so.
pub(super) fn type_doc(def: &TypeDef, gates: &Gates) -> TokenStream {
    let api = gates.api();
    let mut doc = DocLines::default();
    if let Some(text) = &def.doc {
        doc.text(text);
        doc.blank();
    }
    doc.text(&format!("Spec: `{}`.", def.origin));
    doc.blank();
    let type_features = gates.type_features(def);
    // The feature a line linking to `operation` needs beyond the type's own.
    let line_feature = |operation: &Operation| {
        gates.operation_feature(operation).filter(|feature| {
            type_features
                .as_ref()
                .is_none_or(|features| features.len() != 1 || !features.contains(feature))
        })
    };
    let uses: Vec<(&Operation, bool, bool)> = def
        .used_by
        .iter()
        .filter_map(|u| {
            let operation = api.operations.iter().find(|o| o.path == u.path)?;
            Some((operation, u.request, u.direct))
        })
        .collect();
    if uses.is_empty() {
        doc.text("No operation uses it.");
    } else {
        doc.text("Used by:");
    }
    let indirect = uses.iter().filter(|(_, _, direct)| !direct).count();
    let mut indirect_listed = 0;
    for (operation, request, direct) in uses {
        if !direct {
            if indirect_listed == INDIRECT_USES_LISTED {
                doc.text(&format!(
                    "- … and {} more, inside requests or responses",
                    indirect - INDIRECT_USES_LISTED
                ));
                break;
            }
            indirect_listed += 1;
        }
        let place = match (direct, request) {
            (true, true) => "the request of",
            (true, false) => "the response of",
            (false, true) => "inside the request of",
            (false, false) => "inside the response of",
        };
        doc.gated(
            line_feature(operation),
            &format!(
                "- {place} {} (`{}`)",
                method_link(operation, "Client::"),
                operation.path
            ),
        );
    }
    let deprecated = deprecated_attr(def.deprecated);
    let doc = doc.tokens();
    quote!(#doc #deprecated)
}

/// The documentation of a generated file's public module, and its feature label for docs.rs
/// (the module is always compiled so that links to it resolve; without the feature it is
/// empty).
pub(super) fn module_doc(plan: &FilePlan, gates: &Gates) -> TokenStream {
    let api = gates.api();
    let module = plan.name.trim_end_matches(".rs");
    let mut doc = DocLines::default();
    let types = plan.types.len();
    if module == SHARED_MODULE {
        doc.text(&format!(
            "The {} that several spec modules use (or none does): each is compiled with any \
             feature of a module whose operations reach it.",
            count(types, "type")
        ));
        return doc.tokens();
    }
    if module == SHARED_FILTERS_MODULE {
        doc.text(&format!(
            "The {} that several spec modules use: each is compiled with any feature of a \
             module whose operations reach it.",
            count(types, "`*WhereInput` filter")
        ));
        return doc.tokens();
    }
    let operations: Vec<&Operation> = plan
        .operations
        .iter()
        .map(|&i| &api.operations[i])
        .collect();
    let features: Vec<Option<String>> = operations
        .iter()
        .map(|o| gates.operation_feature(o))
        .collect();
    let feature = features.first().cloned().flatten().filter(|feature| {
        features.iter().all(|f| f.as_ref() == Some(feature))
            && plan.types.iter().all(|&i| {
                gates
                    .type_features(&api.types[i])
                    .is_some_and(|f| f.len() == 1 && f.contains(feature))
            })
    });
    let compiled = match &feature {
        Some(feature) => format!(" (feature `{feature}`)"),
        None => String::new(),
    };
    doc.text(&format!(
        "The `{module}` spec module{compiled}: {}, and the {} only they use (also \
         re-exported in [`models`]({MODELS_PATH})). Its operations are methods of \
         [`Client`]({MODELS_PATH}::Client):",
        count(operations.len(), "operation"),
        count(types, "type")
    ));
    doc.blank();
    for operation in operations {
        doc.gated(
            gates.operation_feature(operation),
            &format!("- {} {}", method_link(operation, ""), http_line(operation)),
        );
    }
    let label = feature.map(|feature| quote!(#[cfg_attr(docsrs, doc(cfg(feature = #feature)))]));
    let doc = doc.tokens();
    quote!(#doc #label)
}

/// The documentation of a file's `impl Client` block: it heads the block's methods on the
/// client's page.
pub(super) fn client_impl_doc(plan: &FilePlan) -> TokenStream {
    let module = plan.name.trim_end_matches(".rs");
    let line = format!(" The operations of the [`{module}`]({MODELS_PATH}::{module}) spec module.");
    quote!(#[doc = #line])
}
