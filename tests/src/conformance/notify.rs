//! The outbox: notifications recorded exactly with their committed changes, leases and
//! fencing, e-mail order per ticket, racing workers, and the delivery log with 410 and retry.

use super::*;
use crm_core::notify::{
    AttemptOutcome, Claim, DeliveryStatus, MailKind, NextStep, Target, Topic, WebhookEndpoint,
};

const LEASE: TimeDelta = TimeDelta::seconds(60);

async fn hook<S: Store + Clone>(f: &Fixture<S>, events: &[&str]) -> WebhookEndpoint {
    let events: Vec<String> = events.iter().map(|e| e.to_string()).collect();
    f.crm
        .create_webhook(&f.admin, "https://hooks.example.com/in", &events)
        .await
        .unwrap()
}

/// Takes due notifications, once what has committed has its position (a notification is
/// delivered only after its event has one, as the live hub gives it).
async fn claim<S: Store + Clone>(f: &Fixture<S>, limit: u32) -> Vec<Claim> {
    f.crm.store().sequence().await.unwrap();
    f.crm.claim_notifications(LEASE, limit).await.unwrap()
}

fn outcome<S: Store + Clone>(f: &Fixture<S>, next: NextStep) -> AttemptOutcome {
    AttemptOutcome {
        at: f.clock.now(),
        payload: "{}".into(),
        status_code: Some(500),
        error: Some("HTTP 500".into()),
        next,
    }
}

/// (event seq, target) of every claim, in claim order.
fn targets(claims: &[Claim]) -> Vec<(i64, Target)> {
    claims
        .iter()
        .map(|c| (c.delivery.seq, c.delivery.target))
        .collect()
}

/// Each committed change records one notification per subscribed enabled endpoint and the
/// customer's e-mail for received / started / ready; refused changes, first views and
/// unsubscribed kinds record nothing; mail is recorded only while it is on.
pub async fn notifications_are_recorded_exactly_with_their_change<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let t0 = f.submit("Before any endpoint").await;
    assert!(claim(&f, 100).await.is_empty(), "nothing subscribed yet");
    let a = hook(&f, &["ticket.submitted", "ticket.status_changed"]).await;
    let b = hook(&f, &["ticket.assigned", "ticket.released"]).await;
    f.crm.set_mail_enabled(true).await.unwrap();

    let t = f.submit("Cracked screen").await;
    f.tick();
    let dup = f
        .crm
        .submit(request("Cracked screen", "client@example.com"))
        .await;
    assert!(matches!(dup, Err(CoreError::DuplicateTicket)));
    assert!(
        f.set(&f.admin, t.id, InProgress).await.is_err(),
        "unassigned"
    );
    f.tick();
    f.crm.assign(&f.admin, t.id, f.worker.id).await.unwrap();
    f.crm.get_ticket(&f.worker, t.id).await.unwrap(); // first view: nobody hears of it
    f.set(&f.worker, t.id, InProgress).await.unwrap();
    assert!(f.set(&f.worker, t.id, New).await.is_err());
    f.set(&f.worker, t.id, Done).await.unwrap();
    f.crm.set_mail_enabled(false).await.unwrap();
    f.tick();
    f.crm.assign(&f.admin, t0.id, f.other.id).await.unwrap();
    f.tick();
    f.crm.delete_user(&f.admin, f.other.id).await.unwrap(); // releases t0
    f.submit("After mail was switched off").await;

    f.crm.store().sequence().await.unwrap();
    let history = f.crm.history(&f.admin, t.id).await.unwrap();
    let seq_of = |kind: EventKind, to: Option<TicketStatus>| {
        history
            .iter()
            .find(|e| e.kind == kind && (to.is_none() || e.to_status == to))
            .unwrap()
            .seq
    };
    let (submitted, assigned, started, done) = (
        seq_of(EventKind::Submitted, None),
        seq_of(EventKind::Assigned, None),
        seq_of(EventKind::StatusChanged, Some(InProgress)),
        seq_of(EventKind::StatusChanged, Some(Done)),
    );
    let h0 = f.crm.history(&f.admin, t0.id).await.unwrap();
    let (assigned0, released0) = (h0[1].seq, h0[2].seq);
    assert_eq!(
        (h0[1].kind, h0[2].kind),
        (EventKind::Assigned, EventKind::Released)
    );
    let last = f.crm.store().last_event_seq().await.unwrap();

    // E-mails of one ticket wait for each other; deliver until nothing is left.
    let mut got = Vec::new();
    loop {
        let batch = claim(&f, 100).await;
        if batch.is_empty() {
            break;
        }
        for c in &batch {
            let next = outcome(&f, NextStep::Delivered);
            assert!(f.crm.finish_notification(c, next).await.unwrap());
        }
        got.extend(targets(&batch));
    }
    got.sort_by_key(|&(seq, t)| (seq, matches!(t, Target::Mail(_))));
    let web = |endpoint: &WebhookEndpoint, topic| Target::Webhook {
        endpoint: endpoint.id,
        topic,
    };
    assert_eq!(
        got,
        [
            (submitted, web(&a, Topic::TicketSubmitted)),
            (submitted, Target::Mail(MailKind::Received)),
            (assigned, web(&b, Topic::TicketAssigned)),
            (started, web(&a, Topic::TicketStatusChanged)),
            (started, Target::Mail(MailKind::Started)),
            (done, web(&a, Topic::TicketStatusChanged)),
            (done, Target::Mail(MailKind::Ready)),
            (assigned0, web(&b, Topic::TicketAssigned)),
            (released0, web(&b, Topic::TicketReleased)),
            (last, web(&a, Topic::TicketSubmitted)),
        ]
    );
    let backlog = f.crm.notification_backlog().await.unwrap();
    assert_eq!((backlog.pending, backlog.failed), (0, 0));
}

/// A claim leases its deliveries: nobody else takes them until the lease ends, then the
/// next taker gets them with the attempt counted again; an overtaken attempt's outcome is
/// ignored; a retry is due at its time and not before.
pub async fn claims_are_leased_and_outcomes_fenced<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let ep = hook(&f, &["ticket.submitted"]).await;
    f.submit("Lease me").await;
    let first = claim(&f, 10).await;
    assert_eq!(first.len(), 1);
    let d = &first[0].delivery;
    assert_eq!((d.attempts, d.status), (1, DeliveryStatus::Pending));
    let endpoint = first[0].endpoint.as_ref().unwrap();
    assert_eq!((endpoint.id, &endpoint.secret), (ep.id, &ep.secret));
    assert!(claim(&f, 10).await.is_empty(), "leased");
    f.clock.advance(LEASE + TimeDelta::seconds(1));
    let second = claim(&f, 10).await;
    assert_eq!(second.len(), 1);
    assert_eq!(
        (second[0].delivery.id, second[0].delivery.attempts),
        (d.id, 2)
    );
    // The first taker comes back late: ignored.
    let late = outcome(&f, NextStep::Delivered);
    assert!(!f.crm.finish_notification(&first[0], late).await.unwrap());
    let retry_at = f.clock.now() + TimeDelta::seconds(5);
    let failed = outcome(&f, NextStep::RetryAt(retry_at));
    assert!(f.crm.finish_notification(&second[0], failed).await.unwrap());
    f.clock.advance(TimeDelta::seconds(4));
    assert!(claim(&f, 10).await.is_empty(), "not due yet");
    f.clock.advance(TimeDelta::seconds(1));
    let third = claim(&f, 10).await;
    assert_eq!(third[0].delivery.attempts, 3);
    assert_eq!(third[0].delivery.last_status, Some(500));
    assert_eq!(third[0].delivery.payload.as_deref(), Some("{}"));
    assert!(
        f.crm
            .finish_notification(&third[0], outcome(&f, NextStep::GiveUp))
            .await
            .unwrap()
    );
    let backlog = f.crm.notification_backlog().await.unwrap();
    assert_eq!((backlog.pending, backlog.failed), (0, 1));
    let log = f
        .crm
        .webhook_deliveries(&f.admin, ep.id, None, None, None)
        .await
        .unwrap();
    let d = &log.items[0];
    assert_eq!(d.status, DeliveryStatus::Failed);
    assert_eq!(
        d.log.iter().map(|a| a.number).collect::<Vec<_>>(),
        [2, 3],
        "the overtaken attempt left no record"
    );
}

/// A ticket's e-mails are taken one at a time in order, even when the first keeps failing;
/// other tickets' e-mails do not wait for it.
pub async fn a_tickets_mail_goes_out_in_order<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    f.crm.set_mail_enabled(true).await.unwrap();
    let t = f.assigned("Ordered mail", &f.worker).await;
    f.set(&f.worker, t.id, InProgress).await.unwrap();
    f.set(&f.worker, t.id, Done).await.unwrap();
    let u = f.submit("Someone else").await;
    let kinds = |c: &[Claim]| -> Vec<(i64, Target)> {
        c.iter()
            .map(|c| (c.delivery.ticket_id.0, c.delivery.target))
            .collect()
    };
    let batch = claim(&f, 10).await;
    assert_eq!(
        kinds(&batch),
        [
            (t.id.0, Target::Mail(MailKind::Received)),
            (u.id.0, Target::Mail(MailKind::Received)),
        ]
    );
    let retry = outcome(&f, NextStep::RetryAt(f.clock.now() + TimeDelta::seconds(5)));
    assert!(f.crm.finish_notification(&batch[0], retry).await.unwrap());
    let ok = outcome(&f, NextStep::Delivered);
    assert!(f.crm.finish_notification(&batch[1], ok).await.unwrap());
    assert!(claim(&f, 10).await.is_empty(), "started waits for received");
    f.clock.advance(TimeDelta::seconds(5));
    let mut order = Vec::new();
    loop {
        let batch = claim(&f, 10).await;
        assert!(batch.len() <= 1, "one e-mail of a ticket at a time");
        let Some(c) = batch.first() else { break };
        order.push(c.delivery.target);
        let ok = outcome(&f, NextStep::Delivered);
        assert!(f.crm.finish_notification(c, ok).await.unwrap());
    }
    assert_eq!(
        order,
        [MailKind::Received, MailKind::Started, MailKind::Ready].map(Target::Mail)
    );
}

/// Workers racing over one outbox each take distinct deliveries, and together deliver every
/// one exactly once.
pub async fn racing_workers_never_share_a_delivery<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    hook(&f, &["ticket.submitted"]).await;
    hook(&f, &["ticket.submitted"]).await;
    for i in 0..40 {
        f.submit(&format!("Race {i}")).await;
    }
    f.crm.store().sequence().await.unwrap();
    let workers = (0..6).map(|_| {
        let crm = f.crm.clone();
        let now = f.clock.now();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = crm.claim_notifications(LEASE, 3).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                for c in batch {
                    let done = AttemptOutcome {
                        at: now,
                        payload: String::new(),
                        status_code: Some(204),
                        error: None,
                        next: NextStep::Delivered,
                    };
                    assert!(crm.finish_notification(&c, done).await.unwrap());
                    mine.push(c.delivery.id);
                }
            }
        })
    });
    let mut all: Vec<i64> = join_all(workers)
        .await
        .into_iter()
        .flat_map(|r| r.unwrap())
        .collect();
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!((n, all.len()), (80, 80), "each delivery taken once");
}

/// 410 disables the endpoint and its pending deliveries, and later events skip it; a retry
/// of a pending delivery is refused, of a disabled one queues it and enables the endpoint;
/// deleting the endpoint removes its log. Only admins manage webhooks; bad input is refused.
pub async fn gone_endpoints_are_disabled_and_retries_revive_them<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let ep = hook(&f, &["ticket.submitted"]).await;
    let other = hook(&f, &["ticket.submitted"]).await;
    f.submit("Gone 1").await;
    f.submit("Gone 2").await;
    let batch = claim(&f, 10).await;
    let mine: Vec<&Claim> = batch
        .iter()
        .filter(
            |c| matches!(c.delivery.target, Target::Webhook { endpoint, .. } if endpoint == ep.id),
        )
        .collect();
    assert_eq!(mine.len(), 2);
    let refused = f
        .crm
        .retry_delivery(&f.admin, ep.id, mine[1].delivery.id)
        .await;
    assert!(matches!(refused, Err(CoreError::DeliveryPending)));
    let gone = AttemptOutcome {
        status_code: Some(410),
        ..outcome(&f, NextStep::DisableEndpoint)
    };
    assert!(f.crm.finish_notification(mine[0], gone).await.unwrap());
    let endpoints = f.crm.list_webhooks(&f.admin).await.unwrap();
    assert_eq!(
        endpoints
            .iter()
            .map(|e| (e.id, e.enabled))
            .collect::<Vec<_>>(),
        [(ep.id, false), (other.id, true)]
    );
    // The in-flight sibling was disabled under its taker.
    let late = outcome(&f, NextStep::Delivered);
    assert!(!f.crm.finish_notification(mine[1], late).await.unwrap());
    f.submit("Gone 3").await;
    let log = f
        .crm
        .webhook_deliveries(&f.admin, ep.id, None, Some(1), None)
        .await
        .unwrap();
    assert_eq!((log.total, log.pages, log.items.len()), (2, 2, 1));
    assert_eq!(log.items[0].status, DeliveryStatus::Disabled);
    let first = &f
        .crm
        .webhook_deliveries(&f.admin, ep.id, Some(2), Some(1), None)
        .await
        .unwrap()
        .items[0];
    assert_eq!(
        (first.status, first.log.len()),
        (DeliveryStatus::Disabled, 1)
    );
    assert_eq!(first.log[0].status_code, Some(410));

    f.tick();
    let again = f
        .crm
        .retry_delivery(&f.admin, ep.id, first.id)
        .await
        .unwrap();
    assert_eq!(again.status, DeliveryStatus::Pending);
    assert!(f.crm.list_webhooks(&f.admin).await.unwrap()[0].enabled);
    let retried: Vec<i64> = claim(&f, 10)
        .await
        .iter()
        .filter(
            |c| matches!(c.delivery.target, Target::Webhook { endpoint, .. } if endpoint == ep.id),
        )
        .map(|c| c.delivery.id)
        .collect();
    assert_eq!(retried, [first.id]);
    let missing = f.crm.retry_delivery(&f.admin, other.id, first.id).await;
    assert!(matches!(missing, Err(CoreError::NotFound(_))));

    f.crm.delete_webhook(&f.admin, ep.id).await.unwrap();
    assert!(matches!(
        f.crm
            .webhook_deliveries(&f.admin, ep.id, None, None, None)
            .await,
        Err(CoreError::NotFound(_))
    ));
    assert!(matches!(
        f.crm.delete_webhook(&f.admin, ep.id).await,
        Err(CoreError::NotFound(_))
    ));
    assert!(matches!(
        f.crm.list_webhooks(&f.worker).await,
        Err(CoreError::Forbidden(_))
    ));
    let bad = f
        .crm
        .create_webhook(&f.admin, "ftp://x", &["ticket.nope".into()])
        .await
        .unwrap_err();
    assert_eq!(fields(&bad), ["url", "events"]);
    assert_eq!(f.crm.list_webhooks(&f.admin).await.unwrap().len(), 1);
}

/// A notification tells the ticket as its event left it, taken in the event's own atomic
/// step: a delivery attempted after later changes still shows the state at its event.
pub async fn notifications_tell_the_ticket_as_the_event_left_it<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    hook(
        &f,
        &[
            "ticket.submitted",
            "ticket.assigned",
            "ticket.status_changed",
        ],
    )
    .await;
    f.crm.set_mail_enabled(true).await.unwrap();
    let t = f.submit("Snapshot").await;
    f.tick();
    f.crm.assign(&f.admin, t.id, f.worker.id).await.unwrap();
    f.tick();
    f.set(&f.worker, t.id, InProgress).await.unwrap();
    f.set(&f.worker, t.id, Done).await.unwrap();
    let mut seen = Vec::new();
    loop {
        let batch = claim(&f, 100).await;
        if batch.is_empty() {
            break;
        }
        for c in &batch {
            let ticket = c
                .delivery
                .ticket
                .clone()
                .expect("every notification has its ticket");
            assert_eq!(ticket.id, t.id);
            assert_eq!(ticket.client.email, "client@example.com");
            seen.push((c.delivery.target, ticket.status, ticket.worker_id));
            assert!(
                f.crm
                    .finish_notification(c, outcome(&f, NextStep::Delivered))
                    .await
                    .unwrap()
            );
        }
    }
    let w = Some(f.worker.id);
    let hook_of = |topic| {
        seen.iter().filter(
            move |(target, ..)| matches!(target, Target::Webhook { topic: t, .. } if *t == topic),
        )
    };
    let states: Vec<_> = hook_of(Topic::TicketSubmitted)
        .chain(hook_of(Topic::TicketAssigned))
        .chain(hook_of(Topic::TicketStatusChanged))
        .map(|&(_, status, worker)| (status, worker))
        .collect();
    assert_eq!(
        states,
        [(New, None), (New, w), (InProgress, w), (Done, w)],
        "each as its event left it, not as the ticket is now"
    );
    let mail: Vec<_> = seen
        .iter()
        .filter(|(target, ..)| matches!(target, Target::Mail(_)))
        .map(|&(target, status, _)| (target, status))
        .collect();
    assert_eq!(
        mail,
        [
            (Target::Mail(MailKind::Received), New),
            (Target::Mail(MailKind::Started), InProgress),
            (Target::Mail(MailKind::Ready), Done),
        ]
    );
}

/// An endpoint's health follows its recent attempts: failing once its latest attempt failed,
/// healthy again after a delivery, with the failures among its last attempts counted.
pub async fn endpoint_health_follows_recent_attempts<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let ep = hook(&f, &["ticket.submitted"]).await;
    let health = || {
        let crm = f.crm.clone();
        let admin = f.admin;
        async move {
            crm.list_webhooks(&admin)
                .await
                .unwrap()
                .into_iter()
                .find(|w| w.id == ep.id)
                .unwrap()
                .health
        }
    };
    assert_eq!(
        health().await,
        crm_core::notify::EndpointHealth::default(),
        "no attempt yet"
    );
    f.submit("Health").await;
    for _ in 0..2 {
        let c = claim(&f, 10).await.pop().expect("due");
        let retry = outcome(&f, NextStep::RetryAt(f.clock.now()));
        assert!(f.crm.finish_notification(&c, retry).await.unwrap());
        f.tick();
    }
    let h = health().await;
    assert!(
        h.failing && h.last_attempt_at.is_some() && h.last_delivered_at.is_none(),
        "{h:?}"
    );
    assert_eq!(h.recent_failures, 2);
    let c = claim(&f, 10).await.pop().expect("due again");
    let ok = AttemptOutcome {
        status_code: Some(204),
        error: None,
        ..outcome(&f, NextStep::Delivered)
    };
    assert!(f.crm.finish_notification(&c, ok).await.unwrap());
    let h = health().await;
    assert!(!h.failing && h.last_delivered_at.is_some(), "{h:?}");
    assert_eq!(
        h.recent_failures, 2,
        "the two failures are still among the last attempts"
    );
}
