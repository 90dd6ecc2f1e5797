//! The mock at fleet scale: 10,000 VMs created through the API, then a filtered `get-vms`, a
//! `-connection` count, a deep page and an update by name, each timed (median of 25) on the
//! fleet and on the seed tower (4 VMs) of the same run (the ratio is the cost of scale); heap
//! per VM; requests per second from 8 concurrent clients, fleet against seed.
//! `cargo bench -p cloudtower-mock --bench fleet` (release; bench/README.md).

#[path = "../../cloudtower-api-tests/benches/common/heap.rs"]
mod heap;

use std::time::{Duration, Instant};

use cloudtower_mock::{MockConfig, MockTower, MOCK_PASSWORD, MOCK_USERNAME};
use serde_json::{json, Value};

const FLEET: usize = 10_000;
const BATCH: usize = 100;
const CLIENTS: usize = 8;

struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Client {
    async fn sign_in(tower: &MockTower) -> Client {
        let http = reqwest::Client::new();
        let url = tower.url();
        let login: Value = http
            .post(format!("{url}/v2/api/login"))
            .json(&json!({"username": MOCK_USERNAME, "password": MOCK_PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["data"]["token"].as_str().unwrap().to_owned();
        Client { http, url, token }
    }

    async fn call(&self, path: &str, body: &Value) -> Value {
        let answer = self
            .http
            .post(format!("{}/v2/api/{path}", self.url))
            .header("authorization", &self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.unwrap()
    }
}

fn vm_params(cluster: &str, vlan: &str, n: usize) -> Value {
    json!({
        "cluster_id": cluster, "name": format!("fleet-{n}"), "cpu_cores": 2, "cpu_sockets": 1,
        "memory": 4, "memory_unit": "GB", "ha": true, "firmware": "BIOS",
        "status": if n.is_multiple_of(3) { "RUNNING" } else { "STOPPED" },
        "vm_disks": {"mount_new_create_disks": [{"boot": 0, "bus": "VIRTIO", "vm_volume": {
            "name": format!("fleet-{n}-disk"), "size": 20, "size_unit": "GB",
            "elf_storage_policy": "REPLICA_2_THIN_PROVISION"}}]},
        "vm_nics": [{"connect_vlan_id": vlan}],
    })
}

/// The median time of `runs` calls of `path` with `body`.
async fn median(client: &Client, path: &str, body: &Value, runs: usize) -> Duration {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        client.call(path, body).await;
        times.push(started.elapsed());
    }
    times.sort();
    times[runs / 2]
}

/// Requests per second from `CLIENTS` concurrent clients calling `path` for `window`.
async fn throughput(tower: &MockTower, path: &'static str, body: Value, window: Duration) -> f64 {
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(Client::sign_in(tower).await);
    }
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|client| {
            let body = body.clone();
            tokio::spawn(async move {
                let mut n = 0u64;
                while started.elapsed() < window {
                    client.call(path, &body).await;
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let config = MockConfig {
        task_duration: Duration::ZERO,
        ..MockConfig::default()
    };
    let seed = MockTower::start_with(config.clone()).await.unwrap();
    heap::start();
    let fleet = MockTower::start_with(config).await.unwrap();
    let client = Client::sign_in(&fleet).await;
    let cluster = client.call("get-clusters", &json!({})).await[0]["id"].clone();
    let vlan = client.call("get-vlans", &json!({})).await[0]["id"].clone();
    let (cluster, vlan) = (
        cluster.as_str().unwrap().to_owned(),
        vlan.as_str().unwrap().to_owned(),
    );
    let before = heap::current();
    let started = Instant::now();
    for batch in 0..FLEET / BATCH {
        let params: Vec<Value> = (0..BATCH)
            .map(|i| vm_params(&cluster, &vlan, batch * BATCH + i))
            .collect();
        client.call("create-vm", &Value::Array(params)).await;
    }
    let create = started.elapsed();
    let count = client.call("get-vms-connection", &json!({})).await["aggregate"]["count"].clone();
    assert_eq!(count, FLEET + 4, "every VM created");
    let per_vm = (heap::current().saturating_sub(before)) / FLEET;
    heap::stop();

    let seeded = Client::sign_in(&seed).await;
    let cases: [(&str, &str, Value); 4] = [
        (
            "filtered get-vms",
            "get-vms",
            json!({"where": {"name_contains": "-77", "status": "STOPPED", "ha": true}}),
        ),
        (
            "get-vms-connection count",
            "get-vms-connection",
            json!({"where": {"status": "RUNNING", "cluster": {"id": cluster}}}),
        ),
        (
            "deep page (skip 9,900, first 50, by name)",
            "get-vms",
            json!({"skip": 9_900, "first": 50, "orderBy": "name_ASC"}),
        ),
        (
            "update by name",
            "update-vm-basic-info",
            json!({"where": {"name": "fleet-5000"}, "data": {"description": "renamed"}}),
        ),
    ];
    println!(
        "cloudtower-mock at fleet scale: `cargo bench -p cloudtower-mock --bench fleet` (release)"
    );
    println!(
        "created {FLEET} VMs through create-vm in batches of {BATCH}: {:.2} s ({:.0} VMs/s)",
        create.as_secs_f64(),
        FLEET as f64 / create.as_secs_f64()
    );
    println!(
        "heap per VM (with its disk, volume, LUN, NIC, task and change event): {:.1} KiB",
        per_vm as f64 / 1024.0
    );
    println!("| operation | fleet ({FLEET} VMs) | seed (4 VMs) | ratio |");
    println!("|---|---|---|---|");
    for (what, path, body) in &cases {
        // The same question of the seed tower (its cluster, one of its VMs).
        let seed_body = match *path {
            "get-vms-connection" => json!({"where": {"status": "RUNNING"}}),
            "update-vm-basic-info" => {
                json!({"where": {"name": "web-1"}, "data": {"description": "renamed"}})
            }
            _ => body.clone(),
        };
        let on_fleet = median(&client, path, body, 25).await;
        let on_seed = median(&seeded, path, &seed_body, 25).await;
        println!(
            "| {what} | {} | {} | {:.1}× |",
            ms(on_fleet),
            ms(on_seed),
            on_fleet.as_secs_f64() / on_seed.as_secs_f64()
        );
    }
    let window = Duration::from_secs(3);
    let lookup = json!({"where": {"name": "fleet-4242"}});
    let on_fleet = throughput(&fleet, "get-vms", lookup.clone(), window).await;
    let on_seed = throughput(
        &seed,
        "get-vms",
        json!({"where": {"name": "web-1"}}),
        window,
    )
    .await;
    println!("| get-vms by name from {CLIENTS} concurrent clients | {on_fleet:.0} req/s | {on_seed:.0} req/s | {:.2}× |",
        on_fleet / on_seed);
    fleet.shutdown().await;
    seed.shutdown().await;
}
