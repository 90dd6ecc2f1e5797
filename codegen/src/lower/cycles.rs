//! Pass: fields that link types of one cycle of by-value containment.

use crate::ir::{Api, Holding, TypeKind, TypeRef};
use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;

/// Marks every by-value field whose type is in the same cycle of types as its owner (arrays
/// already add indirection); the emitter holds them as `Related<T>`, encoded JSON. Breaking
/// one edge per cycle would compile, but the `*WhereInput` types form one large cycle: with any
/// of them inline in another, a filter weighs megabytes (overflowing the stack of a user
/// building one) and proving a future that holds one `Send` exceeds the compiler's recursion
/// limit.
pub(super) fn break_cycles(api: &mut Api) {
    let edges: Vec<Vec<(usize, usize)>> = api
        .types
        .iter()
        .map(|t| match &t.kind {
            TypeKind::Struct { fields } => fields
                .iter()
                .enumerate()
                .filter_map(|(f, field)| {
                    struct_held_by_value(api, &field.ty).map(|target| (f, target))
                })
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    let mut graph = DiGraph::<(), ()>::with_capacity(edges.len(), 0);
    let nodes: Vec<_> = (0..edges.len()).map(|_| graph.add_node(())).collect();
    for (node, node_edges) in edges.iter().enumerate() {
        for &(_, target) in node_edges {
            graph.add_edge(nodes[node], nodes[target], ());
        }
    }
    let mut component = vec![0; edges.len()];
    for (id, members) in tarjan_scc(&graph).into_iter().enumerate() {
        for member in members {
            component[member.index()] = id;
        }
    }
    for (node, node_edges) in edges.iter().enumerate() {
        for &(field_index, target) in node_edges {
            if component[node] == component[target] {
                if let TypeKind::Struct { fields } = &mut api.types[node].kind {
                    fields[field_index].holding = Holding::Related;
                }
            }
        }
    }
}

/// The index of the struct a field of type `ty` holds by value, if any. Aliases are
/// transparent (a field of alias type holds the alias's target), and so is `WithTask`.
pub(super) fn struct_held_by_value(api: &Api, ty: &TypeRef) -> Option<usize> {
    let mut current = ty;
    loop {
        match current {
            TypeRef::Named(name) => {
                let i = api.type_index(name)?;
                match &api.types[i].kind {
                    TypeKind::Alias { target } => current = target,
                    TypeKind::Struct { .. } => return Some(i),
                    _ => return None,
                }
            }
            TypeRef::WithTask(inner) => current = inner,
            _ => return None,
        }
    }
}
