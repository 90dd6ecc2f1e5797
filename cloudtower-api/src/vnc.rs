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

use crate::models::{GetVmVncInfoParams, VmVncInfo, VmWhereUniqueInput};
use crate::{Client, Error};

/// A ready-to-use console connection for one VM.
#[derive(Clone, Debug, PartialEq)]
pub struct VncConsole {
    /// The websocket URL through the tower.
    pub url: String,
    /// The websocket URL straight to the cluster, when the tower gave a direct token.
    pub direct_url: Option<String>,
    /// What `get-vm-vnc-info` answered.
    pub info: VmVncInfo,
}

impl Client {
    /// Asks the tower for a VM's console credentials and builds its websocket URLs.
    pub async fn vm_vnc_console(&self, vm: VmWhereUniqueInput) -> Result<VncConsole, Error> {
        let info = self.get_vm_vnc_info(&GetVmVncInfoParams { vm }).await?;
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
            &format!("{scheme}://{}", info.cluster_ip),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{NestedHost, Vm};

    fn info() -> VmVncInfo {
        VmVncInfo {
            vm: Vm {
                local_id: "00000000-0000-0000-0000-000000000001".into(),
                host: Some(NestedHost {
                    management_ip: "192.0.2.4".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            redirect: "YWJj/+d=".into(),
            direct: Some("1a2b".into()),
            cluster_ip: "192.0.2.2".into(),
            terminal: String::new(),
        }
    }

    #[test]
    fn scheme_follows_the_endpoint_and_the_token_is_escaped() {
        let console = vnc_console("https://tower.example.com/v2/api", info()).unwrap();
        assert_eq!(
            console.url,
            "wss://tower.example.com/websockify/?uuid=00000000-0000-0000-0000-000000000001\
             &token=YWJj%2F%2Bd%3D&host=192.0.2.4"
        );
        assert_eq!(
            console.direct_url.as_deref(),
            Some(
                "wss://192.0.2.2/websockify/?uuid=00000000-0000-0000-0000-000000000001\
                 &token=1a2b&host=192.0.2.4"
            )
        );
        let plain = vnc_console("http://127.0.0.1:8080/prefix/v2/api", info()).unwrap();
        assert!(
            plain
                .url
                .starts_with("ws://127.0.0.1:8080/prefix/websockify/?uuid="),
            "{}",
            plain.url
        );
    }
}
