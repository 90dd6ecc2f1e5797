//! Paths and operations → [`Operation`]s: method names, query parameters, request bodies,
//! responses.

use std::collections::BTreeSet;

use heck::ToUpperCamelCase;
use serde_json::Value;

use super::{doc_of, expect_object, is_deprecated, method_names, Lowerer, Property};
use crate::error::{pointer_token, CodegenError, Result};
use crate::ir::{Body, HttpMethod, Operation, TypeKind, TypeRef};
use crate::names;

impl<'a> Lowerer<'a> {
    pub(super) fn lower_paths(&mut self, paths: Option<&'a Value>) -> Result<Vec<Operation>> {
        let Some(paths) = paths else {
            return Ok(Vec::new());
        };
        let paths = paths
            .as_object()
            .ok_or_else(|| CodegenError::invalid("/paths", "expected an object"))?;
        let mut sorted: Vec<(&String, &Value)> = paths.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        let mut found: Vec<(&'a str, HttpMethod, &'a Value, String, &'a str)> = Vec::new();
        for (path, item) in sorted {
            let item_pointer = format!("/paths/{}", pointer_token(path));
            let item = expect_object(item, &item_pointer)?;
            let mut methods: Vec<(&String, &Value)> = item.iter().collect();
            methods.sort_by(|a, b| a.0.cmp(b.0));
            for (method, operation) in methods {
                let pointer = format!("{item_pointer}/{method}");
                let http_method = match method.as_str() {
                    "post" => HttpMethod::Post,
                    "get" => HttpMethod::Get,
                    "parameters" | "summary" | "description" | "servers" => continue,
                    other => {
                        return Err(CodegenError::invalid(
                            pointer,
                            format!(
                            "HTTP method `{other}` is not supported (CloudTower uses POST and GET)"
                        ),
                        ))
                    }
                };
                let id = expect_object(operation, &pointer)?
                    .get("operationId")
                    .and_then(Value::as_str)
                    .ok_or_else(|| CodegenError::invalid(&pointer, "missing `operationId`"))?;
                found.push((path, http_method, operation, pointer, id));
            }
        }
        let named: Vec<method_names::Named> = found
            .iter()
            .map(|(path, _, _, pointer, id)| method_names::Named {
                path: path.trim_start_matches('/'),
                id,
                pointer: pointer.clone(),
            })
            .collect();
        let method_names = method_names::assign(&named)?;
        let mut operations = Vec::with_capacity(found.len());
        for ((path, http_method, operation, pointer, _), (method_name, renamed)) in
            found.into_iter().zip(method_names)
        {
            let mut lowered = self.lower_operation(
                path,
                http_method,
                operation,
                &pointer,
                &method_name,
                renamed.is_some(),
            )?;
            lowered.renamed = renamed;
            operations.push(lowered);
        }
        Ok(operations)
    }

    fn lower_operation(
        &mut self,
        path: &str,
        http_method: HttpMethod,
        operation: &'a Value,
        pointer: &str,
        method_name: &str,
        renamed: bool,
    ) -> Result<Operation> {
        let object = expect_object(operation, pointer)?;
        let id = object
            .get("operationId")
            .and_then(Value::as_str)
            .ok_or_else(|| CodegenError::invalid(pointer, "missing `operationId`"))?;
        let tag = object
            .get("tags")
            .and_then(Value::as_array)
            .and_then(|tags| tags.first())
            .and_then(Value::as_str)
            .unwrap_or("");
        let relative = path.strip_prefix('/').ok_or_else(|| {
            CodegenError::invalid(pointer, format!("path `{path}` does not start with `/`"))
        })?;
        if relative.contains('{') {
            return Err(CodegenError::invalid(
                pointer,
                "path parameters are not supported (CloudTower has none)",
            ));
        }
        // A renamed operation's types are named after its method: its operation id is another's.
        let type_base = if renamed {
            method_name.trim_start_matches("r#").to_upper_camel_case()
        } else {
            id.to_upper_camel_case()
        };
        let query = self.lower_parameters(object.get("parameters"), pointer, &type_base)?;
        let request = self.lower_request_body(object.get("requestBody"), pointer, &type_base)?;
        let body = match (query, request) {
            (Some(_), body) if body != Body::None => {
                return Err(CodegenError::invalid(
                    pointer,
                    "query parameters together with a request body are not supported",
                ))
            }
            (Some(query), _) => query,
            (None, body) => body,
        };
        let responses = object
            .get("responses")
            .and_then(Value::as_object)
            .ok_or_else(|| CodegenError::invalid(pointer, "missing `responses`"))?;
        let success = responses.get("200").ok_or_else(|| {
            CodegenError::invalid(format!("{pointer}/responses"), "no `200` response")
        })?;
        let response = self.lower_content(
            success,
            &format!("{pointer}/responses/200"),
            &format!("{type_base}Response"),
            "application/json",
        )?;
        Ok(Operation {
            id: id.to_owned(),
            method_name: method_name.to_owned(),
            renamed: None,
            path: relative.to_owned(),
            http_method,
            module: names::module_name(tag),
            doc: doc_of(operation),
            deprecated: is_deprecated(operation),
            body,
            response,
            not_modified: responses.contains_key("304"),
            always_on: false,
            pages_over: None,
            counted_by: None,
            rereads_by_id: None,
            authenticated: object
                .get("security")
                .and_then(Value::as_array)
                .is_none_or(|s| !s.is_empty()),
        })
    }

    /// Query parameters become one struct; the `content-language` header is the client's.
    fn lower_parameters(
        &mut self,
        parameters: Option<&'a Value>,
        pointer: &str,
        type_base: &str,
    ) -> Result<Option<Body>> {
        let Some(parameters) = parameters else {
            return Ok(None);
        };
        let parameters = parameters.as_array().ok_or_else(|| {
            CodegenError::invalid(format!("{pointer}/parameters"), "expected an array")
        })?;
        let mut properties = Vec::new();
        let mut required = BTreeSet::new();
        for (i, parameter) in parameters.iter().enumerate() {
            let at = format!("{pointer}/parameters/{i}");
            let name = parameter.get("name").and_then(Value::as_str);
            let location = parameter.get("in").and_then(Value::as_str);
            match (location, name) {
                (Some("header"), Some(name)) if name.eq_ignore_ascii_case("content-language") => {}
                (Some("query"), Some(name)) => {
                    let schema = parameter.get("schema").ok_or_else(|| {
                        CodegenError::invalid(&at, "query parameter without `schema`")
                    })?;
                    if parameter.get("required").and_then(Value::as_bool) == Some(true) {
                        required.insert(name);
                    }
                    properties.push(Property {
                        wire_name: name,
                        schema,
                        pointer: format!("{at}/schema"),
                    });
                }
                _ => {
                    return Err(CodegenError::invalid(
                        at,
                        "only query parameters and the `content-language` header are supported",
                    ))
                }
            }
        }
        if properties.is_empty() {
            return Ok(None);
        }
        let name = names::type_name(&format!("{type_base}Params"));
        self.claim(&name, pointer)?;
        let fields = self.lower_fields(&properties, &required, &name)?;
        self.insert_type(
            name.clone(),
            format!("{pointer}/parameters"),
            false,
            &Value::Null,
            TypeKind::Query { fields },
        );
        Ok(Some(Body::Query(name)))
    }

    fn lower_request_body(
        &mut self,
        request_body: Option<&'a Value>,
        pointer: &str,
        type_base: &str,
    ) -> Result<Body> {
        let Some(request_body) = request_body else {
            return Ok(Body::None);
        };
        let at = format!("{pointer}/requestBody");
        let content = request_body
            .get("content")
            .and_then(Value::as_object)
            .ok_or_else(|| CodegenError::invalid(&at, "request body without `content`"))?;
        let name = format!("{type_base}RequestBody");
        if let Some(json) = content.get("application/json") {
            let schema = json.get("schema").ok_or_else(|| {
                CodegenError::invalid(
                    format!("{at}/content/application~1json"),
                    "missing `schema`",
                )
            })?;
            let lowered = self.lower_use(
                schema,
                &format!("{at}/content/application~1json/schema"),
                &name,
            )?;
            return Ok(Body::Json(lowered.ty));
        }
        if let Some(form) = content.get("multipart/form-data") {
            let schema_pointer = format!("{at}/content/multipart~1form-data/schema");
            let schema = form
                .get("schema")
                .ok_or_else(|| CodegenError::invalid(&schema_pointer, "missing `schema`"))?;
            let (properties, required) =
                self.collect_properties(schema, &schema_pointer, &mut Vec::new())?;
            let rust = names::type_name(&name);
            self.claim(&rust, &schema_pointer)?;
            let fields = self.lower_fields(&properties, &required, &rust)?;
            if let Some(nested) = fields.iter().find(|f| {
                !matches!(
                    f.ty,
                    TypeRef::String
                        | TypeRef::File
                        | TypeRef::Bool
                        | TypeRef::I32
                        | TypeRef::I64
                        | TypeRef::F32
                        | TypeRef::F64
                )
            }) {
                return Err(CodegenError::invalid(
                    format!(
                        "{schema_pointer}/properties/{}",
                        pointer_token(&nested.wire_name)
                    ),
                    "multipart fields must be files or scalars",
                ));
            }
            self.insert_type(
                rust.clone(),
                schema_pointer,
                false,
                schema,
                TypeKind::Multipart { fields },
            );
            return Ok(Body::Multipart(rust));
        }
        let types: Vec<&String> = content.keys().collect();
        Err(CodegenError::invalid(
            &at,
            format!("unsupported request content type(s) {types:?}"),
        ))
    }

    /// The JSON schema of a response, `None` when it has no content.
    fn lower_content(
        &mut self,
        response: &'a Value,
        pointer: &str,
        synthesized: &str,
        media_type: &str,
    ) -> Result<Option<TypeRef>> {
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            return Ok(None);
        };
        if content.is_empty() {
            return Ok(None);
        }
        let media = content.get(media_type).ok_or_else(|| {
            CodegenError::invalid(
                format!("{pointer}/content"),
                format!("only {media_type} responses are supported"),
            )
        })?;
        let at = format!("{pointer}/content/{}", pointer_token(media_type));
        let schema = media
            .get("schema")
            .ok_or_else(|| CodegenError::invalid(&at, "missing `schema`"))?;
        Ok(Some(
            self.lower_use(schema, &format!("{at}/schema"), synthesized)?
                .ty,
        ))
    }
}
