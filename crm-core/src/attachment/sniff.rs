//! What a file is, decided from its own first bytes: never from its name or the client's
//! header, which an attacker chooses. Only the kinds a repair shop needs are admitted; the
//! rest (SVG, HTML, scripts, executables, archives) never reach a browser from our origin.

use serde::Serialize;

/// How many leading bytes [`FileKind::sniff`] needs to decide (fewer only at the end of a
/// short file).
pub const SNIFF_BYTES: usize = 512;

/// The admitted kinds of attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum FileKind {
    /// JPEG photo.
    Jpeg,
    /// PNG image.
    Png,
    /// WebP image.
    Webp,
    /// HEIC/HEIF photo (iPhones' default).
    Heic,
    /// GIF image.
    Gif,
    /// PDF document.
    Pdf,
    /// Plain UTF-8 text (never markup).
    Text,
}

impl FileKind {
    /// The `Content-Type` every download of this kind is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Heic => "image/heic",
            Self::Gif => "image/gif",
            Self::Pdf => "application/pdf",
            Self::Text => "text/plain; charset=utf-8",
        }
    }

    /// The kind a stored content type names (the inverse of [`Self::content_type`]).
    pub fn from_content_type(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.content_type() == s)
    }

    /// Every kind.
    pub const ALL: [Self; 7] = [
        Self::Jpeg,
        Self::Png,
        Self::Webp,
        Self::Heic,
        Self::Gif,
        Self::Pdf,
        Self::Text,
    ];

    /// Whether it is a picture: shown inline and given a thumbnail where we can decode it.
    pub fn is_image(self) -> bool {
        !matches!(self, Self::Pdf | Self::Text)
    }

    /// Decides the kind from the first bytes of a file (at least [`SNIFF_BYTES`] of them,
    /// or the whole file when shorter); `None` for anything not admitted.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Some(Self::Jpeg);
        }
        if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Some(Self::Png);
        }
        if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
            return Some(Self::Gif);
        }
        if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            return Some(Self::Webp);
        }
        if is_heic(head) {
            return Some(Self::Heic);
        }
        if head.starts_with(b"%PDF-") {
            return Some(Self::Pdf);
        }
        if is_plain_text(head) {
            return Some(Self::Text);
        }
        None
    }
}

/// An ISO media file whose brands say HEIF with HEVC images (not AVIF, not video).
fn is_heic(head: &[u8]) -> bool {
    if head.len() < 16 || &head[4..8] != b"ftyp" {
        return false;
    }
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    if !(16..=head.len().max(16)).contains(&size) || size > head.len() || size % 4 != 0 {
        return false;
    }
    const HEIC: [&[u8; 4]; 6] = [b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"];
    let major = &head[8..12];
    if HEIC.iter().any(|b| &b[..] == major) {
        return true;
    }
    // `mif1`/`msf1` files say what they hold in the compatible brands (after minor version).
    (major == b"mif1" || major == b"msf1")
        && head[16..size]
            .chunks_exact(4)
            .any(|b| HEIC.iter().any(|h| &h[..] == b))
}

/// UTF-8 without control characters (tab, line breaks and form feed aside), that a browser
/// would not read as markup. The rest of the file is checked as it streams
/// ([`TextCheck`]).
fn is_plain_text(head: &[u8]) -> bool {
    let mut check = TextCheck::default();
    if check.push(head).is_err() {
        return false;
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    !looks_like_markup(&text[start..])
}

/// The openings WHATWG's sniffing algorithm reads as HTML or XML, and SVG's.
fn looks_like_markup(text: &[u8]) -> bool {
    const TAGS: [&str; 20] = [
        "<!doctype",
        "<html",
        "<head",
        "<script",
        "<iframe",
        "<h1",
        "<div",
        "<font",
        "<table",
        "<a",
        "<style",
        "<title",
        "<b",
        "<body",
        "<br",
        "<p",
        "<!--",
        "<?xml",
        "<svg",
        "<meta",
    ];
    if text.first() != Some(&b'<') {
        return false;
    }
    TAGS.iter().any(|tag| {
        let t = tag.as_bytes();
        text.len() > t.len()
            && text[..t.len()].eq_ignore_ascii_case(t)
            && (t == b"<!--"
                || t == b"<?xml"
                || matches!(text[t.len()], b' ' | b'>' | b'\t' | b'\n' | b'\r' | b'/'))
    })
}

/// A text file stopped being text: invalid UTF-8, a control character, or a cut character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotText;

/// Checks that a text file stays text to its end: valid UTF-8 across chunk boundaries and no
/// NUL or other control characters, so a binary tail behind a text head is refused.
#[derive(Debug, Default)]
pub struct TextCheck {
    /// The bytes of a character cut by a chunk boundary.
    carry: Vec<u8>,
}

impl TextCheck {
    /// Checks the next chunk.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), NotText> {
        let mut joined;
        let bytes = if self.carry.is_empty() {
            chunk
        } else {
            joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(chunk);
            &joined[..]
        };
        let valid = match std::str::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) if e.error_len().is_none() => {
                // Cut inside a character: keep its start for the next chunk.
                let (ok, rest) = bytes.split_at(e.valid_up_to());
                self.carry = rest.to_vec();
                std::str::from_utf8(ok).map_err(|_| NotText)?
            }
            Err(_) => return Err(NotText),
        };
        if valid
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
        {
            return Err(NotText);
        }
        Ok(())
    }

    /// Whether the file ended on a whole character.
    pub fn finish(&self) -> Result<(), NotText> {
        if self.carry.is_empty() {
            Ok(())
        } else {
            Err(NotText)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_bytes() {
        assert_eq!(
            FileKind::sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF"),
            Some(FileKind::Jpeg)
        );
        assert_eq!(
            FileKind::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(FileKind::Png)
        );
        assert_eq!(FileKind::sniff(b"GIF89a......"), Some(FileKind::Gif));
        assert_eq!(
            FileKind::sniff(b"RIFF\x10\0\0\0WEBPVP8 "),
            Some(FileKind::Webp)
        );
        assert_eq!(FileKind::sniff(b"%PDF-1.7\n"), Some(FileKind::Pdf));
        assert_eq!(
            FileKind::sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"),
            Some(FileKind::Heic)
        );
        assert_eq!(
            FileKind::sniff(b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic"),
            Some(FileKind::Heic)
        );
        // AVIF shares the container, not the codec.
        assert_eq!(FileKind::sniff(b"\0\0\0\x18ftypavif\0\0\0\0mif1avif"), None);
        assert_eq!(
            FileKind::sniff("Screen cracked, see notes.\n\u{e9}t\u{e9}".as_bytes()),
            Some(FileKind::Text)
        );
        assert_eq!(FileKind::sniff(b"a < b and 2 > 1\n"), Some(FileKind::Text));
    }

    #[test]
    fn markup_scripts_and_binaries_are_refused() {
        for refused in [
            &b"<!DOCTYPE html><script>alert(1)</script>"[..],
            b"  <html><body>hi</body></html>",
            b"\xEF\xBB\xBF<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>",
            b"<?xml version=\"1.0\"?><svg/>",
            b"<script>alert(1)</script> and some more text here",
            b"<!-- x --> hello",
            b"MZ\x90\0\x03\0\0\0",
            b"\x7fELF\x02\x01\x01",
            b"PK\x03\x04",
            b"text with a \0 NUL",
            b"\xC3\x28 invalid utf-8",
        ] {
            assert_eq!(FileKind::sniff(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn text_stays_text_across_chunks() {
        let mut check = TextCheck::default();
        let s = "caf\u{e9} \u{1F527}".as_bytes();
        for b in s {
            check.push(&[*b]).unwrap();
        }
        check.finish().unwrap();
        let mut check = TextCheck::default();
        check.push(b"fine").unwrap();
        assert!(check.push(b"\x01binary").is_err());
        let mut check = TextCheck::default();
        check.push(b"cut \xE2\x82").unwrap();
        assert!(check.finish().is_err());
    }
}
