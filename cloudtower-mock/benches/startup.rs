//! What a test pays for a mock tower: start-up (the table parsed once per process, then the
//! seed data per tower), the first answer, and the heap the table and the seed data hold.
//! `cargo bench -p cloudtower-mock` (bench/README.md).

#[path = "../../cloudtower-api-tests/benches/common/heap.rs"]
mod heap;

use cloudtower_mock::{MockTower, MOCK_PASSWORD, MOCK_USERNAME};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Heap held by the first tower of the process (the parsed table and its seed data), then
/// by a second one (its seed data alone), printed once.
fn report_memory(rt: &tokio::runtime::Runtime) {
    heap::start();
    let first = rt.block_on(MockTower::start()).expect("a tower");
    let with_table = heap::current();
    heap::start();
    let second = rt.block_on(MockTower::start()).expect("a tower");
    let seed_only = heap::current();
    heap::stop();
    eprintln!(
        "mock memory: first tower {} KiB (the table and its seed data), each further tower {} KiB (its seed data)",
        with_table / 1024,
        seed_only / 1024
    );
    rt.block_on(async {
        first.shutdown().await;
        second.shutdown().await;
    });
}

fn startup(c: &mut Criterion) {
    let rt = runtime();
    report_memory(&rt);
    let mut group = c.benchmark_group("mock");
    group.bench_function("start and stop a seeded tower", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tower = MockTower::start().await.expect("a tower");
                tower.shutdown().await;
            })
        })
    });
    let http = reqwest::Client::new();
    group.bench_function("start, sign in, first get-vms", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tower = MockTower::start().await.expect("a tower");
                let login: serde_json::Value = http
                    .post(format!("{}/v2/api/login", tower.url()))
                    .json(&json!({"username": MOCK_USERNAME, "password": MOCK_PASSWORD}))
                    .send()
                    .await
                    .expect("an answer")
                    .json()
                    .await
                    .expect("JSON");
                let token = login["data"]["token"].as_str().expect("a token").to_owned();
                let vms = http
                    .post(format!("{}/v2/api/get-vms", tower.url()))
                    .header("authorization", token)
                    .json(&json!({}))
                    .send()
                    .await
                    .expect("an answer");
                assert!(vms.status().is_success());
                tower.shutdown().await;
            })
        })
    });
    group.finish();
}

criterion_group!(benches, startup);
criterion_main!(benches);
