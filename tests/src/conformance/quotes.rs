//! Quotes: drafts and their checks, sending and superseding, expiry by time, the customer's
//! decision made once (also when decisions race), the list filter, events and the e-mail.

use super::*;
use crm_core::{
    CustomerDecision, Decision, QuoteListState, QuoteState, WriteLine, WriteQuote,
    money::LineKind,
    notify::{MailKind, Target},
};

fn line(description: &str, quantity: i64, unit_price: i64) -> WriteLine {
    WriteLine {
        kind: LineKind::Part,
        description: description.into(),
        quantity,
        unit_price,
    }
}

fn draft(lines: Vec<WriteLine>) -> WriteQuote {
    WriteQuote {
        lines: Some(lines),
        tax_rate: Some(1900),
        valid_days: Some(7),
        note: Some(Some("Six months' warranty on the part.".into())),
    }
}

fn decision(quote: crm_core::QuoteId, d: Decision) -> CustomerDecision {
    CustomerDecision {
        quote_id: quote.0,
        decision: d,
        name: "  Jane Customer ".into(),
        comment: Some("Go ahead.".into()),
        ip: Some("198.51.100.7".into()),
        user_agent: Some("Mozilla/5.0".into()),
    }
}

fn fields(e: &CoreError) -> Vec<String> {
    match e {
        CoreError::Validation(v) => v.0.iter().map(|f| f.field.clone()).collect(),
        other => panic!("not a validation error: {other:?}"),
    }
}

async fn quoted<S: Store + Clone>(f: &Fixture<S>, p: &[TicketId]) -> Vec<TicketId> {
    let mut out = Vec::new();
    for state in [
        QuoteListState::Awaiting,
        QuoteListState::Approved,
        QuoteListState::Declined,
    ] {
        let page = f
            .crm
            .list_tickets(
                &f.admin,
                ListTickets {
                    quote: Some(state),
                    ..ListTickets::default()
                },
            )
            .await
            .unwrap();
        out.extend(page.items.iter().map(|t| t.id).filter(|id| p.contains(id)));
        out.push(TicketId(0));
    }
    out
}

/// Drafts are checked field by field and stored as numbered versions with their totals; only
/// a draft changes; sending supersedes the version sent before; the customer sees the latest
/// sent one, decides it once, and a decision on a superseded or expired version is refused.
pub async fn quotes_are_drafted_sent_superseded_and_decided_once<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let t = f.assigned("Quoted phone", &f.worker).await;
    let code = t.tracking_code.as_str().to_owned();

    let bad = WriteQuote {
        lines: Some(vec![line(" ", 0, -1), line("Screen", 1, 8999)]),
        tax_rate: Some(10_001),
        valid_days: Some(91),
        note: None,
    };
    let e = f.crm.create_quote(&f.worker, t.id, bad).await.unwrap_err();
    assert_eq!(
        fields(&e),
        [
            "lines[0].description",
            "lines[0].quantity",
            "lines[0].unit_price",
            "tax_rate",
            "valid_days"
        ]
    );
    let e = f
        .crm
        .create_quote(&f.worker, t.id, draft(Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(fields(&e), ["lines"]);
    let e = f
        .crm
        .create_quote(&f.other, t.id, draft(vec![line("Screen", 1, 100)]))
        .await
        .unwrap_err();
    assert!(matches!(e, CoreError::NotFound("Ticket")), "{e:?}");
    assert_eq!(f.crm.quotes(&f.admin, t.id).await.unwrap(), []);

    let v1 = f
        .crm
        .create_quote(
            &f.worker,
            t.id,
            draft(vec![line("Screen", 1, 8999), line("Fitting", 1, 2500)]),
        )
        .await
        .unwrap();
    assert_eq!((v1.version, v1.currency.as_str()), (1, "EUR"));
    let totals = v1.totals();
    // 114.99 + 19% = 21.8481 -> 21.85.
    assert_eq!(
        (totals.subtotal, totals.tax, totals.total),
        (11499, 2185, 13684)
    );
    assert_eq!(v1.state(f.clock.now()), QuoteState::Draft);
    let e = f.crm.public_quote(&code).await.unwrap_err();
    assert!(
        matches!(e, CoreError::NotFound("Quote")),
        "a draft is not shown: {e:?}"
    );

    // A draft is corrected field by field.
    let edited = f
        .crm
        .edit_quote(
            &f.worker,
            t.id,
            v1.id,
            WriteQuote {
                tax_rate: Some(700),
                note: Some(None),
                ..WriteQuote::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            edited.tax_rate.basis_points(),
            edited.note.clone(),
            edited.lines.len()
        ),
        (700, None, 2)
    );

    f.tick();
    let sent1 = f.crm.send_quote(&f.worker, t.id, v1.id).await.unwrap();
    assert_eq!(sent1.sent_at, Some(f.clock.now()));
    let e = f.crm.send_quote(&f.worker, t.id, v1.id).await.unwrap_err();
    assert_eq!(e.code(), "quote_not_open");
    let e = f
        .crm
        .edit_quote(&f.worker, t.id, v1.id, draft(vec![line("x", 1, 1)]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "quote_not_open", "a sent version never changes");
    assert_eq!(f.crm.public_quote(&code).await.unwrap().id, v1.id);
    assert_eq!(
        quoted(&f, &[t.id]).await,
        [t.id, TicketId(0), TicketId(0), TicketId(0)]
    );

    // A second version, sent: the first is superseded and can no longer be decided.
    let v2 = f
        .crm
        .create_quote(&f.admin, t.id, draft(vec![line("Screen (OEM)", 1, 12999)]))
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    f.tick();
    f.crm.send_quote(&f.admin, t.id, v2.id).await.unwrap();
    let all = f.crm.quotes(&f.admin, t.id).await.unwrap();
    let now = f.clock.now();
    assert_eq!(
        all.iter().map(|q| q.state(now)).collect::<Vec<_>>(),
        [QuoteState::Superseded, QuoteState::Sent]
    );
    let e = f
        .crm
        .decide_quote(&code, decision(v1.id, Decision::Approve))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "quote_not_open");
    assert_eq!(f.crm.public_quote(&code).await.unwrap().id, v2.id);

    // The customer's decision: the name is required and trimmed; recorded once.
    let mut nameless = decision(v2.id, Decision::Approve);
    nameless.name = "   ".into();
    let e = f.crm.decide_quote(&code, nameless).await.unwrap_err();
    assert_eq!(fields(&e), ["name"]);
    let e = f
        .crm
        .decide_quote("ZZZZ-ZZZZ-ZZZZ-ZZZZ", decision(v2.id, Decision::Approve))
        .await
        .unwrap_err();
    assert!(matches!(e, CoreError::NotFound(_)), "{e:?}");
    f.tick();
    let approved = f
        .crm
        .decide_quote(&code, decision(v2.id, Decision::Approve))
        .await
        .unwrap();
    let d = approved.decision.clone().unwrap();
    assert_eq!(
        (d.decision, d.name.as_str(), d.at, d.ip.as_deref()),
        (
            Decision::Approve,
            "Jane Customer",
            f.clock.now(),
            Some("198.51.100.7")
        )
    );
    let e = f
        .crm
        .decide_quote(&code, decision(v2.id, Decision::Decline))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "quote_decided");
    assert_eq!(
        f.crm
            .public_quote(&code)
            .await
            .unwrap()
            .state(f.clock.now()),
        QuoteState::Approved
    );
    assert_eq!(
        quoted(&f, &[t.id]).await,
        [TicketId(0), t.id, TicketId(0), TicketId(0)]
    );
    let now = f.crm.get_ticket(&f.admin, t.id).await.unwrap();
    assert_eq!(now.quote.map(|q| q.state), Some(QuoteState::Approved));

    // The history: each send by its sender, the decision by nobody (the customer).
    let h = f.crm.history(&f.admin, t.id).await.unwrap();
    let quote_events: Vec<(EventKind, Option<UserId>, Option<i64>)> = h
        .iter()
        .filter(|e| matches!(e.kind, EventKind::QuoteSent | EventKind::QuoteDecided))
        .map(|e| (e.kind, e.actor_id, e.item_id))
        .collect();
    assert_eq!(
        quote_events,
        [
            (EventKind::QuoteSent, Some(f.worker.id), Some(v1.id.0)),
            (EventKind::QuoteSent, Some(f.admin.id), Some(v2.id.0)),
            (EventKind::QuoteDecided, None, Some(v2.id.0)),
        ]
    );
}

/// A sent quote expires `valid_days` after sending by time alone: the customer can no longer
/// decide it, and it leaves the "awaiting" list; a declined one is listed as declined. Sending
/// records the customer's quote e-mail.
pub async fn quotes_expire_by_time_and_are_filtered<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    f.crm.set_mail_enabled(true).await.unwrap();
    let a = f.assigned("Expiring laptop", &f.worker).await;
    let b = f.assigned("Declined console", &f.worker).await;
    let qa = f
        .crm
        .create_quote(&f.worker, a.id, draft(vec![line("Battery", 1, 5900)]))
        .await
        .unwrap();
    let qb = f
        .crm
        .create_quote(&f.worker, b.id, draft(vec![line("Fan", 2, 1500)]))
        .await
        .unwrap();
    f.crm.send_quote(&f.worker, a.id, qa.id).await.unwrap();
    f.crm.send_quote(&f.worker, b.id, qb.id).await.unwrap();
    // Newest first: b, then a.
    assert_eq!(
        quoted(&f, &[a.id, b.id]).await,
        [b.id, a.id, TicketId(0), TicketId(0), TicketId(0)]
    );
    f.crm
        .decide_quote(b.tracking_code.as_str(), decision(qb.id, Decision::Decline))
        .await
        .unwrap();
    // Seven days later the laptop's quote has lapsed.
    f.clock.advance(TimeDelta::days(7));
    let e = f
        .crm
        .decide_quote(a.tracking_code.as_str(), decision(qa.id, Decision::Approve))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "quote_not_open");
    assert_eq!(
        f.crm
            .public_quote(a.tracking_code.as_str())
            .await
            .unwrap()
            .state(f.clock.now()),
        QuoteState::Expired
    );
    assert_eq!(
        quoted(&f, &[a.id, b.id]).await,
        [TicketId(0), TicketId(0), b.id, TicketId(0)]
    );

    // The customer's e-mails of one ticket go out in order: deliver until none is left.
    let mut quote_mails = Vec::new();
    loop {
        f.crm.store().sequence().await.unwrap();
        let claims = f
            .crm
            .claim_notifications(TimeDelta::seconds(60), 100)
            .await
            .unwrap();
        if claims.is_empty() {
            break;
        }
        for c in &claims {
            if c.delivery.target == Target::Mail(MailKind::Quote) {
                quote_mails.push((c.delivery.ticket_id, c.delivery.item_id));
            }
            let done = crm_core::notify::AttemptOutcome {
                at: f.clock.now(),
                payload: "{}".into(),
                status_code: None,
                error: None,
                next: crm_core::notify::NextStep::Delivered,
            };
            assert!(f.crm.finish_notification(c, done).await.unwrap());
        }
    }
    quote_mails.sort_by_key(|(t, _)| t.0);
    assert_eq!(quote_mails, [(a.id, Some(qa.id.0)), (b.id, Some(qb.id.0))]);
}

/// Many decisions racing on one quote record exactly one; every other is told it was decided.
pub async fn racing_decisions_record_one<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let t = f.assigned("Racing decisions", &f.worker).await;
    let q = f
        .crm
        .create_quote(&f.worker, t.id, draft(vec![line("Hinge", 1, 3000)]))
        .await
        .unwrap();
    f.crm.send_quote(&f.worker, t.id, q.id).await.unwrap();
    let code = t.tracking_code.as_str().to_owned();
    let racing = (0..12).map(|i| {
        let crm = f.crm.clone();
        let code = code.clone();
        let d = if i % 2 == 0 {
            Decision::Approve
        } else {
            Decision::Decline
        };
        tokio::spawn(async move { crm.decide_quote(&code, decision(q.id, d)).await })
    });
    let mut won = Vec::new();
    for r in join_all(racing).await {
        match r.unwrap() {
            Ok(q) => won.push(q.decision.unwrap().decision),
            Err(e) => assert_eq!(e.code(), "quote_decided", "{e:?}"),
        }
    }
    assert_eq!(won.len(), 1, "{won:?}");
    let stored = f.crm.public_quote(&code).await.unwrap();
    assert_eq!(stored.decision.map(|d| d.decision), Some(won[0]));
    let decided = f
        .crm
        .history(&f.admin, t.id)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == EventKind::QuoteDecided)
        .count();
    assert_eq!(decided, 1);
}
