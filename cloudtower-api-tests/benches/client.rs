//! Client overhead: requests per second through `Client::get_vms` (encode the request, send,
//! read, decode the typed answer) vs raw `reqwest` posting the same bytes and reading the same
//! answer bytes, against a local axum server on 127.0.0.1 answering a fixed body.
//!
//! `cargo bench -p cloudtower-api-tests --bench client`. Goal: the client within 10% of raw reqwest
//! for a small answer, judged on interleaved rounds (criterion's figures are printed too)
//! against raw reqwest plus the same typed decode: decoding is the work the caller wants, not
//! overhead. The ratio against raw reqwest reading bytes only is printed next to it. The request count is bounded by criterion's time budget (a few seconds
//! per variant); the server is started and stopped here.

#![recursion_limit = "512"]

mod common;

use std::hint::black_box;
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

/// The three ways of making one request, measured against each other.
#[derive(Clone, Copy)]
enum Variant {
    /// `Client::get_vms`: encode, send, read, decode the typed answer.
    Client,
    /// Raw reqwest posting the same bytes and reading the answer's bytes.
    Raw,
    /// Raw reqwest, then the same `codec::decode` (a hand-written call that uses the answer).
    RawThenDecode,
}

impl Variant {
    const ALL: [Variant; 3] = [Variant::Client, Variant::Raw, Variant::RawThenDecode];

    /// Its criterion function name.
    fn name(self) -> &'static str {
        match self {
            Variant::Client => "client",
            Variant::Raw => "raw_reqwest",
            Variant::RawThenDecode => "raw_reqwest_then_decode",
        }
    }
}

/// What the variants send, and to whom, for one answer size.
struct Calls {
    client: Client,
    raw: reqwest::Client,
    url: String,
    request: GetVmsRequestBody,
    request_bytes: Bytes,
}

impl Calls {
    async fn raw_answer(&self) -> Bytes {
        self.raw
            .post(&self.url)
            .header("content-type", "application/json")
            .header("authorization", "bench-token")
            .body(self.request_bytes.clone())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
    }

    /// `n` requests one after the other; how long they took.
    async fn time(&self, variant: Variant, n: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..n {
            match variant {
                Variant::Client => {
                    black_box(self.client.get_vms(black_box(&self.request)).await.unwrap());
                }
                Variant::Raw => {
                    black_box(self.raw_answer().await);
                }
                Variant::RawThenDecode => {
                    black_box(codec::decode::<Vec<Vm>>(&self.raw_answer().await).unwrap());
                }
            }
        }
        start.elapsed()
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
        let answer_bytes = answer.clone();
        let server = common::Server::start(Router::new().route(
            "/v2/api/get-vms",
            post(move |_body: Bytes| {
                let answer = answer.clone();
                async move { ([(CONTENT_TYPE, "application/json")], answer) }
            }),
        ));
        let base = format!("http://{}", server.addr);
        let calls = Calls {
            client: Client::builder(base.clone())
                .retry_policy(RetryPolicy::none())
                .token("bench-token")
                .build()
                .unwrap(),
            raw: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            url: format!("{base}/v2/api/get-vms"),
            request: request.clone(),
            request_bytes: request_bytes.clone(),
        };
        // Both paths see the same answer.
        let vms = rt.block_on(calls.client.get_vms(&request)).unwrap();
        assert_eq!(vms.len(), size);
        assert_eq!(rt.block_on(calls.raw_answer()), answer_bytes);

        let mut group = c.benchmark_group(format!("{GROUP}_{size}"));
        group.sample_size(20);
        for variant in Variant::ALL {
            group.bench_function(variant.name(), |b| {
                b.iter_custom(|iters| rt.block_on(calls.time(variant, iters)))
            });
        }
        group.finish();

        // Criterion measures one variant after the other, so a drift in the machine's speed
        // (other processes, CPU frequency) lands on one of them. The headline ratios come from
        // interleaved rounds instead: the same number of requests each way, rotating which
        // goes first.
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
                    totals[variant] += calls.time(Variant::ALL[variant], per_round).await;
                }
            }
        });
        let requests = (rounds as u64 * per_round) as f64;
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
        let [client, raw, raw_decode] =
            Variant::ALL.map(|variant| common::mean_secs(&group, variant.name(), started));
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
