//! Removes what a photo says about where and with what it was taken (EXIF with its GPS
//! position and the camera's serial, XMP, IPTC, comments) while it streams, without decoding
//! or re-encoding it: the picture's own bytes pass through untouched, so nothing is lost and
//! memory stays at one metadata segment (at most [`MAX_HEADER`]).
//!
//! JPEG keeps one thing of its EXIF: the orientation, rewritten as a minimal EXIF block of
//! its own, so a phone's portrait photo is not shown on its side. PNG loses its text and
//! EXIF chunks, GIF its comments and application blocks but the looping one, WebP's EXIF
//! and XMP chunks are blanked (the container's sizes stay valid), HEIC's EXIF and XMP items
//! are zeroed in place. PDF and text pass as they are.

use super::FileKind;
use std::ops::Range;

/// The most bytes of metadata structure held at once (a HEIC `meta` box, a JPEG segment).
pub const MAX_HEADER: usize = 1 << 20;

/// The file does not have the structure its first bytes promised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {kind:?}: {why}")]
pub struct Malformed {
    /// What it claimed to be.
    pub kind: FileKind,
    /// What was wrong.
    pub why: &'static str,
}

/// What happens to the next input bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The format reads a structure.
    Parse,
    /// Pass this many bytes.
    Copy(u64),
    /// Leave this many bytes out.
    Skip(u64),
    /// Write this many zero bytes in their place.
    Zero(u64),
    /// Pass everything that follows.
    Pass,
    /// Leave out everything that follows (bytes after the end of the image).
    Drop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gif {
    Header,
    Blocks,
    LzwMin,
    SubBlocks { keep: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Jpeg { started: bool },
    Png { started: bool, ended: bool },
    Webp { started: bool },
    Gif(Gif),
    Heic { meta_seen: bool },
    Verbatim,
}

/// The streaming metadata remover of one file.
#[derive(Debug)]
pub struct Scrubber {
    kind: FileKind,
    format: Format,
    mode: Mode,
    /// Input not consumed yet (a structure still incomplete).
    buf: Vec<u8>,
    /// Input bytes consumed so far.
    offset: u64,
    /// Input ranges written as zeros (HEIC's metadata items).
    mask: Vec<Range<u64>>,
}

impl Scrubber {
    /// A remover for a file of `kind`.
    pub fn new(kind: FileKind) -> Self {
        let format = match kind {
            FileKind::Jpeg => Format::Jpeg { started: false },
            FileKind::Png => Format::Png {
                started: false,
                ended: false,
            },
            FileKind::Webp => Format::Webp { started: false },
            FileKind::Gif => Format::Gif(Gif::Header),
            FileKind::Heic => Format::Heic { meta_seen: false },
            FileKind::Pdf | FileKind::Text => Format::Verbatim,
        };
        let mode = if format == Format::Verbatim {
            Mode::Pass
        } else {
            Mode::Parse
        };
        Self {
            kind,
            format,
            mode,
            buf: Vec::new(),
            offset: 0,
            mask: Vec::new(),
        }
    }

    /// Whether everything from here on is stored exactly as it comes (a PDF, text, a JPEG's
    /// image data): the caller may then store a chunk as it is, without the copy
    /// [`Self::push`] makes, and tell the remover with [`Self::passed`].
    pub fn passing(&self) -> bool {
        self.mode == Mode::Pass && self.buf.is_empty() && self.mask.is_empty()
    }

    /// Counts `n` bytes the caller stored unchanged while [`Self::passing`].
    pub fn passed(&mut self, n: usize) {
        debug_assert!(self.passing());
        self.offset += n as u64;
    }

    /// Takes the next chunk of the file and appends what is to be stored of it to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), Malformed> {
        if self.passing() {
            out.extend_from_slice(input);
            self.offset += input.len() as u64;
            return Ok(());
        }
        self.buf.extend_from_slice(input);
        let buf = std::mem::take(&mut self.buf);
        let mut pos = 0usize;
        let result = self.run(&buf, &mut pos, out);
        self.buf = buf;
        self.buf.drain(..pos);
        result?;
        if self.buf.len() > MAX_HEADER {
            return Err(self.malformed("metadata larger than 1 MiB"));
        }
        Ok(())
    }

    /// The file ended: fails when it ended inside a structure.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), Malformed> {
        self.push(&[], out)?;
        let complete = match self.mode {
            Mode::Pass | Mode::Drop => true,
            Mode::Parse => {
                self.buf.is_empty()
                    && matches!(
                        self.format,
                        Format::Png { ended: true, .. }
                            | Format::Webp { started: true }
                            | Format::Heic { meta_seen: true }
                    )
            }
            Mode::Copy(_) | Mode::Skip(_) | Mode::Zero(_) => false,
        };
        if complete {
            Ok(())
        } else {
            Err(self.malformed("the file ends early"))
        }
    }

    fn malformed(&self, why: &'static str) -> Malformed {
        Malformed {
            kind: self.kind,
            why,
        }
    }

    /// Writes input bytes starting at input offset `at`, zeroing masked ranges.
    fn emit(&self, out: &mut Vec<u8>, bytes: &[u8], at: u64) {
        let start = out.len();
        out.extend_from_slice(bytes);
        let end = at + bytes.len() as u64;
        for r in &self.mask {
            let (s, e) = (r.start.max(at), r.end.min(end));
            if s < e {
                out[start + (s - at) as usize..start + (e - at) as usize].fill(0);
            }
        }
    }

    fn run(&mut self, buf: &[u8], pos: &mut usize, out: &mut Vec<u8>) -> Result<(), Malformed> {
        loop {
            let rest = &buf[*pos..];
            let at = self.offset;
            match self.mode {
                Mode::Copy(n) | Mode::Skip(n) | Mode::Zero(n) => {
                    if rest.is_empty() {
                        return Ok(());
                    }
                    let m = n.min(rest.len() as u64) as usize;
                    match self.mode {
                        Mode::Copy(_) => self.emit(out, &rest[..m], at),
                        Mode::Zero(_) => out.resize(out.len() + m, 0),
                        _ => {}
                    }
                    self.consume(pos, m);
                    let left = n - m as u64;
                    self.mode = match self.mode {
                        _ if left == 0 => Mode::Parse,
                        Mode::Copy(_) => Mode::Copy(left),
                        Mode::Skip(_) => Mode::Skip(left),
                        _ => Mode::Zero(left),
                    };
                }
                Mode::Pass => {
                    self.emit(out, rest, at);
                    self.consume(pos, rest.len());
                    return Ok(());
                }
                Mode::Drop => {
                    self.consume(pos, rest.len());
                    return Ok(());
                }
                Mode::Parse => match self.step(rest, out)? {
                    Some((used, mode)) => {
                        self.consume(pos, used);
                        self.mode = mode;
                    }
                    None => return Ok(()),
                },
            }
        }
    }

    fn consume(&mut self, pos: &mut usize, n: usize) {
        *pos += n;
        self.offset += n as u64;
    }

    /// Reads one structure at the start of `rest`: how many bytes it consumed and what
    /// happens next, or `None` when more bytes are needed.
    fn step(&mut self, rest: &[u8], out: &mut Vec<u8>) -> Result<Option<(usize, Mode)>, Malformed> {
        match self.format {
            Format::Jpeg { started } => self.jpeg(started, rest, out),
            Format::Png { started, ended } => self.png(started, ended, rest, out),
            Format::Webp { started } => self.webp(started, rest, out),
            Format::Gif(state) => self.gif(state, rest, out),
            Format::Heic { .. } => self.heic(rest, out),
            Format::Verbatim => Ok(Some((0, Mode::Pass))),
        }
    }

    fn jpeg(
        &mut self,
        started: bool,
        rest: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Option<(usize, Mode)>, Malformed> {
        if rest.len() < 2 {
            return Ok(None);
        }
        if !started {
            if rest[..2] != [0xFF, 0xD8] {
                return Err(self.malformed("no start of image"));
            }
            out.extend_from_slice(&rest[..2]);
            self.format = Format::Jpeg { started: true };
            return Ok(Some((2, Mode::Parse)));
        }
        if rest[0] != 0xFF {
            return Err(self.malformed("a segment does not start with a marker"));
        }
        let marker = rest[1];
        match marker {
            // Fill byte before a marker.
            0xFF => return Ok(Some((1, Mode::Parse))),
            // Start of scan: the image data follows, with no metadata in it.
            0xDA => return Ok(Some((0, Mode::Pass))),
            0xD9 => {
                out.extend_from_slice(&rest[..2]);
                return Ok(Some((2, Mode::Drop)));
            }
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&rest[..2]);
                return Ok(Some((2, Mode::Parse)));
            }
            0xD8 => return Err(self.malformed("a second start of image")),
            _ => {}
        }
        if rest.len() < 4 {
            return Ok(None);
        }
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        if len < 2 {
            return Err(self.malformed("a segment shorter than its length field"));
        }
        let payload = (len - 2) as u64;
        match marker {
            // APP1: EXIF or XMP. The orientation survives in a block of its own.
            0xE1 => {
                if rest.len() < 2 + len {
                    return Ok(None);
                }
                if let Some(o) = exif_orientation(&rest[4..2 + len]).filter(|&o| o != 1) {
                    out.extend_from_slice(&orientation_segment(o));
                }
                Ok(Some((2 + len, Mode::Parse)))
            }
            // Other application segments (maker notes, IPTC, Photoshop) and comments go;
            // JFIF (APP0), the colour profile (APP2) and Adobe's colour transform (APP14) stay.
            0xE3..=0xED | 0xEF | 0xFE => Ok(Some((4, Mode::Skip(payload)))),
            _ => {
                out.extend_from_slice(&rest[..4]);
                Ok(Some((4, Mode::Copy(payload))))
            }
        }
    }

    fn png(
        &mut self,
        started: bool,
        ended: bool,
        rest: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Option<(usize, Mode)>, Malformed> {
        if ended {
            return Ok(Some((0, Mode::Drop)));
        }
        if !started {
            if rest.len() < 8 {
                return Ok(None);
            }
            out.extend_from_slice(&rest[..8]);
            self.format = Format::Png {
                started: true,
                ended: false,
            };
            return Ok(Some((8, Mode::Parse)));
        }
        if rest.len() < 8 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        if len > i32::MAX as u32 {
            return Err(self.malformed("a chunk longer than PNG allows"));
        }
        let kind = &rest[4..8];
        let body = u64::from(len) + 4;
        if kind == b"IEND" {
            self.format = Format::Png {
                started: true,
                ended: true,
            };
        }
        if [&b"eXIf"[..], b"tEXt", b"zTXt", b"iTXt", b"tIME"].contains(&kind) {
            return Ok(Some((8, Mode::Skip(body))));
        }
        out.extend_from_slice(&rest[..8]);
        Ok(Some((8, Mode::Copy(body))))
    }

    fn webp(
        &mut self,
        started: bool,
        rest: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Option<(usize, Mode)>, Malformed> {
        if !started {
            if rest.len() < 12 {
                return Ok(None);
            }
            out.extend_from_slice(&rest[..12]);
            self.format = Format::Webp { started: true };
            return Ok(Some((12, Mode::Parse)));
        }
        if rest.len() < 8 {
            return Ok(None);
        }
        let size = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        let padded = u64::from(size) + u64::from(size & 1);
        match &rest[..4] {
            b"VP8X" if size >= 10 => {
                if rest.len() < 18 {
                    return Ok(None);
                }
                let mut head = [0u8; 18];
                head.copy_from_slice(&rest[..18]);
                // Say there is no EXIF (bit 3) and no XMP (bit 2) any more.
                head[8] &= !0x0C;
                out.extend_from_slice(&head);
                Ok(Some((18, Mode::Copy(padded - 10))))
            }
            b"EXIF" | b"XMP " => {
                // Blanked in place: an unknown chunk every reader skips, sizes unchanged.
                out.extend_from_slice(b"JUNK");
                out.extend_from_slice(&rest[4..8]);
                Ok(Some((8, Mode::Zero(padded))))
            }
            _ => {
                out.extend_from_slice(&rest[..8]);
                Ok(Some((8, Mode::Copy(padded))))
            }
        }
    }

    fn gif(
        &mut self,
        state: Gif,
        rest: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Option<(usize, Mode)>, Malformed> {
        let Some(&first) = rest.first() else {
            return Ok(None);
        };
        let table = |flags: u8| {
            if flags & 0x80 != 0 {
                3u64 << ((flags & 7) + 1)
            } else {
                0
            }
        };
        let (used, next, mode) = match state {
            Gif::Header => {
                if rest.len() < 13 {
                    return Ok(None);
                }
                out.extend_from_slice(&rest[..13]);
                (13, Gif::Blocks, Mode::Copy(table(rest[10])))
            }
            Gif::LzwMin => {
                out.push(first);
                (1, Gif::SubBlocks { keep: true }, Mode::Parse)
            }
            Gif::SubBlocks { keep } => {
                if keep {
                    out.push(first);
                }
                let n = u64::from(first);
                let (next, mode) = match (n, keep) {
                    (0, _) => (Gif::Blocks, Mode::Parse),
                    (_, true) => (state, Mode::Copy(n)),
                    (_, false) => (state, Mode::Skip(n)),
                };
                (1, next, mode)
            }
            Gif::Blocks => match first {
                0x3B => {
                    out.push(first);
                    (1, Gif::Blocks, Mode::Drop)
                }
                0x2C => {
                    if rest.len() < 10 {
                        return Ok(None);
                    }
                    out.extend_from_slice(&rest[..10]);
                    (10, Gif::LzwMin, Mode::Copy(table(rest[9])))
                }
                0x21 => {
                    if rest.len() < 2 {
                        return Ok(None);
                    }
                    match rest[1] {
                        0xFF => {
                            if rest.len() < 14 {
                                return Ok(None);
                            }
                            let id = &rest[3..14];
                            let keep =
                                rest[2] == 11 && (id == b"NETSCAPE2.0" || id == b"ANIMEXTS1.0");
                            if keep {
                                out.extend_from_slice(&rest[..14]);
                                (14, Gif::SubBlocks { keep: true }, Mode::Parse)
                            } else {
                                // XMP and every other application's data: the label is
                                // gone, so is its first block; the rest are skipped.
                                let n = usize::from(rest[2]);
                                if rest.len() < 3 + n {
                                    return Ok(None);
                                }
                                (3 + n, Gif::SubBlocks { keep: false }, Mode::Parse)
                            }
                        }
                        0xFE => (2, Gif::SubBlocks { keep: false }, Mode::Parse),
                        _ => {
                            out.extend_from_slice(&rest[..2]);
                            (2, Gif::SubBlocks { keep: true }, Mode::Parse)
                        }
                    }
                }
                _ => return Err(self.malformed("an unknown block")),
            },
        };
        self.format = Format::Gif(next);
        Ok(Some((used, mode)))
    }

    fn heic(&mut self, rest: &[u8], out: &mut Vec<u8>) -> Result<Option<(usize, Mode)>, Malformed> {
        if rest.len() < 8 {
            return Ok(None);
        }
        let at = self.offset;
        let (size, header) = match u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) {
            0 => (None, 8),
            1 => {
                if rest.len() < 16 {
                    return Ok(None);
                }
                let mut b = [0u8; 8];
                b.copy_from_slice(&rest[8..16]);
                (Some(u64::from_be_bytes(b)), 16)
            }
            n => (Some(u64::from(n)), 8),
        };
        let kind = &rest[4..8];
        let meta_seen = matches!(self.format, Format::Heic { meta_seen: true });
        if kind == b"mdat" && !meta_seen {
            return Err(self.malformed("the image data comes before its metadata"));
        }
        let Some(size) = size.filter(|&s| s >= header as u64) else {
            return match size {
                None => {
                    self.emit(out, &rest[..header], at);
                    Ok(Some((header, Mode::Pass)))
                }
                Some(_) => Err(self.malformed("a box shorter than its header")),
            };
        };
        if kind == b"meta" {
            if size > MAX_HEADER as u64 {
                return Err(self.malformed("metadata larger than 1 MiB"));
            }
            let size = size as usize;
            if rest.len() < size {
                return Ok(None);
            }
            let ranges = heif_metadata_items(&rest[header..size])
                .ok_or_else(|| self.malformed("unreadable item locations"))?;
            if ranges
                .iter()
                .any(|r| r.start < at + size as u64 && r.start < at)
            {
                return Err(self.malformed("metadata stored before its own description"));
            }
            self.mask.extend(ranges);
            self.format = Format::Heic { meta_seen: true };
            self.emit(out, &rest[..size], at);
            return Ok(Some((size, Mode::Parse)));
        }
        self.emit(out, &rest[..header], at);
        Ok(Some((header, Mode::Copy(size - header as u64))))
    }
}

/// The orientation (1-8) an EXIF block gives its picture, if it gives one.
fn exif_orientation(app1: &[u8]) -> Option<u16> {
    let tiff = app1.strip_prefix(b"Exif\0\0")?;
    let big = match tiff.get(..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let u16_at = |i: usize| {
        let b = tiff.get(i..i + 2)?;
        Some(if big {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        })
    };
    let u32_at = |i: usize| {
        let b = tiff.get(i..i + 4)?;
        let b = [b[0], b[1], b[2], b[3]];
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let ifd = u32_at(4)? as usize;
    let count = usize::from(u16_at(ifd)?);
    (0..count)
        .map(|i| ifd + 2 + i * 12)
        .find(|&e| u16_at(e) == Some(0x0112) && u16_at(e + 2) == Some(3))
        .and_then(|e| u16_at(e + 8))
        .filter(|o| (1..=8).contains(o))
}

/// A JPEG APP1 segment holding an EXIF block with the orientation and nothing else.
fn orientation_segment(orientation: u16) -> [u8; 34] {
    let mut s = [0u8; 34];
    s[..4].copy_from_slice(&[0xFF, 0xE1, 0x00, 0x20]);
    s[4..10].copy_from_slice(b"Exif\0\0");
    // Big-endian TIFF, IFD0 at 8, one entry: 0x0112 SHORT x1, then no next IFD.
    s[10..18].copy_from_slice(b"MM\0\x2A\0\0\0\x08");
    s[18..20].copy_from_slice(&1u16.to_be_bytes());
    s[20..22].copy_from_slice(&0x0112u16.to_be_bytes());
    s[22..24].copy_from_slice(&3u16.to_be_bytes());
    s[24..28].copy_from_slice(&1u32.to_be_bytes());
    s[28..30].copy_from_slice(&orientation.to_be_bytes());
    s
}

/// Where a HEIF `meta` box (its contents after the box header) stores its EXIF and XMP
/// items, as file ranges; `None` when it cannot be read or keeps them somewhere other than
/// plain file offsets.
fn heif_metadata_items(meta: &[u8]) -> Option<Vec<Range<u64>>> {
    let boxes = children(meta.get(4..)?)?;
    let iinf = boxes.iter().find(|(k, _)| k == b"iinf").map(|(_, b)| *b);
    let Some(iinf) = iinf else {
        return Some(Vec::new());
    };
    let version = *iinf.first()?;
    let skip = if version == 0 { 6 } else { 8 };
    let mut wanted = Vec::new();
    for (kind, infe) in children(iinf.get(skip..)?)? {
        if &kind != b"infe" || *infe.first()? < 2 {
            continue;
        }
        let (id, mut i) = if infe[0] == 2 {
            (
                u64::from(u16::from_be_bytes([*infe.get(4)?, *infe.get(5)?])),
                6,
            )
        } else {
            (be(infe.get(4..8)?), 8)
        };
        i += 2; // protection index
        let item_type = infe.get(i..i + 4)?;
        i += 4;
        let name_end = i + infe.get(i..)?.iter().position(|&b| b == 0)?;
        let content_type = infe
            .get(name_end + 1..)
            .and_then(|t| t.split(|&b| b == 0).next())
            .unwrap_or_default();
        if item_type == b"Exif" || (item_type == b"mime" && content_type == b"application/rdf+xml")
        {
            wanted.push(id);
        }
    }
    if wanted.is_empty() {
        return Some(Vec::new());
    }
    let iloc = boxes.iter().find(|(k, _)| k == b"iloc")?.1;
    let version = *iloc.first()?;
    let (a, b) = (*iloc.get(4)?, *iloc.get(5)?);
    let (off_size, len_size, base_size) = (
        usize::from(a >> 4),
        usize::from(a & 15),
        usize::from(b >> 4),
    );
    let index_size = if version >= 1 { usize::from(b & 15) } else { 0 };
    let mut i = 6;
    let wide = version >= 2;
    let take = |i: &mut usize, n: usize| -> Option<u64> {
        let v = be(iloc.get(*i..*i + n)?);
        *i += n;
        Some(v)
    };
    let count = take(&mut i, if wide { 4 } else { 2 })?;
    let mut ranges = Vec::new();
    for _ in 0..count {
        let id = take(&mut i, if wide { 4 } else { 2 })?;
        let method = if version >= 1 {
            take(&mut i, 2)? & 0x0F
        } else {
            0
        };
        take(&mut i, 2)?; // data reference index
        let base = take(&mut i, base_size)?;
        let extents = take(&mut i, 2)?;
        for _ in 0..extents {
            take(&mut i, index_size)?;
            let off = take(&mut i, off_size)?;
            let len = take(&mut i, len_size)?;
            if wanted.contains(&id) {
                if method != 0 || len == 0 {
                    return None;
                }
                let start = base.checked_add(off)?;
                ranges.push(start..start.checked_add(len)?);
            }
        }
    }
    Some(ranges)
}

/// The boxes directly inside `data`: kind and contents.
fn children(mut data: &[u8]) -> Option<Vec<([u8; 4], &[u8])>> {
    let mut out = Vec::new();
    while data.len() >= 8 {
        let size = be(&data[..4]) as usize;
        if size < 8 || size > data.len() {
            return None;
        }
        let kind = [data[4], data[5], data[6], data[7]];
        out.push((kind, &data[8..size]));
        data = &data[size..];
    }
    Some(out)
}

/// A big-endian unsigned integer of 0-8 bytes.
fn be(b: &[u8]) -> u64 {
    b.iter().fold(0, |v, &x| (v << 8) | u64::from(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `file` through a scrubber in chunks of `chunk` bytes.
    fn scrub(kind: FileKind, file: &[u8], chunk: usize) -> Result<Vec<u8>, Malformed> {
        let mut s = Scrubber::new(kind);
        let mut out = Vec::new();
        for c in file.chunks(chunk.max(1)) {
            s.push(c, &mut out)?;
        }
        s.finish(&mut out)?;
        Ok(out)
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
        s.extend_from_slice(payload);
        s
    }

    /// An EXIF block (little-endian, as phones write it) with an orientation and a GPS tag.
    fn exif(orientation: u16) -> Vec<u8> {
        let mut t = b"Exif\0\0II\x2A\0\x08\0\0\0".to_vec();
        t.extend_from_slice(&2u16.to_le_bytes());
        t.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0]);
        t.extend_from_slice(&orientation.to_le_bytes());
        t.extend_from_slice(&[0, 0]);
        t.extend_from_slice(&[0x25, 0x88, 4, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        t.extend_from_slice(&[0, 0, 0, 0]);
        t.extend_from_slice(b"GPS 52.5200N 13.4050E SERIAL F2LXK0ABC");
        t
    }

    fn jpeg(orientation: u16) -> Vec<u8> {
        let mut f = vec![0xFF, 0xD8];
        f.extend(segment(0xE0, b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0"));
        f.extend(segment(0xE1, &exif(orientation)));
        f.extend(segment(
            0xE1,
            b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>GPS</x:xmpmeta>",
        ));
        f.extend(segment(0xED, b"Photoshop 3.0\0IPTC city"));
        f.extend(segment(0xFE, b"comment: shot at the customer's home"));
        f.extend(segment(0xDB, &[0u8; 65]));
        f.extend_from_slice(&[0xFF, 0xDA, 0, 2]);
        f.extend_from_slice(b"entropy-coded data \xFF\x00 more");
        f.extend_from_slice(&[0xFF, 0xD9]);
        f
    }

    #[test]
    fn jpeg_loses_gps_and_serial_but_keeps_orientation_and_pixels() {
        for chunk in [1, 3, 7, 64, 4096] {
            let out = scrub(FileKind::Jpeg, &jpeg(6), chunk).unwrap();
            for gone in [&b"GPS"[..], b"SERIAL", b"IPTC", b"comment", b"xmpmeta"] {
                assert!(!contains(&out, gone), "{gone:?} survived at chunk {chunk}");
            }
            assert!(contains(&out, b"JFIF"));
            assert!(contains(&out, b"entropy-coded data \xFF\x00 more\xFF\xD9"));
            assert!(out.ends_with(&[0xFF, 0xD9]));
            let app1 = out.windows(2).position(|w| w == [0xFF, 0xE1]).unwrap();
            assert_eq!(exif_orientation(&out[app1 + 4..app1 + 34]), Some(6));
        }
        // Upright photos need no EXIF at all.
        let out = scrub(FileKind::Jpeg, &jpeg(1), 10).unwrap();
        assert!(!contains(&out, b"Exif"));
    }

    #[test]
    fn truncated_and_fake_jpegs_are_malformed() {
        let f = jpeg(1);
        assert!(scrub(FileKind::Jpeg, &f[..40], 8).is_err());
        assert!(scrub(FileKind::Jpeg, b"\xFF\xD8\xFF<html><script>", 4).is_err());
    }

    fn png_chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        let mut c = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[1, 2, 3, 4]);
        c
    }

    #[test]
    fn png_loses_text_and_exif_chunks() {
        let mut f = b"\x89PNG\r\n\x1a\n".to_vec();
        f.extend(png_chunk(b"IHDR", &[0; 13]));
        f.extend(png_chunk(b"eXIf", &exif(1)));
        f.extend(png_chunk(b"iTXt", b"XML:com.adobe.xmp\0GPS"));
        f.extend(png_chunk(b"tEXt", b"Comment\0SERIAL"));
        f.extend(png_chunk(b"IDAT", b"pixels"));
        f.extend(png_chunk(b"IEND", b""));
        for chunk in [1, 5, 1000] {
            let out = scrub(FileKind::Png, &f, chunk).unwrap();
            assert!(!contains(&out, b"GPS") && !contains(&out, b"SERIAL"));
            assert!(contains(&out, b"IHDR") && contains(&out, b"IDATpixels"));
            assert!(out.ends_with(&png_chunk(b"IEND", b"")));
        }
        assert!(scrub(FileKind::Png, &f[..30], 4).is_err());
    }

    #[test]
    fn webp_metadata_chunks_are_blanked_in_place() {
        let mut body = b"WEBP".to_vec();
        body.extend_from_slice(b"VP8X\x0a\0\0\0");
        body.extend_from_slice(&[0x0C, 0, 0, 0, 1, 0, 0, 1, 0, 0]);
        body.extend_from_slice(b"VP8 \x04\0\0\0data");
        body.extend_from_slice(b"EXIF\x05\0\0\0GPS!!\0");
        body.extend_from_slice(b"XMP \x06\0\0\0SERIAL");
        let mut f = b"RIFF".to_vec();
        f.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
        f.extend(body);
        for chunk in [1, 9, 500] {
            let out = scrub(FileKind::Webp, &f, chunk).unwrap();
            assert_eq!(out.len(), f.len());
            assert!(!contains(&out, b"GPS") && !contains(&out, b"SERIAL"));
            assert!(!contains(&out, b"EXIF") && !contains(&out, b"XMP "));
            assert_eq!(out[20] & 0x0C, 0);
            assert!(contains(&out, b"VP8 \x04\0\0\0data"));
        }
    }

    #[test]
    fn gif_loses_comments_and_xmp_but_keeps_looping() {
        let mut f = b"GIF89a\x01\0\x01\0\x80\0\0".to_vec();
        f.extend_from_slice(&[0; 6]); // two-colour table
        f.extend_from_slice(b"\x21\xFF\x0bNETSCAPE2.0\x03\x01\0\0\0");
        f.extend_from_slice(b"\x21\xFF\x0bXMP DataXMP\x06SERIAL\x03GPS\0");
        f.extend_from_slice(b"\x21\xFE\x07comment\0");
        f.extend_from_slice(b"\x21\xF9\x04\0\0\0\0\0");
        f.extend_from_slice(b"\x2C\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0");
        f.extend_from_slice(b"\x3B");
        for chunk in [1, 4, 100] {
            let out = scrub(FileKind::Gif, &f, chunk).unwrap();
            assert!(!contains(&out, b"SERIAL") && !contains(&out, b"GPS"));
            assert!(!contains(&out, b"comment") && !contains(&out, b"XMP"));
            assert!(contains(&out, b"NETSCAPE2.0"));
            assert!(out.ends_with(b"\x02\x02\x44\x01\0\x3B"));
        }
    }

    fn boxed(kind: &[u8], body: &[u8]) -> Vec<u8> {
        let mut b = u32::try_from(body.len() + 8)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(body);
        b
    }

    /// A HEIC with one image item and one EXIF item, both in `mdat`.
    fn heic() -> Vec<u8> {
        let ftyp = boxed(b"ftyp", b"heic\0\0\0\0mif1heic");
        let exif = b"Exif\0\0GPS 52.52N SERIAL".to_vec();
        let image = b"hevc image data".to_vec();
        let infe = |id: u16, kind: &[u8]| {
            let mut b = vec![2, 0, 0, 0];
            b.extend_from_slice(&id.to_be_bytes());
            b.extend_from_slice(&[0, 0]);
            b.extend_from_slice(kind);
            b.push(0);
            boxed(b"infe", &b)
        };
        let mut iinf = vec![0, 0, 0, 0, 0, 2];
        iinf.extend(infe(1, b"hvc1"));
        iinf.extend(infe(2, b"Exif"));
        let iinf = boxed(b"iinf", &iinf);
        let iloc_len = 8 + 4 + 2 + 2 + 2 * (2 + 2 + 2 + 8);
        let meta_len = 8 + 4 + iinf.len() + iloc_len;
        let mdat_data = ftyp.len() + meta_len + 8;
        let mut iloc = vec![0, 0, 0, 0, 0x44, 0x00, 0, 2];
        for (id, off, len) in [
            (1u16, mdat_data + exif.len(), image.len()),
            (2, mdat_data, exif.len()),
        ] {
            iloc.extend_from_slice(&id.to_be_bytes());
            iloc.extend_from_slice(&[0, 0, 0, 1]);
            iloc.extend_from_slice(&u32::try_from(off).unwrap().to_be_bytes());
            iloc.extend_from_slice(&u32::try_from(len).unwrap().to_be_bytes());
        }
        let iloc = boxed(b"iloc", &iloc);
        assert_eq!(iloc.len(), iloc_len);
        let mut meta = vec![0, 0, 0, 0];
        meta.extend(iinf);
        meta.extend(iloc);
        let mut f = ftyp;
        f.extend(boxed(b"meta", &meta));
        assert_eq!(f.len() + 8, mdat_data);
        let mut mdat = exif;
        mdat.extend(image);
        f.extend(boxed(b"mdat", &mdat));
        f
    }

    #[test]
    fn heic_exif_items_are_zeroed() {
        let f = heic();
        assert_eq!(FileKind::sniff(&f), Some(FileKind::Heic));
        for chunk in [1, 7, 10_000] {
            let out = scrub(FileKind::Heic, &f, chunk).unwrap();
            assert_eq!(out.len(), f.len());
            assert!(!contains(&out, b"GPS") && !contains(&out, b"SERIAL"));
            assert!(contains(&out, b"hevc image data"));
        }
    }

    #[test]
    fn pdf_and_text_pass_unchanged() {
        let f = b"%PDF-1.7\n/Author (someone)\n%%EOF\n";
        assert_eq!(scrub(FileKind::Pdf, f, 3).unwrap(), f);
    }
}
