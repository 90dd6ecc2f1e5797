//! Decode a `get-vms` answer of 10,000 VMs: into `Vec<Vm>` (the typed response) vs into
//! `serde_json::Value` (through the same codec, and through `serde_json::from_slice`).
//!
//! `cargo bench -p cloudtower-api-tests --bench decode`; prints MB/s, ratios and peak heap memory.
//! `CLOUDTOWER_BENCH_PAYLOAD_OUT=FILE` also writes the payload (for bench/python).
#![recursion_limit = "512"]

mod common;
#[path = "common/heap.rs"]
mod heap;

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use cloudtower_api::codec;
use cloudtower_api::models::Vm;
use criterion::{SamplingMode, Throughput};
use serde_json::Value;

const VMS: usize = 10_000;
const GROUP: &str = "decode_get_vms_10000";
const VARIANTS: [(&str, &str); 3] = [
    ("typed_vec_vm", "codec::decode::<Vec<Vm>>"),
    ("codec_value", "codec::decode::<serde_json::Value>"),
    ("serde_json_value", "serde_json::from_slice::<Value>"),
];

fn decode_variant(name: &str, payload: &[u8]) {
    match name {
        "typed_vec_vm" => drop(black_box(codec::decode::<Vec<Vm>>(payload).unwrap())),
        "codec_value" => drop(black_box(codec::decode::<Value>(payload).unwrap())),
        _ => drop(black_box(serde_json::from_slice::<Value>(payload).unwrap())),
    }
}

fn main() {
    let started = SystemTime::now();
    let payload = common::vms_payload(VMS);
    if let Some(out) = std::env::var_os("CLOUDTOWER_BENCH_PAYLOAD_OUT") {
        std::fs::write(&out, &payload).expect("write the payload");
        eprintln!("wrote the payload to {}", out.to_string_lossy());
    }

    // The payload is a valid answer: every required field present and non-null, every enum
    // value known, nullable fields both null and set.
    let vms = codec::decode_strict::<Vec<Vm>>(&payload).expect("strict decode");
    assert_eq!(vms.len(), VMS);
    assert!(vms.iter().any(|v| v.cluster.is_none()) && vms.iter().any(|v| v.cluster.is_some()));
    assert!(vms.iter().any(|v| v.cpu_usage.is_none()) && vms.iter().any(|v| v.cpu_usage.is_some()));
    let disks: usize = vms
        .iter()
        .map(|v| v.vm_disks.as_ref().map_or(0, Vec::len))
        .sum();
    let nics: usize = vms
        .iter()
        .map(|v| v.vm_nics.as_ref().map_or(0, Vec::len))
        .sum();
    let labels: usize = vms
        .iter()
        .map(|v| v.labels.as_ref().map_or(0, Vec::len))
        .sum();
    drop(vms);

    let mut report = common::Report::default();
    let mb = payload.len() as f64 / 1e6;
    report.line(format!(
        "payload: {VMS} VMs, {mb:.1} MB ({disks} disks, {nics} NICs, {labels} labels)"
    ));
    report.figure("payload_bytes", payload.len());
    report.figure("vms", VMS);

    let mut memory = Vec::new();
    for (name, label) in VARIANTS {
        let (peak, retained) = heap::heap_usage(|| match name {
            "typed_vec_vm" => {
                Box::new(codec::decode::<Vec<Vm>>(&payload).unwrap()) as Box<dyn std::any::Any>
            }
            "codec_value" => Box::new(codec::decode::<Value>(&payload).unwrap()),
            _ => Box::new(serde_json::from_slice::<Value>(&payload).unwrap()),
        });
        memory.push((name, label, peak, retained));
        report.figure(&format!("{name}_peak_heap_bytes"), peak);
        report.figure(&format!("{name}_retained_heap_bytes"), retained);
    }

    let mut c = common::criterion()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    {
        let mut group = c.benchmark_group(GROUP);
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .throughput(Throughput::Bytes(payload.len() as u64));
        for (name, _) in VARIANTS {
            group.bench_function(name, |b| b.iter(|| decode_variant(name, &payload)));
        }
        group.finish();
    }
    c.final_summary();

    let secs: Vec<Option<f64>> = VARIANTS
        .iter()
        .map(|(name, _)| common::mean_secs(GROUP, name, started))
        .collect();
    for ((name, label), secs) in VARIANTS.iter().zip(&secs) {
        if let Some(s) = secs {
            report.line(format!(
                "{label:<38} {:>8.1} ms  {:>7.1} MB/s",
                s * 1e3,
                common::mb_per_s(payload.len(), *s)
            ));
            report.figure(&format!("{name}_secs"), *s);
            report.figure(
                &format!("{name}_mb_per_s"),
                common::mb_per_s(payload.len(), *s),
            );
        }
    }
    if let [Some(typed), Some(value), Some(serde)] = secs[..] {
        report.line(format!(
            "ratio: typed is {:.2}x as fast as codec Value, {:.2}x as fast as serde_json Value \
             (goal: >= 1.00x) -> {}",
            value / typed,
            serde / typed,
            if typed <= value && typed <= serde {
                "PASS"
            } else {
                "FAIL"
            }
        ));
        report.figure("typed_vs_codec_value_speedup", value / typed);
        report.figure("typed_vs_serde_json_value_speedup", serde / typed);
    } else {
        report.line("timings: not measured in this mode (run `cargo bench`)");
    }
    for (_, label, peak, retained) in &memory {
        report.line(format!(
            "{label:<38} peak heap {:>6.1} MB ({:.2}x the payload), result holds {:>6.1} MB",
            *peak as f64 / 1e6,
            *peak as f64 / payload.len() as f64,
            *retained as f64 / 1e6
        ));
    }
    report.finish("decode");
}
