//! Paths and operations → [`Operation`]s: method names, query parameters, request bodies,
//! responses.

use std::collections::BTreeSet;

use heck::ToUpperCamelCase;
use openapiv3::{
    MediaType, Operation as SpecOperation, Parameter, ParameterData, ParameterSchemaOrContent,
    Paths, ReferenceOr, RequestBody, Response, StatusCode,
};

use super::{doc_of, method_names, Lowerer, Property, SchemaNode};
use crate::error::{pointer_token, CodegenError, Result};
use crate::ir::{Body, HeaderParameter, HttpMethod, Operation, TypeKind, TypeRef};
use crate::names;

impl<'a> Lowerer<'a> {
    pub(super) fn lower_paths(&mut self, paths: &'a Paths) -> Result<Vec<Operation>> {
        let mut sorted: Vec<(&String, &ReferenceOr<openapiv3::PathItem>)> = paths.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        let mut found: Vec<(&'a str, HttpMethod, &'a SpecOperation, String, &'a str)> = Vec::new();
        for (path, item) in sorted {
            let item_pointer = format!("/paths/{}", pointer_token(path));
            let ReferenceOr::Item(item) = item else {
                return Err(CodegenError::invalid(
                    item_pointer,
                    "a path item `$ref` is not supported",
                ));
            };
            // In name order, as the document's keys sort.
            let methods = [
                ("delete", &item.delete),
                ("get", &item.get),
                ("head", &item.head),
                ("options", &item.options),
                ("patch", &item.patch),
                ("post", &item.post),
                ("put", &item.put),
                ("trace", &item.trace),
            ];
            for (method, operation) in methods {
                let Some(operation) = operation else {
                    continue;
                };
                let pointer = format!("{item_pointer}/{method}");
                let http_method = match method {
                    "post" => HttpMethod::Post,
                    "get" => HttpMethod::Get,
                    other => {
                        return Err(CodegenError::invalid(
                            pointer,
                            format!(
                            "HTTP method `{other}` is not supported (CloudTower uses POST and GET)"
                        ),
                        ))
                    }
                };
                let id = operation
                    .operation_id
                    .as_deref()
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
        for ((path, http_method, operation, pointer, id), (method_name, renamed)) in
            found.into_iter().zip(method_names)
        {
            let mut lowered = self.lower_operation(
                path,
                http_method,
                operation,
                id,
                &pointer,
                &method_name,
                renamed.is_some(),
            )?;
            lowered.renamed = renamed;
            operations.push(lowered);
        }
        Ok(operations)
    }

    #[allow(clippy::too_many_arguments)]
    fn lower_operation(
        &mut self,
        path: &str,
        http_method: HttpMethod,
        operation: &'a SpecOperation,
        id: &str,
        pointer: &str,
        method_name: &str,
        renamed: bool,
    ) -> Result<Operation> {
        let tag = operation.tags.first().map_or("", String::as_str);
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
        let parameters = self.lower_parameters(&operation.parameters, pointer, &type_base)?;
        let query = parameters.query;
        let request =
            self.lower_request_body(operation.request_body.as_ref(), pointer, &type_base)?;
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
        let responses = &operation.responses.responses;
        let success = responses.get(&StatusCode::Code(200)).ok_or_else(|| {
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
            doc: doc_of(
                operation
                    .description
                    .as_deref()
                    .or(operation.summary.as_deref()),
            ),
            deprecated: operation.deprecated,
            body,
            response,
            not_modified: responses.contains_key(&StatusCode::Code(304)),
            always_on: false,
            pages_over: None,
            counted_by: None,
            rereads_by_id: None,
            since: Default::default(),
            auth: auth_scheme(operation),
            read: is_read(relative, http_method),
            headers: parameters.headers,
            content_language: parameters.content_language,
        })
    }

    /// Query parameters become one struct; header parameters are listed on the operation
    /// (the `content-language` header is the client's, set for every call).
    fn lower_parameters(
        &mut self,
        parameters: &'a [ReferenceOr<Parameter>],
        pointer: &str,
        type_base: &str,
    ) -> Result<Parameters> {
        let mut properties = Vec::new();
        let mut required = BTreeSet::new();
        let mut lowered = Parameters::default();
        for (i, parameter) in parameters.iter().enumerate() {
            let at = format!("{pointer}/parameters/{i}");
            match parameter {
                ReferenceOr::Item(Parameter::Header { parameter_data, .. })
                    if parameter_data.name.eq_ignore_ascii_case(CONTENT_LANGUAGE) =>
                {
                    lowered.content_language = true;
                }
                ReferenceOr::Item(Parameter::Header { parameter_data, .. }) => {
                    lowered.headers.push(self.lower_header(
                        parameter_data,
                        &at,
                        &lowered.headers,
                    )?);
                }
                ReferenceOr::Item(Parameter::Query { parameter_data, .. }) => {
                    let ParameterSchemaOrContent::Schema(schema) = &parameter_data.format else {
                        return Err(CodegenError::invalid(
                            &at,
                            "query parameter without `schema`",
                        ));
                    };
                    if parameter_data.required {
                        required.insert(parameter_data.name.as_str());
                    }
                    properties.push(Property {
                        wire_name: &parameter_data.name,
                        schema: SchemaNode::of(schema),
                        pointer: format!("{at}/schema"),
                    });
                }
                ReferenceOr::Reference { .. } => {
                    return Err(CodegenError::invalid(
                        at,
                        "a parameter `$ref` is not supported",
                    ))
                }
                ReferenceOr::Item(_) => {
                    return Err(CodegenError::invalid(
                        at,
                        "only query and header parameters are supported (CloudTower has no \
                         path or cookie parameters)",
                    ))
                }
            }
        }
        if properties.is_empty() {
            return Ok(lowered);
        }
        let name = names::type_name(&format!("{type_base}Params"));
        self.claim(&name, pointer)?;
        let fields = self.lower_fields(&properties, &required, &name)?;
        self.insert_type(
            name.clone(),
            format!("{pointer}/parameters"),
            false,
            None,
            TypeKind::Query { fields },
        );
        lowered.query = Some(Body::Query(name));
        Ok(lowered)
    }

    /// A header parameter: a string (or an alias of one) under a name no other parameter of
    /// the operation has.
    fn lower_header(
        &self,
        data: &'a ParameterData,
        at: &str,
        seen: &[HeaderParameter],
    ) -> Result<HeaderParameter> {
        let name = data.name.to_ascii_lowercase();
        if seen.iter().any(|h| h.wire_name == name) {
            return Err(CodegenError::invalid(
                format!("{at}/name"),
                format!("header `{}` is declared twice", data.name),
            ));
        }
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(CodegenError::invalid(
                format!("{at}/name"),
                format!("`{}` is not a header name", data.name),
            ));
        }
        let ParameterSchemaOrContent::Schema(schema) = &data.format else {
            return Err(CodegenError::invalid(
                at,
                "header parameter without `schema`",
            ));
        };
        if !self.is_string_schema(SchemaNode::of(schema), &format!("{at}/schema"))? {
            return Err(CodegenError::invalid(
                format!("{at}/schema"),
                format!(
                    "header `{}`: only string header parameters are supported",
                    data.name
                ),
            ));
        }
        Ok(HeaderParameter {
            wire_name: name,
            required: data.required,
            doc: doc_of(data.description.as_deref()),
        })
    }

    fn lower_request_body(
        &mut self,
        request_body: Option<&'a ReferenceOr<RequestBody>>,
        pointer: &str,
        type_base: &str,
    ) -> Result<Body> {
        let Some(request_body) = request_body else {
            return Ok(Body::None);
        };
        let at = format!("{pointer}/requestBody");
        let content = match request_body {
            ReferenceOr::Item(body) if !body.content.is_empty() => &body.content,
            ReferenceOr::Item(_) => {
                return Err(CodegenError::invalid(&at, "request body without `content`"))
            }
            ReferenceOr::Reference { .. } => {
                return Err(CodegenError::invalid(
                    &at,
                    "a request body `$ref` is not supported",
                ))
            }
        };
        let name = format!("{type_base}RequestBody");
        if let Some(json) = content.get("application/json") {
            let schema = schema_of(json, &format!("{at}/content/application~1json"))?;
            let lowered = self.lower_use(
                schema,
                &format!("{at}/content/application~1json/schema"),
                &name,
            )?;
            return Ok(Body::Json(lowered.ty));
        }
        if let Some(form) = content.get("multipart/form-data") {
            let schema_pointer = format!("{at}/content/multipart~1form-data/schema");
            let schema = schema_of(form, &format!("{at}/content/multipart~1form-data"))?;
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
                schema.data(),
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

    /// Whether `schema` is a string, following component `$ref`s (a bounded number of them).
    fn is_string_schema(&self, mut schema: SchemaNode<'a>, pointer: &str) -> Result<bool> {
        for _ in 0..16 {
            match schema {
                SchemaNode::Ref(reference) => {
                    schema = self.component(self.ref_target(reference, pointer)?);
                }
                SchemaNode::Inline(inline) => {
                    return Ok(super::Facets::of(inline).type_name == Some("string"))
                }
            }
        }
        Ok(false)
    }

    /// The JSON schema of a response, `None` when it has no content.
    fn lower_content(
        &mut self,
        response: &'a ReferenceOr<Response>,
        pointer: &str,
        synthesized: &str,
        media_type: &str,
    ) -> Result<Option<TypeRef>> {
        let ReferenceOr::Item(response) = response else {
            return Err(CodegenError::invalid(
                pointer,
                "a response `$ref` is not supported",
            ));
        };
        if response.content.is_empty() {
            return Ok(None);
        }
        let media = response.content.get(media_type).ok_or_else(|| {
            CodegenError::invalid(
                format!("{pointer}/content"),
                format!("only {media_type} responses are supported"),
            )
        })?;
        let at = format!("{pointer}/content/{}", pointer_token(media_type));
        let schema = schema_of(media, &at)?;
        Ok(Some(
            self.lower_use(schema, &format!("{at}/schema"), synthesized)?
                .ty,
        ))
    }
}

/// The header every CloudTower operation may take, which the client sets (`Language`).
const CONTENT_LANGUAGE: &str = "content-language";

/// What an operation's parameters lower to.
#[derive(Default)]
struct Parameters {
    /// The query parameters' struct, if any.
    query: Option<Body>,
    headers: Vec<HeaderParameter>,
    content_language: bool,
}

/// The security scheme of the operation's first requirement; `None` for `security: []`. An
/// operation without `security` needs credentials (no CloudTower spec declares a global one).
fn auth_scheme(operation: &SpecOperation) -> Option<String> {
    match &operation.security {
        None => Some("Authorization".to_owned()),
        Some(requirements) => requirements.first().map(|first| {
            first
                .keys()
                .next()
                .cloned()
                .unwrap_or_else(|| "Authorization".to_owned())
        }),
    }
}

/// Reads change nothing on the tower, so a transient failure may be retried. CloudTower names
/// them `get-*` (lists, counts, metrics, reports) or serves them with `GET`. The one place this
/// is decided: the SDK's methods, the command line and the mock read it from the table.
fn is_read(path: &str, http_method: HttpMethod) -> bool {
    http_method == HttpMethod::Get || path.starts_with("get-")
}

/// The schema of a media type (`pointer`), which must have one.
fn schema_of<'a>(media: &'a MediaType, pointer: &str) -> Result<SchemaNode<'a>> {
    media
        .schema
        .as_ref()
        .map(SchemaNode::of)
        .ok_or_else(|| CodegenError::invalid(pointer, "missing `schema`"))
}
