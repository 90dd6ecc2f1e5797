//! The decode budget measured: the client's peak heap for an answer of 8 MiB of `[{},{},…]`
//! (which lenient decoding would fill with default VMs) and for a real 10,000-VM answer
//! (22 MB), each through `get-vms` from a server on 127.0.0.1. One test in its own binary, so
//! that the counting allocator sees nothing else. Run with `--nocapture` to see the figures.

// The payload's `json!` nests deeper than the default limit.
#![recursion_limit = "512"]

#[path = "../benches/common/heap.rs"]
mod heap;
#[path = "../benches/common/payload.rs"]
mod payload;

use cloudtower_api::error::{ErrorKind, ResponseError};
use std::sync::Arc;

use axum::Router;
use cloudtower_api::codec::{self, DecodeOptions, DEFAULT_MAX_ALLOC_RATIO};
use cloudtower_api::models::{GetVmsRequestBody, Vm};
use cloudtower_api::{Client, Error, RetryPolicy};

/// The peak heap (bytes above what was live before) while `get-vms` is answered with `body`.
async fn peak_heap_of_get_vms(body: Arc<Vec<u8>>) -> (usize, Result<Vec<Vm>, Error>) {
    let router = Router::new().fallback(move || {
        let body = body.clone();
        // The server's copy is the `Arc`'s: the bytes sent are counted once, as read.
        async move { axum::body::Body::from(bytes::Bytes::from_owner(ArcBytes(body))) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = Client::builder(&url)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    heap::start();
    let answer = client.get_vms(&GetVmsRequestBody::default()).await;
    let peak = heap::stop();
    server.abort();
    (peak, answer)
}

struct ArcBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

const MB: f64 = 1e6;

#[test]
fn the_decode_budget_bounds_an_amplifying_answer_and_leaves_real_ones_a_wide_margin() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut amplifying = Vec::with_capacity(8 << 20);
        amplifying.push(b'[');
        while amplifying.len() < (8 << 20) - 3 {
            amplifying.extend_from_slice(b"{},");
        }
        amplifying.extend_from_slice(b"{}]");
        let amplifying_len = amplifying.len();
        let (peak, answer) = peak_heap_of_get_vms(Arc::new(amplifying)).await;
        let err = answer.unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::Response(ResponseError::Decode { .. })
            ),
            "{err}"
        );
        // Unbounded, this was 2.8 million default VMs (4 GB). Bounded: the body read, and what
        // the budget allows it to decode into (a list's old buffer held while it moves).
        let budget = amplifying_len * DEFAULT_MAX_ALLOC_RATIO as usize + (1 << 20);
        eprintln!(
            "8 MiB of [{{}},…]: refused ({err}); peak heap {:.1} MB (budget {:.1} MB)",
            peak as f64 / MB,
            budget as f64 / MB
        );
        assert!(
            peak < 2 * amplifying_len + budget * 3 / 2,
            "peak heap {peak}"
        );

        let real = payload::vms_payload(10_000);
        let real_len = real.len();
        // The smallest ratio that decodes the real answer: what it holds per byte of JSON.
        let needed = (0..=DEFAULT_MAX_ALLOC_RATIO)
            .find(|&ratio| {
                let options = DecodeOptions::default().max_alloc_ratio(ratio);
                codec::decode_with_options::<Vec<Vm>>(&real, &options).is_ok()
            })
            .expect("the real answer decodes within the default budget");
        let (peak, answer) = peak_heap_of_get_vms(Arc::new(real)).await;
        assert_eq!(answer.unwrap().len(), 10_000);
        eprintln!(
            "10,000 VMs ({:.1} MB of JSON): decoded; peak heap {:.1} MB; it needs a ratio of \
             {needed} (default {DEFAULT_MAX_ALLOC_RATIO})",
            real_len as f64 / MB,
            peak as f64 / MB
        );
        assert!(
            needed * 4 <= DEFAULT_MAX_ALLOC_RATIO,
            "a margin of 4x for real answers: needs {needed}"
        );
    });
}
