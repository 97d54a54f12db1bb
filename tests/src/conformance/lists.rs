//! Lists: visibility, order, paging, filters and search.

use super::*;

/// A worker sees only its own tickets; anything else answers exactly like a missing id.
pub async fn worker_visibility_is_a_filter<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let mine = f.assigned("Mine", &f.worker).await;
    let theirs = f.assigned("Theirs", &f.other).await;
    let unassigned = f.submit("Nobody's").await;

    let page = f
        .crm
        .list_tickets(&f.worker, list(None, None, None))
        .await
        .unwrap();
    assert_eq!((ids(&page.items), page.total), (vec![mine.id.0], 1));
    let page = f
        .crm
        .list_tickets(&f.worker, list(None, Some(f.worker.id), None))
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    let e = f
        .crm
        .list_tickets(&f.worker, list(None, Some(f.other.id), None))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "forbidden");
    let page = f
        .crm
        .list_tickets(&f.worker, list(Some(New), None, Some("i")))
        .await
        .unwrap();
    assert_eq!(
        ids(&page.items),
        vec![mine.id.0],
        "search stays inside the scope"
    );

    for id in [theirs.id, unassigned.id, TicketId(9_999)] {
        let not_found = |r: Result<_, CoreError>| matches!(r, Err(CoreError::NotFound("Ticket")));
        assert!(not_found(f.crm.get_ticket(&f.worker, id).await.map(|_| ())));
        assert!(not_found(f.crm.history(&f.worker, id).await.map(|_| ())));
        assert!(not_found(
            f.crm
                .change_status(&f.worker, id, InProgress)
                .await
                .map(|_| ())
        ));
    }
    let page = f
        .crm
        .list_tickets(&f.admin, list(None, None, None))
        .await
        .unwrap();
    assert_eq!(page.total, 3);
    let e = f.crm.stats(&f.worker, None).await.unwrap_err();
    assert_eq!(e.code(), "forbidden");
}

/// Newest first (`created_at` desc, then `id` desc), stable pages, honest totals past the end.
pub async fn lists_are_newest_first_and_paged<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let mut made = Vec::new();
    for i in 0..7 {
        // Three pairs share a creation time; ties go to the higher id.
        if i % 2 == 0 {
            f.tick();
        }
        made.push(
            f.crm
                .submit(request(&format!("Ticket {i}"), "p@example.com"))
                .await
                .unwrap(),
        );
    }
    // A ticket stamped earlier than all others (a clock set back) sorts last despite its id.
    f.clock.advance(TimeDelta::days(-1));
    let old = f.crm.submit(request("Old", "p@example.com")).await.unwrap();
    let mut expected: Vec<i64> = made.iter().rev().map(|t| t.id.0).collect();
    expected.push(old.id.0);
    let mut expected_sorted = made.clone();
    expected_sorted.push(old);
    expected_sorted.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
    assert_eq!(ids(&expected_sorted), expected);

    let mut seen = Vec::new();
    for page in 1..=3 {
        let p = f
            .crm
            .list_tickets(
                &f.admin,
                ListTickets {
                    page: Some(page),
                    size: Some(3),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!((p.total, p.pages, p.page, p.size), (8, 3, page as u32, 3));
        seen.extend(ids(&p.items));
    }
    assert_eq!(seen, expected);
    let past = f
        .crm
        .list_tickets(
            &f.admin,
            ListTickets {
                page: Some(9),
                size: Some(3),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(past.items.is_empty());
    assert_eq!((past.total, past.pages), (8, 3));
    let default = f
        .crm
        .list_tickets(&f.admin, ListTickets::default())
        .await
        .unwrap();
    assert_eq!(
        (default.page, default.size, default.items.len()),
        (1, 10, 8)
    );
}

/// Status, worker and search filters combine with AND.
pub async fn list_filters_combine<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let a = f.assigned("Laptop fan noise", &f.worker).await;
    let b = f.assigned("Laptop hinge", &f.worker).await;
    let c = f.assigned("Laptop battery", &f.other).await;
    let d = f.submit("Phone battery").await;
    f.set(&f.worker, b.id, InProgress).await.unwrap();
    f.set(&f.other, c.id, InProgress).await.unwrap();
    f.set(&f.other, c.id, Done).await.unwrap();

    type Case<'a> = (
        Option<TicketStatus>,
        Option<UserId>,
        Option<&'a str>,
        Vec<i64>,
    );
    let cases: Vec<Case> = vec![
        (None, None, None, vec![d.id.0, c.id.0, b.id.0, a.id.0]),
        (Some(New), None, None, vec![d.id.0, a.id.0]),
        (Some(InProgress), None, None, vec![b.id.0]),
        (Some(Done), None, None, vec![c.id.0]),
        (None, Some(f.worker.id), None, vec![b.id.0, a.id.0]),
        (Some(New), Some(f.worker.id), None, vec![a.id.0]),
        (Some(Done), Some(f.worker.id), None, vec![]),
        (None, None, Some("battery"), vec![d.id.0, c.id.0]),
        (Some(New), None, Some("battery"), vec![d.id.0]),
        (None, Some(f.other.id), Some("laptop"), vec![c.id.0]),
        (
            Some(InProgress),
            Some(f.worker.id),
            Some("hinge"),
            vec![b.id.0],
        ),
        (Some(InProgress), Some(f.worker.id), Some("fan"), vec![]),
        (None, Some(UserId(777)), None, vec![]),
    ];
    for (status, worker, search, want) in cases {
        let p = f
            .crm
            .list_tickets(&f.admin, list(status, worker, search))
            .await
            .unwrap();
        assert_eq!(ids(&p.items), want, "{status:?} {worker:?} {search:?}");
        assert_eq!(p.total, want.len() as u64);
    }
}

/// Search is a case-insensitive substring of the title; `%`, `_` and `\` match themselves.
pub async fn title_search_is_case_insensitive_and_literal<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let titles = [
        "SCREEN cracked",
        "Cracked screen",
        "Noisy fan",
        "50% battery drain",
        "500 battery",
        "snake_case label",
        "snakeXcase label",
        r"back\slash",
        "Écran cassé",
        "x",
    ];
    let mut by_title = std::collections::HashMap::new();
    for t in titles {
        by_title.insert(t, f.submit(t).await.id.0);
    }
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("screen", vec!["Cracked screen", "SCREEN cracked"]),
        ("  ScReEn ", vec!["Cracked screen", "SCREEN cracked"]),
        ("n c", vec!["SCREEN cracked", "Écran cassé"]),
        ("50%", vec!["50% battery drain"]),
        ("%", vec!["50% battery drain"]),
        ("_", vec!["snake_case label"]),
        ("e_c", vec!["snake_case label"]),
        ("\\", vec![r"back\slash"]),
        ("écran", vec!["Écran cassé"]),
        ("ÉCRAN", vec!["Écran cassé"]),
        ("x", vec!["x", "snakeXcase label"]),
        ("zzz", vec![]),
        ("a", vec![]), // filled below: every title containing "a"
    ];
    for (term, want) in cases {
        let mut want: Vec<i64> = want.iter().map(|t| by_title[t]).collect();
        if term == "a" {
            want = titles
                .iter()
                .filter(|t| t.to_lowercase().contains('a'))
                .map(|t| by_title[t])
                .collect();
        }
        want.sort_unstable_by(|a, b| b.cmp(a));
        let p = f
            .crm
            .list_tickets(&f.admin, list(None, None, Some(term)))
            .await
            .unwrap();
        assert_eq!(ids(&p.items), want, "search {term:?}");
        assert_eq!(p.total, want.len() as u64);
    }
    // A blank search is no search.
    let p = f
        .crm
        .list_tickets(&f.admin, list(None, None, Some("   ")))
        .await
        .unwrap();
    assert_eq!(p.total, titles.len() as u64);
}

/// `page` >= 1, `size` 1-100, search at most 200 characters.
pub async fn list_rejects_bad_paging_and_search<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    for (page, size, field) in [
        (0, 10, "page"),
        (-3, 10, "page"),
        (1, 0, "size"),
        (1, 101, "size"),
    ] {
        let e = f
            .crm
            .list_tickets(
                &f.admin,
                ListTickets {
                    page: Some(page),
                    size: Some(size),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(fields(&e), [field]);
        let e = f
            .crm
            .list_users(
                &f.admin,
                ListUsers {
                    page: Some(page),
                    size: Some(size),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(fields(&e), [field]);
    }
    let e = f
        .crm
        .list_tickets(&f.admin, list(None, None, Some(&"s".repeat(201))))
        .await
        .unwrap_err();
    assert_eq!(fields(&e), ["search"]);
    f.crm
        .list_tickets(&f.admin, list(None, None, Some(&"s".repeat(200))))
        .await
        .unwrap();
}

/// A few thousand tickets with every filter and search: each answer equals a naive filter of
/// the whole set, so the backend's indexes can never drift from the rules.
pub async fn large_lists_and_search_agree_with_a_naive_filter<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let words = [
        "screen", "battery", "Hinge", "fan", "KEYBOARD", "port", "speaker",
    ];
    let mut all = Vec::new();
    for i in 0..600usize {
        if i % 3 == 0 {
            f.tick();
        }
        let title = format!("{} {} #{i}", words[i % 7], words[(i / 7) % 7]);
        let t = f
            .crm
            .submit(request(&title, &format!("c{}@example.com", i % 50)))
            .await
            .unwrap();
        let t = match i % 5 {
            0 => t,
            1 | 2 => f.crm.assign(&f.admin, t.id, f.worker.id).await.unwrap(),
            _ => f.crm.assign(&f.admin, t.id, f.other.id).await.unwrap(),
        };
        let t = if i % 4 == 1 && t.worker_id.is_some() {
            let w = if t.worker_id == Some(f.worker.id) {
                f.worker
            } else {
                f.other
            };
            let t = f.crm.change_status(&w, t.id, InProgress).await.unwrap();
            if i % 8 == 1 {
                f.crm.change_status(&w, t.id, Done).await.unwrap()
            } else {
                t
            }
        } else {
            t
        };
        all.push(t);
    }
    all.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
    let searches = [
        None,
        Some("screen"),
        Some("KEY"),
        Some("e"),
        Some("ry h"),
        Some("#1"),
        Some("nothing"),
    ];
    let statuses = [None, Some(New), Some(InProgress), Some(Done)];
    let workers = [None, Some(f.worker.id), Some(f.other.id)];
    for search in searches {
        for status in statuses {
            for worker in workers {
                let want: Vec<i64> = all
                    .iter()
                    .filter(|t| status.is_none_or(|s| t.status == s))
                    .filter(|t| worker.is_none_or(|w| t.worker_id == Some(w)))
                    .filter(|t| {
                        search.is_none_or(|s| t.title.to_lowercase().contains(&s.to_lowercase()))
                    })
                    .map(|t| t.id.0)
                    .collect();
                for (page, size) in [(1, 7), (3, 7), (2, 100)] {
                    let req = ListTickets {
                        page: Some(page),
                        size: Some(size),
                        cursor: None,
                        status,
                        worker_id: worker,
                        search: search.map(str::to_owned),
                        ..Default::default()
                    };
                    let p = f.crm.list_tickets(&f.admin, req).await.unwrap();
                    let from = ((page - 1) * size) as usize;
                    let expect: Vec<i64> = want
                        .iter()
                        .skip(from)
                        .take(size as usize)
                        .copied()
                        .collect();
                    assert_eq!(
                        ids(&p.items),
                        expect,
                        "{search:?} {status:?} {worker:?} page {page}"
                    );
                    assert_eq!(p.total, want.len() as u64);
                }
            }
        }
    }
    // The worker's own view equals the admin's view filtered by that worker.
    let mine = f
        .crm
        .list_tickets(
            &f.worker,
            ListTickets {
                size: Some(100),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let want: Vec<i64> = all
        .iter()
        .filter(|t| t.worker_id == Some(f.worker.id))
        .map(|t| t.id.0)
        .take(100)
        .collect();
    assert_eq!(ids(&mine.items), want);
}

/// Walks a ticket list by cursor to its end, submitting a new ticket before every step.
async fn walk_by_cursor<S: Store + Clone>(
    f: &Fixture<S>,
    actor: &Actor,
    filter: ListTickets,
    size: i64,
) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut cursor = None;
    for step in 0.. {
        let p = f
            .crm
            .list_tickets(
                actor,
                ListTickets {
                    page: None,
                    size: Some(size),
                    cursor: cursor.clone(),
                    ..filter.clone()
                },
            )
            .await
            .unwrap();
        assert!(p.items.len() <= size as usize);
        assert_eq!(p.page, if cursor.is_some() { 0 } else { 1 });
        seen.extend(ids(&p.items));
        // Arrivals during the walk sort before the cursor: never seen by it, never pushing
        // anything past it. (Newest first, a new ticket sorts first; oldest first, one
        // stamped before everything does.)
        if step < 3 {
            // Each such arrival a day older than the one before, whichever walk made it.
            static OLDER: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(30);
            let back = if filter.sort == Some(TicketSort::Oldest) {
                TimeDelta::days(OLDER.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
            } else {
                TimeDelta::zero()
            };
            f.tick();
            f.clock.advance(-back);
            f.crm
                .submit(request(
                    &format!("Arrival {step} {:x} e", rand::random::<u64>()),
                    "late@example.com",
                ))
                .await
                .unwrap();
            f.clock.advance(back);
        }
        match p.next_cursor {
            Some(c) => {
                assert_eq!(
                    p.items.len(),
                    size as usize,
                    "only a full page has a next one"
                );
                cursor = Some(c.encode());
            }
            None => break,
        }
    }
    seen
}

/// Walking by cursor returns every ticket once, newest first, at any page size, for every
/// filter and for a worker, even while tickets are submitted between the steps; the cursor
/// of a numbered page continues where the page ended; a bad cursor is a validation error.
pub async fn cursor_paging_walks_every_ticket_once<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    for i in 0..23 {
        // Pairs share a creation time, so ties on `created_at` fall to the id.
        if i % 2 == 0 {
            f.tick();
        }
        let title = format!("Walk {i} {}", if i % 3 == 0 { "screen" } else { "battery" });
        let t = if i % 4 == 0 {
            f.assigned(&title, &f.worker).await
        } else {
            f.submit(&title).await
        };
        if i % 5 == 0 {
            f.crm.change_status(&f.admin, t.id, InProgress).await.ok();
        }
    }
    // One stamped before all others (a clock set back) still comes last.
    f.clock.advance(TimeDelta::days(-1));
    f.submit("Walk old battery").await;
    f.clock.advance(TimeDelta::days(2));

    // Everything the filter matches, by numbered pages.
    let snapshot = |filter: ListTickets, actor: Actor| {
        let crm = f.crm.clone();
        async move {
            let mut all = Vec::new();
            for page in 1.. {
                let p = crm
                    .list_tickets(
                        &actor,
                        ListTickets {
                            page: Some(page),
                            size: Some(100),
                            ..filter.clone()
                        },
                    )
                    .await
                    .unwrap();
                if p.items.is_empty() {
                    return all;
                }
                all.extend(ids(&p.items));
            }
            all
        }
    };
    let oldest = |l: ListTickets| ListTickets {
        sort: Some(TicketSort::Oldest),
        ..l
    };
    let unassigned = |l: ListTickets| ListTickets {
        unassigned: true,
        ..l
    };
    let open = |l: ListTickets| ListTickets { open: true, ..l };
    let cases = [
        (list(None, None, None), f.admin),
        (list(Some(New), None, None), f.admin),
        (list(None, None, Some("SCREEN")), f.admin),
        (list(Some(New), None, Some("battery")), f.admin),
        (list(None, Some(f.worker.id), None), f.admin),
        (list(None, None, None), f.worker),
        (unassigned(list(None, None, None)), f.admin),
        (unassigned(list(None, None, Some("battery"))), f.admin),
        (open(list(None, None, None)), f.admin),
        (open(list(None, None, None)), f.worker),
        (oldest(list(None, None, None)), f.admin),
        (oldest(open(list(None, None, Some("battery")))), f.admin),
        (oldest(unassigned(list(None, None, None))), f.admin),
        (oldest(open(list(None, None, None))), f.worker),
    ];
    for (filter, actor) in cases {
        for size in [1, 4, 7, 100] {
            let want = snapshot(filter.clone(), actor).await;
            let got = walk_by_cursor(&f, &actor, filter.clone(), size).await;
            assert_eq!(got, want, "{filter:?} by {:?}, size {size}", actor.role);
        }
    }

    // A numbered page's cursor continues exactly where page 2 would.
    let numbered = |page| ListTickets {
        page: Some(page),
        size: Some(5),
        ..Default::default()
    };
    let p1 = f.crm.list_tickets(&f.admin, numbered(1)).await.unwrap();
    let p2 = f.crm.list_tickets(&f.admin, numbered(2)).await.unwrap();
    let next = f
        .crm
        .list_tickets(
            &f.admin,
            ListTickets {
                size: Some(5),
                cursor: p1.next_cursor.map(Cursor::encode),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&next.items), ids(&p2.items));
    assert_eq!((next.total, next.pages), (p2.total, p2.pages));

    // Users walk the same way.
    let all_users = f
        .crm
        .list_users(
            &f.admin,
            ListUsers {
                size: Some(100),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut users = Vec::new();
    let mut cursor = None;
    loop {
        let p = f
            .crm
            .list_users(
                &f.admin,
                ListUsers {
                    size: Some(1),
                    cursor: cursor.take(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        users.extend(p.items.iter().map(|u| u.id));
        match p.next_cursor {
            Some(c) => cursor = Some(c.encode()),
            None => break,
        }
    }
    let want: Vec<UserId> = all_users.items.iter().map(|u| u.id).collect();
    assert_eq!(users, want);

    // A page number beside a cursor is not used: the cursor decides.
    let both = f
        .crm
        .list_tickets(
            &f.admin,
            ListTickets {
                page: Some(3),
                size: Some(5),
                cursor: p1.next_cursor.map(Cursor::encode),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ids(&both.items), ids(&p2.items));
    for (page, cursor) in [(None, "not-a-cursor"), (Some(2), "1.1.1"), (None, "")] {
        let e = f
            .crm
            .list_tickets(
                &f.admin,
                ListTickets {
                    page,
                    cursor: Some(cursor.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(fields(&e), ["cursor"], "{page:?} {cursor:?}");
    }
}

/// The tabs of a list: unassigned tickets, open ones, oldest first, the counts that go with
/// them, each in the caller's scope; and each user's own "new to me", which one user's
/// opening does not clear for another (the seed's `viewed` is everyone's).
pub async fn tabs_queues_and_each_users_new_cue<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let mine = f.assigned("Queue mine", &f.worker).await;
    f.tick();
    let theirs = f.assigned("Queue theirs", &f.other).await;
    f.tick();
    let waiting = f.submit("Queue waiting").await;
    f.tick();
    let started = f.assigned("Queue started", &f.worker).await;
    f.set(&f.worker, started.id, InProgress).await.unwrap();
    f.tick();
    let finished = f.assigned("Queue finished", &f.worker).await;
    f.set(&f.worker, finished.id, InProgress).await.unwrap();
    f.set(&f.worker, finished.id, Done).await.unwrap();
    let get = |actor: Actor, l: ListTickets| {
        let crm = f.crm.clone();
        async move { crm.list_tickets(&actor, l).await.unwrap() }
    };
    let all = |l: ListTickets| ListTickets {
        size: Some(100),
        ..l
    };
    let unassigned = get(
        f.admin,
        all(ListTickets {
            unassigned: true,
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(
        (ids(&unassigned.items), unassigned.total),
        (vec![waiting.id.0], 1)
    );
    let none = get(
        f.worker,
        all(ListTickets {
            unassigned: true,
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(none.total, 0, "a worker has no unassigned tickets");
    let queue = get(
        f.worker,
        all(ListTickets {
            open: true,
            sort: Some(TicketSort::Oldest),
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(
        ids(&queue.items),
        [mine.id.0, started.id.0],
        "open, oldest first"
    );
    assert_eq!(queue.total, 2);
    let newest = get(f.admin, all(ListTickets::default())).await;
    let oldest = get(
        f.admin,
        all(ListTickets {
            sort: Some(TicketSort::Oldest),
            ..Default::default()
        }),
    )
    .await;
    let mut reversed = ids(&newest.items);
    reversed.reverse();
    assert_eq!(ids(&oldest.items), reversed);
    let open_done = get(
        f.admin,
        all(ListTickets {
            open: true,
            status: Some(Done),
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(open_done.total, 0, "open and done exclude each other");

    let c = f.crm.ticket_counts(&f.admin).await.unwrap();
    assert_eq!(
        (c.all, c.unassigned, c.new, c.in_progress, c.done, c.open),
        (5, 1, 3, 1, 1, 4)
    );
    let c = f.crm.ticket_counts(&f.worker).await.unwrap();
    assert_eq!(
        (c.all, c.unassigned, c.new, c.in_progress, c.done, c.open),
        (3, 0, 1, 1, 1, 2)
    );

    // New to me: an admin's opening clears it for the admin only.
    let new_to = |actor: Actor, id: crm_core::TicketId| {
        let crm = f.crm.clone();
        async move {
            crm.list_tickets(
                &actor,
                ListTickets {
                    size: Some(100),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|t| t.id == id)
            .map(|t| (t.new_to_me, t.viewed))
        }
    };
    assert_eq!(new_to(f.admin, mine.id).await, Some((true, false)));
    assert_eq!(new_to(f.worker, mine.id).await, Some((true, false)));
    f.crm.get_ticket(&f.admin, mine.id).await.unwrap();
    assert_eq!(new_to(f.admin, mine.id).await, Some((false, true)));
    assert_eq!(
        new_to(f.worker, mine.id).await,
        Some((true, true)),
        "still new to its worker"
    );
    f.crm.get_ticket(&f.worker, mine.id).await.unwrap();
    f.crm.get_ticket(&f.worker, mine.id).await.unwrap();
    assert_eq!(new_to(f.worker, mine.id).await, Some((false, true)));
    assert_eq!(new_to(f.admin, theirs.id).await, Some((true, false)));
}
