//! Hostile input and floods: control characters, case folding, id ranges, sign-in
//! throttling shared through the store, and session keys.

use super::*;
use crm_core::{SessionKey, throttle};

/// Control characters are refused field by field, in every text field and in searches;
/// nothing is stored.
pub async fn control_characters_are_refused_and_nothing_stored<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let mut bad = request("Null\u{0}byte", "ctl@example.com");
    bad.description = "escape \u{1b}[31m red".into();
    bad.client_name = "Bell\u{7}".into();
    bad.client_email = "ctl\u{7f}@example.com".into();
    let e = f.crm.submit(bad).await.unwrap_err();
    assert_eq!(
        fields(&e),
        ["title", "description", "client.name", "client.email"]
    );
    let e = f
        .crm
        .list_tickets(&f.admin, list(None, None, Some("\u{0}")))
        .await
        .unwrap_err();
    assert_eq!(fields(&e), ["search"]);
    let e = f
        .crm
        .create_user(&f.admin, "ctl_user", "pass\u{0}word", Role::Worker)
        .await
        .unwrap_err();
    assert_eq!(fields(&e), ["password"]);
    // Tabs and line breaks are text, not control characters.
    let mut ok = request("Tab\there", "ctl@example.com");
    ok.description = "line one\r\nline two".into();
    f.crm.submit(ok).await.unwrap();
    let page = f
        .crm
        .list_tickets(&f.admin, list(None, None, None))
        .await
        .unwrap();
    assert_eq!(page.total, 1);
}

/// Search folds case character by character (Unicode simple case folding), the same way on
/// every backend: `Σ`, `σ` and `ς` match each other wherever they stand.
pub async fn search_folds_case_character_by_character<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let sigma = f.submit("ΑΣ repair").await;
    let istanbul = f.submit("İstanbul office printer").await;
    let kelvin = f.submit("Oven reads 300 \u{212a}").await;
    let search = |term: &'static str| {
        let crm = f.crm.clone();
        let admin = f.admin;
        async move {
            ids(&crm
                .list_tickets(&admin, list(None, None, Some(term)))
                .await
                .unwrap()
                .items)
        }
    };
    for term in ["Σ", "σ", "ς", "ας", "ΑΣ"] {
        assert_eq!(search(term).await, [sigma.id.0], "{term}");
    }
    for term in ["i\u{307}stanbul", "İSTANBUL", "İstanbul"] {
        assert_eq!(search(term).await, [istanbul.id.0], "{term}");
    }
    assert_eq!(
        search("300 k").await,
        [kelvin.id.0],
        "Kelvin sign folds to k"
    );
}

/// A worker id given by a caller is 1 or more.
pub async fn worker_ids_must_be_positive<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let t = f.submit("Zero").await;
    for w in [0, -1] {
        let e = f
            .crm
            .list_tickets(&f.admin, list(None, Some(UserId(w)), None))
            .await
            .unwrap_err();
        assert_eq!(fields(&e), ["worker_id"]);
        let e = f.crm.assign(&f.admin, t.id, UserId(w)).await.unwrap_err();
        assert_eq!(fields(&e), ["worker_id"]);
        let e = f.crm.stats(&f.admin, Some(UserId(w))).await.unwrap_err();
        assert_eq!(fields(&e), ["worker_id"]);
    }
}

/// After five failures a username is locked for a delay that doubles; attempts while locked
/// are refused whatever the password, known username or not; the delay passing lets the
/// right password in, which resets the count.
pub async fn sign_in_is_throttled_per_username<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    for name in ["worker", "no-such-user"] {
        for _ in 0..throttle::FREE_FAILURES {
            let e = f
                .crm
                .authenticate(name, "wrong-password")
                .await
                .unwrap_err();
            assert!(matches!(e, CoreError::InvalidCredentials), "{name}: {e:?}");
        }
        let e = f.crm.authenticate(name, PASSWORD).await.unwrap_err();
        match e {
            CoreError::TooManyAttempts { retry_after_secs } => assert_eq!(retry_after_secs, 1),
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(e_code(&f, name).await, "too_many_attempts", "{name}");
        // Another username is not affected.
        f.crm.authenticate("other", PASSWORD).await.unwrap();
    }
    f.clock.advance(TimeDelta::seconds(1));
    // One more failure after the lock: the next lock is twice as long.
    f.crm
        .authenticate("worker", "wrong-again")
        .await
        .unwrap_err();
    match f.crm.authenticate("worker", PASSWORD).await.unwrap_err() {
        CoreError::TooManyAttempts { retry_after_secs } => assert_eq!(retry_after_secs, 2),
        other => panic!("{other:?}"),
    }
    f.clock.advance(TimeDelta::seconds(2));
    f.crm.authenticate("Worker", PASSWORD).await.unwrap();
    // The success forgot the failures: five more are free again.
    for _ in 0..throttle::FREE_FAILURES - 1 {
        f.crm.authenticate("worker", "wrong").await.unwrap_err();
    }
    f.crm.authenticate("worker", PASSWORD).await.unwrap();
    // Failures older than the window start over.
    for _ in 0..throttle::FREE_FAILURES - 1 {
        f.crm.authenticate("other", "wrong").await.unwrap_err();
    }
    f.clock.advance(throttle::WINDOW + TimeDelta::seconds(1));
    f.crm.authenticate("other", "wrong").await.unwrap_err();
    f.crm.authenticate("other", PASSWORD).await.unwrap();
}

async fn e_code<S: Store + Clone>(f: &Fixture<S>, name: &str) -> &'static str {
    f.crm
        .authenticate(name, "anything-at-all")
        .await
        .unwrap_err()
        .code()
}

/// Racing guesses for one username get exactly the free attempts, however many race and
/// however long each hash takes: every attempt is reserved (and counted) in the store before
/// its password is checked, so the rest are refused without being evaluated.
pub async fn racing_guesses_get_exactly_the_free_attempts<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let tasks = (0..40).map(|_| {
        let crm = f.crm.clone();
        tokio::spawn(async move { crm.authenticate("worker", "a-wrong-guess").await })
    });
    let (mut evaluated, mut refused) = (0, 0);
    for r in join_all(tasks).await {
        match r.unwrap() {
            Err(CoreError::InvalidCredentials) => evaluated += 1,
            Err(CoreError::TooManyAttempts { .. }) => refused += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((evaluated, refused), (throttle::FREE_FAILURES, 35));
    // The same straight on the store, for a name no account has.
    let now = f.clock.now();
    let tasks = (0..40).map(|_| {
        let store = f.crm.store().clone();
        tokio::spawn(async move { store.reserve_sign_in("racer", now).await })
    });
    let granted = join_all(tasks)
        .await
        .into_iter()
        .filter(|r| r.as_ref().unwrap().as_ref().unwrap().is_ok())
        .count();
    assert_eq!(granted, throttle::FREE_FAILURES as usize);
    f.crm.store().login_succeeded("racer").await.unwrap();
    assert!(
        f.crm
            .store()
            .reserve_sign_in("racer", now)
            .await
            .unwrap()
            .is_ok()
    );
}

/// A session names an account and the key its tokens were issued under: another key (a
/// token from before a password change, or for an earlier account with the same id) and a
/// deleted account are refused.
pub async fn sessions_need_the_accounts_current_key<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let user = f.crm.authenticate("worker", PASSWORD).await.unwrap();
    let (actor, _) = f
        .crm
        .session(user.id, user.session_key, "t1")
        .await
        .unwrap();
    assert_eq!(actor, f.worker);
    let wrong = SessionKey(user.session_key.0.wrapping_add(1));
    assert!(matches!(
        f.crm.session(user.id, wrong, "t1").await,
        Err(CoreError::Unauthenticated)
    ));
    let other = f.crm.authenticate("other", PASSWORD).await.unwrap();
    assert_ne!(
        other.session_key, user.session_key,
        "each account draws its own"
    );
    f.crm.delete_user(&f.admin, user.id).await.unwrap();
    assert!(matches!(
        f.crm.session(user.id, user.session_key, "t1").await,
        Err(CoreError::Unauthenticated)
    ));
}
