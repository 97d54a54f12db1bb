//! The request workflow: submission, tracking, reading, listing, assigning, moving, history
//! and statistics.

use super::{Crm, IntakeTicket, ListTickets, SubmitTicket, not_found, require};
use crate::{
    device::{Device, Priority},
    edit::{EditTicket, TicketEdit},
    error::{CoreError, StoreError},
    history::Event,
    history::NewEvent,
    ids::{TicketId, UserId},
    input::SearchTerm,
    input::{
        ClientName, Description, Email, Phone, Title, ValidationErrors, check_worker_id,
        truncate_user_agent,
    },
    page::{CounterSearch, Page, TicketFilter, TicketQuery, parse_list},
    role::{Actor, Permission, Role},
    status::TicketStatus,
    store::{ExpectedState, Store, Transition},
    ticket::{NewTicket, Submission, Ticket, TicketCounts, TicketProgress, TrackingCode},
    user::Stats,
};

/// A request's fields checked into a [`Submission`] (priority `normal`, no due date, no
/// worker): every problem is added to `errs`, and `None` comes back when there was one.
fn validate(req: SubmitTicket, errs: &mut ValidationErrors) -> Option<Submission> {
    let title = errs.check("title", Title::parse_owned(req.title));
    let description = errs.check("description", Description::parse_owned(req.description));
    let client_name = errs.check("client.name", ClientName::parse_owned(req.client_name));
    let client_email = errs.check("client.email", Email::parse(&req.client_email));
    let client_phone = errs.check(
        "client.phone",
        Phone::parse_optional(req.client_phone.as_deref()),
    );
    let device = Device::parse(req.device, errs);
    Some(Submission {
        title: title?,
        description: description?,
        client_name: client_name?,
        client_email: client_email?,
        client_phone: client_phone?,
        requester_ip: req.requester_ip,
        requester_ua: req.requester_ua.as_deref().map(truncate_user_agent),
        device,
        priority: Priority::Normal,
        due_at: None,
        taken_in_by: None,
        worker: None,
    })
}

/// How often a change re-reads and retries after losing a compare-and-set. Each round of
/// racing changes has a winner, so `n` changes racing on one ticket all land within `n`
/// attempts: 16 covers a counter's worth of people and tabs on one ticket at once (8 was
/// once too few for 8 edits racing a status change) without looping forever. A change that
/// loses every attempt is answered [`CoreError::Busy`] (retry shortly), never an internal
/// error.
pub(crate) const RACE_ATTEMPTS: usize = 16;

impl<S: Store> Crm<S> {
    /// Validates and stores a customer's request. Every invalid field is reported at once;
    /// an identical open request is [`CoreError::DuplicateTicket`] and nothing is stored.
    pub async fn submit(&self, req: SubmitTicket) -> Result<Ticket, CoreError> {
        let mut errs = ValidationErrors::default();
        let submission = validate(req, &mut errs);
        let submission = submission.filter(|_| errs.is_empty()).ok_or(errs)?;
        self.store_submission(submission).await
    }

    /// A request taken in at the counter by `actor`: validated like a customer's, with the
    /// shop's priority and due date, and the worker it goes to (an admin names any active
    /// worker or leaves it to automatic assignment; a worker's intake is its own, and naming
    /// another is [`CoreError::Forbidden`]). The `submitted` event names `actor`; a named
    /// worker is assigned in the same atomic step (an inactive or unknown one is
    /// [`CoreError::InvalidWorker`] and nothing is stored).
    pub async fn intake(&self, actor: &Actor, req: IntakeTicket) -> Result<Ticket, CoreError> {
        let worker = match actor.role {
            Role::Worker => match req.worker_id {
                Some(w) if w != actor.id => {
                    return Err(CoreError::Forbidden(
                        "Workers take requests in for themselves and cannot name another worker.",
                    ));
                }
                _ => Some(actor.id),
            },
            Role::Admin => req.worker_id,
        };
        check_worker_id(worker)?;
        let mut errs = ValidationErrors::default();
        let submission = validate(req.request, &mut errs);
        let mut submission = submission.filter(|_| errs.is_empty()).ok_or(errs)?;
        submission.priority = req.priority.unwrap_or_default();
        submission.due_at = req.due_at;
        submission.taken_in_by = Some(actor.id);
        submission.worker = worker;
        self.store_submission(submission).await
    }

    async fn store_submission(&self, submission: Submission) -> Result<Ticket, CoreError> {
        let new = NewTicket {
            submission,
            created_at: self.clock.now(),
            tracking_code: TrackingCode::generate(),
        };
        let ticket = self.store.create_ticket(new).await.map_err(|e| match e {
            StoreError::DuplicateTicket => CoreError::DuplicateTicket,
            StoreError::WorkerUnavailable => CoreError::InvalidWorker,
            other => CoreError::from_store(other),
        })?;
        self.assign_waiting_after_change().await;
        Ok(ticket)
    }

    /// The progress view for a tracking code; any malformed or unknown code is `not_found`.
    pub async fn track(&self, code: &str) -> Result<TicketProgress, CoreError> {
        let code = TrackingCode::parse(code).ok_or(CoreError::NotFound("Request"))?;
        self.store.track(&code).await.map_err(not_found("Request"))
    }

    /// Reads a ticket the actor may see without opening it (nothing is marked viewed): for
    /// printing its receipt, say.
    pub async fn read_ticket(&self, actor: &Actor, id: TicketId) -> Result<Ticket, CoreError> {
        self.store
            .get_ticket(id, actor.visibility())
            .await
            .map_err(not_found("Ticket"))
    }

    /// Opens a ticket the actor may see, marking it viewed on first opening.
    pub async fn get_ticket(&self, actor: &Actor, id: TicketId) -> Result<Ticket, CoreError> {
        self.store
            .open_ticket(id, actor.visibility(), actor.id, self.clock.now())
            .await
            .map_err(not_found("Ticket"))
    }

    /// Lists tickets the actor may see. A worker's scope is ANDed into the query; a worker
    /// asking for another worker's tickets is [`CoreError::Forbidden`].
    pub async fn list_tickets(
        &self,
        actor: &Actor,
        req: ListTickets,
    ) -> Result<Page<Ticket>, CoreError> {
        let query = self.ticket_query(actor, req)?;
        self.store
            .list_tickets(&query)
            .await
            .map_err(CoreError::from_store)
    }

    /// The store query of a list request, every parameter checked (each refusal names its
    /// field) and the actor's scope applied.
    pub(super) fn ticket_query(
        &self,
        actor: &Actor,
        req: ListTickets,
    ) -> Result<TicketQuery, CoreError> {
        let mut errs = ValidationErrors::default();
        let listed = parse_list(
            req.page,
            req.size,
            req.cursor.as_deref(),
            req.search.as_deref(),
        )
        .map_err(|e| errs.0.extend(e.0))
        .ok();
        let q = errs.check("q", CounterSearch::parse(req.q.as_deref().unwrap_or("")));
        let serial = errs.check(
            "serial",
            match req.serial.as_deref().map(str::trim) {
                Some(s) if s.chars().count() > SearchTerm::MAX_CHARS => Err(format!(
                    "Serial must be at most {} characters.",
                    SearchTerm::MAX_CHARS
                )),
                Some(s) if s.chars().any(crate::input::is_forbidden_control) => {
                    Err("Serial must not contain control characters.".to_owned())
                }
                Some(s) if !s.is_empty() => Ok(Some(crate::device::serial_key(s))),
                _ => Ok(None),
            },
        );
        if let Some(c) = req.client_id.filter(|c| c.0 < 1) {
            errs.0.push(crate::input::FieldError {
                field: "client_id".into(),
                message: format!("client_id must be 1 or more, not {}.", c.0),
            });
        }
        if let Some(s) = req.stage_id.filter(|s| s.0 < 1) {
            errs.0.push(crate::input::FieldError {
                field: "stage_id".into(),
                message: format!("stage_id must be 1 or more, not {}.", s.0),
            });
        }
        let (Some((page, search)), Some(q), Some(serial)) = (listed, q, serial) else {
            return Err(errs.into());
        };
        if !errs.is_empty() {
            return Err(errs.into());
        }
        check_worker_id(req.worker_id)?;
        let visibility = actor.visibility();
        if visibility.scope(req.worker_id) == crate::role::Scope::Nothing {
            return Err(CoreError::Forbidden(
                "Workers can only list their own tickets.",
            ));
        }
        let query = TicketQuery {
            visibility,
            filter: TicketFilter {
                status: req.status,
                worker_id: req.worker_id,
                search,
                unassigned: req.unassigned,
                open: req.open,
                priority: req.priority,
                client_id: req.client_id,
                serial,
                overdue_at: req.overdue.then(|| self.clock.now()),
                q,
                awaiting_reply: req.awaiting_reply,
                stage_id: req.stage_id,
                quote: req.quote.map(|q| q.at(self.clock.now())),
            },
            sort: req.sort.unwrap_or_default(),
            page,
            viewer: Some(actor.id),
        };
        Ok(query)
    }

    /// How many tickets the actor's scope holds, by the tabs of a list: for admins every
    /// ticket (and how many wait for a worker), for a worker its own.
    pub async fn ticket_counts(&self, actor: &Actor) -> Result<TicketCounts, CoreError> {
        let (stats, unassigned) = match actor.visibility() {
            crate::role::Visibility::All => {
                let stats = self.store.ticket_stats(None).await;
                let unassigned = self.store.unassigned_count().await;
                (stats, unassigned)
            }
            crate::role::Visibility::AssignedTo(me) => {
                (self.store.ticket_stats(Some(me)).await, Ok(0))
            }
        };
        let s = stats.map_err(CoreError::from_store)?;
        Ok(TicketCounts {
            all: s.new + s.in_progress + s.done,
            unassigned: unassigned.map_err(CoreError::from_store)?,
            new: s.new,
            in_progress: s.in_progress,
            done: s.done,
            open: s.new + s.in_progress,
        })
    }

    /// Assigns a ticket to an active worker (admins only). Does not change the status.
    pub async fn assign(
        &self,
        actor: &Actor,
        id: TicketId,
        worker: UserId,
    ) -> Result<Ticket, CoreError> {
        require(actor, Permission::AssignTickets)?;
        check_worker_id(Some(worker))?;
        // A stale answer means the ticket changed between the store's attempt and its
        // follow-up read; the next attempt decides on the new state.
        for _ in 0..RACE_ATTEMPTS {
            match self
                .store
                .assign(id, worker, actor.id, self.clock.now())
                .await
            {
                Ok(t) => {
                    // A reassignment may have freed the previous worker.
                    self.assign_waiting_after_change().await;
                    return Ok(t);
                }
                Err(StoreError::Stale) => continue,
                Err(StoreError::NotFound) => return Err(CoreError::NotFound("Ticket")),
                Err(StoreError::TicketClosed) => return Err(CoreError::TicketClosed),
                Err(StoreError::WorkerUnavailable) => return Err(CoreError::InvalidWorker),
                Err(other) => return Err(CoreError::from_store(other)),
            }
        }
        Err(CoreError::Busy)
    }

    /// Moves a ticket along the state machine. Asking for the status it already has returns it
    /// unchanged (a safe retry). Racing changes apply once: the store compares and sets the
    /// state the rules were checked against, and a loser re-reads and decides again.
    /// The step clears the ticket's stage ([`Crm::change_status_to_stage`] names one).
    pub async fn change_status(
        &self,
        actor: &Actor,
        id: TicketId,
        next: TicketStatus,
    ) -> Result<Ticket, CoreError> {
        self.change_status_to_stage(actor, id, next, None).await
    }

    /// [`Crm::change_status`] into `stage` of the new status (`None`: no stage). A stage of
    /// another status is refused (`validation_error` on `stage_id`) before anything moves.
    /// Asking for the status the ticket has with a stage moves the stage only.
    pub async fn change_status_to_stage(
        &self,
        actor: &Actor,
        id: TicketId,
        next: TicketStatus,
        stage: Option<crate::ids::StageId>,
    ) -> Result<Ticket, CoreError> {
        let stage = match stage {
            Some(s) => Some(self.stage_for(s, next).await?),
            None => None,
        };
        for _ in 0..RACE_ATTEMPTS {
            let ticket = self
                .store
                .get_ticket(id, actor.visibility())
                .await
                .map_err(not_found("Ticket"))?;
            if ticket.status == next {
                return match stage {
                    Some(s) => self.move_stage(actor, ticket, Some(s)).await,
                    None => Ok(ticket),
                };
            }
            if !ticket.status.can_become(next) {
                return Err(CoreError::InvalidTransition {
                    from: ticket.status,
                    to: next,
                });
            }
            if next == TicketStatus::InProgress && ticket.worker_id.is_none() {
                return Err(CoreError::NotAssigned);
            }
            let change = Transition {
                ticket_id: id,
                expected: ExpectedState {
                    status: ticket.status,
                    worker_id: ticket.worker_id,
                },
                next,
                actor: actor.id,
                at: self.clock.now(),
                from_stage: ticket.stage.clone(),
                to_stage: stage.clone(),
            };
            match self.store.transition(change).await {
                Ok(t) => {
                    if !next.is_open() {
                        // Its worker has one open ticket fewer.
                        self.assign_waiting_after_change().await;
                    }
                    return Ok(t);
                }
                Err(StoreError::Stale) => continue,
                Err(StoreError::UnknownStage) => return Err(super::stages::stage_gone()),
                Err(e) => return Err(not_found("Ticket")(e)),
            }
        }
        Err(CoreError::Busy)
    }

    /// Corrects a ticket (an admin, or the ticket's worker; a done ticket too): merge-patch
    /// semantics, validated like intake, recorded as one `edited` event listing each changed
    /// field with its old and new value. A patch that changes nothing writes nothing. A change
    /// that makes the ticket a duplicate of another open one is
    /// [`CoreError::DuplicateTicket`]; racing edits and changes are compared and set, and a
    /// loser decides again on what won.
    pub async fn edit_ticket(
        &self,
        actor: &Actor,
        id: TicketId,
        edit: EditTicket,
    ) -> Result<Ticket, CoreError> {
        for _ in 0..RACE_ATTEMPTS {
            let t = self
                .store
                .get_ticket(id, actor.visibility())
                .await
                .map_err(not_found("Ticket"))?;
            let crate::edit::Planned {
                title,
                description,
                device,
                priority,
                due_at,
                changes,
            } = crate::edit::plan(&t, edit.clone())?;
            if changes.is_empty() {
                return Ok(t);
            }
            // Strictly after the state it was planned on, so `updated_at` tells every edit
            // apart and a racing edit planned on the same state loses its compare-and-set.
            let at = self
                .clock
                .now()
                .max(t.updated_at + chrono::TimeDelta::microseconds(1));
            let change = TicketEdit {
                ticket_id: id,
                expected_updated_at: t.updated_at,
                expected: ExpectedState {
                    status: t.status,
                    worker_id: t.worker_id,
                },
                title,
                description,
                device,
                priority,
                due_at,
                at,
                event: NewEvent::edited(at, actor.id, t.status, t.worker_id, changes),
            };
            match self.store.edit_ticket(change).await {
                Ok(t) => return Ok(t),
                Err(StoreError::Stale) => continue,
                Err(StoreError::DuplicateTicket) => return Err(CoreError::DuplicateTicket),
                Err(e) => return Err(not_found("Ticket")(e)),
            }
        }
        Err(CoreError::Busy)
    }

    /// A ticket's history, oldest first, for staff who may see the ticket.
    pub async fn history(&self, actor: &Actor, id: TicketId) -> Result<Vec<Event>, CoreError> {
        self.store
            .history(id, actor.visibility())
            .await
            .map_err(not_found("Ticket"))
    }

    /// Status counts and mean resolution time, for one worker or overall (admins only).
    /// An id that is not a worker's (active or deleted) is `not_found`.
    pub async fn stats(&self, actor: &Actor, worker: Option<UserId>) -> Result<Stats, CoreError> {
        require(actor, Permission::ReadStats)?;
        check_worker_id(worker)?;
        if let Some(w) = worker {
            let rec = self.store.find_user(w).await.map_err(not_found("Worker"))?;
            if rec.user.role != Role::Worker {
                return Err(CoreError::NotFound("Worker"));
            }
        }
        let counts = self.store.ticket_stats(worker).await;
        let stages = self.store.list_stages().await;
        let figures = self.store.stage_figures(worker).await;
        let mut stats = counts.map_err(CoreError::from_store)?.into_stats(worker);
        stats.stages = crate::stage::stage_stats(
            &stages.map_err(CoreError::from_store)?,
            &figures.map_err(CoreError::from_store)?,
        );
        Ok(stats)
    }
}
