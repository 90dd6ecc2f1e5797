//! Values of `anyOf`/`oneOf` schemas (unions), used by the generated code.
//!
//! The generator makes a union a Rust `enum` when its alternatives can be told apart on the
//! wire: each is a different JSON kind (object, array, string, number, boolean), or, among
//! several object alternatives, each requires a key ("marker") that no other one declares.
//! Decoding keeps the value's JSON once ([`UnionJson`]), picks the one alternative it can be
//! ([`UnionJson::pick`]: the first byte, and for objects their top-level keys) and decodes
//! only that one; there is no trying of alternatives in turn.
//!
//! When alternatives look alike (two object shapes without markers, `integer` and `number`,
//! …) no choice made by the SDK could be right for every tower, so the generated type is a
//! struct keeping the JSON, with one `try_as_*` accessor per alternative: the caller decides
//! which reading it wants, and the value is sent back unchanged.
//!
//! Alternatives are decoded leniently (as [`crate::codec::decode`] does), whatever the mode
//! of the enclosing document.

use std::fmt;

use crate::codec::{decode, encode, Decode, DecodeError, Decoder, Encode, Encoder, Related};

/// The kind of a JSON value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonKind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

/// What one alternative of a union looks like on the wire (written by the generator).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Bool,
    Number,
    String,
    Array,
    /// An object, recognised by any of these keys when the union has other object
    /// alternatives (each has keys of its own).
    Object(&'static [&'static str]),
}

impl Shape {
    fn kind(&self) -> JsonKind {
        match self {
            Shape::Bool => JsonKind::Bool,
            Shape::Number => JsonKind::Number,
            Shape::String => JsonKind::String,
            Shape::Array => JsonKind::Array,
            Shape::Object(_) => JsonKind::Object,
        }
    }
}

/// One JSON value kept as sent: the value of a union, before (or instead of) reading it as
/// one of its alternatives.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct UnionJson {
    // `Related` already is "JSON kept as text" with the codec's raw read and write.
    json: Related<()>,
}

impl UnionJson {
    /// The JSON of a value of one of the alternatives.
    pub fn from_value<T: Encode + ?Sized>(value: &T) -> Self {
        let bytes = encode(value);
        // Encoded JSON always reads back.
        let json = decode::<Related<()>>(&bytes).unwrap_or_default();
        UnionJson { json }
    }

    /// The value as JSON text.
    pub fn as_json(&self) -> &[u8] {
        self.json.as_json()
    }

    /// The kind of the value, from its first byte.
    pub fn kind(&self) -> JsonKind {
        match self.as_json().first() {
            Some(b'{') => JsonKind::Object,
            Some(b'[') => JsonKind::Array,
            Some(b'"') => JsonKind::String,
            Some(b't' | b'f') => JsonKind::Bool,
            Some(b'n') => JsonKind::Null,
            _ => JsonKind::Number,
        }
    }

    /// Reads the value as `T` (leniently, as [`crate::codec::decode`]).
    pub fn decode<T: Decode>(&self) -> Result<T, DecodeError> {
        decode(self.as_json())
    }

    /// Which of `shapes` the value has (their index), or an error naming `type_name` when
    /// it has none of them.
    pub fn pick(
        &self,
        d: &Decoder<'_>,
        type_name: &str,
        shapes: &[Shape],
    ) -> Result<usize, DecodeError> {
        self.shape_index(shapes).ok_or_else(|| {
            d.invalid(format!(
                "{:?} value matches none of the alternatives of {type_name}",
                self.kind()
            ))
        })
    }

    /// The index of the shape the value has. Object alternatives, when there are several,
    /// are told apart by the first top-level key that is one's marker.
    pub fn shape_index(&self, shapes: &[Shape]) -> Option<usize> {
        let kind = self.kind();
        let candidates: Vec<(usize, &Shape)> = shapes
            .iter()
            .enumerate()
            .filter(|(_, shape)| shape.kind() == kind)
            .collect();
        if let [(only, _)] = candidates.as_slice() {
            return Some(*only);
        }
        // The JSON was checked when it was read: the walk below cannot fail.
        crate::codec::find_top_level_key(self.as_json(), |key| {
            candidates
                .iter()
                .find(
                    |(_, shape)| matches!(shape, Shape::Object(markers) if markers.contains(&key)),
                )
                .map(|(index, _)| *index)
        })
    }
}

impl Decode for UnionJson {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(UnionJson {
            json: <Related<()> as Decode>::decode(d)?,
        })
    }
}

impl Encode for UnionJson {
    fn encode(&self, e: &mut Encoder) {
        self.json.encode(e);
    }
}

impl fmt::Debug for UnionJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UnionJson")
            .field(&String::from_utf8_lossy(self.as_json()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picked(json: &str, shapes: &[Shape]) -> Option<usize> {
        decode::<UnionJson>(json.as_bytes())
            .unwrap()
            .shape_index(shapes)
    }

    #[test]
    fn kinds_pick_their_alternative() {
        let shapes = [Shape::String, Shape::Array, Shape::Number, Shape::Bool];
        assert_eq!(picked(r#" "x""#, &shapes), Some(0));
        assert_eq!(picked("[1]", &shapes), Some(1));
        assert_eq!(picked("-2.5", &shapes), Some(2));
        assert_eq!(picked("false", &shapes), Some(3));
        assert_eq!(picked("{}", &shapes), None);
    }

    #[test]
    fn objects_are_told_apart_by_marker_keys() {
        let shapes = [Shape::Object(&["a"]), Shape::Object(&["b", "c"])];
        assert_eq!(picked(r#"{"x":{"a":1},"c":[]}"#, &shapes), Some(1));
        assert_eq!(picked(r#"{"a":1}"#, &shapes), Some(0));
        assert_eq!(picked(r#"{"x":1}"#, &shapes), None);
    }

    #[test]
    fn json_is_kept_and_sent_back_as_received() {
        let json: UnionJson = decode(br#"{"b": [1, 2]}"#).unwrap();
        assert_eq!(json.kind(), JsonKind::Object);
        assert_eq!(encode(&json), br#"{"b": [1, 2]}"#);
        assert_eq!(UnionJson::from_value(&vec![1i64]).as_json(), b"[1]");
    }
}
