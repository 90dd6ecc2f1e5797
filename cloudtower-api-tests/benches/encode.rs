//! Encode a deep `where` (`AND`/`OR`/`NOT` nested 8 levels, `id_in` with 10,000 ids) with
//! `codec::encode` vs `serde_json::to_vec` of serde-derived types holding the same filter vs
//! `serde_json::to_vec` of the equivalent `serde_json::Value`.
//!
//! `cargo bench -p cloudtower-api-tests --bench encode`.

#![recursion_limit = "512"]

mod common;

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use cloudtower_api::codec;
use cloudtower_api::models::{ClusterWhereInput, GetVmsRequestBody, VmStatus, VmWhereInput};
use criterion::Throughput;
use serde::{Deserialize, Serialize};
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

/// The filter as serde-derived types, the encode peer of issue 13. A generator's types for the
/// spec cannot be the peer: progenitor's hold related filters inline, and its `VmWhereInput`
/// is 2.4 TB (bench/progenitor prints it). These declare only the fields the bench sets, so
/// serde skips no absent field, where the codec checks every field of `VmWhereInput`.
#[derive(Serialize, Deserialize)]
struct PeerGetVmsBody {
    r#where: PeerVmWhere,
    first: i32,
}

#[derive(Serialize, Deserialize)]
struct PeerVmWhere {
    #[serde(rename = "AND", skip_serializing_if = "Option::is_none")]
    and: Option<Vec<PeerVmWhere>>,
    #[serde(rename = "NOT", skip_serializing_if = "Option::is_none")]
    not: Option<Vec<PeerVmWhere>>,
    #[serde(rename = "OR", skip_serializing_if = "Option::is_none")]
    or: Option<Vec<PeerVmWhere>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<PeerClusterWhere>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_in: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_recycle_bin: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory_gt: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name_contains: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_in: Option<Vec<PeerVmStatus>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vcpu_gte: Option<i32>,
}

#[derive(Serialize, Deserialize)]
struct PeerClusterWhere {
    name: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum PeerVmStatus {
    Running,
    Suspended,
}

fn main() {
    let started = SystemTime::now();
    let body = deep_where();
    let bytes = codec::try_encode(&body).unwrap();
    // The equivalent Value, keys in the same order: serde_json writes the same bytes.
    let value: Value = serde_json::from_slice(&bytes).expect("valid JSON");
    assert_eq!(serde_json::to_vec(&value).unwrap(), bytes);
    let peer: PeerGetVmsBody = serde_json::from_value(value.clone()).expect("the peer's shape");
    let peer_bytes = serde_json::to_vec(&peer).unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&peer_bytes).unwrap(),
        value,
        "the peer writes the same filter"
    );
    assert_eq!(peer_bytes.len(), bytes.len());
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
        group.bench_function("serde_json_to_vec_derived", |b| {
            b.iter(|| serde_json::to_vec(black_box(&peer)).unwrap())
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
    let derived = common::mean_secs(GROUP, "serde_json_to_vec_derived", started);
    let serde = common::mean_secs(GROUP, "serde_json_to_vec_value", started);
    for (label, secs) in [
        ("codec::try_encode(&GetVmsRequestBody)", typed),
        ("serde_json::to_vec(&serde-derived)", derived),
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
    match (typed, derived, serde) {
        (Some(typed), Some(derived), Some(serde)) => {
            report.line(format!(
                "ratio: codec::encode is {:.2}x as fast as serde-derived types",
                derived / typed
            ));
            report.figure("serde_json_to_vec_derived_secs", derived);
            report.figure("codec_vs_serde_derived_speedup", derived / typed);
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
