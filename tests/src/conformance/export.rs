//! The ticket export: every matching ticket once, in the list's order, across batches, each
//! with its worker's name and its approved quote's total.

use super::*;
use crm_core::{
    CustomerDecision, Decision, WriteLine, WriteQuote,
    money::{Currency, LineKind},
    service::{EXPORT_BATCH, ExportRow},
};

async fn export_all<S: Store + Clone>(
    f: &Fixture<S>,
    actor: &Actor,
    req: ListTickets,
) -> Result<Vec<ExportRow>, CoreError> {
    let mut export = f.crm.export_tickets(actor, req)?;
    let mut rows = Vec::new();
    while let Some(batch) = export.next_batch().await? {
        assert!(batch.len() <= EXPORT_BATCH as usize);
        rows.extend(batch);
    }
    Ok(rows)
}

/// More tickets than two batches are walked once each, newest first (or in the asked
/// order), with the filters of a list; the worker's name and an approved quote's total come
/// along. Only admins export, and a bad filter is refused by field before anything is read.
pub async fn export_walks_every_ticket_in_batches<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let n = EXPORT_BATCH as usize * 2 + 7;
    for i in 0..n - 1 {
        f.submit(&format!("Ticket {i}")).await;
    }
    let t = f.assigned("Cracked screen", &f.worker).await;
    f.set(&f.worker, t.id, InProgress).await.unwrap();
    let q = f
        .crm
        .create_quote(
            &f.worker,
            t.id,
            WriteQuote {
                lines: Some(vec![WriteLine {
                    kind: LineKind::Part,
                    description: "Screen".into(),
                    quantity: 1,
                    unit_price: 12999,
                }]),
                tax_rate: Some(1900),
                valid_days: Some(7),
                note: None,
            },
        )
        .await
        .unwrap();
    f.crm.send_quote(&f.worker, t.id, q.id).await.unwrap();
    f.crm
        .decide_quote(
            t.tracking_code.as_str(),
            CustomerDecision {
                quote_id: q.id.0,
                decision: Decision::Approve,
                name: "Jane Customer".into(),
                comment: None,
                ip: None,
                user_agent: None,
            },
        )
        .await
        .unwrap();

    let rows = export_all(&f, &f.admin, ListTickets::default())
        .await
        .unwrap();
    assert_eq!(rows.len(), n);
    let ids: Vec<i64> = rows.iter().map(|r| r.ticket.id.0).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted, "newest first, each once");
    let mine = &rows[0];
    assert_eq!(mine.ticket.id, t.id);
    assert_eq!(mine.worker.as_deref(), Some("worker"));
    let approved = mine.approved.unwrap();
    // 129.99 plus 19% tax (24.6981), rounded half to even.
    assert_eq!((approved.total, approved.currency), (15469, Currency::EUR));
    assert!(
        rows[1..]
            .iter()
            .all(|r| r.worker.is_none() && r.approved.is_none())
    );

    let oldest = export_all(
        &f,
        &f.admin,
        ListTickets {
            sort: Some(TicketSort::Oldest),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(oldest.len(), n);
    assert_eq!(oldest.last().unwrap().ticket.id, t.id);
    let started = export_all(&f, &f.admin, list(Some(InProgress), None, None))
        .await
        .unwrap();
    assert_eq!(
        started.iter().map(|r| r.ticket.id).collect::<Vec<_>>(),
        [t.id]
    );
    // The list's page parameters do not cut an export short.
    let all = export_all(
        &f,
        &f.admin,
        ListTickets {
            size: Some(5),
            page: Some(3),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(all.len(), n);

    assert!(matches!(
        f.crm.export_tickets(&f.worker, ListTickets::default()),
        Err(CoreError::Forbidden(_))
    ));
    let e = f
        .crm
        .export_tickets(
            &f.admin,
            ListTickets {
                stage_id: Some(crm_core::StageId(0)),
                ..Default::default()
            },
        )
        .err()
        .unwrap();
    assert_eq!(fields(&e), ["stage_id"]);
}
