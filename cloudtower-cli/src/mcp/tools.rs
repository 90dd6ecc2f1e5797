//! The tools `cloudtower mcp` offers: a few, with compact schemas (an agent pays for every
//! byte of the tool list in each conversation), built from the API table where it says
//! something (the resources `list` takes; whether `changes` exists).

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{json, Value};

use super::Policy;
use crate::schema::api;

/// The most items one `list` answer holds, and how many it holds by default.
pub const MAX_FIRST: u64 = 100;
pub const DEFAULT_FIRST: u64 = 20;
/// The most a `find` answer lists.
pub const MAX_FOUND: u64 = 50;
/// The most changes one `changes` answer holds.
pub const MAX_CHANGES: u64 = 200;
/// The longest a `wait` waits.
pub const MAX_WAIT_SECONDS: u64 = 3600;

fn object(value: Value) -> Arc<JsonObject> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => unreachable!("tool schemas are objects"),
    }
}

fn tool(name: &'static str, description: &'static str, input: Value, output: Value) -> Tool {
    Tool::new(name, description, object(input)).with_raw_output_schema(object(output))
}

fn reading(tool: Tool, title: &str) -> Tool {
    tool.with_annotations(
        ToolAnnotations::with_title(title)
            .read_only(true)
            .open_world(false),
    )
}

/// The tool list for a server with this policy.
pub fn tools(policy: Policy) -> Vec<Tool> {
    let api = api();
    let resources: Vec<&str> = api.resources.iter().map(|r| r.name.as_str()).collect();
    let mut tools = vec![
        reading(
            tool(
                "find",
                "Find operations and resource types by words (\"vm snapshot\", \"delete host\"). \
                 Returns operation paths with their effect (read|change|destructive) and version.",
                json!({"type": "object", "properties": {
                    "query": {"type": "string"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_FOUND}
                }, "required": ["query"]}),
                json!({"type": "object", "properties": {
                    "operations": {"type": "array", "items": {"type": "object"}},
                    "resources": {"type": "array", "items": {"type": "object"}}
                }, "required": ["operations", "resources"]}),
            ),
            "Find operations",
        ),
        reading(
            tool(
                "describe",
                "Describe an operation (create-vm), a type (VmCreationParams), a resource (Vm) or \
                 a field path (VmCreationParams.vm_disks): fields, required ones, types, enum \
                 values, the resource a *_id field refers to, since which CloudTower version.",
                json!({"type": "object", "properties": {
                    "name": {"type": "string"}
                }, "required": ["name"]}),
                json!({"type": "object", "properties": {
                    "name": {"type": "string"},
                    "kind": {"type": "string"}
                }, "required": ["name", "kind"]}),
            ),
            "Describe an operation or type",
        ),
        reading(
            tool(
                "list",
                "List resources of one type: filter with `where` (its <Resource>WhereInput, e.g. \
                 {\"name_contains\":\"web\",\"status\":\"RUNNING\"}), pick `fields` (paths like \
                 cluster.name; default a summary, [\"*\"] all), page with `first`/`after` \
                 (next_cursor). `keys` gets resources by id, local id or exact name; \
                 `count`:true counts what `where` selects.",
                json!({"type": "object", "properties": {
                    "resource": {"type": "string", "enum": resources},
                    "where": {"type": "object"},
                    "keys": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_FIRST},
                    "fields": {"type": "array", "items": {"type": "string"}},
                    "order_by": {"type": "string", "description": "<field>_ASC or <field>_DESC"},
                    "first": {"type": "integer", "minimum": 1, "maximum": MAX_FIRST, "default": DEFAULT_FIRST},
                    "after": {"type": "string"},
                    "count": {"type": "boolean"}
                }, "required": ["resource"]}),
                json!({"type": "object", "properties": {
                    "resource": {"type": "string"},
                    "items": {"type": "array", "items": {"type": "object"}},
                    "next_cursor": {"type": "string"},
                    "count": {"type": "integer"}
                }, "required": ["resource"]}),
            ),
            "List, get or count resources",
        ),
        tool(
            "call",
            "Call any operation with its JSON body, checked against its request type before \
             anything is sent (every problem named by JSON pointer). A *_id field may be given a \
             name. dry_run:true shows what would be sent and what its `where` selects, changing \
             nothing. Waits for the tasks it starts unless wait:false.",
            json!({"type": "object", "properties": {
                "operation": {"type": "string"},
                "body": {},
                "dry_run": {"type": "boolean"},
                "wait": {"type": "boolean", "default": true}
            }, "required": ["operation"]}),
            json!({"type": "object", "properties": {
                "operation": {"type": "string"},
                "effect": {"type": "string"}
            }, "required": ["operation", "effect"]}),
        )
        .with_annotations(
            ToolAnnotations::with_title("Call an operation")
                .read_only(!policy.mutations)
                .destructive(policy.destructive)
                .open_world(false),
        ),
        reading(
            tool(
                "wait",
                "Wait for tasks (ids from a call with wait:false) to end, with progress \
                 notifications; returns each task's status and error.",
                json!({"type": "object", "properties": {
                    "task_ids": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": MAX_FIRST},
                    "timeout_s": {"type": "integer", "minimum": 1, "maximum": MAX_WAIT_SECONDS}
                }, "required": ["task_ids"]}),
                json!({"type": "object", "properties": {
                    "tasks": {"type": "array", "items": {"type": "object"}},
                    "succeeded": {"type": "boolean"}
                }, "required": ["tasks", "succeeded"]}),
            ),
            "Wait for tasks",
        ),
    ];
    if super::handlers::HAS_CHANGE_FEED && api.operation("resource-changes").is_some() {
        tools.push(reading(
            tool(
                "changes",
                "Read the change feed: what was created, updated or deleted since revision \
                 `from` (omit it to get the current revision to start from). Pass `next` as \
                 `from` to read on.",
                json!({"type": "object", "properties": {
                    "from": {"type": "string"},
                    "resource_type": {"type": "string", "description": "e.g. Vm"},
                    "resource_id": {"type": "string"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_CHANGES}
                }}),
                json!({"type": "object", "properties": {
                    "changes": {"type": "array", "items": {"type": "object"}},
                    "next": {"type": "string"}
                }, "required": ["changes", "next"]}),
            ),
            "Read resource changes",
        ));
    }
    tools
}
