//! Thumbnails: made once at upload from the stored (already scrubbed) bytes, at most
//! [`THUMBNAIL_EDGE`] px on the long side, as JPEG. Decoding is the one step of an upload
//! whose memory grows with the picture, so it runs one at a time per process (a semaphore)
//! and within a fixed allocation budget; a picture beyond it simply gets no thumbnail.

use super::FileKind;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use std::io::Cursor;

/// The long side of a thumbnail, in pixels.
pub const THUMBNAIL_EDGE: u32 = 320;

/// The most memory one decode may allocate (a 40-megapixel photo fits).
pub const DECODE_BUDGET: u64 = 192 << 20;

/// A JPEG thumbnail of `bytes`, or `None` when the kind cannot be decoded here (HEIC) or
/// the picture is broken or too large to decode within [`DECODE_BUDGET`].
pub fn thumbnail(kind: FileKind, bytes: &[u8]) -> Option<Vec<u8>> {
    let format = match kind {
        FileKind::Jpeg => ImageFormat::Jpeg,
        FileKind::Png => ImageFormat::Png,
        FileKind::Webp => ImageFormat::WebP,
        FileKind::Gif => ImageFormat::Gif,
        FileKind::Heic | FileKind::Pdf | FileKind::Text => return None,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(DECODE_BUDGET);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().ok()?;
    let orientation = decoder.orientation().ok();
    let mut img = DynamicImage::from_decoder(decoder).ok()?;
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    let small = img.thumbnail(THUMBNAIL_EDGE, THUMBNAIL_EDGE).into_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&small)
        .ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_fit_the_edge_and_follow_orientation() {
        let img = image::RgbImage::from_pixel(1200, 600, image::Rgb([200, 30, 30]));
        let mut png = Vec::new();
        DynamicImage::ImageRgb8(img)
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let t = thumbnail(FileKind::Png, &png).unwrap();
        let t = image::load_from_memory(&t).unwrap();
        assert_eq!((t.width(), t.height()), (320, 160));
        assert!(thumbnail(FileKind::Png, b"\x89PNG\r\n\x1a\nbroken").is_none());
        assert!(thumbnail(FileKind::Pdf, b"%PDF-1.7").is_none());
    }
}
