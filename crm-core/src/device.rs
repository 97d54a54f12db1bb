//! What the shop writes down at the counter: the device left for repair, how urgent the job
//! is and when it was promised.

use crate::input::{ValidationErrors, reject_controls};
use serde::{Deserialize, Serialize};

/// What sort of device it is: the shop's first question, and what the customer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// A mobile phone.
    Phone,
    /// A tablet.
    Tablet,
    /// A laptop.
    Laptop,
    /// A desktop computer.
    Desktop,
    /// A games console.
    Console,
    /// A household appliance.
    Appliance,
    /// Anything else.
    Other,
}

impl DeviceKind {
    /// Every kind, in the order forms offer them.
    pub const ALL: [Self; 7] = [
        Self::Phone,
        Self::Tablet,
        Self::Laptop,
        Self::Desktop,
        Self::Console,
        Self::Appliance,
        Self::Other,
    ];

    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Tablet => "tablet",
            Self::Laptop => "laptop",
            Self::Desktop => "desktop",
            Self::Console => "console",
            Self::Appliance => "appliance",
            Self::Other => "other",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How urgent a job is; staff set it, customers never do.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Whenever there is time.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Before the normal ones.
    High,
    /// Drop everything.
    Urgent,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Self; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];

    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// The device as received, before validation: every field optional, blank means absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceInput {
    /// What sort of device.
    pub kind: Option<DeviceKind>,
    /// Maker.
    pub brand: Option<String>,
    /// Model name or number.
    pub model: Option<String>,
    /// IMEI or serial number.
    pub serial: Option<String>,
    /// Damage seen at intake (scratches, cracks, water).
    pub condition: Option<String>,
    /// What was left with it (charger, case, SIM).
    pub accessories: Option<String>,
}

/// A validated device. At least one field is set (a device with nothing known is no device).
///
/// `serial`, `condition` and `accessories` are the shop's records: they appear in the staff
/// view and on the receipt, never in the customer's progress view (see [`PublicDevice`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Device {
    /// What sort of device.
    pub kind: Option<DeviceKind>,
    /// Maker, 1-64 characters.
    pub brand: Option<String>,
    /// Model, 1-64 characters.
    pub model: Option<String>,
    /// IMEI or serial number: 1-64 letters, digits, `-`, `/` and spaces.
    pub serial: Option<String>,
    /// Condition at intake, 1-1000 characters.
    pub condition: Option<String>,
    /// Accessories left with it, 1-500 characters.
    pub accessories: Option<String>,
}

/// What a customer's progress view tells of the device: what it is, never its serial, its
/// condition or what was left with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicDevice {
    /// What sort of device.
    pub kind: Option<DeviceKind>,
    /// Maker.
    pub brand: Option<String>,
    /// Model.
    pub model: Option<String>,
}

/// Length limits of the device's texts, in characters after trimming.
pub mod limits {
    /// Brand and model.
    pub const NAME_MAX: usize = 64;
    /// Serial or IMEI.
    pub const SERIAL_MAX: usize = 64;
    /// Condition at intake.
    pub const CONDITION_MAX: usize = 1000;
    /// Accessories.
    pub const ACCESSORIES_MAX: usize = 500;
}

/// An optional text field: absent or blank is `None`; otherwise trimmed and at most `max`
/// characters.
fn optional_text(raw: Option<String>, what: &str, max: usize) -> Result<Option<String>, String> {
    let Some(raw) = raw else { return Ok(None) };
    reject_controls(&raw, what)?;
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.chars().count() > max {
        return Err(format!("{what} must be at most {max} characters."));
    }
    Ok(Some(t.to_owned()))
}

impl Device {
    /// Validates a device, naming each bad field `device.<name>` in `errs`. `None` when the
    /// input was absent or held nothing.
    pub fn parse(input: Option<DeviceInput>, errs: &mut ValidationErrors) -> Option<Self> {
        let i = input?;
        let brand = errs.check(
            "device.brand",
            optional_text(i.brand, "Brand", limits::NAME_MAX),
        );
        let model = errs.check(
            "device.model",
            optional_text(i.model, "Model", limits::NAME_MAX),
        );
        let serial = errs.check(
            "device.serial",
            optional_text(i.serial, "Serial number", limits::SERIAL_MAX).and_then(|s| match &s {
                Some(v)
                    if !v
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | ' ')) =>
                {
                    Err(
                        "Serial number may contain only letters, digits, spaces, '-' and '/'."
                            .into(),
                    )
                }
                _ => Ok(s),
            }),
        );
        let condition = errs.check(
            "device.condition",
            optional_text(i.condition, "Condition", limits::CONDITION_MAX),
        );
        let accessories = errs.check(
            "device.accessories",
            optional_text(i.accessories, "Accessories", limits::ACCESSORIES_MAX),
        );
        let d = Self {
            kind: i.kind,
            brand: brand?,
            model: model?,
            serial: serial?,
            condition: condition?,
            accessories: accessories?,
        };
        (!d.is_empty()).then_some(d)
    }

    /// True when nothing at all is known about the device.
    pub fn is_empty(&self) -> bool {
        self.kind.is_none()
            && self.brand.is_none()
            && self.model.is_none()
            && self.serial.is_none()
            && self.condition.is_none()
            && self.accessories.is_none()
    }

    /// What the customer's progress view shows; `None` when none of it is known.
    pub fn public(&self) -> Option<PublicDevice> {
        (self.kind.is_some() || self.brand.is_some() || self.model.is_some()).then(|| {
            PublicDevice {
                kind: self.kind,
                brand: self.brand.clone(),
                model: self.model.clone(),
            }
        })
    }

    /// The serial as searches compare it (see [`serial_key`]).
    pub fn serial_key(&self) -> Option<String> {
        self.serial.as_deref().map(serial_key)
    }

    /// One line for a list or a label: "Laptop · Lenovo T14".
    pub fn summary(&self) -> String {
        let name = [self.brand.as_deref(), self.model.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        match (self.kind, name.is_empty()) {
            (Some(k), true) => k.as_str().to_owned(),
            (Some(k), false) => format!("{} · {name}", k.as_str()),
            (None, _) => name,
        }
    }
}

/// A serial number as searches compare it: upper case, spaces dropped, so `35 209 x` finds
/// `35209X`.
pub fn serial_key(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The digits of a phone number as searches compare them: everything but digits dropped.
pub fn phone_digits(raw: &str) -> String {
    raw.chars().filter(char::is_ascii_digit).collect()
}

/// A phone fragment as typed into a search: its digits, with a leading national trunk `0`
/// dropped, so `0171 234` and `171-234` both find `+49 171 2345678`. `None` when the
/// fragment has fewer than 3 digits (too short to mean a number) or holds anything but digits,
/// spaces and `+ - ( ) .`.
pub fn phone_fragment(raw: &str) -> Option<String> {
    let t = raw.trim();
    if !t
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'))
    {
        return None;
    }
    let digits = phone_digits(t);
    let digits = match digits.strip_prefix('0') {
        Some(rest) if !t.starts_with('+') && !rest.starts_with('0') => rest.to_owned(),
        _ => digits,
    };
    (digits.len() >= 3).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(i: DeviceInput) -> (Option<Device>, Vec<String>) {
        let mut errs = ValidationErrors::default();
        let d = Device::parse(Some(i), &mut errs);
        (d, errs.0.into_iter().map(|e| e.field).collect())
    }

    #[test]
    fn devices_are_trimmed_limited_and_blank_is_absent() {
        let (d, errs) = parse(DeviceInput {
            kind: Some(DeviceKind::Laptop),
            brand: Some("  Lenovo ".into()),
            model: Some("".into()),
            serial: Some(" PF-2X/91 7 ".into()),
            condition: Some("Scratched lid".into()),
            accessories: None,
        });
        assert!(errs.is_empty());
        let d = d.unwrap();
        assert_eq!(d.brand.as_deref(), Some("Lenovo"));
        assert_eq!(d.model, None);
        assert_eq!(d.serial.as_deref(), Some("PF-2X/91 7"));
        assert_eq!(d.serial_key().as_deref(), Some("PF-2X/917"));
        assert_eq!(d.summary(), "laptop · Lenovo");
        let p = d.public().unwrap();
        assert_eq!(
            (p.kind, p.brand.as_deref()),
            (Some(DeviceKind::Laptop), Some("Lenovo"))
        );

        let (d, errs) = parse(DeviceInput::default());
        assert_eq!((d, errs.len()), (None, 0), "an empty device is no device");

        let (d, errs) = parse(DeviceInput {
            brand: Some("b".repeat(65)),
            model: Some("m".repeat(64)),
            serial: Some("12#4".into()),
            condition: Some("c".repeat(1001)),
            accessories: Some("a\u{0}".into()),
            ..Default::default()
        });
        assert_eq!(d, None);
        assert_eq!(
            errs,
            [
                "device.brand",
                "device.serial",
                "device.condition",
                "device.accessories"
            ]
        );
        assert!(Device::parse(None, &mut ValidationErrors::default()).is_none());
    }

    #[test]
    fn phone_fragments_drop_formatting_and_the_trunk_zero() {
        assert_eq!(phone_digits("+49 (171) 234-5678"), "491712345678");
        assert_eq!(phone_fragment("0171 234").as_deref(), Some("171234"));
        assert_eq!(phone_fragment("171-234").as_deref(), Some("171234"));
        assert_eq!(phone_fragment("+49 171").as_deref(), Some("49171"));
        assert_eq!(phone_fragment("0044 20").as_deref(), Some("004420"));
        assert_eq!(phone_fragment("12"), None);
        assert_eq!(phone_fragment("jane"), None);
        assert_eq!(serial_key(" 35 209x "), "35209X");
    }

    #[test]
    fn names_round_trip() {
        for k in DeviceKind::ALL {
            assert_eq!(DeviceKind::parse(k.as_str()), Some(k));
        }
        for p in Priority::ALL {
            assert_eq!(Priority::parse(p.as_str()), Some(p));
        }
        assert_eq!(Priority::default(), Priority::Normal);
        assert_eq!(DeviceKind::parse("toaster"), None);
    }
}
