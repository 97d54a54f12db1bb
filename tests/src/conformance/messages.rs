//! The conversation: who writes and reads what, internal notes kept from every customer
//! channel, the customer's limits, `awaiting_reply` and its filter, and racing customer
//! messages counted against the daily allowance exactly.

use super::*;
use crm_core::{
    Audience, ListMessages, Visibility,
    message::{CLOSED_AFTER, CUSTOMER_MESSAGES_PER_DAY},
    notify::{AttemptOutcome, MailKind, NextStep, Target},
};

const LEASE: TimeDelta = TimeDelta::seconds(60);

fn all() -> ListMessages {
    ListMessages {
        size: Some(100),
        ..Default::default()
    }
}

/// Staff write internal notes and customer messages on tickets they may see; the customer
/// reads only customer-visible ones under the code and writes customer-visible ones; each
/// message is one `message_added` event saying its audience; a staff message to the
/// customer (only that) is e-mailed; the public progress counts only customer-visible
/// messages; bad input and other workers' tickets store nothing.
pub async fn messages_keep_internal_notes_from_the_customer<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    f.crm.set_mail_enabled(true).await.unwrap();
    let t = f.assigned("Broken hinge", &f.worker).await;
    let code = t.tracking_code.as_str().to_owned();
    f.crm.store().sequence().await.unwrap();
    // Deliver the submission's own notifications (a ticket's e-mails go out in order).
    for c in f.crm.claim_notifications(LEASE, 100).await.unwrap() {
        let done = AttemptOutcome {
            at: f.clock.now(),
            payload: "{}".into(),
            status_code: None,
            error: None,
            next: NextStep::Delivered,
        };
        assert!(f.crm.finish_notification(&c, done).await.unwrap());
    }

    f.tick();
    let note = f
        .crm
        .post_message(
            &f.worker,
            t.id,
            "  Hinge ordered, arrives Tuesday. ",
            "internal",
        )
        .await
        .unwrap();
    assert_eq!(note.body, "Hinge ordered, arrives Tuesday.");
    assert_eq!(note.visibility, Audience::Internal);
    assert_eq!(note.author.user_id, Some(f.worker.id));
    assert_eq!(note.author.name, "worker");
    f.tick();
    let reply = f
        .crm
        .post_message(
            &f.admin,
            t.id,
            "We will call you when it is fixed.",
            "customer",
        )
        .await
        .unwrap();
    f.tick();
    let theirs = f
        .crm
        .post_public_message(&code.to_lowercase(), "Thanks! Is the case fine too?")
        .await
        .unwrap();
    assert_eq!(theirs.author.user_id, None);
    assert_eq!(theirs.author.name, "John Doe");
    assert_eq!(theirs.visibility, Audience::Customer);

    // Refusals store nothing.
    for (body, vis, field) in [("", "internal", "body"), ("x", "everyone", "visibility")] {
        match f.crm.post_message(&f.admin, t.id, body, vis).await {
            Err(CoreError::Validation(v)) => assert_eq!(v.0[0].field, field),
            other => panic!("{other:?}"),
        }
    }
    let long = "x".repeat(5001);
    assert!(matches!(
        f.crm.post_public_message(&code, &long).await,
        Err(CoreError::Validation(_))
    ));
    assert!(matches!(
        f.crm
            .post_message(&f.other, t.id, "Not mine", "internal")
            .await,
        Err(CoreError::NotFound(_))
    ));
    assert!(matches!(
        f.crm
            .post_public_message("AAAA-AAAA-AAAA-AAAA", "Hello")
            .await,
        Err(CoreError::NotFound(_))
    ));
    assert!(matches!(
        f.crm.list_messages(&f.other, t.id, all()).await,
        Err(CoreError::NotFound(_))
    ));

    let staff = f.crm.list_messages(&f.worker, t.id, all()).await.unwrap();
    assert_eq!(
        staff.items.iter().map(|m| m.id).collect::<Vec<_>>(),
        [note.id, reply.id, theirs.id]
    );
    assert_eq!(staff.items[1].author.name, "admin");
    let public = f.crm.public_messages(&code, all()).await.unwrap();
    assert_eq!(public.total, 2);
    assert_eq!(
        public.items.iter().map(|m| m.id).collect::<Vec<_>>(),
        [reply.id, theirs.id]
    );
    assert!(public.items.iter().all(|m| !m.body.contains("Hinge")));
    // Paged oldest first by cursor.
    let first = f
        .crm
        .list_messages(
            &f.admin,
            t.id,
            ListMessages {
                size: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let rest = f
        .crm
        .list_messages(
            &f.admin,
            t.id,
            ListMessages {
                size: Some(2),
                cursor: first.next_cursor.map(Cursor::encode),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        rest.items.iter().map(|m| m.id).collect::<Vec<_>>(),
        [theirs.id]
    );

    // Events: one each, saying the audience; the public progress counts two.
    let h = f.crm.history(&f.admin, t.id).await.unwrap();
    let added: Vec<_> = h
        .iter()
        .filter(|e| e.kind == EventKind::MessageAdded)
        .map(|e| (e.item_id, e.visibility, e.actor_id, e.is_public()))
        .collect();
    assert_eq!(
        added,
        [
            (
                Some(note.id),
                Some(Audience::Internal),
                Some(f.worker.id),
                false
            ),
            (
                Some(reply.id),
                Some(Audience::Customer),
                Some(f.admin.id),
                true
            ),
            (Some(theirs.id), Some(Audience::Customer), None, true),
        ]
    );
    assert_eq!(f.crm.track(&code).await.unwrap().messages, 2);
    // The worker's stream sees all three.
    f.crm.store().sequence().await.unwrap();
    let seen = f
        .crm
        .store()
        .events_after(0, Visibility::AssignedTo(f.worker.id), 1000)
        .await
        .unwrap();
    assert_eq!(
        seen.iter()
            .filter(|e| e.kind == EventKind::MessageAdded)
            .count(),
        3
    );

    // Mail: only the staff message to the customer.
    f.crm.store().sequence().await.unwrap();
    let claims = f.crm.claim_notifications(LEASE, 100).await.unwrap();
    let mails: Vec<_> = claims
        .iter()
        .filter(|c| matches!(c.delivery.target, Target::Mail(_)))
        .map(|c| (c.delivery.target, c.delivery.item_id, c.delivery.visibility))
        .collect();
    assert_eq!(
        mails,
        [(
            Target::Mail(MailKind::Reply),
            Some(reply.id),
            Some(Audience::Customer)
        )]
    );
    let m = f.crm.message_for_notification(reply.id).await.unwrap();
    assert_eq!(m.body, reply.body);
}

/// `awaiting_reply` is true exactly while the newest customer-visible message is the
/// customer's (internal notes change nothing), and lists filter on it with the right total.
pub async fn awaiting_reply_follows_the_conversation<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let a = f.assigned("Dead battery", &f.worker).await;
    let b = f.submit("Loose port").await;
    let code = a.tracking_code.as_str().to_owned();
    let waiting = |f: &Fixture<S>| {
        let mut l = list(None, None, None);
        l.awaiting_reply = true;
        let crm = f.crm.clone();
        let admin = f.admin;
        async move { crm.list_tickets(&admin, l).await.unwrap() }
    };
    assert_eq!(waiting(&f).await.total, 0);
    f.tick();
    f.crm.post_public_message(&code, "Any news?").await.unwrap();
    assert!(
        f.crm
            .read_ticket(&f.admin, a.id)
            .await
            .unwrap()
            .awaiting_reply
    );
    let page = waiting(&f).await;
    assert_eq!((page.total, ids(&page.items)), (1, vec![a.id.0]));
    f.tick();
    f.crm
        .post_message(&f.worker, a.id, "Customer asks again", "internal")
        .await
        .unwrap();
    assert!(
        f.crm
            .read_ticket(&f.admin, a.id)
            .await
            .unwrap()
            .awaiting_reply
    );
    f.tick();
    f.crm
        .post_message(&f.worker, a.id, "Tomorrow at noon.", "customer")
        .await
        .unwrap();
    assert!(
        !f.crm
            .read_ticket(&f.admin, a.id)
            .await
            .unwrap()
            .awaiting_reply
    );
    assert_eq!(waiting(&f).await.total, 0);
    f.tick();
    f.crm
        .post_public_message(b.tracking_code.as_str(), "Hello?")
        .await
        .unwrap();
    let page = waiting(&f).await;
    assert_eq!((page.total, ids(&page.items)), (1, vec![b.id.0]));
    // A worker's filtered list keeps its scope.
    let mut l = list(None, None, None);
    l.awaiting_reply = true;
    assert_eq!(f.crm.list_tickets(&f.worker, l).await.unwrap().total, 0);
}

/// A customer writes at most the daily allowance per ticket (racing messages included: exactly
/// the allowance is stored), more again once the day has passed, and nothing on a request done
/// more than 30 days ago; staff may still write there.
pub async fn customer_messages_are_limited<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let t = f.assigned("Flood", &f.worker).await;
    let code = t.tracking_code.as_str().to_owned();
    f.tick();
    let n = CUSTOMER_MESSAGES_PER_DAY as usize;
    let results = join_all((0..n + 6).map(|i| {
        let crm = f.crm.clone();
        let code = code.clone();
        async move {
            crm.post_public_message(&code, &format!("Message {i}"))
                .await
        }
    }))
    .await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, n, "exactly the allowance is stored");
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, CoreError::TooManyMessages)),
        "{results:?}"
    );
    assert_eq!(
        f.crm.public_messages(&code, all()).await.unwrap().total,
        n as u64
    );
    // Staff are not limited.
    f.crm
        .post_message(&f.worker, t.id, "Please call us instead.", "customer")
        .await
        .unwrap();
    f.clock.advance(TimeDelta::days(1) + TimeDelta::seconds(1));
    f.crm
        .post_public_message(&code, "A day later")
        .await
        .unwrap();

    // Done, then 30 days: closed to the customer, open to staff.
    f.set(&f.worker, t.id, InProgress).await.unwrap();
    f.set(&f.worker, t.id, Done).await.unwrap();
    f.clock.advance(CLOSED_AFTER - TimeDelta::seconds(2));
    f.crm
        .post_public_message(&code, "Still broken")
        .await
        .unwrap();
    f.clock.advance(TimeDelta::seconds(2));
    assert!(matches!(
        f.crm.post_public_message(&code, "Too late").await,
        Err(CoreError::ConversationClosed)
    ));
    f.crm
        .post_message(&f.admin, t.id, "Warranty note", "internal")
        .await
        .unwrap();
    let all_msgs = f.crm.list_messages(&f.admin, t.id, all()).await.unwrap();
    assert!(all_msgs.items.iter().all(|m| m.body != "Too late"));
}
