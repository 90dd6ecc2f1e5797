//! `serde` for every generated type, built on the codec (feature `serde`).
//!
//! Generated types do not derive `serde` traits (see [`crate::codec`] for why). With the
//! feature on, each gets a one-line [`impl_serde!`](crate::impl_serde) whose impls call the
//! two generic functions here, so the serde code is compiled once per type and format that a
//! program actually uses:
//!
//! - [`serialize`] encodes with the codec and streams the JSON into any serializer
//!   (`serde_json`, YAML, TOML, …) with [`serde_transcode`], keeping the field order and the
//!   wire names (`r#type` is `type`).
//! - [`deserialize`] streams any self-describing deserializer (a YAML config, a
//!   `serde_json::Value`, …) into JSON and decodes it strictly ([`codec::decode_strict`]): a
//!   missing required field is an error naming it, as are values of the wrong type; unknown
//!   keys are skipped, as in answers.
//!
//! [`to_value`] and [`from_value`] convert to and from [`serde_json::Value`] the same way.
//!
//! ```
//! use cloudtower_runtime::serde_bridge::{from_value, to_value};
//! use cloudtower_runtime::WithTask;
//! let done = WithTask { task_id: Some("t-1".to_string()), data: vec![1i64, 2] };
//! let value = to_value(&done).unwrap();
//! assert_eq!(value, serde_json::json!({"task_id": "t-1", "data": [1, 2]}));
//! assert_eq!(from_value::<WithTask<Vec<i64>>>(value).unwrap(), done);
//! ```

use serde::de::Error as _;
use serde::ser::Error as _;

use crate::codec::{self, Decode, Encode};

#[doc(hidden)]
pub use serde;

/// Serializes `value` into any serializer through its JSON encoding.
///
/// A non-finite float is an error (JSON has no NaN or infinity; see [`codec::try_encode`]).
pub fn serialize<T, S>(value: &T, serializer: S) -> Result<S::Ok, S::Error>
where
    T: Encode + ?Sized,
    S: serde::Serializer,
{
    let json = codec::try_encode(value).map_err(S::Error::custom)?;
    let mut parsed = serde_json::Deserializer::from_slice(&json);
    serde_transcode::transcode(&mut parsed, serializer)
}

/// Deserializes a `T` from any self-describing deserializer through JSON, decoded strictly.
pub fn deserialize<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: Decode,
    D: serde::Deserializer<'de>,
{
    let mut json = Vec::new();
    serde_transcode::transcode(deserializer, &mut serde_json::Serializer::new(&mut json))
        .map_err(D::Error::custom)?;
    codec::decode_strict(&json).map_err(D::Error::custom)
}

/// `value` as a [`serde_json::Value`], as [`serde_json::to_value`] would give it.
pub fn to_value<T: Encode + ?Sized>(value: &T) -> Result<serde_json::Value, serde_json::Error> {
    serialize(value, serde_json::value::Serializer)
}

/// A `T` from a [`serde_json::Value`], decoded strictly, as [`serde_json::from_value`] would.
pub fn from_value<T: Decode>(value: serde_json::Value) -> Result<T, serde_json::Error> {
    deserialize(value)
}

/// `Serialize` and `Deserialize` for types with a codec, through [`serialize`] and
/// [`deserialize`]; the generator writes one line per type.
#[doc(hidden)]
#[macro_export]
macro_rules! impl_serde {
    ($ty:ty) => {
        impl $crate::serde_bridge::serde::Serialize for $ty {
            fn serialize<S: $crate::serde_bridge::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                $crate::serde_bridge::serialize(self, serializer)
            }
        }
        impl<'de> $crate::serde_bridge::serde::Deserialize<'de> for $ty {
            fn deserialize<D: $crate::serde_bridge::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                $crate::serde_bridge::deserialize(deserializer)
            }
        }
    };
}

/// The mutation result, for any `T` that has `serde` through its codec.
impl<T: Encode> serde::Serialize for crate::WithTask<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize(self, serializer)
    }
}

impl<'de, T: Decode + Default> serde::Deserialize<'de> for crate::WithTask<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WithTask;

    #[test]
    fn with_task_round_trips_through_serde_json() {
        let value = WithTask {
            task_id: Some("t-1".to_string()),
            data: vec![1i64, 2],
        };
        let text = serde_json::to_string(&value).unwrap();
        assert_eq!(text, r#"{"task_id":"t-1","data":[1,2]}"#);
        assert_eq!(
            serde_json::from_str::<WithTask<Vec<i64>>>(&text).unwrap(),
            value
        );
    }

    #[test]
    fn non_finite_floats_are_refused_and_missing_fields_named() {
        let err = to_value(&vec![f64::NAN]).unwrap_err();
        assert!(err.to_string().contains("not a JSON number"), "{err}");
        let err =
            from_value::<WithTask<Vec<i64>>>(serde_json::json!({"task_id": null})).unwrap_err();
        assert!(err.to_string().contains("`data`"), "{err}");
    }
}
