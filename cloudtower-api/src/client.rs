//! The client and its transport: every generated method ends in [`Client::execute`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::codec::{self, Decode, Encode};
use crate::error::{Error, ErrorBody};

/// A CloudTower API client. Cheap to clone; clones share the connection pool and session.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    content_language: Option<&'static str>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    token: std::sync::RwLock<Option<String>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("content_language", &self.content_language)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the tower at `endpoint` (`https://tower.example.com`; `/v2/api` is
    /// appended unless the endpoint already ends with it).
    pub fn new(endpoint: &str) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|source| Error::Transport {
                operation: "client",
                source,
            })?;
        let trimmed = endpoint.trim_end_matches('/');
        let base_url = if trimmed.ends_with("/v2/api") {
            trimmed.to_owned()
        } else {
            format!("{trimmed}/v2/api")
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                token: std::sync::RwLock::new(None),
            }),
            content_language: None,
        })
    }

    /// Sends `token` in the `Authorization` header of every call.
    pub fn set_token(&self, token: impl Into<String>) {
        if let Ok(mut slot) = self.inner.token.write() {
            *slot = Some(token.into());
        }
    }

    /// Sends one request and returns the successful (2xx or 304) response.
    #[doc(hidden)]
    pub async fn execute(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        let operation = request.operation;
        let url = format!("{}/{}", self.inner.base_url, operation);
        let mut builder = match request.body {
            RequestBody::Get(query) => self.inner.http.get(url).query(&query),
            RequestBody::Empty => self.inner.http.post(url),
            RequestBody::Json(json) => self
                .inner
                .http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(json),
            RequestBody::Multipart(fields) => {
                let mut form = reqwest::multipart::Form::new();
                for field in fields {
                    form = match field.value {
                        FieldValue::Text(text) => form.text(field.name, text),
                        FieldValue::File(file) => {
                            let part = reqwest::multipart::Part::stream(file.bytes)
                                .file_name(file.file_name);
                            form.part(field.name, part)
                        }
                    };
                }
                self.inner.http.post(url).multipart(form)
            }
        };
        let token = self.inner.token.read().ok().and_then(|t| t.clone());
        if let Some(token) = token {
            builder = builder.header(reqwest::header::AUTHORIZATION, token);
        }
        if let Some(language) = self.content_language {
            builder = builder.header("content-language", language);
        }
        let response = builder
            .send()
            .await
            .map_err(|source| Error::Transport { operation, source })?;
        let status = response.status().as_u16();
        let request_id = response
            .headers()
            .get("x-tower-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes()
            .await
            .map_err(|source| Error::Transport { operation, source })?;
        if (200..300).contains(&status) || status == 304 {
            Ok(ApiResponse {
                operation,
                status,
                body,
                request_id,
            })
        } else {
            Err(Error::Status {
                operation,
                status,
                body: codec::decode::<ErrorBody>(&body).ok().map(Box::new),
                raw: body,
                request_id,
            })
        }
    }
}

/// One call, as the generated methods describe it.
#[doc(hidden)]
pub struct ApiRequest {
    operation: &'static str,
    body: RequestBody,
}

enum RequestBody {
    Json(Vec<u8>),
    Empty,
    Get(Vec<(&'static str, String)>),
    Multipart(Vec<MultipartField>),
}

impl ApiRequest {
    /// `POST /v2/api/<operation>` with a JSON body.
    pub fn json<T: Encode + ?Sized>(operation: &'static str, body: &T) -> Self {
        ApiRequest {
            operation,
            body: RequestBody::Json(codec::encode(body)),
        }
    }

    /// `POST /v2/api/<operation>` without a body.
    pub fn empty(operation: &'static str) -> Self {
        ApiRequest {
            operation,
            body: RequestBody::Empty,
        }
    }

    /// `GET /v2/api/<operation>?<query>`.
    pub fn get(operation: &'static str, query: Vec<(&'static str, String)>) -> Self {
        ApiRequest {
            operation,
            body: RequestBody::Get(query),
        }
    }

    /// `POST /v2/api/<operation>` as `multipart/form-data`.
    pub fn multipart(operation: &'static str, fields: Vec<MultipartField>) -> Self {
        ApiRequest {
            operation,
            body: RequestBody::Multipart(fields),
        }
    }
}

/// One part of a `multipart/form-data` body.
#[doc(hidden)]
pub struct MultipartField {
    name: &'static str,
    value: FieldValue,
}

enum FieldValue {
    Text(String),
    File(FilePart),
}

impl MultipartField {
    pub fn text(name: &'static str, value: impl ToString) -> Self {
        MultipartField {
            name,
            value: FieldValue::Text(value.to_string()),
        }
    }
    pub fn file(name: &'static str, file: FilePart) -> Self {
        MultipartField {
            name,
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
    operation: &'static str,
    status: u16,
    body: Bytes,
    request_id: Option<String>,
}

impl ApiResponse {
    /// Decodes the body as the operation's 200 response.
    pub fn decode<T: Decode>(self) -> Result<T, Error> {
        codec::decode(&self.body).map_err(|source| Error::Decode {
            operation: self.operation,
            source,
            raw: self.body.clone(),
            request_id: self.request_id.clone(),
        })
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
