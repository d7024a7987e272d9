//! The status list itself (Token Status List §4.1): one value of `bits`
//! bits per index, packed from the least significant bit of each byte,
//! compressed with DEFLATE in the ZLIB format and encoded base64url (`lst`).

use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use flate2::Compression;
use flate2::write::ZlibEncoder;

/// The byte array of a list of `size` entries of `bits` bits (1, 2, 4 or
/// 8) where each `(index, value)` of `entries` is set and every other
/// entry is 0 (VALID). Indices at or past `size` and value bits beyond
/// `bits` are ignored.
pub fn pack(size: u64, bits: u8, entries: &[(u64, u8)]) -> Vec<u8> {
    let bits = u64::from(bits.clamp(1, 8));
    let per_byte = 8 / bits;
    let len = size.div_ceil(per_byte);
    let mut bytes = vec![0u8; usize::try_from(len).unwrap_or(0)];
    let mask = ((1u16 << bits) - 1) as u8;
    for &(index, value) in entries {
        if index >= size {
            continue;
        }
        let byte = (index / per_byte) as usize;
        let shift = (index % per_byte) * bits;
        if let Some(b) = bytes.get_mut(byte) {
            *b = (*b & !(mask << shift)) | ((value & mask) << shift);
        }
    }
    bytes
}

/// The value at `index` of a packed list of `bits` bits per entry (the
/// inverse of [`pack`]); `None` past its end.
pub fn value_at(bytes: &[u8], bits: u8, index: u64) -> Option<u8> {
    let bits = u64::from(bits.clamp(1, 8));
    let per_byte = 8 / bits;
    let byte = bytes.get(usize::try_from(index / per_byte).ok()?)?;
    let shift = (index % per_byte) * bits;
    let mask = ((1u16 << bits) - 1) as u8;
    Some((byte >> shift) & mask)
}

/// `bytes` compressed with DEFLATE in the ZLIB format at the highest
/// level (§4.1 RECOMMENDS it).
pub fn compress(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(64), Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// The `lst` of a JWT status list: base64url (no padding) of the
/// compressed bytes.
pub fn lst(compressed: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(compressed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn inflate(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn entries(statuses: &[u8]) -> Vec<(u64, u8)> {
        statuses
            .iter()
            .enumerate()
            .map(|(i, &s)| (i as u64, s))
            .collect()
    }

    /// The one-bit example of the draft (§4.1): `eNrbuRgAAhcBXQ`.
    #[test]
    fn one_bit_vector_of_the_draft() {
        let statuses = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
        let bytes = pack(16, 1, &entries(&statuses));
        assert_eq!(bytes, [0xB9, 0xA3]);
        // The draft's lst decodes to the same bytes, and so does ours (a
        // different zlib stream would be as valid).
        let theirs = URL_SAFE_NO_PAD.decode("eNrbuRgAAhcBXQ").unwrap();
        assert_eq!(inflate(&theirs), bytes);
        let ours = lst(&compress(&bytes));
        assert_eq!(inflate(&URL_SAFE_NO_PAD.decode(&ours).unwrap()), bytes);
        for (i, &s) in statuses.iter().enumerate() {
            assert_eq!(value_at(&bytes, 1, i as u64), Some(s), "index {i}");
        }
    }

    /// The two-bit example of the draft: `eNo76fITAAPfAgc`.
    #[test]
    fn two_bit_vector_of_the_draft() {
        let statuses = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3];
        let bytes = pack(12, 2, &entries(&statuses));
        assert_eq!(bytes, [0xC9, 0x44, 0xF9]);
        let theirs = URL_SAFE_NO_PAD.decode("eNo76fITAAPfAgc").unwrap();
        assert_eq!(inflate(&theirs), bytes);
        assert_eq!(inflate(&compress(&bytes)), bytes);
    }

    #[test]
    fn sizes_round_up_and_out_of_range_is_ignored() {
        assert_eq!(pack(9, 1, &[]).len(), 2);
        assert_eq!(pack(131_072, 2, &[]).len(), 32_768);
        let bytes = pack(4, 2, &[(3, 2), (4, 1), (0, 7)]);
        assert_eq!(bytes, [0b1000_0011]);
        assert_eq!(value_at(&bytes, 2, 3), Some(2));
        assert_eq!(value_at(&bytes, 2, 4), None);
    }

    #[test]
    fn a_large_valid_list_compresses_to_little() {
        let bytes = pack(131_072, 2, &[(77_777, 1)]);
        let z = compress(&bytes);
        assert!(z.len() < 200, "{} bytes", z.len());
        assert_eq!(value_at(&inflate(&z), 2, 77_777), Some(1));
    }
}
