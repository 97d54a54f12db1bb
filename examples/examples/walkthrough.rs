//! Embeds the workflow on the in-memory store and walks one repair request from submission to
//! done, printing each step, then prints per-worker statistics.
//!
//! Run with `cargo run -p crm-examples --example walkthrough`.

use crm_core::{CoreError, Crm, DefaultAccount, ListTickets, Role, SubmitTicket, TicketStatus};
use crm_store_memory::MemoryStore;

#[tokio::main]
async fn main() -> Result<(), CoreError> {
    let crm = Crm::new(MemoryStore::new());
    crm.ensure_default_accounts(&[DefaultAccount {
        username: "admin".into(),
        password: "admin123".into(),
        role: Role::Admin,
        must_change_password: false,
    }])
    .await?;

    // Staff sign in; the facade hands back the user, `actor` loads its current role.
    let admin_user = crm.authenticate("admin", "admin123").await?;
    let (admin, _) = crm.actor(admin_user.id).await?;
    let worker_user = crm
        .create_user(&admin, "alice", "alice-pass-1", Role::Worker)
        .await?;
    let (alice, _) = crm.actor(worker_user.id).await?;
    println!(
        "admin created worker {} (id {})",
        worker_user.username, worker_user.id
    );

    // A customer submits a request (no account needed).
    let ticket = crm
        .submit(SubmitTicket {
            title: "Broken laptop screen".into(),
            description: "Screen flickers and has dead pixels".into(),
            client_name: "John Doe".into(),
            client_email: "john@example.com".into(),
            client_phone: Some("+1234567890".into()),
            requester_ip: Some("203.0.113.9".into()),
            requester_ua: Some("walkthrough/1.0".into()),
            device: Some(crm_core::DeviceInput {
                kind: Some(crm_core::DeviceKind::Laptop),
                brand: Some("Lenovo".into()),
                model: Some("ThinkPad T14".into()),
                ..Default::default()
            }),
        })
        .await?;
    println!(
        "submitted ticket #{} at {} ({}), tracking code {}",
        ticket.id,
        ticket.created_at,
        ticket.status,
        ticket.tracking_code.as_str()
    );

    // The same request again is a duplicate while the first is open.
    let again = crm
        .submit(SubmitTicket {
            title: ticket.title.clone(),
            description: ticket.description.clone(),
            client_name: "John Doe".into(),
            client_email: "JOHN@example.com".into(),
            ..Default::default()
        })
        .await;
    if let Err(e) = again {
        println!("resubmission refused: {} ({})", e, e.code());
    }

    let t = crm.assign(&admin, ticket.id, alice.id).await?;
    println!("assigned to worker {} at {:?}", alice.id, t.assigned_at);

    let mine = crm.list_tickets(&alice, ListTickets::default()).await?;
    println!("alice sees {} ticket(s)", mine.total);

    let opened = crm.get_ticket(&alice, ticket.id).await?;
    println!("alice opened it; viewed = {}", opened.viewed);

    let t = crm
        .change_status(&alice, ticket.id, TicketStatus::InProgress)
        .await?;
    println!("in progress at {:?}", t.in_progress_at);
    let t = crm
        .change_status(&alice, ticket.id, TicketStatus::Done)
        .await?;
    println!("done at {:?}", t.done_at);

    let progress = crm.track(ticket.tracking_code.as_str()).await?;
    println!(
        "customer's view: {:?}, assigned = {}",
        progress.status, progress.assigned
    );

    println!("history:");
    for e in crm.history(&admin, ticket.id).await? {
        println!(
            "  {} {:<14} actor={:?} worker={:?} {:?} -> {:?}",
            e.at,
            e.kind.as_str(),
            e.actor_id.map(|a| a.get()),
            e.worker_id.map(|w| w.get()),
            e.from_status.map(|s| s.as_str()),
            e.to_status.map(|s| s.as_str()),
        );
    }

    let stats = crm.stats(&admin, Some(alice.id)).await?;
    println!(
        "stats for alice: total {} new {} in_progress {} done {} avg resolution {:?} s",
        stats.total, stats.new, stats.in_progress, stats.done, stats.avg_resolution_seconds
    );
    Ok(())
}
