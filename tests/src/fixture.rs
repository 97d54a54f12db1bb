//! A facade over a fresh store with a pinned clock and three staff accounts.

use chrono::{TimeDelta, TimeZone, Utc};
use crm_core::{
    Actor, CoreError, Crm, DefaultAccount, ManualClock, PasswordCost, Role, Store, SubmitTicket,
    Ticket, TicketId, TicketStatus,
};

/// What most checks start from: an admin, two workers, and a clock that moves only on demand.
pub struct Fixture<S> {
    /// The facade under test.
    pub crm: Crm<S>,
    /// Its clock.
    pub clock: ManualClock,
    /// The seeded admin.
    pub admin: Actor,
    /// A worker.
    pub worker: Actor,
    /// Another worker.
    pub other: Actor,
}

/// The password of every fixture account.
pub const PASSWORD: &str = "password123";

impl<S: Store + Clone> Fixture<S> {
    /// Seeds `admin`, `worker` and `other` into an empty store.
    pub async fn new(store: S) -> Self {
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap());
        let crm = Crm::new(store)
            .with_clock(clock.clone())
            .with_password_cost(PasswordCost::Fast);
        let account = |name: &str, role| DefaultAccount {
            username: name.into(),
            password: PASSWORD.into(),
            role,
            must_change_password: false,
        };
        assert!(
            crm.ensure_default_accounts(&[account("admin", Role::Admin)])
                .await
                .unwrap()
        );
        let admin = Self::login(&crm, "admin").await;
        for name in ["worker", "other"] {
            crm.create_user(&admin, name, PASSWORD, Role::Worker)
                .await
                .unwrap();
        }
        let worker = Self::login(&crm, "worker").await;
        let other = Self::login(&crm, "other").await;
        Self {
            crm,
            clock,
            admin,
            worker,
            other,
        }
    }

    async fn login(crm: &Crm<S>, name: &str) -> Actor {
        let user = crm.authenticate(name, PASSWORD).await.unwrap();
        crm.actor(user.id).await.unwrap().0
    }

    /// Moves the clock one second on, so each step gets its own timestamp.
    pub fn tick(&self) {
        self.clock.advance(TimeDelta::seconds(1));
    }

    /// Submits a valid request with this title (description and e-mail derived from it).
    pub async fn submit(&self, title: &str) -> Ticket {
        self.tick();
        self.crm
            .submit(request(title, "client@example.com"))
            .await
            .unwrap()
    }

    /// Submits, assigns to `worker` and returns the assigned ticket.
    pub async fn assigned(&self, title: &str, worker: &Actor) -> Ticket {
        let t = self.submit(title).await;
        self.tick();
        self.crm.assign(&self.admin, t.id, worker.id).await.unwrap()
    }

    /// Moves a ticket as `actor`.
    pub async fn set(
        &self,
        actor: &Actor,
        id: TicketId,
        s: TicketStatus,
    ) -> Result<Ticket, CoreError> {
        self.tick();
        self.crm.change_status(actor, id, s).await
    }
}

/// A valid submission.
pub fn request(title: &str, email: &str) -> SubmitTicket {
    SubmitTicket {
        title: title.into(),
        description: format!("Description of {title}"),
        client_name: "John Doe".into(),
        client_email: email.into(),
        client_phone: Some("+1234567890".into()),
        requester_ip: Some("192.0.2.7".into()),
        requester_ua: Some("curl/8.5".into()),
        device: None,
    }
}
