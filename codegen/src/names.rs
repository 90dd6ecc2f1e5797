//! Rust names for spec names: `heck` for the casing, plus what makes any string a valid,
//! non-clashing identifier. The wire name is always kept beside the Rust name.

use heck::{ToSnakeCase, ToUpperCamelCase};

/// Rust keywords (all editions), usable as raw identifiers (`r#type`).
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "union", "unsafe", "unsized",
    "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// The Rust type name for a schema or synthesized type name (`WithTask_Vm-Array_` →
/// `WithTaskVmArray`, `ParsedOVF` → `ParsedOvf`).
pub fn type_name(name: &str) -> String {
    let camel = name.to_upper_camel_case();
    let camel = if camel.is_empty() {
        spell_symbols(name)
    } else {
        camel
    };
    if camel.starts_with(|c: char| c.is_ascii_digit()) {
        format!("T{camel}")
    } else if NOT_RAW.contains(&camel.as_str()) {
        format!("{camel}_")
    } else {
        camel
    }
}

/// The Rust field name for a wire name (`orderBy` → `order_by`, `type` → `r#type`,
/// `x-tower-request-id` → `x_tower_request_id`, `__typename` → `typename`).
pub fn field_name(wire: &str) -> String {
    snake_ident(wire, "field")
}

/// The method name for an operation id (`GetVms` → `get_vms`).
pub fn method_name(operation_id: &str) -> String {
    snake_ident(operation_id, "op")
}

/// The module name for a tag (`VmSnapshot` → `vm_snapshot`).
pub fn module_name(tag: &str) -> String {
    let snake = tag.to_snake_case();
    if snake.is_empty() {
        "untagged".into()
    } else if snake.starts_with(|c: char| c.is_ascii_digit()) || KEYWORDS.contains(&snake.as_str())
    {
        format!("m_{snake}")
    } else {
        snake
    }
}

/// The variant name for an enum value (`zh-CN` → `ZhCn`, `createdAt_ASC` → `CreatedAtAsc`,
/// `*` → `Asterisk`).
pub fn variant_name(value: &str) -> String {
    let camel = value.to_upper_camel_case();
    let camel = if camel.is_empty() {
        spell_symbols(value)
    } else {
        camel
    };
    if camel.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V{camel}")
    } else if NOT_RAW.contains(&camel.as_str()) {
        format!("{camel}_")
    } else {
        camel
    }
}

fn snake_ident(name: &str, fallback_prefix: &str) -> String {
    let snake = name.to_snake_case();
    let snake = if snake.is_empty() {
        spell_symbols(name).to_snake_case()
    } else {
        snake
    };
    if snake.starts_with(|c: char| c.is_ascii_digit()) {
        format!("{fallback_prefix}_{snake}")
    } else if NOT_RAW.contains(&snake.as_str()) {
        format!("{snake}_")
    } else if KEYWORDS.contains(&snake.as_str()) {
        format!("r#{snake}")
    } else {
        snake
    }
}

/// Names for strings made only of symbols, which casing erases.
fn spell_symbols(value: &str) -> String {
    if value.is_empty() {
        return "Empty".into();
    }
    value
        .chars()
        .map(|c| match c {
            '*' => "Asterisk".to_string(),
            '+' => "Plus".to_string(),
            '-' => "Minus".to_string(),
            '.' => "Dot".to_string(),
            '/' => "Slash".to_string(),
            '@' => "At".to_string(),
            '#' => "Hash".to_string(),
            '%' => "Percent".to_string(),
            '&' => "And".to_string(),
            '=' => "Equals".to_string(),
            '_' => "Underscore".to_string(),
            ' ' => "Space".to_string(),
            other => format!("U{:X}", other as u32),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_identifiers() {
        assert_eq!(type_name("WithTask_Vm-Array_"), "WithTaskVmArray");
        assert_eq!(type_name("ParsedOVF"), "ParsedOvf");
        assert_eq!(field_name("type"), "r#type");
        assert_eq!(field_name("where"), "r#where");
        assert_eq!(field_name("self"), "self_");
        assert_eq!(field_name("en-US"), "en_us");
        assert_eq!(field_name("x-tower-request-id"), "x_tower_request_id");
        assert_eq!(field_name("__typename"), "typename");
        assert_eq!(field_name("_vm"), "vm");
        assert_eq!(field_name("orderBy"), "order_by");
        assert_eq!(method_name("GetVms"), "get_vms");
        assert_eq!(method_name("ExportCSV"), "export_csv");
        assert_eq!(variant_name("zh-CN"), "ZhCn");
        assert_eq!(variant_name("*"), "Asterisk");
        assert_eq!(variant_name("createdAt_ASC"), "CreatedAtAsc");
        assert_eq!(variant_name("1G"), "V1g");
        assert_eq!(variant_name(""), "Empty");
        assert_eq!(module_name("VmSnapshot"), "vm_snapshot");
    }
}
