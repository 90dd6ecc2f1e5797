//! JSON helpers shared by every layer (they know nothing of the store or the API table).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

/// `{id, name}` of a record: the nested form most relations hold.
pub(crate) fn id_name(record: &Value) -> Value {
    json!({"id": record["id"], "name": record["name"]})
}

/// The string at `key` (`""` when absent or not a string).
pub(crate) fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_default()
}

/// The string at `key`, when there is one.
pub(crate) fn opt_text(value: &Value, key: &str) -> Option<String> {
    value[key].as_str().map(str::to_owned)
}

/// The elements of the array at `key` (none when absent or null).
pub(crate) fn items<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value[key].as_array().map_or(&[], Vec::as_slice)
}

/// The strings of a JSON array (others skipped).
pub(crate) fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Sets the fields of `record` (a JSON object) from `fields` (another).
pub(crate) fn merge(record: &mut Value, fields: Value) {
    if let Some(record) = record.as_object_mut() {
        set(record, fields);
    }
}

/// Sets the fields of `object` (a JSON object) from `fields` (another).
pub(crate) fn set(record: &mut Map<String, Value>, fields: Value) {
    if let Value::Object(fields) = fields {
        record.extend(fields);
    }
}

/// Adds the nested forms `added` to the to-many relation `field` of `record` (a list made if
/// the field holds none; no id twice).
pub(crate) fn add_to_list(record: &mut Map<String, Value>, field: &str, added: &[Value]) {
    let list = list_mut(record, field);
    for item in added {
        if !list.iter().any(|i| i["id"] == item["id"]) {
            list.push(item.clone());
        }
    }
}

/// The list at `field` of `record`, made (empty) if the field holds none.
pub(crate) fn list_mut<'a>(record: &'a mut Map<String, Value>, field: &str) -> &'a mut Vec<Value> {
    let slot = record.entry(field).or_insert_with(|| json!([]));
    if !slot.is_array() {
        *slot = json!([]);
    }
    match slot {
        Value::Array(list) => list,
        _ => unreachable!("made a list above"),
    }
}

/// Removes the nested forms whose ids are in `gone` from the to-many relation `field`.
pub(crate) fn remove_from_list(record: &mut Map<String, Value>, field: &str, gone: &[String]) {
    if let Some(Value::Array(list)) = record.get_mut(field) {
        list.retain(|item| {
            !item["id"]
                .as_str()
                .is_some_and(|id| gone.iter().any(|g| g == id))
        });
    }
}

/// Bytes from a size and its `ByteUnit` (bytes without one).
pub(crate) fn scale(value: i64, unit: Option<&str>) -> i64 {
    let shift = match unit {
        Some("KB") => 10,
        Some("MB") => 20,
        Some("GB") => 30,
        Some("TB") => 40,
        Some("PB") => 50,
        _ => 0,
    };
    value.saturating_mul(1 << shift)
}

/// The ids a relation field holds: the `id` of a nested object, or of each in a list.
pub(crate) fn relation_ids(value: &Value) -> Vec<String> {
    match value {
        Value::Object(_) => value["id"]
            .as_str()
            .map(str::to_owned)
            .into_iter()
            .collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i["id"].as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Now, as RFC 3339 in UTC with milliseconds (`2026-12-05T21:13:25.123Z`, as a tower writes
/// it): two changes a few milliseconds apart read in order.
pub(crate) fn now_rfc3339() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis()) as i64;
    rfc3339(millis.div_euclid(1000), millis.rem_euclid(1000))
}

/// `days` from now (before it when negative), as [`now_rfc3339`] writes it.
pub(crate) fn days_from_now_rfc3339(days: i64) -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis()) as i64;
    let millis = millis.saturating_add(days.saturating_mul(86_400_000));
    rfc3339(millis.div_euclid(1000), millis.rem_euclid(1000))
}

/// `secs` (and `millis`) since 1970 as RFC 3339 in UTC.
pub(crate) fn rfc3339(secs: i64, millis: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Whether `text` reads as an RFC 3339 date-time (`YYYY-MM-DDTHH:MM:SS…`).
pub(crate) fn is_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
}

/// The text that standard base64 `text` encodes (`None`: not base64 of UTF-8).
pub(crate) fn base64_decode(text: &str) -> Option<String> {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.trim_end_matches('=').bytes() {
        let v = TABLE.iter().position(|&t| t == c)? as u32;
        bits = (bits << 6) | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_rfc3339_with_milliseconds_on_the_right_day() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000, 123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(951_782_400, 7), "2000-02-29T00:00:00.007Z");
        assert!(is_rfc3339(&now_rfc3339()));
    }
}
