//! Decodes one `get-vms` answer of 10,000 VMs with three decoders in one release process, in
//! interleaved rounds: `cloudtower_api::codec::decode::<Vec<Vm>>` (ours), serde-derived types
//! that progenitor generates for the same schemas (`serde_json::from_slice`), and
//! `serde_json::from_slice::<Value>`, and prints the size of either's `VmWhereInput` (why
//! encoding a filter is not compared). Built and run by `bench/progenitor/run.sh`, which
//! generates the progenitor crate this depends on; see bench/README.md. `PROFILE=0|1|2` runs
//! one decoder alone, for a profiler.
#![recursion_limit = "512"] // the payload's `json!`

#[path = "../../cloudtower-api-tests/benches/common/payload.rs"]
mod payload;

use std::hint::black_box;
use std::time::Instant;

const VMS: usize = 10_000;
// Nullable properties set in at least this share of the VMs (real towers fill most of them).
const PRESENT_PERCENT: u64 = 90;

fn decode(decoder: usize, payload: &[u8]) {
    match decoder {
        0 => drop(black_box(
            cloudtower_api::codec::decode::<Vec<cloudtower_api::models::Vm>>(payload).unwrap(),
        )),
        1 => drop(black_box(
            serde_json::from_slice::<Vec<progenitor_vms::types::Vm>>(payload).unwrap(),
        )),
        _ => drop(black_box(
            serde_json::from_slice::<serde_json::Value>(payload).unwrap(),
        )),
    }
}

fn median(times: &mut [f64]) -> f64 {
    times.sort_by(f64::total_cmp);
    let n = times.len();
    if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2.0
    }
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15);
    let payload = payload::vms_payload_with(VMS, PRESENT_PERCENT);

    // PROFILE=0|1|2: decode with that decoder only, `rounds` times, for a profiler
    // (`perf record`) to see one decoder alone.
    if let Some(decoder) = std::env::var("PROFILE").ok().and_then(|p| p.parse().ok()) {
        for _ in 0..rounds {
            decode(decoder, &payload);
        }
        return;
    }

    // Every decoder accepts the payload and sees the same VMs.
    let ours = cloudtower_api::codec::decode_strict::<Vec<cloudtower_api::models::Vm>>(&payload)
        .expect("ours decodes the payload strictly");
    let theirs = serde_json::from_slice::<Vec<progenitor_vms::types::Vm>>(&payload)
        .expect("progenitor's types decode the payload");
    assert_eq!(ours.len(), VMS);
    assert_eq!(theirs.len(), VMS);
    assert!(ours.iter().zip(&theirs).all(|(a, b)| a.id == b.id));
    drop((ours, theirs));

    let names = [
        "cloudtower_api::codec::decode::<Vec<Vm>>",
        "progenitor types, serde_json::from_slice",
        "serde_json::from_slice::<Value>",
    ];
    let mut times = vec![Vec::new(); names.len()];
    // One warm-up round, then `rounds` measured ones; each round starts with the next decoder
    // so that none is always first after the others.
    for round in 0..=rounds {
        for k in 0..names.len() {
            let decoder = (round + k) % names.len();
            let start = Instant::now();
            decode(decoder, &payload);
            let secs = start.elapsed().as_secs_f64();
            if round > 0 {
                times[decoder].push(secs);
            }
        }
    }

    let mb = payload.len() as f64 / 1e6;
    println!("payload: {VMS} VMs, {mb:.1} MB, nullable properties set in >= {PRESENT_PERCENT}%");
    println!("{rounds} interleaved rounds, medians:");
    let medians: Vec<f64> = times.iter_mut().map(|t| median(t)).collect();
    for (name, secs) in names.iter().zip(&medians) {
        println!(
            "  {name:<42} {:>8.1} ms  {:>7.1} MB/s",
            secs * 1e3,
            mb / secs
        );
    }
    println!("ours vs progenitor: {:.2}x", medians[1] / medians[0]);
    println!("ours vs Value: {:.2}x", medians[2] / medians[0]);

    // Encoding a deep `where` cannot be compared: progenitor's filter types hold the filters
    // of related types inline, so no program can build its `VmWhereInput`.
    println!(
        "size_of VmWhereInput: ours {} bytes, progenitor's {} bytes",
        std::mem::size_of::<cloudtower_api::models::VmWhereInput>(),
        std::mem::size_of::<progenitor_vms::types::VmWhereInput>()
    );
}
