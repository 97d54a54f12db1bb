//! Cases only an injected storage failure can produce.
use super::{tickets::RACE_ATTEMPTS, *};
use crate::{
    ids::ClientId,
    store::MockStore,
    ticket::{Client, TrackingCode},
};
use crate::{
    ids::TicketId,
    role::{Actor, Role},
    status::TicketStatus,
    ticket::Ticket,
};
use chrono::Utc;

fn crm(store: MockStore) -> Crm<MockStore> {
    Crm::new(store).with_password_cost(PasswordCost::Fast)
}

fn ticket(status: TicketStatus, worker: Option<UserId>) -> Ticket {
    let now = Utc::now();
    Ticket {
        id: TicketId(1),
        title: "t".into(),
        description: "d".into(),
        status,
        viewed: false,
        client: Client {
            id: ClientId(1),
            name: "n".into(),
            email: "e@example.com".into(),
            phone: None,
            created_at: now,
        },
        worker_id: worker,
        created_at: now,
        updated_at: now,
        assigned_at: None,
        in_progress_at: None,
        done_at: None,
        requester_ip: None,
        requester_ua: None,
        tracking_code: TrackingCode::generate(),
        new_to_me: false,
        device: None,
        priority: crate::device::Priority::Normal,
        due_at: None,
        awaiting_reply: false,
        stage: None,
        quote: None,
    }
}

fn submission() -> SubmitTicket {
    SubmitTicket {
        title: "Broken".into(),
        description: "It is broken".into(),
        client_name: "Ann".into(),
        client_email: "ann@example.com".into(),
        ..Default::default()
    }
}

const ADMIN: Actor = Actor {
    id: UserId(1),
    role: Role::Admin,
};

#[tokio::test]
async fn unreachable_store_is_unavailable_and_other_failures_are_internal() {
    let mut store = MockStore::new();
    store
        .expect_create_ticket()
        .times(1)
        .returning(|_| Err(StoreError::Unavailable("127.0.0.1:5432".into())));
    store
        .expect_create_ticket()
        .times(1)
        .returning(|_| Err(StoreError::Backend("disk full".into())));
    let crm = crm(store);
    let e = crm.submit(submission()).await.unwrap_err();
    assert_eq!(e.code(), "unavailable");
    let e = crm.submit(submission()).await.unwrap_err();
    assert_eq!(e.code(), "internal_error");
    assert_eq!(e.to_string(), "Internal error.", "the cause is never shown");
}

#[tokio::test]
async fn invalid_input_never_reaches_the_store() {
    let crm = crm(MockStore::new());
    let mut bad = submission();
    bad.client_email = "nope".into();
    assert_eq!(
        crm.submit(bad).await.unwrap_err().code(),
        "validation_error"
    );
}

#[tokio::test]
async fn a_lost_compare_and_set_rereads_and_settles_as_a_no_op() {
    let mut store = MockStore::new();
    let mut reads = 0;
    store.expect_get_ticket().times(2).returning(move |_, _| {
        reads += 1;
        Ok(if reads == 1 {
            ticket(TicketStatus::New, Some(UserId(2)))
        } else {
            ticket(TicketStatus::InProgress, Some(UserId(2)))
        })
    });
    store
        .expect_transition()
        .times(1)
        .returning(|_| Err(StoreError::Stale));
    let t = crm(store)
        .change_status(&ADMIN, TicketId(1), TicketStatus::InProgress)
        .await
        .unwrap();
    assert_eq!(t.status, TicketStatus::InProgress);
}

#[tokio::test]
async fn endless_contention_gives_up_with_busy_never_an_internal_error() {
    let mut store = MockStore::new();
    store
        .expect_get_ticket()
        .times(RACE_ATTEMPTS)
        .returning(|_, _| Ok(ticket(TicketStatus::New, Some(UserId(2)))));
    store
        .expect_transition()
        .times(RACE_ATTEMPTS)
        .returning(|_| Err(StoreError::Stale));
    let e = crm(store)
        .change_status(&ADMIN, TicketId(1), TicketStatus::InProgress)
        .await
        .unwrap_err();
    assert!(matches!(e, CoreError::Busy), "{e:?}");
    assert_eq!(e.code(), "unavailable");
}

#[tokio::test]
async fn store_failures_are_not_mistaken_for_bad_credentials_or_sessions() {
    let mut store = MockStore::new();
    store
        .expect_reserve_sign_in()
        .returning(|_, now| Ok(Ok(crate::ThrottleState::after_failure(None, now))));
    store
        .expect_credentials()
        .returning(|_| Err(StoreError::Unavailable("db:5432".into())));
    store
        .expect_find_user()
        .returning(|_| Err(StoreError::Backend("boom".into())));
    let crm = crm(store);
    let e = crm.authenticate("admin", "whatever1").await.unwrap_err();
    assert_eq!(e.code(), "unavailable");
    let e = crm.actor(UserId(1)).await.unwrap_err();
    assert_eq!(e.code(), "internal_error");
}

#[tokio::test]
async fn workers_are_refused_admin_operations_before_the_store_is_asked() {
    let crm = crm(MockStore::new());
    let worker = Actor {
        id: UserId(2),
        role: Role::Worker,
    };
    for e in [
        crm.assign(&worker, TicketId(1), UserId(2))
            .await
            .unwrap_err(),
        crm.stats(&worker, None).await.unwrap_err(),
        crm.create_user(&worker, "someone", "password1", Role::Admin)
            .await
            .unwrap_err(),
        crm.delete_user(&worker, UserId(3)).await.unwrap_err(),
        crm.list_users(&worker, ListUsers::default())
            .await
            .unwrap_err(),
    ] {
        assert_eq!(e.code(), "forbidden");
    }
}

#[tokio::test]
async fn a_sign_in_that_cannot_start_hashing_counts_no_attempt() {
    // No expectation on the store: reserving an attempt (or anything else) would panic.
    let mut crm = crm(MockStore::new());
    let passwords = crate::password::Passwords::new(PasswordCost::Fast)
        .with_limit(1, std::time::Duration::from_millis(20));
    crm.passwords = std::sync::Arc::new(passwords);
    let held = crm.passwords.hasher().await.unwrap();
    let e = crm.authenticate("worker", "password1").await.unwrap_err();
    assert!(matches!(e, CoreError::Busy), "{e:?}");
    drop(held);
}
