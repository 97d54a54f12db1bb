//! Stages within the statuses: the admins' list, moves, their events, mail, statistics, and
//! the rule that a ticket's stage always belongs to its status, under races too.

use super::*;
use crm_core::{
    EditStage, Stage, StageId, TrackingCode,
    notify::{AttemptOutcome, MailKind, NextStep, Target},
};

/// The stage named `name`.
async fn stage<S: Store + Clone>(f: &Fixture<S>, name: &str) -> Stage {
    f.crm
        .stages(&f.admin)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.name.as_ref() == name)
        .unwrap_or_else(|| panic!("no stage {name}"))
}

/// The stage moves of a ticket's history, as (kind, from id, to id).
async fn moves<S: Store + Clone>(
    f: &Fixture<S>,
    id: TicketId,
) -> Vec<(EventKind, Option<i64>, Option<i64>)> {
    let side = |v: &serde_json::Value| v.get("id").and_then(serde_json::Value::as_i64);
    f.crm
        .history(&f.admin, id)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| {
            let c = e.changes.iter().find(|c| c.field == "stage")?;
            Some((e.kind, side(&c.from), side(&c.to)))
        })
        .collect()
}

fn validation_field(e: &CoreError) -> Option<String> {
    match e {
        CoreError::Validation(v) => v.0.first().map(|f| f.field.clone()),
        _ => None,
    }
}

/// A fresh store has the default stages in order; admins add, rename, reorder, re-flag and
/// remove them, and positions stay 0..n within each status; workers may only read them.
pub async fn stages_are_managed_by_admins<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let all = f.crm.stages(&f.worker).await.unwrap();
    let names: Vec<(TicketStatus, &str, bool, u32)> = all
        .iter()
        .map(|s| (s.status, s.name.as_ref(), s.notify_customer, s.position))
        .collect();
    assert_eq!(
        names,
        [
            (InProgress, "Diagnosing", false, 0),
            (InProgress, "Waiting for parts", false, 1),
            (InProgress, "Waiting for customer approval", false, 2),
            (InProgress, "Repairing", false, 3),
            (Done, "Ready for pickup", true, 0),
            (Done, "Collected", false, 1),
        ]
    );

    let e = f
        .crm
        .create_stage(&f.worker, New, "Triage", false)
        .await
        .unwrap_err();
    assert!(matches!(e, CoreError::Forbidden(_)), "{e:?}");
    for bad in ["   ", "Two\nlines", &"x".repeat(65)] {
        let e = f
            .crm
            .create_stage(&f.admin, New, bad, false)
            .await
            .unwrap_err();
        assert_eq!(validation_field(&e).as_deref(), Some("name"), "{bad:?}");
    }
    assert_eq!(f.crm.stages(&f.admin).await.unwrap().len(), 6);

    let triage = f
        .crm
        .create_stage(&f.admin, New, "  Triage ", false)
        .await
        .unwrap();
    assert_eq!(
        (triage.status, triage.name.as_ref(), triage.position),
        (New, "Triage", 0)
    );
    let quoted = f
        .crm
        .create_stage(&f.admin, InProgress, "Quoted", true)
        .await
        .unwrap();
    assert_eq!(quoted.position, 4);

    // Move the last to the front: the others shift down one.
    let moved = f
        .crm
        .edit_stage(
            &f.admin,
            quoted.id,
            EditStage {
                name: Some("Quote sent".into()),
                notify_customer: Some(false),
                position: Some(0),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (moved.name.as_ref(), moved.notify_customer, moved.position),
        ("Quote sent", false, 0)
    );
    let order = |all: &[Stage]| -> Vec<(String, u32)> {
        all.iter()
            .filter(|s| s.status == InProgress)
            .map(|s| (s.name.as_ref().to_owned(), s.position))
            .collect()
    };
    let all = f.crm.stages(&f.admin).await.unwrap();
    assert_eq!(all[0].name.as_ref(), "Triage", "new's stages come first");
    assert_eq!(
        order(&all),
        [
            ("Quote sent".to_owned(), 0),
            ("Diagnosing".to_owned(), 1),
            ("Waiting for parts".to_owned(), 2),
            ("Waiting for customer approval".to_owned(), 3),
            ("Repairing".to_owned(), 4),
        ]
    );
    // Past the end means last; a negative place is refused.
    let last = f
        .crm
        .edit_stage(
            &f.admin,
            moved.id,
            EditStage {
                position: Some(99),
                ..EditStage::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(last.position, 4);
    let e = f
        .crm
        .edit_stage(
            &f.admin,
            moved.id,
            EditStage {
                position: Some(-1),
                ..EditStage::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(validation_field(&e).as_deref(), Some("position"));
    let e = f
        .crm
        .edit_stage(&f.worker, moved.id, EditStage::default())
        .await
        .unwrap_err();
    assert!(matches!(e, CoreError::Forbidden(_)), "{e:?}");
    let e = f
        .crm
        .edit_stage(&f.admin, StageId(9999), EditStage::default())
        .await
        .unwrap_err();
    assert!(matches!(e, CoreError::NotFound("Stage")), "{e:?}");

    // Removing one closes the gap.
    let diagnosing = stage(&f, "Diagnosing").await;
    f.crm.delete_stage(&f.admin, diagnosing.id).await.unwrap();
    let all = f.crm.stages(&f.admin).await.unwrap();
    assert_eq!(
        order(&all),
        [
            ("Waiting for parts".to_owned(), 0),
            ("Waiting for customer approval".to_owned(), 1),
            ("Repairing".to_owned(), 2),
            ("Quote sent".to_owned(), 3),
        ]
    );
    let e = f
        .crm
        .delete_stage(&f.admin, diagnosing.id)
        .await
        .unwrap_err();
    assert!(matches!(e, CoreError::NotFound("Stage")), "{e:?}");
    let e = f.crm.delete_stage(&f.worker, triage.id).await.unwrap_err();
    assert!(matches!(e, CoreError::Forbidden(_)), "{e:?}");
}

/// A stage with a ticket in it cannot be removed (`stage_in_use`); racing a removal against a
/// ticket entering the stage, either the ticket is in it and it stays, or it is gone and the
/// move was refused: never a ticket in a removed stage.
pub async fn a_stage_in_use_is_not_removed<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let parts = stage(&f, "Waiting for parts").await;
    let t = f.assigned("Laptop", &f.worker).await;
    f.crm
        .change_status_to_stage(&f.worker, t.id, InProgress, Some(parts.id))
        .await
        .unwrap();
    let e = f.crm.delete_stage(&f.admin, parts.id).await.unwrap_err();
    assert!(matches!(e, CoreError::StageInUse), "{e:?}");
    assert_eq!(e.code(), "stage_in_use");
    f.crm.set_stage(&f.worker, t.id, None).await.unwrap();
    f.crm.delete_stage(&f.admin, parts.id).await.unwrap();

    for round in 0..6 {
        let s = f
            .crm
            .create_stage(&f.admin, InProgress, &format!("Racing {round}"), false)
            .await
            .unwrap();
        let (moved, removed) = tokio::join!(
            f.crm.set_stage(&f.worker, t.id, Some(s.id)),
            f.crm.delete_stage(&f.admin, s.id)
        );
        let now = f.crm.get_ticket(&f.admin, t.id).await.unwrap();
        let exists = f
            .crm
            .stages(&f.admin)
            .await
            .unwrap()
            .iter()
            .any(|x| x.id == s.id);
        match (&moved, &removed) {
            (Ok(_), Err(CoreError::StageInUse)) => {
                assert!(exists);
                assert_eq!(now.stage.map(|x| x.id), Some(s.id));
            }
            (Err(e), Ok(())) => {
                assert_eq!(validation_field(e).as_deref(), Some("stage_id"), "{e:?}");
                assert!(!exists);
                assert_eq!(now.stage, None);
            }
            other => panic!("round {round}: {other:?}"),
        }
        f.crm.set_stage(&f.worker, t.id, None).await.unwrap();
    }
}

/// A status change may name a stage of the new status; without one it clears the stage. Each
/// move is a `stage_changed` event (from, to) after the step's `status_changed`; a stage of
/// another status is refused on `stage_id` and changes nothing. The customer's view names
/// the stage, lists filter by it.
pub async fn stages_follow_the_status<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let diag = stage(&f, "Diagnosing").await;
    let parts = stage(&f, "Waiting for parts").await;
    let ready = stage(&f, "Ready for pickup").await;
    let t = f.assigned("Tablet", &f.worker).await;

    // A stage of another status, named with a status change or on its own: refused.
    let e = f
        .crm
        .change_status_to_stage(&f.worker, t.id, InProgress, Some(ready.id))
        .await
        .unwrap_err();
    assert_eq!(validation_field(&e).as_deref(), Some("stage_id"), "{e:?}");
    let CoreError::Validation(v) = &e else {
        unreachable!()
    };
    assert_eq!(
        v.0[0].message,
        "The stage \"Ready for pickup\" belongs to tickets that are done, and this one will be in progress."
    );
    let e = f
        .crm
        .set_stage(&f.worker, t.id, Some(diag.id))
        .await
        .unwrap_err();
    assert_eq!(validation_field(&e).as_deref(), Some("stage_id"), "{e:?}");
    let e = f
        .crm
        .change_status_to_stage(&f.worker, t.id, InProgress, Some(StageId(9999)))
        .await
        .unwrap_err();
    assert_eq!(validation_field(&e).as_deref(), Some("stage_id"), "{e:?}");
    let now = f.crm.get_ticket(&f.admin, t.id).await.unwrap();
    assert_eq!((now.status, now.stage.clone()), (New, None));

    f.tick();
    let started = f
        .crm
        .change_status_to_stage(&f.worker, t.id, InProgress, Some(diag.id))
        .await
        .unwrap();
    assert_eq!(started.status, InProgress);
    assert_eq!(started.stage, Some(diag.to_ref()));
    // Asking again for the status it has, with another stage, moves the stage only.
    f.tick();
    let moved = f
        .crm
        .change_status_to_stage(&f.worker, t.id, InProgress, Some(parts.id))
        .await
        .unwrap();
    assert_eq!(
        (moved.stage.clone(), moved.in_progress_at),
        (Some(parts.to_ref()), started.in_progress_at)
    );
    // Someone else's ticket is not found for a worker.
    let e = f
        .crm
        .set_stage(&f.other, t.id, Some(diag.id))
        .await
        .unwrap_err();
    assert!(matches!(e, CoreError::NotFound("Ticket")), "{e:?}");

    let track = |code: TrackingCode| {
        let crm = f.crm.clone();
        async move { crm.track(code.as_str()).await.unwrap() }
    };
    assert_eq!(
        track(t.tracking_code.clone()).await.stage.as_deref(),
        Some("Waiting for parts")
    );
    let listed = f
        .crm
        .list_tickets(
            &f.admin,
            ListTickets {
                stage_id: Some(parts.id),
                ..ListTickets::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        listed.items.iter().map(|t| t.id).collect::<Vec<_>>(),
        [t.id]
    );
    let listed = f
        .crm
        .list_tickets(
            &f.worker,
            ListTickets {
                stage_id: Some(diag.id),
                worker_id: Some(f.worker.id),
                ..ListTickets::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.total, 0);

    // Done without a stage: the stage is cleared, and that is a move too.
    let done = f.set(&f.worker, t.id, Done).await.unwrap();
    assert_eq!((done.status, done.stage), (Done, None));
    assert_eq!(track(t.tracking_code.clone()).await.stage, None);
    f.tick();
    let ready_now = f
        .crm
        .set_stage(&f.admin, t.id, Some(ready.id))
        .await
        .unwrap();
    assert_eq!(ready_now.stage, Some(ready.to_ref()));
    // Moving to the stage it is in changes nothing and records nothing.
    let same = f
        .crm
        .set_stage(&f.admin, t.id, Some(ready.id))
        .await
        .unwrap();
    assert_eq!(same.updated_at, ready_now.updated_at);

    let (d, p, r) = (Some(diag.id.0), Some(parts.id.0), Some(ready.id.0));
    assert_eq!(
        moves(&f, t.id).await,
        [
            (EventKind::StatusChanged, None, d),
            (EventKind::StageChanged, None, d),
            (EventKind::StageChanged, d, p),
            (EventKind::StatusChanged, p, None),
            (EventKind::StageChanged, p, None),
            (EventKind::StageChanged, None, r),
        ]
    );
    // A rename shows on the ticket at once; the history keeps the name it had.
    f.crm
        .edit_stage(
            &f.admin,
            ready.id,
            EditStage {
                name: Some("Ready to collect".into()),
                ..EditStage::default()
            },
        )
        .await
        .unwrap();
    let t2 = f.crm.get_ticket(&f.admin, t.id).await.unwrap();
    assert_eq!(
        t2.stage.map(|s| s.name).as_deref(),
        Some("Ready to collect")
    );
    let last = f.crm.history(&f.admin, t.id).await.unwrap();
    let last = last.last().unwrap();
    assert_eq!(last.changes[0].to["name"], "Ready for pickup");
}

/// Racing stage moves and a status change apply each once, in some order: the ticket ends in
/// a stage of its status (or none), and its history is one unbroken chain of moves, each
/// leaving the stage the one before entered.
pub async fn racing_stage_and_status_changes_stay_consistent<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let in_progress: Vec<Stage> = f
        .crm
        .stages(&f.admin)
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.status == InProgress)
        .collect();
    let ready = stage(&f, "Ready for pickup").await;
    for round in 0..4 {
        let t = f.assigned(&format!("Console {round}"), &f.worker).await;
        f.set(&f.worker, t.id, InProgress).await.unwrap();
        let mut moves_left = Vec::new();
        for i in 0..12 {
            let s = in_progress[i % in_progress.len()].id;
            let crm = f.crm.clone();
            let worker = f.worker;
            moves_left.push(tokio::spawn(async move {
                crm.set_stage(&worker, t.id, Some(s)).await
            }));
        }
        let crm = f.crm.clone();
        let admin = f.admin;
        let finish = tokio::spawn(async move {
            let stage = (round % 2 == 0).then_some(ready.id);
            crm.change_status_to_stage(&admin, t.id, Done, stage).await
        });
        for m in moves_left {
            // A move that came after the step is refused: its stage is not done's.
            match m.await.unwrap() {
                Ok(_) => {}
                Err(e) => assert_eq!(validation_field(&e).as_deref(), Some("stage_id"), "{e:?}"),
            }
        }
        finish.await.unwrap().unwrap();
        let now = f.crm.get_ticket(&f.admin, t.id).await.unwrap();
        assert_eq!(now.status, Done);
        assert_eq!(
            now.stage.map(|s| s.id),
            (round % 2 == 0).then_some(ready.id)
        );
        let chain: Vec<_> = moves(&f, t.id)
            .await
            .into_iter()
            .filter(|(k, _, _)| *k == EventKind::StageChanged)
            .collect();
        let mut at = None;
        for (_, from, to) in &chain {
            assert_eq!(
                *from, at,
                "round {round}: a move left a stage it was not in: {chain:?}"
            );
            assert_ne!(from, to);
            at = *to;
        }
        assert_eq!(at, (round % 2 == 0).then_some(ready.id.0));
    }
}

/// Statistics count the tickets in each stage now and time the stays that ended (overall
/// and per worker); a release sends the ticket back to `new` out of its stage, which ends
/// its stay there too.
pub async fn stage_statistics_count_and_time_the_stays<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let diag = stage(&f, "Diagnosing").await;
    let parts = stage(&f, "Waiting for parts").await;
    let a = f.assigned("Watch", &f.worker).await;
    let b = f.assigned("Camera", &f.other).await;
    f.tick();
    f.crm
        .change_status_to_stage(&f.worker, a.id, InProgress, Some(diag.id))
        .await
        .unwrap();
    f.crm
        .change_status_to_stage(&f.other, b.id, InProgress, Some(diag.id))
        .await
        .unwrap();
    f.clock.advance(TimeDelta::seconds(100));
    f.crm
        .set_stage(&f.worker, a.id, Some(parts.id))
        .await
        .unwrap();
    f.clock.advance(TimeDelta::seconds(50));

    let line = |stats: &crm_core::Stats, id: StageId| {
        let s = stats.stages.iter().find(|s| s.id == id).unwrap();
        (s.tickets, s.avg_seconds)
    };
    let all = f.crm.stats(&f.admin, None).await.unwrap();
    assert_eq!(all.stages.len(), 6, "every stage has a line");
    assert_eq!(line(&all, diag.id), (1, Some(100.0)));
    assert_eq!(line(&all, parts.id), (1, None));
    let mine = f.crm.stats(&f.admin, Some(f.worker.id)).await.unwrap();
    assert_eq!(line(&mine, diag.id), (0, Some(100.0)));
    assert_eq!(line(&mine, parts.id), (1, None));
    let theirs = f.crm.stats(&f.admin, Some(f.other.id)).await.unwrap();
    assert_eq!(line(&theirs, diag.id), (1, None));

    // Deleting the other worker releases b: back to new, out of its stage after 150 s.
    f.crm.delete_user(&f.admin, f.other.id).await.unwrap();
    let released = f.crm.get_ticket(&f.admin, b.id).await.unwrap();
    assert_eq!((released.status, released.stage), (New, None));
    assert_eq!(
        moves(&f, b.id).await.last(),
        Some(&(EventKind::StageChanged, Some(diag.id.0), None))
    );
    let all = f.crm.stats(&f.admin, None).await.unwrap();
    assert_eq!(line(&all, diag.id), (0, Some(125.0)));
    assert_eq!(line(&all, parts.id), (1, None));
    f.crm.delete_stage(&f.admin, diag.id).await.unwrap();
}

/// Entering a stage that tells the customer records its e-mail with the move; a status step
/// into such a stage sends that one letter, not the status's own as well. Other moves send
/// nothing.
pub async fn entering_a_notifying_stage_emails_the_customer<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    f.crm.set_mail_enabled(true).await.unwrap();
    let parts = stage(&f, "Waiting for parts").await;
    let ready = stage(&f, "Ready for pickup").await;
    let collected = stage(&f, "Collected").await;
    let t = f.assigned("Speaker", &f.worker).await;
    f.tick();
    f.crm
        .change_status_to_stage(&f.worker, t.id, InProgress, Some(parts.id))
        .await
        .unwrap();
    f.tick();
    f.crm
        .change_status_to_stage(&f.worker, t.id, Done, Some(ready.id))
        .await
        .unwrap();
    f.tick();
    f.crm
        .set_stage(&f.worker, t.id, Some(collected.id))
        .await
        .unwrap();
    let mut mails = Vec::new();
    loop {
        f.crm.store().sequence().await.unwrap();
        let batch = f
            .crm
            .claim_notifications(TimeDelta::seconds(60), 100)
            .await
            .unwrap();
        if batch.is_empty() {
            break;
        }
        for c in &batch {
            if let Target::Mail(k) = c.delivery.target {
                let stage = c.delivery.ticket.as_ref().and_then(|t| t.stage.clone());
                mails.push((k, stage.map(|s| s.name)));
            }
            let done = AttemptOutcome {
                at: f.clock.now(),
                payload: "{}".into(),
                status_code: None,
                error: None,
                next: NextStep::Delivered,
            };
            assert!(f.crm.finish_notification(c, done).await.unwrap());
        }
    }
    assert_eq!(
        mails,
        [
            (MailKind::Received, None),
            (MailKind::Started, Some("Waiting for parts".to_owned())),
            (MailKind::Stage, Some("Ready for pickup".to_owned())),
        ]
    );
}
