//! A short SDK session that works with the crate generated for any CloudTower version: sign in,
//! list and count VMs, one mutation and its task, read back. `cargo xtask versions` runs it
//! against the mock built for each version it checks.
//!
//! ```sh
//! cargo run -p cloudtower-api --features dynamic --example version_session -- http://127.0.0.1:8080
//! ```
//!
//! It calls operations through `Client::call_operation` (JSON checked against the version's
//! request types), since the typed request structs differ between versions; signing in and
//! waiting for the task are the typed runtime's.

use cloudtower_api::{Client, PasswordLogin};
use cloudtower_mock::{MOCK_PASSWORD, MOCK_USERNAME};
use serde_json::{json, Value};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

async fn call(client: &Client, operation: &str, body: Value) -> Result<Value> {
    let answer = client
        .call_operation(operation, body.to_string().as_bytes())
        .await?
        .ok_or_else(|| format!("{operation}: no answer body"))?;
    Ok(serde_json::from_slice(&answer)?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let endpoint = std::env::args()
        .nth(1)
        .ok_or("usage: version_session ENDPOINT")?;
    let client = Client::new(&endpoint)?;
    client
        .sign_in(PasswordLogin::new(MOCK_USERNAME, MOCK_PASSWORD))
        .await?;
    println!(
        "signed in (CloudTower {}, crate generated from {})",
        client
            .server_version()
            .map_or_else(|| "version unknown".to_owned(), |v| v.to_string()),
        cloudtower_api::models::SPEC_VERSION
    );

    let vms = call(&client, "get-vms", json!({})).await?;
    let listed = vms.as_array().ok_or("get-vms: not a list")?.len();
    let count = call(&client, "get-vms-connection", json!({})).await?["aggregate"]["count"]
        .as_u64()
        .ok_or("get-vms-connection: no aggregate.count")?;
    println!("{listed} VMs listed, {count} counted");
    if listed == 0 || count != listed as u64 {
        return Err(format!("{listed} VMs listed but {count} counted").into());
    }

    let created = call(
        &client,
        "create-label",
        json!([{ "key": "version-session", "value": "ok" }]),
    )
    .await?;
    let task_id = created[0]["task_id"]
        .as_str()
        .ok_or("create-label: no task id")?;
    let task = client.wait_task(task_id).await?;
    println!("create-label: task {} {:?}", task.id, task.status);
    let labels = call(
        &client,
        "get-labels",
        json!({ "where": { "key": "version-session" } }),
    )
    .await?;
    let found = labels.as_array().map_or(0, Vec::len);
    if found != 1 {
        return Err(format!("the created label reads back {found} times").into());
    }
    println!("the label reads back");
    Ok(())
}
