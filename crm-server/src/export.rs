//! The CSV of an export: written with the `csv` crate (quoting, embedded newlines and
//! quotes are its job), one batch at a time, with every cell a spreadsheet could take for a
//! formula neutralised.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use crm_core::service::ExportRow;

/// The columns, in order.
pub const COLUMNS: &[&str] = &[
    "id",
    "created_at",
    "title",
    "status",
    "stage",
    "customer_name",
    "customer_email",
    "customer_phone",
    "device_kind",
    "device_brand",
    "device_model",
    "device_serial",
    "priority",
    "due_at",
    "worker",
    "assigned_at",
    "in_progress_at",
    "done_at",
    "approved_total",
    "currency",
];

/// A cell as a spreadsheet must read it: text beginning with `=`, `+`, `-`, `@`, a tab or a
/// carriage return would be taken for a formula (`=HYPERLINK(...)` in a customer's name), so
/// it gets a leading `'`, which spreadsheets show as text and do not evaluate.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The header line.
pub fn header() -> Bytes {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(256));
    w.write_record(COLUMNS)
        .expect("writing to memory cannot fail");
    Bytes::from(w.into_inner().expect("writing to memory cannot fail"))
}

/// One batch of rows.
pub fn rows(batch: &[ExportRow]) -> Bytes {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(batch.len() * 256));
    for r in batch {
        let t = &r.ticket;
        let device = t.device.as_ref();
        let text = |s: Option<&str>| s.unwrap_or_default().to_owned();
        let cells: [String; 20] = [
            t.id.0.to_string(),
            time(Some(t.created_at)),
            t.title.clone(),
            t.status.as_str().to_owned(),
            text(t.stage.as_ref().map(|s| s.name.as_str())),
            t.client.name.clone(),
            t.client.email.clone(),
            text(t.client.phone.as_deref()),
            text(device.and_then(|d| d.kind).map(|k| k.as_str())),
            text(device.and_then(|d| d.brand.as_deref())),
            text(device.and_then(|d| d.model.as_deref())),
            text(device.and_then(|d| d.serial.as_deref())),
            t.priority.as_str().to_owned(),
            time(t.due_at),
            r.worker.clone().unwrap_or_default(),
            time(t.assigned_at),
            time(t.in_progress_at),
            time(t.done_at),
            r.approved
                .map(|a| a.currency.decimal(a.total))
                .unwrap_or_default(),
            r.approved
                .map(|a| a.currency.code().to_owned())
                .unwrap_or_default(),
        ];
        w.write_record(cells.iter().map(|c| neutralise(c).into_owned()))
            .expect("writing to memory cannot fail");
    }
    Bytes::from(w.into_inner().expect("writing to memory cannot fail"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_other_text_kept() {
        for (cell, want) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+49 30 1234", "'+49 30 1234"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("Ana = fine", "Ana = fine"),
            ("", ""),
            ("12.50", "12.50"),
        ] {
            assert_eq!(neutralise(cell), want);
        }
        assert_eq!(header().len(), COLUMNS.join(",").len() + 1);
    }
}
