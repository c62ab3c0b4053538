//! A small SplitMix64 generator: retry jitter, `States.UUID` and
//! `States.MathRandom` need randomness, not cryptographic strength, and a
//! seeded `States.MathRandom` must repeat its value.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn state() -> &'static AtomicU64 {
    static STATE: OnceLock<AtomicU64> = OnceLock::new();
    STATE.get_or_init(|| {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
        AtomicU64::new(mix(nanos ^ u64::from(std::process::id())))
    })
}

/// The next value of the process-wide generator.
pub fn next_u64() -> u64 {
    mix(state().fetch_add(GAMMA, Ordering::Relaxed).wrapping_add(GAMMA))
}

/// A uniform float in `[0, 1]`.
pub fn unit() -> f64 {
    (next_u64() >> 11) as f64 / ((1u64 << 53) - 1) as f64
}

/// The first value of a generator seeded with `seed`.
pub fn seeded(seed: u64) -> u64 {
    mix(seed.wrapping_add(GAMMA))
}

/// A random (version 4) UUID in its usual text form.
pub fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&next_u64().to_le_bytes());
    b[8..].copy_from_slice(&next_u64().to_le_bytes());
    b[6] = (b[6] & 0x0F) | 0x40;
    b[8] = (b[8] & 0x3F) | 0x80;
    let hex = crate::hex(&b);
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}
