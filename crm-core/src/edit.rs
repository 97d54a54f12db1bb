//! Correcting a ticket after intake: JSON merge-patch semantics (a field left out stays, `null`
//! clears an optional one, a value replaces), checked like intake, recorded as one `edited`
//! event listing every changed field with its old and new value.

use crate::{
    device::{Device, DeviceInput, DeviceKind, Priority},
    history::{FieldChange, NewEvent},
    ids::TicketId,
    input::{Description, Title, ValidationErrors},
    store::ExpectedState,
    ticket::Ticket,
};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One field of a merge patch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Left out: unchanged.
    #[default]
    Keep,
    /// `null`: cleared.
    Clear,
    /// A new value.
    Set(T),
}

impl<T> Patch<T> {
    /// The value after the patch, given the value before.
    pub fn apply(self, before: Option<T>) -> Option<T> {
        match self {
            Self::Keep => before,
            Self::Clear => None,
            Self::Set(v) => Some(v),
        }
    }

    /// Whether the patch leaves the field alone.
    pub fn is_keep(&self) -> bool {
        matches!(self, Self::Keep)
    }
}

/// A merge patch of the device: each field kept, cleared or replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DevicePatch {
    /// What sort of device.
    pub kind: Patch<DeviceKind>,
    /// Maker.
    pub brand: Patch<String>,
    /// Model.
    pub model: Patch<String>,
    /// IMEI or serial number.
    pub serial: Patch<String>,
    /// Condition at intake.
    pub condition: Patch<String>,
    /// Accessories.
    pub accessories: Patch<String>,
}

/// A correction as received, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditTicket {
    /// A new title (it cannot be cleared).
    pub title: Option<String>,
    /// A new description (it cannot be cleared).
    pub description: Option<String>,
    /// The device: kept, cleared (`null`), or patched field by field.
    pub device: Patch<DevicePatch>,
    /// The priority; clearing it sets `normal`.
    pub priority: Patch<Priority>,
    /// The promised time.
    pub due_at: Patch<DateTime<Utc>>,
}

/// What a store writes for an edit: the new values, compared and set against the ticket as it
/// was read (its `updated_at` and the state its event records), and the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketEdit {
    /// The ticket.
    pub ticket_id: TicketId,
    /// Its `updated_at` when read: a change in between makes the edit stale.
    pub expected_updated_at: DateTime<Utc>,
    /// Its status and worker when read.
    pub expected: ExpectedState,
    /// The title after the edit.
    pub title: Title,
    /// The description after the edit.
    pub description: Description,
    /// The device after the edit.
    pub device: Option<Device>,
    /// The priority after the edit.
    pub priority: Priority,
    /// The promised time after the edit.
    pub due_at: Option<DateTime<Utc>>,
    /// When.
    pub at: DateTime<Utc>,
    /// The `edited` event.
    pub event: NewEvent,
}

fn json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// The device after `patch`, as the raw input intake validates.
fn patched_device(before: Option<&Device>, patch: DevicePatch) -> DeviceInput {
    let b = before.cloned().unwrap_or_default();
    DeviceInput {
        kind: patch.kind.apply(b.kind),
        brand: patch.brand.apply(b.brand),
        model: patch.model.apply(b.model),
        serial: patch.serial.apply(b.serial),
        condition: patch.condition.apply(b.condition),
        accessories: patch.accessories.apply(b.accessories),
    }
}

/// A ticket's values after an edit, checked, and what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The title after.
    pub title: Title,
    /// The description after.
    pub description: Description,
    /// The device after.
    pub device: Option<Device>,
    /// The priority after.
    pub priority: Priority,
    /// The promised time after.
    pub due_at: Option<DateTime<Utc>>,
    /// The fields that changed, in the order the API lists them.
    pub changes: Vec<FieldChange>,
}

/// The values after `edit` applied to `t`, validated like intake, and the changed fields;
/// every invalid field is reported at once.
pub fn plan(t: &Ticket, edit: EditTicket) -> Result<Planned, ValidationErrors> {
    let mut errs = ValidationErrors::default();
    let title = match edit.title {
        Some(raw) => errs.check("title", Title::parse_owned(raw)),
        None => Title::parse(&t.title).ok(),
    };
    let description = match edit.description {
        Some(raw) => errs.check("description", Description::parse_owned(raw)),
        None => Description::parse(&t.description).ok(),
    };
    let device = match edit.device {
        Patch::Keep => t.device.clone(),
        Patch::Clear => None,
        Patch::Set(p) => Device::parse(Some(patched_device(t.device.as_ref(), p)), &mut errs),
    };
    let priority = match edit.priority {
        Patch::Keep => t.priority,
        Patch::Clear => Priority::Normal,
        Patch::Set(p) => p,
    };
    let due_at = edit.due_at.apply(t.due_at);
    let (Some(title), Some(description)) = (title, description) else {
        return Err(errs);
    };
    if !errs.is_empty() {
        return Err(errs);
    }
    let mut changes = Vec::new();
    let mut note = |field: &str, from: serde_json::Value, to: serde_json::Value| {
        if from != to {
            changes.push(FieldChange {
                field: field.into(),
                from,
                to,
            });
        }
    };
    note("title", json(&t.title), json(&title.as_str()));
    note(
        "description",
        json(&t.description),
        json(&description.as_str()),
    );
    note("device", json(&t.device), json(&device));
    note("priority", json(&t.priority), json(&priority));
    note("due_at", json(&t.due_at), json(&due_at));
    Ok(Planned {
        title,
        description,
        device,
        priority,
        due_at,
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_keeps_clears_and_replaces() {
        assert_eq!(Patch::<u8>::Keep.apply(Some(1)), Some(1));
        assert_eq!(Patch::<u8>::Clear.apply(Some(1)), None);
        assert_eq!(Patch::Set(2).apply(Some(1)), Some(2));
        let before = Device {
            brand: Some("Lenovo".into()),
            serial: Some("X1".into()),
            ..Default::default()
        };
        let d = patched_device(
            Some(&before),
            DevicePatch {
                serial: Patch::Clear,
                model: Patch::Set("T14".into()),
                ..Default::default()
            },
        );
        assert_eq!(
            (d.brand.as_deref(), d.model.as_deref(), d.serial),
            (Some("Lenovo"), Some("T14"), None)
        );
    }
}
