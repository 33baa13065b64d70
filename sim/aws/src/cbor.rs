//! CloudWatch's wire format, Smithy RPC v2 CBOR, as JSON values: requests are decoded into
//! JSON (timestamps, CBOR tag 1, become epoch seconds) and responses are encoded from JSON
//! (numbers under timestamp members become tag 1 again).

use ciborium::Value as Cbor;
use serde_json::{Map, Number, Value};

/// Response members that hold timestamps (or lists of them).
const TIMESTAMP_KEYS: &[&str] = &[
    "Timestamps",
    "Timestamp",
    "StateUpdatedTimestamp",
    "StateTransitionedTimestamp",
    "AlarmConfigurationUpdatedTimestamp",
    "LastUpdateTimestamp",
];

/// Decodes a request body; an empty body is an empty map. `Err` carries a message for a
/// `SerializationException`.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let cbor: Cbor =
        ciborium::de::from_reader(body).map_err(|e| format!("body is not valid CBOR: {e}"))?;
    Ok(to_json(cbor))
}

fn to_json(v: Cbor) -> Value {
    match v {
        Cbor::Integer(i) => {
            let n = i128::from(i);
            if let Ok(u) = u64::try_from(n) {
                Value::Number(u.into())
            } else if let Ok(s) = i64::try_from(n) {
                Value::Number(s.into())
            } else {
                Value::Null
            }
        }
        Cbor::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        Cbor::Text(s) => Value::String(s),
        Cbor::Bool(b) => Value::Bool(b),
        Cbor::Null | Cbor::Bytes(_) => Value::Null,
        Cbor::Tag(_, inner) => to_json(*inner),
        Cbor::Array(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Cbor::Map(entries) => Value::Object(
            entries
                .into_iter()
                .filter_map(|(k, v)| match k {
                    Cbor::Text(k) => Some((k, to_json(v))),
                    _ => None,
                })
                .collect(),
        ),
        // `ciborium::Value` is non-exhaustive; anything new is treated as absent.
        _ => Value::Null,
    }
}

/// Encodes a response body.
pub fn encode(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail; an error would leave an empty body.
    let _ = ciborium::ser::into_writer(&from_json(v, false), &mut out);
    out
}

fn from_json(v: &Value, timestamp: bool) -> Cbor {
    match v {
        Value::Null => Cbor::Null,
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Number(n) => {
            let plain = if let Some(i) = n.as_i64() {
                Cbor::Integer(i.into())
            } else if let Some(u) = n.as_u64() {
                Cbor::Integer(u.into())
            } else {
                Cbor::Float(n.as_f64().unwrap_or(0.0))
            };
            if timestamp {
                Cbor::Tag(1, Box::new(plain))
            } else {
                plain
            }
        }
        Value::String(s) => Cbor::Text(s.clone()),
        Value::Array(items) => Cbor::Array(items.iter().map(|i| from_json(i, timestamp)).collect()),
        Value::Object(map) => Cbor::Map(
            map.iter()
                .map(|(k, v)| {
                    (
                        Cbor::Text(k.clone()),
                        from_json(v, TIMESTAMP_KEYS.contains(&k.as_str())),
                    )
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_with_timestamp_tags() {
        let v = json!({"Timestamps": [1700000000, 1700000060.5], "Values": [1.5, 2.0], "Id": "m1", "Period": 60});
        let bytes = encode(&v);
        let back: Cbor = ciborium::de::from_reader(bytes.as_slice()).unwrap_or(Cbor::Null);
        let Cbor::Map(entries) = back else {
            panic!("not a map")
        };
        let ts = &entries[0].1;
        assert!(matches!(ts, Cbor::Array(items) if matches!(items[0], Cbor::Tag(1, _))));
        assert!(
            matches!(entries[1].1, Cbor::Array(ref items) if matches!(items[1], Cbor::Float(_)))
        );
        assert_eq!(decode(&bytes).ok(), Some(v));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(&[0xff, 0x00, 0x13]).is_err());
        assert_eq!(decode(b"").ok(), Some(json!({})));
    }
}
