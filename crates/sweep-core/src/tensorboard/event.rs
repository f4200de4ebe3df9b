//! The few fields of TensorBoard's `Event` protobuf that scalar curves need,
//! encoded by hand:
//!
//! ```text
//! Event   { 1: wall_time (double), 2: step (int64), 3: file_version (string),
//!           5: summary (Summary) }
//! Summary { 1: value (repeated Value) }
//! Value   { 1: tag (string), 2: simple_value (float) }
//! ```
//!
//! Decoding reads back only what rewriting a file needs: an event's step
//! and whether it holds a summary.

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LENGTH_DELIMITED: u8 = 2;
const FIXED32: u8 = 5;

/// The first event of every file: says which format version follows.
pub(crate) fn file_version(wall_time: f64) -> Vec<u8> {
    let mut out = Vec::new();
    put_key(&mut out, 1, FIXED64);
    out.extend_from_slice(&wall_time.to_le_bytes());
    put_bytes(&mut out, 3, b"brain.Event:2");
    out
}

/// One event holding a scalar per `(tag, value)` at `step`.
pub(crate) fn scalars(wall_time: f64, step: i64, values: &[(String, f32)]) -> Vec<u8> {
    let mut summary = Vec::new();
    for (tag, value) in values {
        let mut entry = Vec::new();
        put_bytes(&mut entry, 1, tag.as_bytes());
        put_key(&mut entry, 2, FIXED32);
        entry.extend_from_slice(&value.to_le_bytes());
        put_bytes(&mut summary, 1, &entry);
    }
    let mut out = Vec::new();
    put_key(&mut out, 1, FIXED64);
    out.extend_from_slice(&wall_time.to_le_bytes());
    put_key(&mut out, 2, VARINT);
    // int64 is encoded as the two's-complement u64.
    put_varint(&mut out, step as u64);
    put_bytes(&mut out, 5, &summary);
    out
}

/// The step of an event that holds a summary; `None` for any other event
/// (the file version) or bytes that are not an event.
pub(crate) fn summary_step(event: &[u8]) -> Option<i64> {
    let mut step = 0i64;
    let mut has_summary = false;
    let mut at = 0;
    while at < event.len() {
        let key = varint(event, &mut at)?;
        let field = key >> 3;
        match (key & 7) as u8 {
            VARINT => {
                let v = varint(event, &mut at)?;
                if field == 2 {
                    step = v as i64;
                }
            }
            FIXED64 => at = at.checked_add(8)?,
            FIXED32 => at = at.checked_add(4)?,
            LENGTH_DELIMITED => {
                let len = usize::try_from(varint(event, &mut at)?).ok()?;
                at = at.checked_add(len)?;
                has_summary |= field == 5;
            }
            _ => return None,
        }
        if at > event.len() {
            return None;
        }
    }
    has_summary.then_some(step)
}

fn put_key(out: &mut Vec<u8>, field: u64, wire_type: u8) {
    put_varint(out, (field << 3) | u64::from(wire_type));
}

fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_key(out, field, LENGTH_DELIMITED);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scalar_event_has_the_protobuf_bytes_tensorflow_writes() {
        // Event{wall_time: 1.5, step: 300, summary{value{tag: "a", simple_value: 2.0}}},
        // field by field.
        let bytes = scalars(1.5, 300, &[("a".into(), 2.0)]);
        let mut want = vec![0x09];
        want.extend(1.5f64.to_le_bytes());
        want.extend([0x10, 0xac, 0x02]); // 300 as a varint
        want.extend([0x2a, 10, 0x0a, 8, 0x0a, 1, b'a', 0x15]);
        want.extend(2.0f32.to_le_bytes());
        assert_eq!(bytes, want);
    }

    #[test]
    fn steps_read_back_and_the_file_version_has_none() {
        for step in [0, 1, 127, 128, 1 << 40] {
            let values = [("loss/train".to_string(), 0.5), ("lr".to_string(), 1e-3)];
            assert_eq!(summary_step(&scalars(2.0, step, &values)), Some(step));
        }
        assert_eq!(summary_step(&file_version(2.0)), None);
        let event = scalars(2.0, 7, &[("x".into(), 1.0)]);
        assert_eq!(summary_step(&event[..event.len() - 1]), None, "cut short");
    }
}
