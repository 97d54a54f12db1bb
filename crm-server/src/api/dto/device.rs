//! The device, priority and due date of a request, in and out.

use super::Text;
use crm_core::{Device, DeviceInput, DeviceKind, Priority, PublicDevice};
use poem_openapi::{Enum, Object, types::Example};

/// What sort of device.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum DeviceKindBody {
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

impl From<DeviceKindBody> for DeviceKind {
    fn from(k: DeviceKindBody) -> Self {
        match k {
            DeviceKindBody::Phone => Self::Phone,
            DeviceKindBody::Tablet => Self::Tablet,
            DeviceKindBody::Laptop => Self::Laptop,
            DeviceKindBody::Desktop => Self::Desktop,
            DeviceKindBody::Console => Self::Console,
            DeviceKindBody::Appliance => Self::Appliance,
            DeviceKindBody::Other => Self::Other,
        }
    }
}

impl From<DeviceKind> for DeviceKindBody {
    fn from(k: DeviceKind) -> Self {
        match k {
            DeviceKind::Phone => Self::Phone,
            DeviceKind::Tablet => Self::Tablet,
            DeviceKind::Laptop => Self::Laptop,
            DeviceKind::Desktop => Self::Desktop,
            DeviceKind::Console => Self::Console,
            DeviceKind::Appliance => Self::Appliance,
            DeviceKind::Other => Self::Other,
        }
    }
}

/// How urgent a job is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum PriorityBody {
    /// Whenever there is time.
    Low,
    /// The default.
    Normal,
    /// Before the normal ones.
    High,
    /// Drop everything.
    Urgent,
}

impl From<PriorityBody> for Priority {
    fn from(p: PriorityBody) -> Self {
        match p {
            PriorityBody::Low => Self::Low,
            PriorityBody::Normal => Self::Normal,
            PriorityBody::High => Self::High,
            PriorityBody::Urgent => Self::Urgent,
        }
    }
}

impl From<Priority> for PriorityBody {
    fn from(p: Priority) -> Self {
        match p {
            Priority::Low => Self::Low,
            Priority::Normal => Self::Normal,
            Priority::High => Self::High,
            Priority::Urgent => Self::Urgent,
        }
    }
}

/// The device left for repair. Every field is optional; blank text means "not given".
#[derive(Object, Debug, Default)]
#[oai(deny_unknown_fields, example)]
pub struct DeviceRequest {
    /// What sort of device.
    pub kind: Option<DeviceKindBody>,
    /// Maker, 1-64 characters.
    pub brand: Option<Text>,
    /// Model, 1-64 characters.
    pub model: Option<Text>,
    /// IMEI or serial number: 1-64 letters, digits, `-`, `/` and spaces. Staff only ever
    /// see it; the customer's progress view never shows it.
    pub serial: Option<Text>,
    /// Damage seen at intake (scratches, cracks, water), 1-1000 characters. Never public.
    pub condition: Option<Text>,
    /// What was left with it (charger, case, SIM), 1-500 characters. Never public.
    pub accessories: Option<Text>,
}

impl Example for DeviceRequest {
    fn example() -> Self {
        Self {
            kind: Some(DeviceKindBody::Laptop),
            brand: Some("Lenovo".into()),
            model: Some("ThinkPad T14".into()),
            serial: Some("PF-2X917".into()),
            condition: Some("Scratches on the lid".into()),
            accessories: Some("Charger".into()),
        }
    }
}

impl From<DeviceRequest> for DeviceInput {
    fn from(d: DeviceRequest) -> Self {
        Self {
            kind: d.kind.map(Into::into),
            brand: d.brand.map(Into::into),
            model: d.model.map(Into::into),
            serial: d.serial.map(Into::into),
            condition: d.condition.map(Into::into),
            accessories: d.accessories.map(Into::into),
        }
    }
}

/// The device as staff see it.
#[derive(Object, Debug)]
pub struct DeviceBody {
    /// What sort of device.
    pub kind: Option<DeviceKindBody>,
    /// Maker.
    pub brand: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// IMEI or serial number.
    pub serial: Option<String>,
    /// Condition at intake.
    pub condition: Option<String>,
    /// Accessories left with it.
    pub accessories: Option<String>,
}

impl From<Device> for DeviceBody {
    fn from(d: Device) -> Self {
        Self {
            kind: d.kind.map(Into::into),
            brand: d.brand,
            model: d.model,
            serial: d.serial,
            condition: d.condition,
            accessories: d.accessories,
        }
    }
}

/// What the customer's progress view says of the device: what it is, nothing more.
#[derive(Object, Debug)]
pub struct PublicDeviceBody {
    /// What sort of device.
    pub kind: Option<DeviceKindBody>,
    /// Maker.
    pub brand: Option<String>,
    /// Model.
    pub model: Option<String>,
}

impl From<PublicDevice> for PublicDeviceBody {
    fn from(d: PublicDevice) -> Self {
        Self {
            kind: d.kind.map(Into::into),
            brand: d.brand,
            model: d.model,
        }
    }
}
