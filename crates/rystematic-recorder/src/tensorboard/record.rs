//! TFRecord framing: `u64 length`, `u32 masked crc32c(length)`, the data,
//! `u32 masked crc32c(data)`, all little-endian.

/// The CRC TensorFlow stores: CRC32C, rotated and offset so that a CRC of
/// data containing CRCs does not degenerate.
pub(crate) fn masked_crc32c(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Appends one framed record holding `data` to `out`.
pub(crate) fn append_record(out: &mut Vec<u8>, data: &[u8]) {
    let length = (data.len() as u64).to_le_bytes();
    out.reserve(data.len() + 16);
    out.extend_from_slice(&length);
    out.extend_from_slice(&masked_crc32c(&length).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
}

/// Splits a byte stream into its records, checking both CRCs. Stops with
/// an error at the first bad or truncated record.
#[cfg(test)]
pub(crate) fn read_records(mut bytes: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut records = Vec::new();
    while !bytes.is_empty() {
        let n = records.len();
        if bytes.len() < 12 {
            return Err(format!("record {n}: truncated header"));
        }
        let (header, rest) = bytes.split_at(8);
        let length = u64::from_le_bytes(header.try_into().expect("8 bytes")) as usize;
        if u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) != masked_crc32c(header) {
            return Err(format!("record {n}: length checksum mismatch"));
        }
        let rest = &rest[4..];
        if rest.len() < length + 4 {
            return Err(format!("record {n}: truncated data"));
        }
        let (data, rest) = rest.split_at(length);
        if u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) != masked_crc32c(data) {
            return Err(format!("record {n}: data checksum mismatch"));
        }
        records.push(data);
        bytes = &rest[4..];
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_crc_matches_tensorboard() {
        // From TensorBoard's own masked_crc32c (tensorflow_stub).
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(masked_crc32c(b"123456789"), 0xc78a_b0e5);
        assert_eq!(masked_crc32c(b""), 0xa282_ead8);
        let bytes: Vec<u8> = (0..32).collect();
        assert_eq!(masked_crc32c(&bytes), 0x951f_7892);
    }

    #[test]
    fn records_round_trip_and_damage_is_detected() {
        let mut out = Vec::new();
        append_record(&mut out, b"hello");
        append_record(&mut out, b"");
        append_record(&mut out, &[7u8; 300]);
        let records = read_records(&out).unwrap();
        assert_eq!(records, [&b"hello"[..], b"", &[7u8; 300][..]]);

        let mut flipped = out.clone();
        flipped[13] ^= 1;
        assert!(
            read_records(&flipped)
                .unwrap_err()
                .contains("data checksum")
        );
        assert!(
            read_records(&out[..out.len() - 1])
                .unwrap_err()
                .contains("truncated")
        );
    }
}
