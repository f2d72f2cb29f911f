//! Whether a JPEG file holds all of its image data. JPEG decoders fill a file that stops early with
//! grey and report success, so a photo cut short in a download would be linked as its top part
//! without a word; walking the file's markers to its end-of-image marker tells the two apart.

/// What the walk of a JPEG's markers found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JpegEnd {
    /// The end-of-image marker was reached: nothing is missing.
    Complete,
    /// The file stops before its end-of-image marker.
    Truncated,
    /// The structure is not one this walk follows (left to the decoder to judge).
    Unrecognised,
}

const MARKER: u8 = 0xFF;
const START_OF_IMAGE: u8 = 0xD8;
const END_OF_IMAGE: u8 = 0xD9;
const START_OF_SCAN: u8 = 0xDA;
/// Markers without a length: restart markers and TEM.
fn stands_alone(marker: u8) -> bool {
    matches!(marker, 0xD0..=0xD7 | 0x01)
}

/// Walks `bytes` from its start-of-image marker through every segment and every scan's
/// entropy-coded data, to the end-of-image marker. Whatever follows that marker (a camera's
/// trailer, a second picture) is not looked at.
pub fn jpeg_end(bytes: &[u8]) -> JpegEnd {
    if bytes.len() < 2 || bytes[0] != MARKER || bytes[1] != START_OF_IMAGE {
        return JpegEnd::Unrecognised;
    }
    let mut at = 2;
    loop {
        // A marker: one or more 0xFF (fill bytes), then its code.
        if at >= bytes.len() {
            return JpegEnd::Truncated;
        }
        if bytes[at] != MARKER {
            return JpegEnd::Unrecognised;
        }
        while at < bytes.len() && bytes[at] == MARKER {
            at += 1;
        }
        let Some(&marker) = bytes.get(at) else {
            return JpegEnd::Truncated;
        };
        at += 1;
        match marker {
            END_OF_IMAGE => return JpegEnd::Complete,
            0x00 => return JpegEnd::Unrecognised,
            m if stands_alone(m) => continue,
            _ => {}
        }
        let Some(length) = bytes.get(at..at + 2) else {
            return JpegEnd::Truncated;
        };
        let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
        if length < 2 {
            return JpegEnd::Unrecognised;
        }
        at += length;
        if at > bytes.len() {
            return JpegEnd::Truncated;
        }
        if marker == START_OF_SCAN {
            match end_of_entropy_data(bytes, at) {
                Some(next_marker) => at = next_marker,
                None => return JpegEnd::Truncated,
            }
        }
    }
}

/// Where the entropy-coded data starting at `from` ends: the position of the next marker that is
/// neither a stuffed 0xFF (`FF 00`) nor a restart marker. `None` when the file ends first.
fn end_of_entropy_data(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let marker_at = at + bytes.get(at..)?.iter().position(|&b| b == MARKER)?;
        let mut code_at = marker_at + 1;
        while bytes.get(code_at) == Some(&MARKER) {
            code_at += 1;
        }
        let code = *bytes.get(code_at)?;
        if code == 0x00 || (0xD0..=0xD7).contains(&code) {
            at = code_at + 1;
        } else {
            return Some(marker_at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::image::{ImageEncoder, codecs::jpeg::JpegEncoder};

    /// A noisy `side`×`side` JPEG (noise, so that its entropy-coded data is long and holds 0xFF bytes).
    fn jpeg(side: u32) -> Vec<u8> {
        let mut state = 0x1234_5678u32;
        let pixels: Vec<u8> = (0..side * side * 3)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state >> 24) as u8
            })
            .collect();
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 90)
            .write_image(&pixels, side, side, ::image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    #[test]
    fn a_whole_jpeg_is_complete_and_every_cut_is_truncated() {
        let whole = jpeg(48);
        assert!(
            whole.windows(2).any(|w| w == [0xFF, 0x00]),
            "no stuffed byte to step over"
        );
        assert_eq!(jpeg_end(&whole), JpegEnd::Complete);
        // Cut anywhere after the start-of-image marker, even one byte short of the end.
        for cut in (2..whole.len()).step_by(97).chain([whole.len() - 1]) {
            assert_eq!(jpeg_end(&whole[..cut]), JpegEnd::Truncated, "cut at {cut}");
        }
        // Bytes after the end-of-image marker (camera trailers) do not matter.
        let mut trailer = whole.clone();
        trailer.extend_from_slice(b"\xFF\xD8 trailer of a camera");
        assert_eq!(jpeg_end(&trailer), JpegEnd::Complete);
    }

    #[test]
    fn restart_markers_and_fill_bytes_are_stepped_over() {
        // SOI, a scan header, entropy data with a restart marker and a stuffed byte, fill bytes
        // before EOI.
        let scan = [0xFF, 0xDA, 0x00, 0x04, 0x01, 0x02];
        let data = [0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xFF, 0xD9];
        let bytes = [&[0xFF, 0xD8][..], &scan, &data].concat();
        assert_eq!(jpeg_end(&bytes), JpegEnd::Complete);
        assert_eq!(jpeg_end(&bytes[..bytes.len() - 1]), JpegEnd::Truncated);
        // Not a JPEG's structure: left to the decoder.
        assert_eq!(jpeg_end(b"\xFF\xD8garbage"), JpegEnd::Unrecognised);
        assert_eq!(jpeg_end(b"GIF89a"), JpegEnd::Unrecognised);
    }
}
