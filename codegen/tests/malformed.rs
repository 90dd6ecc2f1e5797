//! Malformed and unsupported specs: each gives an error naming the file and/or the JSON
//! pointer, writes nothing, and never panics.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use cloudtower_codegen::fixups::{apply_fixups, parse_fixups, Fixup};
use cloudtower_codegen::{output, CodegenError, Provenance};
use common::{fixture, generate, generate_err};
use serde_json::{json, Value};

fn provenance() -> Provenance {
    Provenance {
        description: "test".into(),
        sha256: "0".into(),
    }
}

/// A minimal valid document with these schemas and paths.
fn spec(schemas: Value, paths: Value) -> Value {
    json!({
        "openapi": "3.0.0",
        "info": { "title": "T", "version": "1" },
        "paths": paths,
        "components": { "schemas": schemas }
    })
}

/// A POST operation answering 200 with `schema`.
fn operation(id: &str, schema: Value) -> Value {
    json!({ "post": {
        "operationId": id,
        "tags": ["Vm"],
        "responses": { "200": { "description": "", "content": { "application/json": { "schema": schema } } } }
    }})
}

fn lower_err(spec: Value) -> String {
    match cloudtower_codegen::generate(spec, &[], &provenance()) {
        Ok(_) => panic!("the spec generated without error"),
        Err(e) => e.to_string(),
    }
}

fn generate_ok(spec: Value) -> cloudtower_codegen::Generated {
    cloudtower_codegen::generate(spec, &[], &provenance()).expect("the spec generates")
}

fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(
            message.contains(part),
            "`{message}` does not mention `{part}`"
        );
    }
}

#[test]
fn invalid_json_names_the_file_and_position() {
    let message = generate_err(&fixture("invalid/invalid.json"));
    assert_mentions(
        &message,
        &["invalid/invalid.json", "not valid JSON", "line 5"],
    );
}

#[test]
fn invalid_yaml_names_the_file_and_position() {
    let message = generate_err(&fixture("invalid/invalid.yaml"));
    assert_mentions(
        &message,
        &["invalid/invalid.yaml", "not valid YAML", "line"],
    );
}

#[test]
fn a_document_that_is_not_an_object_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.json");
    std::fs::write(&path, "[1, 2]").unwrap();
    assert_mentions(&generate_err(&path), &["list.json", "not an object"]);
}

#[test]
fn a_directory_without_modules_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a spec").unwrap();
    assert_mentions(&generate_err(dir.path()), &["no spec modules"]);
}

#[test]
fn dangling_ref_names_the_pointer() {
    let message = lower_err(spec(
        json!({ "Vm": { "type": "object", "properties": {
            "host": { "$ref": "#/components/schemas/Host" }
        }}}),
        json!({}),
    ));
    assert_mentions(
        &message,
        &[
            "#/components/schemas/Vm/properties/host",
            "dangling `$ref` #/components/schemas/Host",
        ],
    );
}

#[test]
fn ref_outside_the_schemas_is_an_error() {
    let message = lower_err(spec(
        json!({ "Vm": { "type": "object", "properties": {
            "host": { "$ref": "other.json#/Host" }
        }}}),
        json!({}),
    ));
    assert_mentions(
        &message,
        &[
            "#/components/schemas/Vm/properties/host",
            "does not point into",
        ],
    );
}

#[test]
fn paths_sharing_an_operation_id_are_named_after_their_path_with_a_warning() {
    // As CloudTower 4.0.0's `/create-user-audit-log`, which reuses `CreateRole`.
    let paths = json!({
        "/create-role": operation("CreateRole", json!({ "type": "string" })),
        "/create-user-audit-log": operation("CreateRole", json!({ "type": "string" })),
        "/a-first": operation("GetVms", json!({ "type": "string" })),
        "/b-second": operation("get_vms", json!({ "type": "string" })),
    });
    let generated = generate_ok(spec(json!({}), paths));
    let methods: Vec<(&str, &str)> = generated
        .api
        .operations
        .iter()
        .map(|o| (o.path.as_str(), o.method_name.as_str()))
        .collect();
    assert_eq!(
        methods,
        [
            ("a-first", "get_vms"),
            ("b-second", "b_second"),
            ("create-role", "create_role"),
            ("create-user-audit-log", "create_user_audit_log"),
        ]
    );
    assert_eq!(generated.warnings.len(), 2, "{:?}", generated.warnings);
    assert_mentions(
        &generated.warnings[1],
        &[
            "/create-user-audit-log",
            "create_user_audit_log",
            "CreateRole",
            "/create-role",
        ],
    );
    assert_mentions(
        &generated.files["inventory.txt"],
        &["op /create-user-audit-log CreateRole -> create_user_audit_log() -> String | named"],
    );
}

#[test]
fn a_path_derived_name_that_is_taken_too_is_an_error_naming_both_operations() {
    let paths = json!({
        "/a": operation("Shared", json!({ "type": "string" })),
        "/b": operation("Shared", json!({ "type": "string" })),
        "/c": operation("B", json!({ "type": "string" })),
    });
    let message = lower_err(spec(json!({}), paths));
    assert_mentions(
        &message,
        &["/paths/~1c/post/operationId", "/paths/~1b/post", "`b`"],
    );
}

#[test]
fn methods_of_the_hand_written_client_are_not_generated_again() {
    let paths = json!({
        "/count-vms": operation("Count", json!({ "type": "string" })),
        "/paginate": operation("Paginate", json!({ "type": "string" })),
    });
    let generated = generate_ok(spec(json!({}), paths));
    let methods: Vec<&str> = generated
        .api
        .operations
        .iter()
        .map(|o| o.method_name.as_str())
        .collect();
    assert_eq!(methods, ["count_vms", "paginate_operation"]);
    assert_mentions(&generated.warnings[0], &["`count`", "hand-written Client"]);
}

#[test]
fn not_is_unsupported_and_named_by_pointer() {
    let message = lower_err(spec(
        json!({ "Vm": { "not": { "type": "string" } } }),
        json!({}),
    ));
    assert_mentions(&message, &["#/components/schemas/Vm/not", "not supported"]);
}

#[test]
fn a_union_beside_properties_inside_an_operation_is_named_by_pointer() {
    let paths = json!({
        "/get-vms": operation("GetVms", json!({
            "anyOf": [{ "type": "string" }, { "type": "integer" }],
            "properties": { "id": { "type": "string" } }
        })),
    });
    let message = lower_err(spec(json!({}), paths));
    assert_mentions(
        &message,
        &[
            "/paths/~1get-vms/post/responses/200/content/application~1json/schema/anyOf",
            "beside `properties`",
        ],
    );
}

#[test]
fn a_union_without_alternatives_is_named_by_pointer() {
    let message = lower_err(spec(json!({ "Vm": { "oneOf": [] } }), json!({})));
    assert_mentions(
        &message,
        &["#/components/schemas/Vm/oneOf", "no alternatives"],
    );
}

#[test]
fn modules_defining_a_path_differently_name_both_files_and_the_pointer() {
    let message = generate_err(&fixture("invalid/conflict"));
    assert_mentions(
        &message,
        &[
            "/paths/~1get-vms",
            "conflict/Vm.json",
            "conflict/VmCopy.json",
        ],
    );
}

#[test]
fn modules_defining_a_schema_differently_name_both_files_and_the_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let module = |schema: Value| {
        json!({
            "openapi": "3.0.0",
            "info": { "title": "T", "version": "1" },
            "paths": {},
            "components": { "schemas": { "Vm/Info": schema } }
        })
        .to_string()
    };
    std::fs::write(
        dir.path().join("a.json"),
        module(json!({ "type": "string" })),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.yaml"),
        module(json!({ "type": "integer" })),
    )
    .unwrap();
    let message = generate_err(dir.path());
    assert_mentions(
        &message,
        &["/components/schemas/Vm~1Info", "a.json", "b.yaml"],
    );
}

#[test]
fn modules_with_different_info_conflict() {
    let dir = tempfile::tempdir().unwrap();
    for (file, version) in [("a.json", "1"), ("b.json", "2")] {
        let module = json!({ "openapi": "3.0.0", "info": { "title": "T", "version": version } });
        std::fs::write(dir.path().join(file), module.to_string()).unwrap();
    }
    assert_mentions(&generate_err(dir.path()), &["/info", "a.json", "b.json"]);
}

#[test]
fn identical_duplicates_across_modules_are_fine() {
    let dir = tempfile::tempdir().unwrap();
    let module = spec(
        json!({ "Name": { "type": "string" } }),
        json!({ "/get-name": operation("GetName", json!({ "$ref": "#/components/schemas/Name" })) }),
    );
    for file in ["a.json", "b.json"] {
        std::fs::write(dir.path().join(file), module.to_string()).unwrap();
    }
    let generated = generate(dir.path()).unwrap();
    assert_eq!(generated.api.operations.len(), 1);
    assert_eq!(generated.api.schema_count, 1);
}

#[test]
fn field_names_that_collide_after_normalisation_are_an_error() {
    let message = lower_err(spec(
        json!({ "Vm": { "type": "object", "properties": {
            "fooBar": { "type": "string" },
            "foo_bar": { "type": "string" }
        }}}),
        json!({}),
    ));
    assert_mentions(
        &message,
        &[
            "#/components/schemas/Vm/properties/foo_bar",
            "`foo_bar`",
            "`fooBar`",
        ],
    );
}

#[test]
fn type_names_that_collide_after_normalisation_are_an_error() {
    let message = lower_err(spec(
        json!({ "Vm_Info": { "type": "string" }, "VmInfo": { "type": "string" } }),
        json!({}),
    ));
    assert_mentions(
        &message,
        &["#/components/schemas/", "`VmInfo`", "already taken"],
    );
}

#[test]
fn enum_values_that_collide_after_normalisation_are_an_error() {
    let message = lower_err(spec(
        json!({ "Order": { "type": "string", "enum": ["name_ASC", "name-asc"] } }),
        json!({}),
    ));
    assert_mentions(
        &message,
        &[
            "#/components/schemas/Order/enum/1",
            "`name-asc`",
            "`name_ASC`",
            "NameAsc",
        ],
    );
}

#[test]
fn an_enum_value_named_like_the_catch_all_variant_is_an_error() {
    let message = lower_err(spec(
        json!({ "Kind": { "type": "string", "enum": ["A", "OTHER"] } }),
        json!({}),
    ));
    assert_mentions(&message, &["#/components/schemas/Kind/enum/1", "reserved"]);
}

#[test]
fn conflicting_all_of_parts_are_an_error() {
    let message = lower_err(spec(
        json!({ "Vm": { "allOf": [
            { "type": "object", "properties": { "id": { "type": "string" } } },
            { "type": "object", "properties": { "id": { "type": "integer" } } }
        ]}}),
        json!({}),
    ));
    assert_mentions(
        &message,
        &["#/components/schemas/Vm/allOf/1/properties/id", "`id`"],
    );
}

fn fixup(pointer: &str, expect: Value) -> Fixup {
    Fixup {
        id: "vm-name-type".into(),
        pointer: pointer.into(),
        expect,
        replace: json!("string"),
        reason: "upstream declares Vm.name as an integer".into(),
    }
}

#[test]
fn a_fixup_applies_where_its_expectation_holds() {
    let mut document = spec(
        json!({ "Vm": { "type": "object", "properties": { "name": { "type": "integer" } } } }),
        json!({}),
    );
    let pointer = "/components/schemas/Vm/properties/name/type";
    apply_fixups(&mut document, &[fixup(pointer, json!("integer"))]).unwrap();
    assert_eq!(document.pointer(pointer), Some(&json!("string")));
}

#[test]
fn a_stale_fixup_is_an_error_naming_it_and_its_reason() {
    let mut document = spec(
        json!({ "Vm": { "type": "object", "properties": { "name": { "type": "string" } } } }),
        json!({}),
    );
    let before = document.clone();
    let pointer = "/components/schemas/Vm/properties/name/type";
    let error = apply_fixups(&mut document, &[fixup(pointer, json!("integer"))]).unwrap_err();
    assert!(matches!(error, CodegenError::StaleFixup { .. }));
    assert_mentions(
        &error.to_string(),
        &[
            "vm-name-type",
            pointer,
            "expected \"integer\", found \"string\"",
            "upstream declares Vm.name as an integer",
        ],
    );
    assert_eq!(document, before, "a stale fixup changes nothing");

    let gone = "/components/schemas/Host/properties/name/type";
    let error = apply_fixups(&mut document, &[fixup(gone, json!("integer"))]).unwrap_err();
    assert_mentions(
        &error.to_string(),
        &["vm-name-type", gone, "no longer exists"],
    );
    // Through the whole pipeline too.
    let error = cloudtower_codegen::generate(document, &[fixup(gone, json!(1))], &provenance())
        .unwrap_err();
    assert_mentions(&error.to_string(), &["vm-name-type", gone]);
}

#[test]
fn a_fixup_without_a_reason_is_rejected() {
    let blank = r#"[{"id": "x", "pointer": "/a", "expect": 1, "replace": 2, "reason": "  "}]"#;
    assert_mentions(
        &parse_fixups(blank).unwrap_err().to_string(),
        &["fixups#/0/reason", "needs a reason"],
    );
    let missing = r#"[{"id": "x", "pointer": "/a", "expect": 1, "replace": 2}]"#;
    assert_mentions(
        &parse_fixups(missing).unwrap_err().to_string(),
        &["fixups#/0/reason"],
    );
    let no_expect = r#"[{"id": "x", "pointer": "/a", "replace": 2, "reason": "r"}]"#;
    assert_mentions(
        &parse_fixups(no_expect).unwrap_err().to_string(),
        &["fixups#/0/expect", "missing"],
    );
    assert!(parse_fixups("{").is_err());
    assert!(parse_fixups("{}").is_err());
    let good = r#"[{"id": "x", "pointer": "/a", "expect": 1, "replace": 2, "reason": "r"}]"#;
    assert_eq!(parse_fixups(good).unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Writing: all or nothing.

/// What `cargo xtask regen` does: generate, and write only on success.
fn regen(spec: &Path, out: &Path) -> cloudtower_codegen::Result<()> {
    let generated = generate(spec)?;
    output::write_atomically(out, &generated.files)
}

fn read_tree(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn old_output(parent: &Path) -> std::path::PathBuf {
    let out = parent.join("generated");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("old.rs"), "// old\n").unwrap();
    std::fs::write(out.join("inventory.txt"), "old inventory\n").unwrap();
    out
}

#[test]
fn a_failing_generation_leaves_the_output_untouched() {
    let parent = tempfile::tempdir().unwrap();
    let out = old_output(parent.path());
    let before = read_tree(&out);
    for bad in [
        "invalid/invalid.json",
        "invalid/invalid.yaml",
        "invalid/conflict",
    ] {
        assert!(regen(&fixture(bad), &out).is_err(), "{bad}");
        assert_eq!(read_tree(&out), before, "{bad} changed the output");
        assert_eq!(
            entries(parent.path()),
            ["generated"],
            "{bad} left files behind"
        );
    }
}

#[test]
fn a_failing_write_leaves_the_output_untouched() {
    let parent = tempfile::tempdir().unwrap();
    let out = old_output(parent.path());
    let before = read_tree(&out);
    let mut files = BTreeMap::new();
    files.insert("a.rs".to_owned(), "// new\n".to_owned());
    // A file in a directory that does not exist cannot be written.
    files.insert("missing/b.rs".to_owned(), "// new\n".to_owned());
    assert!(output::write_atomically(&out, &files).is_err());
    assert_eq!(read_tree(&out), before);
    assert_eq!(entries(parent.path()), ["generated"], "staging left behind");
}

#[test]
fn a_successful_generation_replaces_the_output_fully() {
    let parent = tempfile::tempdir().unwrap();
    let out = old_output(parent.path());
    regen(&fixture("constructs.json"), &out).unwrap();
    let expected = generate(&fixture("constructs.json")).unwrap().files;
    assert_eq!(
        read_tree(&out),
        expected,
        "old.rs must be gone, every file new"
    );
    assert_eq!(entries(parent.path()), ["generated"], "staging left behind");
    // Into a directory that does not exist yet, too.
    let fresh = parent.path().join("nested/generated");
    regen(&fixture("constructs.json"), &fresh).unwrap();
    assert_eq!(read_tree(&fresh), expected);
}

// ---------------------------------------------------------------------------------------------
// No panics on any input.

/// Loads and generates `text` as a file named `name`; must return (Ok or Err), never panic.
fn survives(dir: &Path, name: &str, text: &str) -> bool {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let outcome = std::panic::catch_unwind(|| generate(&path).map(|_| ()));
    match outcome {
        Ok(_) => true,
        Err(_) => {
            eprintln!("panicked on {name}:\n{text}");
            false
        }
    }
}

/// A small deterministic pseudo-random sequence (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

#[test]
fn truncated_and_garbled_documents_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut panicked = Vec::new();
    for source in ["constructs.json", "constructs/Task.yaml"] {
        let text = std::fs::read_to_string(fixture(source)).unwrap();
        let extension = if source.ends_with(".json") {
            "json"
        } else {
            "yaml"
        };
        let bytes = text.as_bytes();
        // Truncations.
        for end in (0..bytes.len()).step_by(bytes.len() / 40 + 1) {
            let cut = String::from_utf8_lossy(&bytes[..end]);
            if !survives(dir.path(), &format!("cut-{end}.{extension}"), &cut) {
                panicked.push(format!("{source} cut at {end}"));
            }
        }
        // Garbled: bytes overwritten with structural characters.
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..40 {
            let mut garbled = bytes.to_vec();
            for _ in 0..3 {
                let at = rng.next(garbled.len());
                garbled[at] = b"{}[]\":,-#x0 \n"[rng.next(13)];
            }
            let garbled = String::from_utf8_lossy(&garbled);
            if !survives(
                dir.path(),
                &format!("garbled-{round}.{extension}"),
                &garbled,
            ) {
                panicked.push(format!("{source} garbled round {round}"));
            }
        }
    }
    assert!(panicked.is_empty(), "panicked on: {panicked:?}");
}

/// Every schema of the fixture replaced, one at a time, by an odd value: still no panic.
#[test]
fn structurally_odd_schemas_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("constructs.json")).unwrap();
    let original: Value = serde_json::from_str(&text).unwrap();
    let odd = [
        json!(null),
        json!(7),
        json!("Vm"),
        json!([]),
        json!({ "type": "array" }),
        json!({ "type": 5 }),
        json!({ "type": "file" }),
        json!({ "$ref": 5 }),
        json!({ "$ref": "#/components/schemas/" }),
        json!({ "$ref": "#/components/schemas/Vm", "nullable": "yes" }),
        json!({ "allOf": 5 }),
        json!({ "allOf": [] }),
        json!({ "allOf": [{ "$ref": "#/components/schemas/VmWhereInput" }, 3] }),
        json!({ "enum": 5 }),
        json!({ "enum": [1, null] }),
        json!({ "enum": [] }),
        json!({ "type": "object", "properties": [] }),
        json!({ "type": "object", "properties": { "a": 1 }, "required": 5 }),
        json!({ "type": "object", "properties": { "": {}, "-": {}, "1": {}, "self": {} } }),
        json!({ "additionalProperties": { "type": "string" } }),
    ];
    let names: Vec<String> = original["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let mut rng = Rng(42);
    let mut panicked = Vec::new();
    // Each odd value at a few schemas, and a self-`allOf` cycle.
    for (i, value) in odd.iter().enumerate() {
        for _ in 0..2 {
            let name = &names[rng.next(names.len())];
            let mut document = original.clone();
            document["components"]["schemas"][name] = value.clone();
            if !survives(dir.path(), &format!("odd-{i}.json"), &document.to_string()) {
                panicked.push(format!("{name} = {value}"));
            }
        }
    }
    let mut cyclic = original.clone();
    cyclic["components"]["schemas"]["VmCommonParams"] = json!({ "allOf": [{ "$ref": "#/components/schemas/VmUpdationParams" }, { "type": "object" }] });
    if !survives(dir.path(), "cyclic.json", &cyclic.to_string()) {
        panicked.push("allOf cycle".into());
    }
    // Odd operations.
    for value in [
        json!(null),
        json!({ "post": 5 }),
        json!({ "delete": {} }),
        json!({ "post": {} }),
    ] {
        let mut document = original.clone();
        document["paths"]["/get-vms"] = value.clone();
        if !survives(dir.path(), "odd-path.json", &document.to_string()) {
            panicked.push(format!("/get-vms = {value}"));
        }
    }
    assert!(panicked.is_empty(), "panicked on: {panicked:?}");
}

#[test]
fn errors_found_after_merging_modules_name_the_module_file() {
    let dir = tempfile::tempdir().unwrap();
    let module = |paths: Value, schemas: Value| {
        json!({
            "openapi": "3.0.0",
            "info": { "title": "T", "version": "1" },
            "paths": paths,
            "components": { "schemas": schemas }
        })
        .to_string()
    };
    std::fs::write(
        dir.path().join("Vm.json"),
        module(
            json!({ "/get-vms": operation("GetVms", json!({ "$ref": "#/components/schemas/Vm" })) }),
            json!({}),
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("components.json"),
        module(json!({}), json!({ "Vm": { "not": {} } })),
    )
    .unwrap();
    let message = generate_err(dir.path());
    assert_mentions(
        &message,
        &[
            "components.json#/components/schemas/Vm/not",
            "not supported",
        ],
    );
}

#[test]
fn enums_of_numbers_and_type_lists_with_null_are_plain_values() {
    let schemas = json!({
        "Vm": {
            "type": "object",
            "properties": {
                "level": { "type": "integer", "format": "int32", "enum": [1, 2, 3] },
                "note": { "type": ["string", "null"] }
            },
            "required": ["level", "note"]
        }
    });
    let paths =
        json!({ "/get-vms": operation("GetVms", json!({ "$ref": "#/components/schemas/Vm" })) });
    let generated = generate_ok(spec(schemas, paths));
    let fields = generated.api.struct_fields("Vm").unwrap();
    assert_eq!(fields[0].ty, cloudtower_codegen::ir::TypeRef::I32);
    assert_eq!(fields[1].ty, cloudtower_codegen::ir::TypeRef::String);
    assert!(fields[1].nullable && !fields[0].nullable);
}

#[test]
fn several_types_in_a_type_list_are_named_by_pointer() {
    let message = lower_err(spec(
        json!({ "Vm": { "type": ["string", "integer"] } }),
        json!({}),
    ));
    assert_mentions(&message, &["#/components/schemas/Vm/type", "`anyOf` is"]);
}

#[test]
fn what_the_typed_model_rejects_is_named_by_the_member_at_fault() {
    let message = lower_err(spec(
        json!({ "Vm": { "type": "object", "properties": {
            "disks": { "type": "array", "items": { "type": "object", "properties": {
                "name": { "type": "string", "minLength": "long" }
            }}}
        }}}),
        json!({}),
    ));
    assert_mentions(
        &message,
        &[
            "#/components/schemas/Vm/properties/disks/items/properties/name/minLength",
            "expected usize",
        ],
    );
    // Beside a `$ref` (which the typed model only holds as `allOf: [{$ref}]`).
    let message = lower_err(spec(
        json!({ "Host": { "type": "string" }, "Vm": { "type": "object", "properties": {
            "host": { "$ref": "#/components/schemas/Host", "nullable": "yes" }
        }}}),
        json!({}),
    ));
    assert_mentions(
        &message,
        &[
            "#/components/schemas/Vm/properties/host/nullable",
            "boolean",
        ],
    );
    let paths = json!({ "/get-vms": { "post": {
        "operationId": "GetVms",
        "responses": { "200": { "content": {} } }
    }}});
    let message = lower_err(spec(json!({}), paths));
    assert_mentions(
        &message,
        &["/paths/~1get-vms/post/responses/200", "`description`"],
    );
}

#[test]
fn errors_inside_a_deprecated_reference_name_the_pointer_as_written() {
    let message = lower_err(spec(
        json!({ "Vm": { "type": "object", "properties": {
            "host": { "$ref": "#/components/schemas/Host", "deprecated": true }
        }}}),
        json!({}),
    ));
    assert_mentions(
        &message,
        &[
            "#/components/schemas/Vm/properties/host:",
            "dangling `$ref`",
        ],
    );
}

#[test]
fn a_path_without_a_leading_slash_is_named_by_pointer() {
    let paths = json!({ "get-vms": operation("GetVms", json!({ "type": "string" })) });
    assert_mentions(
        &lower_err(spec(json!({}), paths)),
        &["/paths/get-vms", "does not start with `/`"],
    );
}
