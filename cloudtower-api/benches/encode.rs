//! Encode a deep `where` (`AND`/`OR`/`NOT` nested 8 levels, `id_in` with 10,000 ids) with
//! `codec::encode` vs `serde_json::to_vec` of the equivalent `serde_json::Value`.
//!
//! `cargo bench -p cloudtower-api --bench encode`.

#![recursion_limit = "512"]

mod common;

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use cloudtower_api::codec;
use cloudtower_api::models::{ClusterWhereInput, GetVmsRequestBody, VmStatus, VmWhereInput};
use criterion::Throughput;
use serde_json::Value;

const IDS: usize = 10_000;
const DEPTH: usize = 8;
const GROUP: &str = "encode_deep_where";

fn leaf_filters(level: usize) -> Vec<VmWhereInput> {
    vec![
        VmWhereInput {
            name_contains: format!("web-{level}").into(),
            ..Default::default()
        },
        VmWhereInput {
            vcpu_gte: (level as i32 + 1).into(),
            memory_gt: ((level as i64 + 1) << 30).into(),
            ..Default::default()
        },
        VmWhereInput {
            status_in: vec![VmStatus::Running, VmStatus::Suspended].into(),
            in_recycle_bin: false.into(),
            ..Default::default()
        },
        VmWhereInput {
            cluster: ClusterWhereInput {
                name: format!("cluster-{level}").into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        },
    ]
}

/// `AND [ {id_in: 10,000 ids}, OR [ ..leaves, NOT [ ..leaves, AND [ ... ] ] ] ]`, 8 levels.
fn deep_where() -> GetVmsRequestBody {
    let mut rng = common::Rng::new(7);
    let ids: Vec<String> = (0..IDS).map(|_| rng.cuid()).collect();
    let mut inner = VmWhereInput {
        name: "the-innermost".to_string().into(),
        ..Default::default()
    };
    for level in (0..DEPTH).rev() {
        let mut children = leaf_filters(level);
        children.push(inner);
        inner = match level % 3 {
            0 => VmWhereInput {
                and: children.into(),
                ..Default::default()
            },
            1 => VmWhereInput {
                or: children.into(),
                ..Default::default()
            },
            _ => VmWhereInput {
                not: children.into(),
                ..Default::default()
            },
        };
    }
    GetVmsRequestBody {
        r#where: VmWhereInput {
            and: vec![
                VmWhereInput {
                    id_in: ids.into(),
                    ..Default::default()
                },
                inner,
            ]
            .into(),
            ..Default::default()
        }
        .into(),
        first: 1000.into(),
        ..Default::default()
    }
}

fn main() {
    let started = SystemTime::now();
    let body = deep_where();
    let bytes = codec::try_encode(&body).unwrap();
    // The equivalent Value, keys in the same order: serde_json writes the same bytes.
    let value: Value = serde_json::from_slice(&bytes).expect("valid JSON");
    assert_eq!(serde_json::to_vec(&value).unwrap(), bytes);
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains(r#""AND":["#) && text.contains(r#""OR":["#) && text.contains(r#""NOT":["#)
    );

    let mut c = common::criterion()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    {
        let mut group = c.benchmark_group(GROUP);
        group
            .sample_size(30)
            .throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("codec_encode_typed", |b| {
            b.iter(|| codec::try_encode(black_box(&body)).unwrap())
        });
        group.bench_function("serde_json_to_vec_value", |b| {
            b.iter(|| serde_json::to_vec(black_box(&value)).unwrap())
        });
        group.finish();
    }
    c.final_summary();

    let mut report = common::Report::default();
    report.line(format!(
        "body: {} bytes, {IDS} ids in id_in, AND/OR/NOT nested {DEPTH} levels",
        bytes.len()
    ));
    report.figure("body_bytes", bytes.len());
    let typed = common::mean_secs(GROUP, "codec_encode_typed", started);
    let serde = common::mean_secs(GROUP, "serde_json_to_vec_value", started);
    for (label, secs) in [
        ("codec::try_encode(&GetVmsRequestBody)", typed),
        ("serde_json::to_vec(&Value)", serde),
    ] {
        if let Some(s) = secs {
            report.line(format!(
                "{label:<36} {:>8.1} us  {:>7.1} MB/s",
                s * 1e6,
                common::mb_per_s(bytes.len(), s)
            ));
        }
    }
    match (typed, serde) {
        (Some(typed), Some(serde)) => {
            report.line(format!(
                "ratio: codec::encode is {:.2}x as fast as serde_json::to_vec(&Value)",
                serde / typed
            ));
            report.figure("codec_encode_secs", typed);
            report.figure("serde_json_to_vec_secs", serde);
            report.figure("codec_vs_serde_json_speedup", serde / typed);
        }
        _ => report.line("timings: not measured in this mode (run `cargo bench`)"),
    }
    report.finish("encode");
}
