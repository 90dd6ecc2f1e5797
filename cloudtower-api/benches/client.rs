//! Client overhead: requests per second through `Client::get_vms` (encode the request, send,
//! read, decode the typed answer) vs raw `reqwest` posting the same bytes and reading the same
//! answer bytes, against a local axum server on 127.0.0.1 answering a fixed body.
//!
//! `cargo bench -p cloudtower-api --bench client`. Goal: the client within 10% of raw reqwest
//! for a small answer, judged on interleaved rounds (criterion's figures are printed too)
//! against raw reqwest plus the same typed decode: decoding is the work the caller wants, not
//! overhead. The ratio against raw reqwest reading bytes only is printed next to it. The request count is bounded by criterion's time budget (a few seconds
//! per variant); the server is started and stopped here.

#![recursion_limit = "512"]

mod common;

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use axum::http::header::CONTENT_TYPE;
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use cloudtower_api::models::{GetVmsRequestBody, Vm, VmWhereInput};
use cloudtower_api::{codec, Client, RetryPolicy};

const GROUP: &str = "client_get_vms";
/// Answer sizes: one VM (overhead dominated by HTTP), and 20 VMs (decoding shows).
const SIZES: [usize; 2] = [1, 20];

struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serves `answer` to every `POST /v2/api/get-vms` on its own one-thread runtime.
    fn start(answer: Bytes) -> Server {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, addr) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                ready.send(listener.local_addr().unwrap()).unwrap();
                let app = Router::new().route(
                    "/v2/api/get-vms",
                    post(move |_body: Bytes| {
                        let answer = answer.clone();
                        async move { ([(CONTENT_TYPE, "application/json")], answer) }
                    }),
                );
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Server {
            addr: addr.recv().unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn main() {
    let started = SystemTime::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let request = GetVmsRequestBody {
        r#where: VmWhereInput {
            name_starts_with: "web-".to_string().into(),
            ..Default::default()
        }
        .into(),
        first: 20.into(),
        ..Default::default()
    };
    let request_bytes = Bytes::from(codec::encode(&request));

    let mut interleaved = Vec::new();
    let mut c = common::criterion()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for size in SIZES {
        let answer = Bytes::from(common::vms_payload(size));
        let server = Server::start(answer.clone());
        let base = format!("http://{}", server.addr);
        let client = Client::builder(base.clone())
            .retry_policy(RetryPolicy::none())
            .token("bench-token")
            .build()
            .unwrap();
        let raw = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let url = format!("{base}/v2/api/get-vms");
        // Both paths see the same answer.
        let vms = rt.block_on(client.get_vms(&request)).unwrap();
        assert_eq!(vms.len(), size);
        let raw_once = rt.block_on(async {
            raw.post(&url)
                .header("content-type", "application/json")
                .header("authorization", "bench-token")
                .body(request_bytes.clone())
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        });
        assert_eq!(raw_once, answer);

        let raw_request = |raw: &reqwest::Client| {
            raw.post(&url)
                .header("content-type", "application/json")
                .header("authorization", "bench-token")
                .body(request_bytes.clone())
                .send()
        };
        let mut group = c.benchmark_group(format!("{GROUP}_{size}"));
        group.sample_size(20);
        group.bench_function("client", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(client.get_vms(black_box(&request)).await.unwrap());
                    }
                    start.elapsed()
                })
            })
        });
        group.bench_function("raw_reqwest", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let response = raw_request(&raw).await.unwrap();
                        black_box(response.bytes().await.unwrap());
                    }
                    start.elapsed()
                })
            })
        });
        group.bench_function("raw_reqwest_then_decode", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let response = raw_request(&raw).await.unwrap();
                        let body = response.bytes().await.unwrap();
                        black_box(codec::decode::<Vec<Vm>>(&body).unwrap());
                    }
                    start.elapsed()
                })
            })
        });
        group.finish();

        // Criterion measures one variant after the other, so a drift in the machine's speed
        // (other processes, CPU frequency) lands on one of them. The headline ratios come from
        // interleaved rounds instead: the same number of requests each way, rotating which
        // goes first. Variants: 0 the client, 1 raw reqwest reading the bytes, 2 raw reqwest
        // then codec::decode (what a hand-written call that uses the answer does).
        let (rounds, per_round) = if common::test_mode() {
            (3, 1)
        } else {
            (45, 100)
        };
        let mut totals = [Duration::ZERO; 3];
        rt.block_on(async {
            for round in 0..rounds {
                for turn in 0..3 {
                    let variant = (round + turn) % 3;
                    let start = Instant::now();
                    for _ in 0..per_round {
                        if variant == 0 {
                            black_box(client.get_vms(black_box(&request)).await.unwrap());
                        } else {
                            let response = raw_request(&raw).await.unwrap();
                            let body = response.bytes().await.unwrap();
                            if variant == 2 {
                                black_box(codec::decode::<Vec<Vm>>(&body).unwrap());
                            }
                            black_box(body);
                        }
                    }
                    totals[variant] += start.elapsed();
                }
            }
        });
        let requests = f64::from((rounds * per_round) as u32);
        let [client_secs, raw_secs, raw_decode_secs] =
            totals.map(|total| total.as_secs_f64() / requests);
        interleaved.push((size, client_secs, raw_secs, raw_decode_secs));
        drop(server); // stops it
    }
    c.final_summary();

    let mut report = common::Report::default();
    for &(size, client, raw, raw_decode) in &interleaved {
        let overhead = client / raw_decode - 1.0;
        report.line(format!(
            "interleaved, {size} VM(s): Client::get_vms {:>7.0} req/s, raw reqwest + codec::decode \
             {:>7.0} req/s, raw reqwest (bytes only) {:>7.0} req/s",
            1.0 / client,
            1.0 / raw_decode,
            1.0 / raw
        ));
        report.line(format!(
            "  client overhead: {:+.1}% time per request vs raw reqwest + decode{}; {:+.1}% vs \
             raw reqwest reading bytes only (the decoding itself: {:.1} us)",
            overhead * 100.0,
            match (size, overhead <= 0.10) {
                (1, true) => " -> PASS (goal within 10%)",
                (1, false) => " -> FAIL (goal within 10%)",
                _ => "",
            },
            (client / raw - 1.0) * 100.0,
            (raw_decode - raw) * 1e6
        ));
        report.figure(
            &format!("vms_{size}_interleaved_client_over_raw_decode"),
            client / raw_decode,
        );
        report.figure(
            &format!("vms_{size}_interleaved_client_over_raw"),
            client / raw,
        );
    }
    for size in SIZES {
        let group = format!("{GROUP}_{size}");
        let client = common::mean_secs(&group, "client", started);
        let raw = common::mean_secs(&group, "raw_reqwest", started);
        let raw_decode = common::mean_secs(&group, "raw_reqwest_then_decode", started);
        let (Some(client), Some(raw), Some(raw_decode)) = (client, raw, raw_decode) else {
            report.line("timings: not measured in this mode (run `cargo bench`)");
            break;
        };
        report.line(format!(
            "answer of {size} VM(s): Client::get_vms {:>7.0} req/s, raw reqwest {:>7.0} req/s \
             (raw + codec::decode {:>7.0} req/s)",
            1.0 / client,
            1.0 / raw,
            1.0 / raw_decode
        ));
        report.line(format!(
            "  criterion (variants one after the other): client time per request is {:.3}x raw \
             reqwest ({:+.1}%), {:+.1}% vs raw + decode",
            client / raw,
            (client / raw - 1.0) * 100.0,
            (client / raw_decode - 1.0) * 100.0
        ));
        report.figure(&format!("vms_{size}_client_req_per_s"), 1.0 / client);
        report.figure(&format!("vms_{size}_raw_req_per_s"), 1.0 / raw);
        report.figure(
            &format!("vms_{size}_raw_decode_req_per_s"),
            1.0 / raw_decode,
        );
        report.figure(&format!("vms_{size}_client_over_raw"), client / raw);
    }
    report.finish("client");
}
