//! Secrets that must never reach a log line, an error message or a serialised body by
//! accident: a signing key, a default account's password. The type has no `Serialize`, and its
//! `Debug` prints `***`; the only way to the text is [`Secret::expose`], which a reader can
//! grep for.

use std::fmt;

/// A secret string.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for the one place that needs it (hashing, signing).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let s = Secret::new("whsec_hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(s.expose(), "whsec_hunter2");
    }
}
