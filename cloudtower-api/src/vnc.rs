//! A VM's console as a noVNC websocket URL, from `get-vm-vnc-info`.
//!
//! The tower proxies the console at `/websockify/`: `wss://TOWER/websockify/?uuid=VM_UUID&
//! token=TOKEN&host=HOST_IP` (`ws://` for a tower reached over `http://`), where the token is
//! the `redirect` value of `get-vm-vnc-info`, percent-encoded (it is Base64 and may hold `/`,
//! `+` and `=`). A client that reaches the cluster itself can use [`VncConsole::direct_url`]
//! instead: `wss://CLUSTER_IP/websockify/?uuid=…&token=DIRECT&host=…`.
//!
//! ```no_run
//! # async fn demo(client: cloudtower_api::Client) -> Result<(), cloudtower_api::Error> {
//! use cloudtower_api::models::VmWhereUniqueInput;
//!
//! let console = client
//!     .vm_vnc_console(VmWhereUniqueInput { id: "vm-id".to_string().into(), ..Default::default() })
//!     .await?;
//! println!("open {} with noVNC", console.url);
//! # Ok(()) }
//! ```

use std::fmt;
use std::net::IpAddr;

use crate::models::{GetVmVncInfoParams, VmVncInfo, VmWhereUniqueInput};
use crate::{Client, Error};

/// A ready-to-use console connection for one VM. Its `Debug` hides the console tokens.
#[derive(Clone, PartialEq)]
pub struct VncConsole {
    /// The websocket URL through the tower.
    pub url: String,
    /// The websocket URL straight to the cluster, when the tower gave a direct token.
    pub direct_url: Option<String>,
    /// What `get-vm-vnc-info` answered.
    pub info: VmVncInfo,
}

impl fmt::Debug for VncConsole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VncConsole")
            .field("url", &without_token(&self.url))
            .field("direct_url", &self.direct_url.as_deref().map(without_token))
            .field("info", &self.info)
            .finish()
    }
}

/// A console URL with its `token` query value masked.
fn without_token(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return "<redacted>".to_owned();
    };
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "token" { "<redacted>".into() } else { v };
            (k.into_owned(), v.into_owned())
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.into()
}

/// The URL authority for a `cluster_ip` from the tower: an IP address (IPv6 in brackets) or
/// a DNS host name, nothing else, so that the value cannot add a user, port, path or query.
fn cluster_authority(cluster_ip: &str) -> Result<String, Error> {
    let unbracketed = cluster_ip
        .strip_prefix('[')
        .and_then(|v6| v6.strip_suffix(']'))
        .and_then(|v6| v6.parse::<std::net::Ipv6Addr>().ok());
    if let Some(v6) = unbracketed {
        return Ok(format!("[{v6}]"));
    }
    if let Ok(ip) = cluster_ip.parse::<IpAddr>() {
        return Ok(match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        });
    }
    let is_label = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let name = cluster_ip.strip_suffix('.').unwrap_or(cluster_ip);
    if name.len() <= 253 && name.split('.').all(is_label) {
        return Ok(name.to_owned());
    }
    Err(Error::Protocol {
        operation: "get-vm-vnc-info",
        reason: format!("cluster_ip {cluster_ip:?} is neither an IP address nor a host name"),
    })
}

impl Client {
    /// Asks the tower for a VM's console credentials and builds its websocket URLs.
    pub async fn vm_vnc_console(&self, vm: VmWhereUniqueInput) -> Result<VncConsole, Error> {
        // Fields a newer spec adds keep their defaults (codegen/src/helpers.rs).
        #[allow(clippy::needless_update)]
        let params = GetVmVncInfoParams {
            vm,
            ..Default::default()
        };
        let info = self.get_vm_vnc_info(&params).await?;
        vnc_console(self.base_url(), info)
    }
}

/// Builds the websocket URLs for `info`, as answered by the tower at `endpoint` (the
/// endpoint or API base URL the client was built with).
pub fn vnc_console(endpoint: &str, info: VmVncInfo) -> Result<VncConsole, Error> {
    let base = reqwest::Url::parse(endpoint)
        .map_err(|e| Error::config(format!("invalid endpoint {endpoint:?}"), e))?;
    let scheme = if base.scheme() == "https" {
        "wss"
    } else {
        "ws"
    };
    let authority = match (base.host_str(), base.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => {
            return Err(Error::config(
                format!("invalid endpoint {endpoint:?}"),
                "it has no host",
            ))
        }
    };
    // A tower served under a path prefix keeps it; the API's own `/v2/api` goes.
    let path = base.path().trim_end_matches('/');
    let prefix = path.strip_suffix("/v2/api").unwrap_or(path);
    let host_ip = info
        .vm
        .host
        .as_ref()
        .map(|h| h.management_ip.clone())
        .unwrap_or_default();
    let url = websocket_url(
        &format!("{scheme}://{authority}{prefix}"),
        &info.vm.local_id,
        &info.redirect,
        &host_ip,
    )?;
    let direct_url = match &info.direct {
        Some(direct) if !direct.is_empty() && !info.cluster_ip.is_empty() => Some(websocket_url(
            &format!("{scheme}://{}", cluster_authority(&info.cluster_ip)?),
            &info.vm.local_id,
            direct,
            &host_ip,
        )?),
        _ => None,
    };
    Ok(VncConsole {
        url,
        direct_url,
        info,
    })
}

fn websocket_url(base: &str, uuid: &str, token: &str, host: &str) -> Result<String, Error> {
    let mut url = reqwest::Url::parse(&format!("{base}/websockify/"))
        .map_err(|e| Error::config(format!("cannot build a console URL from {base:?}"), e))?;
    url.query_pairs_mut()
        .append_pair("uuid", uuid)
        .append_pair("token", token)
        .append_pair("host", host);
    Ok(url.into())
}
