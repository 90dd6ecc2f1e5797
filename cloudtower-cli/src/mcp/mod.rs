//! `cloudtower mcp`: a Model Context Protocol server for the signed-in profile's tower, over
//! stdio (the default) or streamable HTTP on a loopback address (`--http 127.0.0.1:PORT`,
//! path `/mcp`), on the official Rust SDK (`rmcp`).
//!
//! It connects as every command does (`session::connect`: flags, `CLOUDTOWER_*` variables,
//! the profile's stored session), so credentials never enter the conversation: no tool takes
//! or returns one, `login` is not callable, and nothing is logged but the start-up line on
//! stderr. A handful of tools built from the API table ([`tools`]) stand for the 554
//! operations; answers are bounded and errors say what to try.
//!
//! Safe by default: read-only unless started with `--allow-mutations`; destructive operations
//! ([`crate::effect`]) also need `--allow-destructive`. A dry run is always allowed.

mod handlers;
mod tools;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use cloudtower_api::{Client, WaitOptions};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};

use crate::context::Context;
use crate::failure::{Failure, Result};
use crate::session::Global;

/// What the server may do to the tower.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Operations that change something may be called.
    pub mutations: bool,
    /// Destructive ones too (only with `mutations`).
    pub destructive: bool,
}

impl Policy {
    /// The policy of `--allow-mutations` and `--allow-destructive` (the second needs the
    /// first).
    pub fn new(mutations: bool, destructive: bool) -> Result<Policy> {
        if destructive && !mutations {
            return Err(Failure::Usage(
                "--allow-destructive needs --allow-mutations too".into(),
            ));
        }
        Ok(Policy {
            mutations,
            destructive,
        })
    }

    fn describe(self) -> &'static str {
        match (self.mutations, self.destructive) {
            (false, _) => "read-only (started without --allow-mutations): changes are refused, dry runs allowed",
            (true, false) => "changes allowed; destructive operations (delete, poweroff, rollback, …) refused",
            (true, true) => "changes allowed, destructive ones included",
        }
    }
}

/// The server: one tower, one policy. Cloned per HTTP session; the client (and its
/// session) is shared.
#[derive(Clone)]
pub struct Tower {
    client: Client,
    global: Arc<Global>,
    policy: Policy,
    wait: WaitOptions,
    tools: Arc<Vec<Tool>>,
    instructions: Arc<String>,
}

impl Tower {
    /// A fresh command context for one call, over the shared client.
    fn context(&self) -> Context {
        Context::connected(
            (*self.global).clone(),
            self.client.clone(),
            self.wait.clone(),
        )
    }
}

/// Serves the context's tower under `policy`: over stdio, or over streamable HTTP at `http`
/// (a loopback address and port).
pub async fn serve(context: &mut Context, policy: Policy, http: Option<&str>) -> Result<()> {
    let http = http.map(loopback_address).transpose()?;
    let client = context.client().await?;
    let version = client
        .fetch_server_version()
        .await
        .ok()
        .flatten()
        .map(|v| v.as_str().to_owned());
    let instructions = format!(
        "CloudTower{} at {} (profile `{}`), API table {}. Mode: {}.\n\
         Work from words to calls: `find` the operations and resources, `describe` an \
         operation or type for its fields, then `list` (filter, fields, pages, counts) or \
         `call`. Mutations start tasks: `call` waits for them (progress notifications) unless \
         wait=false; `wait` waits for task ids. Use dry_run=true to see what a mutation's \
         `where` selects before changing anything.",
        version.map(|v| format!(" {v}")).unwrap_or_default(),
        client.base_url(),
        context.global.profile,
        crate::schema::api().version,
        policy.describe(),
    );
    let tower = Tower {
        client,
        global: Arc::new(context.global.clone()),
        policy,
        wait: WaitOptions {
            timeout: context.wait.timeout,
            ..WaitOptions::default()
        },
        tools: Arc::new(tools::tools(policy)),
        instructions: Arc::new(instructions),
    };
    match http {
        None => serve_stdio(tower, policy).await,
        Some(address) => serve_http(tower, policy, address).await,
    }
}

/// `--http ADDRESS`: an IP address of this machine's loopback and a port. Anything else
/// would offer the signed-in session to the network.
fn loopback_address(text: &str) -> Result<SocketAddr> {
    let address: SocketAddr = text.parse().map_err(|_| {
        Failure::Usage(format!(
            "--http {text}: expected a loopback IP address and port, such as 127.0.0.1:8765 \
             or [::1]:8765"
        ))
    })?;
    if !address.ip().is_loopback() {
        return Err(Failure::Usage(format!(
            "--http {text}: only a loopback address (127.0.0.1, ::1) is served: the server acts \
             with the profile's session, which must not be offered to the network"
        )));
    }
    Ok(address)
}

async fn serve_stdio(tower: Tower, policy: Policy) -> Result<()> {
    eprintln!("cloudtower mcp: serving over stdio; {}", policy.describe());
    let service = tower
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|error| Failure::Other(format!("starting the MCP session: {error}")))?;
    service
        .waiting()
        .await
        .map_err(|error| Failure::Other(format!("the MCP session ended: {error}")))?;
    Ok(())
}

async fn serve_http(tower: Tower, policy: Policy, address: SocketAddr) -> Result<()> {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| Failure::Other(format!("listening on {address}: {error}")))?;
    let bound = listener
        .local_addr()
        .map_err(|error| Failure::Other(format!("listening on {address}: {error}")))?;
    let stop = tokio_util::sync::CancellationToken::new();
    let config = StreamableHttpServerConfig::default()
        .with_cancellation_token(stop.child_token())
        // A browser sends an Origin with every cross-site request: only this server's own
        // is accepted, so no web page can drive the signed-in session. (The Host check
        // against DNS rebinding is on by default: loopback names only.)
        .with_allowed_origins([
            format!("http://{bound}"),
            format!("http://localhost:{}", bound.port()),
        ])
        .with_sse_keep_alive(Some(Duration::from_secs(15)));
    let service: StreamableHttpService<Tower, LocalSessionManager> =
        StreamableHttpService::new(move || Ok(tower.clone()), Default::default(), config);
    let router = axum::Router::new().nest_service("/mcp", service);
    eprintln!(
        "cloudtower mcp: serving http://{bound}/mcp (streamable HTTP); {}",
        policy.describe()
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            stop.cancel();
        })
        .await
        .map_err(|error| Failure::Other(format!("serving {bound}: {error}")))
}

impl ServerHandler for Tower {
    fn get_info(&self) -> ServerConfig {
        let mut implementation = Implementation::new("cloudtower", env!("CARGO_PKG_VERSION"));
        implementation.title = Some("SmartX CloudTower".into());
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(implementation)
            .with_instructions(self.instructions.as_str())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items((*self.tools).clone()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|tool| tool.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, ErrorData> {
        if self.get_tool(&request.name).is_none() {
            return Err(ErrorData::invalid_params(
                format!(
                    "no tool `{}`: the tools are {}",
                    request.name,
                    self.tools
                        .iter()
                        .map(|tool| tool.name.as_ref())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None,
            ));
        }
        let arguments = request.arguments.unwrap_or_default();
        let outcome = handlers::call(self, &request.name, arguments, &context).await;
        Ok(match outcome {
            Ok(value) => CallToolResult::structured(value),
            Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
        }
        .into())
    }
}
