//! Validated inputs: every value that enters the system is parsed once, here, into a newtype
//! whose existence proves it satisfies the rules of the product contract. Stores and the HTTP
//! layer never re-check lengths or formats.

use serde::Serialize;
use std::fmt;

/// One rejected field and a sentence a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's path as the API names it, e.g. `client.email`.
    pub field: String,
    /// What is wrong, phrased for the person who typed it.
    pub message: String,
}

/// Every problem found in one request, so a form can mark all its fields at once.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// A single problem with a single field.
    pub fn one(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// Records the outcome of parsing one field, returning the value when it was valid.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(message) => {
                self.0.push(FieldError {
                    field: field.to_owned(),
                    message,
                });
                None
            }
        }
    }

    /// True when nothing was rejected.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

fn trimmed_len(raw: &str, what: &str, min: usize, max: usize) -> Result<String, String> {
    check_len(raw, what, min, max).map(str::to_owned)
}

/// Like [`trimmed_len`], but keeps the caller's allocation when there is nothing to trim.
fn trimmed_len_owned(raw: String, what: &str, min: usize, max: usize) -> Result<String, String> {
    let t = check_len(&raw, what, min, max)?;
    Ok(if t.len() == raw.len() {
        raw
    } else {
        t.to_owned()
    })
}

/// Whether `c` is a control character no text field may hold: U+0000-U+001F except tab, line
/// feed and carriage return, and U+007F. (They break terminals, logs and PostgreSQL, which
/// cannot store U+0000 at all.)
pub fn is_forbidden_control(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}'
}

/// Refuses text holding a [forbidden control character](is_forbidden_control).
pub fn reject_controls(raw: &str, what: &str) -> Result<(), String> {
    if raw.chars().any(is_forbidden_control) {
        Err(format!("{what} must not contain control characters."))
    } else {
        Ok(())
    }
}

fn check_len<'a>(raw: &'a str, what: &str, min: usize, max: usize) -> Result<&'a str, String> {
    reject_controls(raw, what)?;
    let t = raw.trim();
    let n = t.chars().count();
    if n == 0 {
        return Err(format!("{what} must not be empty."));
    }
    if n < min {
        return Err(format!("{what} must be at least {min} characters."));
    }
    if n > max {
        return Err(format!("{what} must be at most {max} characters."));
    }
    Ok(t)
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $min:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Shortest accepted length, in characters, after trimming.
            pub const MIN_CHARS: usize = $min;
            /// Longest accepted length, in characters, after trimming.
            pub const MAX_CHARS: usize = $max;

            /// Trims surrounding white space and checks the length.
            pub fn parse(raw: &str) -> Result<Self, String> {
                trimmed_len(raw, $what, $min, $max).map(Self)
            }

            /// Like `parse`, reusing `raw`'s allocation when it needs no trimming.
            pub fn parse_owned(raw: String) -> Result<Self, String> {
                trimmed_len_owned(raw, $what, $min, $max).map(Self)
            }

            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Gives the validated text back.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

text_type!(
    /// A ticket title: what the customer says is broken, 1-200 characters.
    Title, "Title", 1, 200
);
text_type!(
    /// A ticket description: the customer's account of the fault, 1-5000 characters.
    Description, "Description", 1, 5000
);
text_type!(
    /// A message on a ticket (an internal note or a word with the customer), 1-5000
    /// characters.
    MessageBody, "Message", 1, 5000
);
text_type!(
    /// The customer's name as they gave it, 1-100 characters.
    ClientName, "Name", 1, 100
);

/// A customer's e-mail address, trimmed and compared case-insensitively.
///
/// The check is deliberately modest (one `@`, a dotted domain, no spaces or control
/// characters): the address is a contact and the client's identity, not something we deliver
/// to, and rejecting a real address is worse than accepting an odd one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email {
    display: String,
    key: String,
}

impl Email {
    /// Longest accepted address (RFC 5321 path limit).
    pub const MAX_CHARS: usize = 254;

    /// Trims and checks the address.
    pub fn parse(raw: &str) -> Result<Self, String> {
        reject_controls(raw, "E-mail")?;
        let t = raw.trim();
        if t.is_empty() {
            return Err("E-mail must not be empty.".into());
        }
        if t.chars().count() > Self::MAX_CHARS {
            return Err(format!(
                "E-mail must be at most {} characters.",
                Self::MAX_CHARS
            ));
        }
        let invalid = || "E-mail must be a valid address, like name@example.com.".to_owned();
        let (local, domain) = t.rsplit_once('@').ok_or_else(invalid)?;
        let bad_char = |c: char| c.is_whitespace() || c.is_control() || c == '@';
        if local.is_empty()
            || local.chars().count() > 64
            || local.chars().any(bad_char)
            || domain.chars().any(bad_char)
            || !domain.contains('.')
            || domain
                .split('.')
                .any(|label| label.is_empty() || label.starts_with('-') || label.ends_with('-'))
        {
            return Err(invalid());
        }
        Ok(Self {
            display: t.to_owned(),
            key: t.to_lowercase(),
        })
    }

    /// The address as the customer typed it (trimmed); stored on first contact.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The lower-cased address that identifies the client.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// A phone number: 5-32 characters of digits, spaces and `+ - ( ) .`, with at least 5 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Shortest accepted number, in characters, after trimming.
    pub const MIN_CHARS: usize = 5;
    /// Longest accepted number, in characters, after trimming.
    pub const MAX_CHARS: usize = 32;
    /// Fewest digits a number has.
    pub const MIN_DIGITS: usize = 5;

    /// Trims and checks the number.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let t = trimmed_len(raw, "Phone", Self::MIN_CHARS, Self::MAX_CHARS)?;
        if !t
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'))
        {
            return Err("Phone may contain only digits, spaces and + - ( ) .".into());
        }
        if t.chars().filter(char::is_ascii_digit).count() < Self::MIN_DIGITS {
            return Err(format!(
                "Phone must contain at least {} digits.",
                Self::MIN_DIGITS
            ));
        }
        Ok(Self(t))
    }

    /// An optional phone: absent or blank means "not given" (a blank longer than a number
    /// may be is refused like any over-long value, and one holding a control character such
    /// as a vertical tab, which `trim` would take for white space, like any such value).
    pub fn parse_optional(raw: Option<&str>) -> Result<Option<Self>, String> {
        if let Some(s) = raw {
            reject_controls(s, "Phone")?;
        }
        match raw {
            Some(s) if s.chars().count() > Self::MAX_CHARS => Err(format!(
                "Phone must be at most {} characters.",
                Self::MAX_CHARS
            )),
            Some(s) if !s.trim().is_empty() => Self::parse(s).map(Some),
            _ => Ok(None),
        }
    }

    /// The validated number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A staff login name: 3-64 characters of `A-Z a-z 0-9 _ . -`, unique case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Shortest name, in characters.
    pub const MIN_CHARS: usize = 3;
    /// Longest name, in characters.
    pub const MAX_CHARS: usize = 64;

    /// Checks the name. It is not trimmed: spaces are simply not allowed.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let n = raw.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&n) {
            return Err(format!(
                "Username must be {}-{} characters.",
                Self::MIN_CHARS,
                Self::MAX_CHARS
            ));
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err("Username may contain only letters, digits, '_', '.' and '-'.".into());
        }
        Ok(Self(raw.to_owned()))
    }

    /// The name as chosen.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lower-cased name that uniqueness is decided on.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// A new password: 8-128 characters. It only ever lives long enough to be hashed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Shortest password, in characters.
    pub const MIN_CHARS: usize = 8;
    /// Longest password, in characters.
    pub const MAX_CHARS: usize = 128;

    /// Checks the length; passwords are never trimmed.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let n = raw.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&n) {
            return Err(format!(
                "Password must be {}-{} characters.",
                Self::MIN_CHARS,
                Self::MAX_CHARS
            ));
        }
        reject_controls(raw, "Password")?;
        Ok(Self(raw.to_owned()))
    }

    /// The secret, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A title search: a case-insensitive substring, at most 200 characters, matched literally
/// (`%`, `_` and `\` are ordinary characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SearchTerm {
    raw: String,
    folded: String,
}

impl SearchTerm {
    /// Longest accepted search, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Trims the term; a blank term means "no search" and gives `None`. The length limit
    /// counts the term as given, spaces included (it is a query parameter, not stored text).
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        reject_controls(raw, "Search")?;
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(format!(
                "Search must be at most {} characters.",
                Self::MAX_CHARS
            ));
        }
        let t = raw.trim();
        if t.is_empty() {
            return Ok(None);
        }
        if t.chars().count() > Self::MAX_CHARS {
            return Err(format!(
                "Search must be at most {} characters.",
                Self::MAX_CHARS
            ));
        }
        Ok(Some(Self {
            raw: t.to_owned(),
            folded: fold_case(t),
        }))
    }

    /// The term as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The case-folded term, to compare against [`fold_case`] of a title.
    pub fn folded(&self) -> &str {
        &self.folded
    }

    /// A SQL `LIKE` pattern matching the case-folded term anywhere, with `%`, `_` and `\`
    /// escaped (escape character `\`), for comparison with a [`fold_case`]d column.
    pub fn like_pattern(&self) -> String {
        like_contains(&self.folded)
    }
}

/// A SQL `LIKE` pattern (escape character `\`) matching `s` literally anywhere in a value.
pub fn like_contains(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The case folding every backend uses for search, so "Screen" finds "SCREEN" everywhere:
/// Unicode simple case folding (CaseFolding.txt statuses C and S), character by character and
/// free of context, so `Σ`, `σ` and `ς` all fold to `σ` wherever they stand. The one
/// uppercase letter the simple table leaves unmapped, `İ` (U+0130), takes its full folding
/// `i̇` (i and U+0307), so `i̇stanbul` finds `İstanbul` and so does `İSTANBUL`.
pub fn fold_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match unicode_case_mapping::case_folded(c).and_then(|f| char::from_u32(f.get())) {
            Some(f) => out.push(f),
            None if c == '\u{130}' => out.push_str("i\u{307}"),
            None => out.push(c),
        }
    }
    out
}

/// A `worker_id` given by a caller must name a possible account: 1 or more.
pub fn check_worker_id(id: Option<crate::ids::UserId>) -> Result<(), ValidationErrors> {
    match id {
        Some(w) if w.0 < 1 => Err(ValidationErrors::one(
            "worker_id",
            "A worker id is 1 or more.",
        )),
        _ => Ok(()),
    }
}

/// The requester's User-Agent, cut to 512 characters and never rejected: it is evidence, not
/// input. Control characters are dropped, since no stored text may hold them.
pub fn truncate_user_agent(ua: &str) -> String {
    ua.chars()
        .filter(|&c| !is_forbidden_control(c))
        .take(512)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(
            Title::parse("  Broken screen \n").unwrap().as_str(),
            "Broken screen"
        );
        assert!(Title::parse("   ").is_err());
        assert!(Title::parse(&"x".repeat(200)).is_ok());
        assert!(Title::parse(&"x".repeat(201)).is_err());
        // characters, not bytes
        assert!(Title::parse(&"é".repeat(200)).is_ok());
        assert!(Description::parse(&"d".repeat(5000)).is_ok());
        assert!(Description::parse(&"d".repeat(5001)).is_err());
        assert!(ClientName::parse(&"n".repeat(101)).is_err());
    }

    #[test]
    fn emails() {
        let e = Email::parse("  John.Doe@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "John.Doe@Example.COM");
        assert_eq!(e.key(), "john.doe@example.com");
        for bad in [
            "",
            "john",
            "john@",
            "@example.com",
            "john@example",
            "jo hn@example.com",
            "john@exa mple.com",
            "john@.example.com",
            "john@example..com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(186));
        assert_eq!(long.len(), 255);
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn phones() {
        assert!(Phone::parse("+1 (234) 567-89.0").is_ok());
        assert!(Phone::parse("+1234567890").is_ok());
        assert!(Phone::parse("1234").is_err());
        assert!(Phone::parse("++++-1234").is_err(), "needs 5 digits");
        assert!(Phone::parse("12345x").is_err());
        assert!(Phone::parse(&"1".repeat(33)).is_err());
        assert_eq!(Phone::parse_optional(Some("  ")).unwrap(), None);
        assert_eq!(Phone::parse_optional(None).unwrap(), None);
        // trim() takes a vertical tab or form feed for white space: still no blank.
        assert!(Phone::parse_optional(Some("\u{b}")).is_err());
        assert!(Phone::parse_optional(Some(" \u{c} ")).is_err());
    }

    #[test]
    fn usernames_and_passwords() {
        assert!(Username::parse("worker_1.a-b").is_ok());
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse(&"a".repeat(65)).is_err());
        assert!(Username::parse("bad name").is_err());
        assert!(Username::parse("ünï").is_err());
        assert_eq!(Username::parse("Admin").unwrap().key(), "admin");
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"p".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("secret123").unwrap()),
            "Password(***)"
        );
    }

    #[test]
    fn search_terms() {
        assert_eq!(SearchTerm::parse("  ").unwrap(), None);
        let s = SearchTerm::parse(" 50%_off\\ ").unwrap().unwrap();
        assert_eq!(s.folded(), "50%_off\\");
        assert_eq!(s.like_pattern(), "%50\\%\\_off\\\\%");
        let upper = SearchTerm::parse("ÉCRAN").unwrap().unwrap();
        assert_eq!(upper.like_pattern(), "%écran%");
        assert!(SearchTerm::parse(&"s".repeat(201)).is_err());
    }

    #[test]
    fn control_characters_are_refused_in_every_text_field() {
        assert!(Title::parse("a\u{0}b").is_err());
        assert!(Title::parse("a\u{7f}").is_err());
        assert!(Title::parse("a\u{1b}[31m").is_err());
        assert!(Description::parse("line one\r\n\tline two").is_ok());
        assert!(ClientName::parse("Ann\u{8}").is_err());
        assert!(Email::parse("a\u{0}@example.com").is_err());
        assert!(Password::parse("password\u{0}").is_err());
        assert!(SearchTerm::parse("\u{0}").is_err());
        assert!(Phone::parse("12345\u{0}").is_err());
        assert_eq!(truncate_user_agent("curl\u{0}/8"), "curl/8");
    }

    #[test]
    fn search_folds_by_simple_case_folding() {
        assert_eq!(fold_case("ΑΣ"), "ασ");
        for s in ["Σ", "σ", "ς"] {
            assert_eq!(fold_case(s), "σ");
        }
        assert_eq!(fold_case("İstanbul"), "i\u{307}stanbul");
        assert_eq!(fold_case("i\u{307}stanbul"), "i\u{307}stanbul");
        assert_eq!(fold_case("ẞ"), "ß", "simple folding keeps one character");
        assert_eq!(fold_case("ſ"), "s");
        assert_eq!(fold_case("KELVIN \u{212a}"), "kelvin k");
        let term = SearchTerm::parse("Σ").unwrap().unwrap();
        assert!(fold_case("ΑΣ").contains(term.folded()));
    }

    #[test]
    fn user_agent_is_truncated_not_rejected() {
        assert_eq!(truncate_user_agent(&"u".repeat(600)).chars().count(), 512);
        assert_eq!(truncate_user_agent("curl/8"), "curl/8");
    }

    #[test]
    fn validation_errors_collect() {
        let mut errs = ValidationErrors::default();
        assert_eq!(
            errs.check("title", Title::parse("ok"))
                .map(|t| t.into_inner()),
            Some("ok".into())
        );
        assert!(errs.check("description", Description::parse("")).is_none());
        assert_eq!(errs.0.len(), 1);
        assert_eq!(
            errs.to_string(),
            "description: Description must not be empty."
        );
    }
}
