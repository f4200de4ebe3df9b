//! TFRecord framing, the container of TensorBoard event files: each record
//! is its length (u64, little-endian), the masked CRC-32C of those eight
//! bytes, the data, and the masked CRC-32C of the data. TensorBoard's
//! reader checks both checksums, and stops at a record that is cut short,
//! which is what a file being appended to (or a writer killed mid-record)
//! leaves at its end.

use crc::{CRC_32_ISCSI, Crc};

const CASTAGNOLI: Crc<u32> = Crc::<u32>::new(&CRC_32_ISCSI);

/// TensorFlow's masked CRC-32C: the checksum rotated right by 15 bits plus
/// a constant, so that a checksum of data that holds checksums stays
/// well distributed.
pub(crate) fn masked_crc32c(bytes: &[u8]) -> u32 {
    let crc = CASTAGNOLI.checksum(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// `data` framed as one record.
pub(crate) fn frame(data: &[u8]) -> Vec<u8> {
    let length = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&length);
    out.extend_from_slice(&masked_crc32c(&length).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
    out
}

/// One record found in a file: its whole frame and its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record<'a> {
    pub frame: &'a [u8],
    pub data: &'a [u8],
}

/// The whole, intact records at the start of `bytes`, in order; reading
/// stops at the first record that is cut short or fails a checksum.
pub(crate) fn records(bytes: &[u8]) -> Vec<Record<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some((record, next)) = record_at(bytes, at) {
        out.push(record);
        at = next;
    }
    out
}

fn record_at(bytes: &[u8], at: usize) -> Option<(Record<'_>, usize)> {
    let header = bytes.get(at..at.checked_add(12)?)?;
    let (length, length_crc) = header.split_at(8);
    if masked_crc32c(length).to_le_bytes() != length_crc {
        return None;
    }
    let length = usize::try_from(u64::from_le_bytes(length.try_into().ok()?)).ok()?;
    let data_start = at + 12;
    let data_end = data_start.checked_add(length)?;
    let end = data_end.checked_add(4)?;
    let data = bytes.get(data_start..data_end)?;
    if masked_crc32c(data).to_le_bytes() != *bytes.get(data_end..end)? {
        return None;
    }
    Some((
        Record {
            frame: &bytes[at..end],
            data,
        },
        end,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_is_the_castagnoli_checksum_masked_as_tensorflow_masks_it() {
        // The standard check value of CRC-32C ("123456789" → 0xE3069283).
        assert_eq!(CASTAGNOLI.checksum(b"123456789"), 0xE306_9283);
        // What the tensorboard package's `masked_crc32c(b"123456789")` returns.
        assert_eq!(masked_crc32c(b"123456789"), 0xC78A_B0E5);
    }

    #[test]
    fn framed_records_read_back_and_a_torn_tail_is_dropped() {
        let mut file = frame(b"first");
        file.extend(frame(b""));
        file.extend(frame(b"third record"));
        let whole = records(&file);
        let data: Vec<&[u8]> = whole.iter().map(|r| r.data).collect();
        assert_eq!(data, [&b"first"[..], b"", b"third record"]);
        assert_eq!(whole[0].frame, &file[..5 + 16]);
        // Cut inside the last record: the first two remain.
        assert_eq!(records(&file[..file.len() - 3]).len(), 2);
        // A flipped data byte fails its checksum, and reading stops there.
        let mut corrupt = file.clone();
        corrupt[12] ^= 1;
        assert!(records(&corrupt).is_empty());
    }
}
