//! The printed intake receipt and the device label: HTML pages made for printing, each with
//! the QR code of the customer's tracking link drawn by the server as inline SVG (the
//! `qrcode` crate encodes; nothing is fetched, nothing runs in the page). Every value is
//! escaped: customer text is printed as text.

use crate::notify::mail::escape as esc;
use chrono::{DateTime, Utc};
use crm_core::{Device, Priority, Quote, Ticket};

/// A printable page of a ticket: the shop, the ticket, its approved quote if any, and the
/// base of its tracking link.
pub type Page = fn(&ShopConfig, &Ticket, Option<&Quote>, &str) -> String;
use qrcode::{EcLevel, QrCode, render::svg};
use std::fmt::Write;

/// What the shop prints about itself (`SHOP_NAME`, `SHOP_ADDRESS`, `SHOP_PHONE`,
/// `RECEIPT_TERMS`) and where customers open the site (`PUBLIC_BASE_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopConfig {
    /// The shop's name, at the top of the receipt.
    pub name: String,
    /// Its address, one line per line.
    pub address: Option<String>,
    /// Its phone number.
    pub phone: Option<String>,
    /// The terms the customer signs.
    pub terms: String,
    /// Where the tracking link starts; without it, the address the staff member's browser
    /// used.
    pub public_base_url: Option<String>,
}

/// The terms printed when `RECEIPT_TERMS` is not set.
pub const DEFAULT_TERMS: &str = "We inspect the device and contact you with a quote before any \
    paid work. Devices not collected within 90 days of our notice that the repair is done may \
    be disposed of. We are not responsible for data on the device: keep a backup.";

impl Default for ShopConfig {
    fn default() -> Self {
        Self {
            name: "Repair shop".into(),
            address: None,
            phone: None,
            terms: DEFAULT_TERMS.into(),
            public_base_url: None,
        }
    }
}

/// The customer's tracking link: `<base>/track/<code>` (the server sends that path on to
/// the tracking page).
pub fn tracking_url(base: &str, code: &str) -> String {
    format!("{}/track/{code}", base.trim_end_matches('/'))
}

/// The QR code of a tracking link as an inline `<svg>` element, `size` pixels wide at
/// least, with its quiet zone (scanners need it).
pub fn qr_svg(text: &str, size: u32) -> String {
    labelled_qr_svg(text, size, "QR code of the tracking link")
}

/// The QR code of `text` as an inline `<svg>` element named `label` for screen readers
/// (`label` is trusted text of ours, not escaped).
pub fn labelled_qr_svg(text: &str, size: u32, label: &str) -> String {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .or_else(|_| QrCode::new(text.as_bytes()))
        .expect("a link of a few hundred bytes fits a QR code");
    let svg = code
        .render::<svg::Color<'_>>()
        .min_dimensions(size, size)
        .quiet_zone(true)
        .build();
    // Inline in HTML, the XML prolog has no place.
    match svg.find("<svg") {
        Some(i) => svg[i..].replacen(
            "<svg",
            &format!("<svg role=\"img\" aria-label=\"{label}\""),
            1,
        ),
        None => svg,
    }
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn priority_text(p: Priority) -> &'static str {
    match p {
        Priority::Low => "Low",
        Priority::Normal => "Normal",
        Priority::High => "High",
        Priority::Urgent => "Urgent",
    }
}

fn device_rows(d: Option<&Device>) -> String {
    let Some(d) = d else {
        return "<tr><th>Device</th><td>Not recorded</td></tr>".into();
    };
    let mut out = String::new();
    let mut row = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            let _ = write!(out, "<tr><th>{k}</th><td>{}</td></tr>", esc(v));
        }
    };
    row(
        "Device",
        Some(&d.summary())
            .filter(|s| !s.is_empty())
            .map(String::as_str),
    );
    row("Serial / IMEI", d.serial.as_deref());
    row("Condition at intake", d.condition.as_deref());
    row("Left with it", d.accessories.as_deref());
    out
}

const PAGE_STYLE: &str = "
body { font: 11pt/1.35 system-ui, sans-serif; color: #000; margin: 0; padding: 12mm; }
h1 { font-size: 16pt; margin: 0 0 2mm; }
.shop { margin-bottom: 5mm; }
.shop p { margin: 0; }
.number { font-size: 20pt; font-weight: 700; margin: 3mm 0; }
table { border-collapse: collapse; width: 100%; margin: 3mm 0; }
th, td { text-align: left; vertical-align: top; padding: 1.2mm 2mm; border-bottom: 0.2mm solid #999; }
th { width: 38%; font-weight: 600; }
.track { display: flex; gap: 5mm; align-items: center; margin: 4mm 0; }
.track .url { font-family: monospace; word-break: break-all; }
.terms { font-size: 9pt; margin-top: 4mm; white-space: pre-line; }
.sign { margin-top: 14mm; display: flex; gap: 10mm; }
.sign div { flex: 1; border-top: 0.3mm solid #000; padding-top: 1mm; font-size: 9pt; }
.print { margin: 0 0 5mm; }
@media print { .print { display: none; } body { padding: 0; } @page { size: A4; margin: 12mm; } }
@media print and (max-width: 90mm) { @page { size: 80mm auto; margin: 3mm; } body { font-size: 9pt; } .track { flex-direction: column; align-items: flex-start; } }
";

/// The intake receipt: the shop, the ticket number and date, the customer, the device with
/// its condition and accessories, priority and due date, the terms, a signature line, and
/// the tracking link as text and as a QR code.
pub fn receipt_html(shop: &ShopConfig, t: &Ticket, quote: Option<&Quote>, base: &str) -> String {
    let url = tracking_url(base, t.tracking_code.as_str());
    let approved = quote
        .and_then(|q| q.decision.as_ref().map(|d| (q, d)))
        .map_or_else(String::new, |(q, d)| {
            let c = crm_core::money::Currency::parse(&q.currency)
                .unwrap_or(crm_core::money::Currency::EUR);
            format!(
                "<tr><th>Approved quote</th><td>{total}, tax included (version {v}, approved by {name} on {at})</td></tr>",
                total = esc(&c.format(q.totals().total)),
                v = q.version,
                name = esc(&d.name),
                at = when(d.at),
            )
        });
    let mut shop_lines = String::new();
    for line in shop.address.iter().flat_map(|a| a.lines()) {
        let _ = write!(shop_lines, "<p>{}</p>", esc(line));
    }
    if let Some(p) = &shop.phone {
        let _ = write!(shop_lines, "<p>Phone {}</p>", esc(p));
    }
    let customer = {
        let c = &t.client;
        let mut s = esc(&c.name);
        if let Some(p) = &c.phone {
            let _ = write!(s, "<br>{}", esc(p));
        }
        let _ = write!(s, "<br>{}", esc(&c.email));
        s
    };
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Receipt #{id} · {shop_name}</title><style>{PAGE_STYLE}</style></head><body>\
         <div class=\"shop\"><h1>{shop_name}</h1>{shop_lines}</div>\
         <p class=\"number\">Repair #{id}</p>\
         <table>\
         <tr><th>Received</th><td>{received}</td></tr>\
         <tr><th>Customer</th><td>{customer}</td></tr>\
         <tr><th>Fault</th><td>{title}<br>{description}</td></tr>\
         {device}\
         <tr><th>Priority</th><td>{priority}</td></tr>\
         <tr><th>Promised for</th><td>{due}</td></tr>\
         {approved}\
         </table>\
         <div class=\"track\">{qr}<div><p>Follow your repair online:</p>\
         <p class=\"url\">{url_text}</p><p>Tracking code <strong>{code}</strong></p></div></div>\
         <p class=\"terms\">{terms}</p>\
         <div class=\"sign\"><div>Customer signature</div><div>Received by</div></div>\
         </body></html>",
        id = t.id.0,
        shop_name = esc(&shop.name),
        received = when(t.created_at),
        title = esc(&t.title),
        description = esc(&t.description),
        device = device_rows(t.device.as_ref()),
        priority = priority_text(t.priority),
        due = t.due_at.map_or_else(|| "Not set".to_owned(), when),
        qr = qr_svg(&url, 120),
        url_text = esc(&url),
        code = esc(t.tracking_code.as_str()),
        terms = esc(&shop.terms),
    )
}

/// The label stuck on the device (62 x 29 mm): ticket number, customer name, device, and the
/// same QR code.
pub fn label_html(shop: &ShopConfig, t: &Ticket, _quote: Option<&Quote>, base: &str) -> String {
    let url = tracking_url(base, t.tracking_code.as_str());
    let device = t
        .device
        .as_ref()
        .map(Device::summary)
        .filter(|s| !s.is_empty())
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Label #{id} · {shop_name}</title><style>\
         body {{ margin: 0; font: 8pt/1.2 system-ui, sans-serif; }}\
         .label {{ width: 62mm; height: 29mm; display: flex; gap: 2mm; align-items: center; padding: 1mm 2mm; box-sizing: border-box; overflow: hidden; }}\
         .label svg {{ width: 25mm; height: 25mm; flex: none; }}\
         .n {{ font-size: 14pt; font-weight: 700; }}\
         @media print {{ @page {{ size: 62mm 29mm; margin: 0; }} }}\
         </style></head><body><div class=\"label\">{qr}<div>\
         <div class=\"n\">#{id}</div><div>{name}</div><div>{device}</div></div></div></body></html>",
        id = t.id.0,
        shop_name = esc(&shop.name),
        qr = qr_svg(&url, 96),
        name = esc(&t.client.name),
        device = esc(&device),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc("<b a=\"1\">&'x'</b>"),
            "&lt;b a=&quot;1&quot;&gt;&amp;&#39;x&#39;&lt;/b&gt;"
        );
    }

    #[test]
    fn qr_codes_are_inline_svg() {
        let s = qr_svg(
            &tracking_url("https://shop.example.com/", "ABCD-EFGH-JKMN-PQRS"),
            100,
        );
        assert!(s.starts_with("<svg role=\"img\""), "{}", &s[..40]);
        assert!(!s.contains("<?xml"));
        assert_eq!(
            tracking_url("https://shop.example.com/", "ABCD"),
            "https://shop.example.com/track/ABCD"
        );
    }
}
