//! `anyOf`/`oneOf` types: told apart by JSON kind or by marker keys (an enum, both
//! directions), or kept as JSON and read on demand.

use fixture_check::codec::{decode, encode};
use fixture_check::models::*;
use fixture_check::union::UnionJson;

fn json<T: fixture_check::codec::Encode + ?Sized>(value: &T) -> String {
    String::from_utf8(encode(value)).unwrap()
}

fn node(label: &str) -> String {
    format!(r#"{{"id":"n-1","label":{label}}}"#)
}

#[test]
fn alternatives_of_different_json_kinds_decode_to_their_variant_and_back() {
    let cases = [
        (
            r#"{"row":1,"column":2}"#,
            TopologyLabel::TopologyPosition(TopologyPosition { row: 1, column: 2 }),
        ),
        (r#""rack 4""#, TopologyLabel::String("rack 4".into())),
        ("2.5", TopologyLabel::Number(2.5)),
        ("true", TopologyLabel::Bool(true)),
    ];
    for (label, expected) in cases {
        let decoded: TopologyNode = decode(node(label).as_bytes()).unwrap();
        assert_eq!(decoded.label, expected, "{label}");
        assert_eq!(json(&decoded.label), label);
    }
    let where_ids = TopologyMoveParamsWhere::from(vec!["a".to_string(), "b".to_string()]);
    assert_eq!(json(&where_ids), r#"["a","b"]"#);
    let decoded: TopologyMoveParamsWhere = decode(br#"["a","b"]"#).unwrap();
    assert_eq!(decoded, where_ids);
}

#[test]
fn a_value_of_no_alternative_is_an_error_naming_the_union_and_the_field() {
    let err = decode::<TopologyNode>(node(r#"[1]"#).as_bytes()).unwrap_err();
    assert_eq!(err.path(), "/label");
    assert!(
        err.message()
            .contains("none of the alternatives of TopologyLabel"),
        "{err}"
    );
    // The chosen alternative's own errors keep their place in the document.
    let err = decode::<TopologyNode>(node(r#"{"row":"x"}"#).as_bytes()).unwrap_err();
    assert_eq!(err.path(), "/label/row");
}

#[test]
fn object_alternatives_are_told_apart_by_the_key_only_one_requires() {
    let cluster: TopologyMoveParamsData =
        decode(br#"{"position":{"row":3,"column":4},"cluster_id":"c-1"}"#).unwrap();
    assert_eq!(
        cluster,
        TopologyMoveParamsData::Variant1(TopologyMoveParamsDataVariant1 {
            cluster_id: "c-1".into(),
            position: TopologyPosition { row: 3, column: 4 },
        })
    );
    let brick: TopologyMoveParamsData =
        decode(br#"{"brick_id":"b-1","tag_position_in_brick":[2]}"#).unwrap();
    let TopologyMoveParamsData::Variant2(brick) = brick else {
        panic!("a brick is the second alternative: {brick:?}");
    };
    assert_eq!(brick.brick_id, "b-1");
    assert_eq!(brick.tag_position_in_brick, Some(vec![2]));
    let err =
        decode::<TopologyMoveParamsData>(br#"{"position":{"row":3,"column":4}}"#).unwrap_err();
    assert!(err.message().contains("TopologyMoveParamsData"), "{err}");

    let params = TopologyMoveParams {
        data: TopologyMoveParamsDataVariant2 {
            brick_id: "b-2".into(),
            ..Default::default()
        }
        .into(),
        r#where: fixture_check::Nullable::Value("n-1".to_string().into()),
    };
    assert_eq!(
        json(&params),
        r#"{"data":{"brick_id":"b-2"},"where":"n-1"}"#
    );
}

#[test]
fn alternatives_that_look_alike_keep_the_json_and_read_it_on_demand() {
    let decoded: TopologyNode = decode(
        br#"{"id":"n","label":"x","weight":3.0,"placement":{"row":1,"column":2,"rack":"r"}}"#,
    )
    .unwrap();
    let weight = decoded.weight.as_ref().unwrap();
    assert_eq!(weight.0.as_json(), b"3.0");
    assert_eq!(weight.try_as_number().unwrap(), 3.0);
    assert_eq!(weight.try_as_integer().unwrap(), 3);
    let placement = decoded.placement.as_ref().unwrap();
    assert_eq!(
        placement.try_as_topology_position().unwrap(),
        TopologyPosition { row: 1, column: 2 }
    );
    assert_eq!(
        placement.try_as_variant2().unwrap().rack.as_deref(),
        Some("r")
    );
    // Sent back exactly as received.
    assert_eq!(
        json(&decoded),
        r#"{"id":"n","label":"x","weight":3.0,"placement":{"row":1,"column":2,"rack":"r"}}"#
    );

    let odd: TopologyWeight = decode(br#""heavy""#).unwrap();
    assert!(odd.try_as_integer().is_err());
    assert!(odd.try_as_number().is_err());
    assert_eq!(json(&TopologyWeight::from_integer(&7)), "7");
    assert_eq!(json(&TopologyWeight(UnionJson::from_value(&1.5f64))), "1.5");
}
