//! A call as the generated methods describe it ([`ApiRequest`]), and its successful answer
//! ([`ApiResponse`]).

use std::borrow::Cow;

use bytes::Bytes;
use reqwest::header::{HeaderValue, CONTENT_TYPE};

use crate::codec::{self, Decode, Encode};
use crate::contract::{OperationInfo, Since};
use crate::error::{Error, RawBody, ResponseError};

/// One call, as the generated methods describe it.
#[doc(hidden)]
pub struct ApiRequest {
    pub(super) operation: &'static str,
    pub(super) body: RequestBody,
    // Sent without credentials (the spec's `security: []`: login, version).
    pub(super) anonymous: bool,
    // Changes nothing on the tower, so it may be sent again after a transient failure.
    pub(super) read: bool,
    // The versions that have the operation; a server known to predate it is not asked.
    pub(super) since: Option<Since>,
    // What the generated table says of the operation, when the request was built from it:
    // which header parameters it takes.
    pub(super) info: Option<&'static OperationInfo>,
    // Header parameters given for this call (`header`); the client's bound ones are added
    // when it is sent.
    pub(super) headers: Vec<(&'static str, String)>,
}

// Kept in a form that can be sent again (retries, the call after a re-login).
pub(super) enum RequestBody {
    Json(Bytes),
    // The body holds a number JSON cannot carry (NaN, infinity): never sent.
    Refused(codec::EncodeError),
    Empty,
    Get(Vec<(&'static str, String)>),
    Multipart(Vec<MultipartField>),
}

impl ApiRequest {
    /// `POST /v2/api/<operation>` with a JSON body.
    pub fn json<T: Encode + ?Sized>(operation: &'static str, body: &T) -> Self {
        Self::encoded(operation, codec::try_encode(body))
    }

    /// The request of [`ApiRequest::json`], its body encoded (kept apart from the generic
    /// part, which is compiled once per body type).
    fn encoded(operation: &'static str, body: Result<Vec<u8>, codec::EncodeError>) -> Self {
        ApiRequest {
            operation,
            anonymous: false,
            read: false,
            since: None,
            info: None,
            headers: Vec::new(),
            body: match body {
                Ok(json) => RequestBody::Json(json.into()),
                Err(refused) => RequestBody::Refused(refused),
            },
        }
    }

    /// `POST /v2/api/<operation>` without a body.
    pub fn empty(operation: &'static str) -> Self {
        ApiRequest {
            operation,
            anonymous: false,
            read: false,
            since: None,
            info: None,
            headers: Vec::new(),
            body: RequestBody::Empty,
        }
    }

    /// `GET /v2/api/<operation>?<query>`.
    pub fn get(operation: &'static str, query: Vec<(&'static str, String)>) -> Self {
        ApiRequest {
            operation,
            anonymous: false,
            read: false,
            since: None,
            info: None,
            headers: Vec::new(),
            body: RequestBody::Get(query),
        }
    }

    /// `POST /v2/api/<operation>` as `multipart/form-data`.
    pub fn multipart(operation: &'static str, fields: Vec<MultipartField>) -> Self {
        ApiRequest {
            operation,
            anonymous: false,
            read: false,
            since: None,
            info: None,
            headers: Vec::new(),
            body: RequestBody::Multipart(fields),
        }
    }

    /// Sends the request without the `Authorization` header, and never logs in again for it
    /// (operations the spec marks as needing no credentials).
    pub fn anonymous(mut self) -> Self {
        self.anonymous = true;
        self
    }

    /// Marks the request as a read, which changes nothing on the tower and so may be sent
    /// again after a transient failure. The generator decides which operations are reads.
    pub fn read(mut self) -> Self {
        self.read = true;
        self
    }

    /// Records since which version the operation exists, so that a call to a server whose
    /// version is known to predate it fails before anything is sent.
    pub fn since(mut self, since: Since) -> Self {
        self.since = Some(since);
        self
    }

    /// Takes what the generated table says of the operation: a read or not, sent with
    /// credentials or not, since which version, which header parameters it takes.
    pub fn described_by(mut self, info: &'static OperationInfo) -> Self {
        debug_assert_eq!(
            self.operation, info.path,
            "the table entry of another operation"
        );
        self.read = info.read;
        self.anonymous = !info.authenticated();
        self.since = Some(info.since);
        self.info = Some(info);
        self
    }

    /// Sends the header parameter `name: value` with this call (besides those the client is
    /// bound to, e.g. `with_external_cloudtower_id`). The operation must take it: a request
    /// built from the table for an operation that does not is refused before sending.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name, value.into()));
        self
    }

    /// The header parameters given for this call.
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.headers
    }

    /// What the generated table says of the operation, when the request was built from it.
    pub fn info(&self) -> Option<&'static OperationInfo> {
        self.info
    }

    /// Since which version the operation exists, when the generator said so.
    pub fn availability(&self) -> Option<Since> {
        self.since
    }

    /// Whether the request may be retried (see [`read`](Self::read)).
    pub fn is_read(&self) -> bool {
        self.read
    }

    /// The HTTP method it is sent with (`POST`, or `GET` for `get-version` and
    /// `resource-changes`).
    pub fn method(&self) -> &'static str {
        match self.body {
            RequestBody::Get(_) => "GET",
            _ => "POST",
        }
    }

    /// The operation's path under `/v2/api/` (`get-vms`).
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    pub(super) fn build(&self, http: &reqwest::Client, base_url: &str) -> reqwest::RequestBuilder {
        let url = format!("{base_url}/{}", self.operation);
        match &self.body {
            RequestBody::Get(query) => http.get(url).query(query),
            RequestBody::Empty | RequestBody::Refused(_) => http.post(url),
            RequestBody::Json(json) => http
                .post(url)
                .header(CONTENT_TYPE, "application/json")
                .body(json.clone()),
            RequestBody::Multipart(fields) => {
                let form = fields
                    .iter()
                    .fold(
                        reqwest::multipart::Form::new(),
                        |form, field| match &field.value {
                            FieldValue::Text(text) => form.text(field.name.clone(), text.clone()),
                            FieldValue::File(file) => form.part(
                                field.name.clone(),
                                reqwest::multipart::Part::stream(file.bytes.clone())
                                    .file_name(file.file_name.clone())
                                    // A file part says what it is (RFC 7578 §4.4); some
                                    // servers refuse parts without a type.
                                    .headers(reqwest::header::HeaderMap::from_iter([(
                                        CONTENT_TYPE,
                                        HeaderValue::from_static("application/octet-stream"),
                                    )])),
                            ),
                        },
                    );
                http.post(url).multipart(form)
            }
        }
    }
}

/// One part of a `multipart/form-data` body.
#[doc(hidden)]
pub struct MultipartField {
    name: Cow<'static, str>,
    value: FieldValue,
}

enum FieldValue {
    Text(String),
    File(FilePart),
}

impl MultipartField {
    pub fn text(name: impl Into<Cow<'static, str>>, value: impl ToString) -> Self {
        MultipartField {
            name: name.into(),
            value: FieldValue::Text(value.to_string()),
        }
    }
    pub fn file(name: impl Into<Cow<'static, str>>, file: FilePart) -> Self {
        MultipartField {
            name: name.into(),
            value: FieldValue::File(file),
        }
    }
}

/// A file sent in a `multipart/form-data` upload.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FilePart {
    /// The file name the server sees.
    pub file_name: String,
    pub bytes: Bytes,
}

impl FilePart {
    pub fn new(file_name: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        FilePart {
            file_name: file_name.into(),
            bytes: bytes.into(),
        }
    }
}

/// A successful answer, not yet decoded.
#[doc(hidden)]
pub struct ApiResponse {
    pub(super) operation: &'static str,
    pub(super) status: u16,
    pub(super) body: Bytes,
    pub(super) request_id: Option<String>,
    // The client's (`ClientBuilder::max_decode_depth`, `max_decode_alloc_ratio`).
    pub(super) options: codec::DecodeOptions,
}

impl ApiResponse {
    /// Decodes the body as the operation's 200 response.
    pub fn decode<T: Decode>(self) -> Result<T, Error> {
        match codec::decode_with_options(&self.body, &self.options) {
            Ok(value) => Ok(value),
            Err(source) => Err(self.undecodable(source)),
        }
    }

    /// The error for a body that does not decode, keeping it for diagnosis.
    fn undecodable(self, source: codec::DecodeError) -> Error {
        Error::from(ResponseError::Decode {
            source: Box::new(source),
            raw: RawBody(self.body),
        })
        .with_operation(self.operation)
        .with_request_id(self.request_id)
    }

    /// The count at `path` (wire names from the top: `["aggregate", "count"]`) of a
    /// `*-connection` answer. A count that is missing, `null` or negative is an
    /// [`ResponseError::Protocol`]: a count of 0 would be a wrong answer, not a missing one.
    pub fn count_at(self, path: &[&str]) -> Result<u64, Error> {
        let options = self.options;
        let operation = self.operation;
        let protocol = |reason: String| Error::protocol(operation, reason);
        match codec::integer_at(&self.body, path, &options) {
            Ok(Some(count)) => u64::try_from(count).map_err(|_| {
                protocol(format!(
                    "the answer's {} is negative: {count}",
                    path.join(".")
                ))
            }),
            Ok(None) => Err(protocol(format!("the answer holds no {}", path.join(".")))),
            Err(source) => Err(self.undecodable(source)),
        }
    }

    /// For operations that may answer 304 Not Modified: `None` then, else the decoded body.
    pub fn decode_unless_not_modified<T: Decode>(self) -> Result<Option<T>, Error> {
        if self.status == 304 {
            Ok(None)
        } else {
            self.decode().map(Some)
        }
    }
}
