//! The `build.dependency_keys` encoding (`Build.dependency_keys` in the original's
//! `koschei/models.py`): the ids of a dependency set sorted
//! ascending, delta-encoded (the first value as is, then the differences, all > 0), each
//! packed as a 4-byte big-endian unsigned integer, the whole zlib-compressed. Koschei's
//! Python code reads and writes exactly this format, so databases stay interchangeable.

use std::io::{Read, Write};

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;

/// Why a stored key list cannot be decoded.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// Not a zlib stream.
    #[error("dependency_keys is not valid zlib data: {0}")]
    Zlib(#[from] std::io::Error),
    /// The decompressed length is not a multiple of 4.
    #[error("dependency_keys holds {0} bytes, not a multiple of 4")]
    Length(usize),
    /// An id does not fit an SQL integer.
    #[error("dependency_keys holds an id out of range")]
    Range,
}

/// Encodes dependency ids (any order, duplicates dropped). zlib's fastest level: any
/// level reads back the same, and a whole-distribution pass encodes a set per package.
pub fn encode(ids: &[i32]) -> Vec<u8> {
    let mut sorted: Vec<i32> = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut raw = Vec::with_capacity(sorted.len() * 4);
    let mut prev: i64 = 0;
    for id in sorted {
        let delta = (i64::from(id) - prev) as u32;
        raw.extend_from_slice(&delta.to_be_bytes());
        prev = i64::from(id);
    }
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::fast());
    encoder
        .write_all(&raw)
        .and_then(|()| encoder.finish())
        .expect("compressing into memory cannot fail")
}

/// Decodes a stored key list into ascending dependency ids.
pub fn decode(bytes: &[u8]) -> Result<Vec<i32>, KeysError> {
    let mut raw = Vec::new();
    ZlibDecoder::new(bytes).read_to_end(&mut raw)?;
    if raw.len() % 4 != 0 {
        return Err(KeysError::Length(raw.len()));
    }
    let mut ids = Vec::with_capacity(raw.len() / 4);
    let mut acc: i64 = 0;
    for word in raw.chunks_exact(4) {
        acc += i64::from(u32::from_be_bytes(word.try_into().expect("4 bytes")));
        ids.push(i32::try_from(acc).map_err(|_| KeysError::Range)?);
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_sorts_and_deduplicates() {
        let encoded = encode(&[30, 4, 1000, 4, 7]);
        assert_eq!(decode(&encoded).unwrap(), vec![4, 7, 30, 1000]);
        assert_eq!(decode(&encode(&[])).unwrap(), Vec::<i32>::new());
    }

    #[test]
    fn layout_is_koschei_s() {
        // zlib.compress(struct.pack('>3I', 1, 2, 5)) for ids [1, 3, 8]
        let mut raw = Vec::new();
        ZlibDecoder::new(&encode(&[8, 1, 3])[..])
            .read_to_end(&mut raw)
            .unwrap();
        assert_eq!(raw, [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 5]);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(decode(b"not zlib").is_err());
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(&[1, 2, 3]).unwrap();
        assert!(matches!(
            decode(&e.finish().unwrap()),
            Err(KeysError::Length(3))
        ));
    }
}
