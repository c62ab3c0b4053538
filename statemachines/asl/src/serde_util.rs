//! Serde helpers for ASL's tri-state path fields and numbers.

use serde::{Deserialize, Deserializer, Serializer};

/// `InputPath`, `OutputPath` and `ResultPath` are tri-state in ASL: absent means
/// `$`, `null` means "discard" (InputPath/OutputPath: `{}`, ResultPath: keep the
/// input), a string is a path. Modelled as `Option<Option<String>>`.
pub fn deserialize_nullable_path<'de, D>(d: D) -> Result<Option<Option<String>>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Some(Option::<String>::deserialize(d)?))
}

/// `BackoffRate` is a number; keep `2` as `2`, not `2.0`, so hand-written
/// definitions round-trip to the same text.
pub fn serialize_rate<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => s.serialize_i64(*x as i64),
        Some(x) => s.serialize_f64(*x),
        None => s.serialize_none(),
    }
}
