//! Stages and their running figures, under the store's lock like everything else: a move
//! refiles the ticket's counts in the same critical section as the move itself.

use crate::MemoryStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    Change, NewStage, Stage, StageChange, StageFigures, StageId, StagePatch, StageRef, StageStore,
    StoreError, Ticket, TicketStatus, UserId,
    stage::{DEFAULT_STAGES, StageName},
};
use hashbrown::HashMap;

/// Every stage ever made (a removed one an empty slot, so ids are never reused) and, per
/// worker (`None`: no worker) and stage, the tickets in it and the finished stays.
pub(crate) struct Stages {
    rows: Vec<Option<Stage>>,
    figures: HashMap<(Option<UserId>, StageId), Figures>,
}

#[derive(Default, Clone, Copy)]
struct Figures {
    tickets: i64,
    visits: u64,
    micros: i128,
}

impl Default for Stages {
    /// A fresh store's stages: [`DEFAULT_STAGES`].
    fn default() -> Self {
        let mut s = Self {
            rows: Vec::new(),
            figures: HashMap::new(),
        };
        for (status, name, notify) in DEFAULT_STAGES {
            if let Ok(name) = StageName::parse(name) {
                s.add(NewStage {
                    status: *status,
                    name,
                    notify_customer: *notify,
                });
            }
        }
        s
    }
}

fn order(s: TicketStatus) -> u8 {
    match s {
        TicketStatus::New => 0,
        TicketStatus::InProgress => 1,
        TicketStatus::Done => 2,
    }
}

impl Stages {
    fn get(&self, id: StageId) -> Option<&Stage> {
        usize::try_from(id.0 - 1)
            .ok()
            .and_then(|i| self.rows.get(i))
            .and_then(Option::as_ref)
    }

    pub(crate) fn exists(&self, id: StageId) -> bool {
        self.get(id).is_some()
    }

    /// The stage as a ticket names it.
    pub(crate) fn reference(&self, id: StageId) -> Option<StageRef> {
        self.get(id).map(Stage::to_ref)
    }

    fn of_status(&self, status: TicketStatus) -> impl Iterator<Item = &Stage> {
        self.rows
            .iter()
            .flatten()
            .filter(move |s| s.status == status)
    }

    fn add(&mut self, new: NewStage) -> Stage {
        let stage = Stage {
            id: StageId(self.rows.len() as i64 + 1),
            status: new.status,
            name: new.name,
            notify_customer: new.notify_customer,
            position: self.of_status(new.status).count() as u32,
        };
        self.rows.push(Some(stage.clone()));
        stage
    }

    fn in_use(&self, id: StageId) -> bool {
        self.figures
            .iter()
            .any(|(&(_, s), f)| s == id && f.tickets > 0)
    }

    /// Moves a ticket's counts from `(worker, stage, since)` to `(worker, stage)` as one
    /// change made at `at`; leaving a stage ends a stay that began `since`.
    pub(crate) fn refile(
        &mut self,
        before: (Option<UserId>, Option<StageId>, Option<DateTime<Utc>>),
        after: (Option<UserId>, Option<StageId>),
        at: DateTime<Utc>,
    ) {
        let (w0, s0, since) = before;
        let (w1, s1) = after;
        if (w0, s0) == (w1, s1) {
            return;
        }
        if let Some(s) = s0 {
            let f = self.figures.entry((w0, s)).or_default();
            f.tickets -= 1;
            if s1 != s0 {
                f.visits += 1;
                f.micros += since
                    .and_then(|t| (at - t).num_microseconds())
                    .map_or(0, i128::from);
            }
        }
        if let Some(s) = s1 {
            self.figures.entry((w1, s)).or_default().tickets += 1;
        }
    }
}

#[async_trait]
impl StageStore for MemoryStore {
    async fn list_stages(&self) -> Result<Vec<Stage>, StoreError> {
        let g = self.read();
        let mut all: Vec<Stage> = g.stages.rows.iter().flatten().cloned().collect();
        all.sort_by_key(|s| (order(s.status), s.position));
        Ok(all)
    }

    async fn create_stage(&self, new: NewStage) -> Result<Stage, StoreError> {
        Ok(self.write().stages.add(new))
    }

    async fn update_stage(&self, id: StageId, patch: StagePatch) -> Result<Stage, StoreError> {
        let mut g = self.write();
        let stages = &mut g.stages;
        let current = stages.get(id).cloned().ok_or(StoreError::NotFound)?;
        if let Some(to) = patch.position {
            let last = stages.of_status(current.status).count() as u32 - 1;
            let to = to.min(last);
            let from = current.position;
            for s in stages.rows.iter_mut().flatten() {
                if s.status != current.status {
                    continue;
                }
                if s.id == id {
                    s.position = to;
                } else if from < to && (from + 1..=to).contains(&s.position) {
                    s.position -= 1;
                } else if to < from && (to..from).contains(&s.position) {
                    s.position += 1;
                }
            }
        }
        let i = (id.0 - 1) as usize;
        let s = stages.rows[i].as_mut().ok_or(StoreError::NotFound)?;
        if let Some(name) = patch.name {
            s.name = name;
        }
        if let Some(n) = patch.notify_customer {
            s.notify_customer = n;
        }
        Ok(s.clone())
    }

    async fn delete_stage(&self, id: StageId) -> Result<(), StoreError> {
        let mut g = self.write();
        let stages = &mut g.stages;
        let gone = stages.get(id).cloned().ok_or(StoreError::NotFound)?;
        if stages.in_use(id) {
            return Err(StoreError::StageInUse);
        }
        stages.rows[(id.0 - 1) as usize] = None;
        for s in stages.rows.iter_mut().flatten() {
            if s.status == gone.status && s.position > gone.position {
                s.position -= 1;
            }
        }
        stages.figures.retain(|&(_, s), _| s != id);
        Ok(())
    }

    async fn set_stage(&self, change: StageChange) -> Result<Ticket, StoreError> {
        let mut g = self.write();
        let row = crate::rows::row_of(change.ticket_id.0)
            .filter(|&r| (r as usize) < g.tickets.len())
            .ok_or(StoreError::NotFound)?;
        let r = &g.tickets[row as usize];
        if r.status != change.expected.status
            || r.worker != change.expected.worker_id
            || r.stage != change.from.as_ref().map(|s| s.id)
        {
            return Err(StoreError::Stale);
        }
        let to = change.to.as_ref().map(|s| s.id);
        if to.is_some_and(|s| !g.stages.exists(s)) {
            return Err(StoreError::UnknownStage);
        }
        g.update_row(row, |r| {
            r.stage = to;
            r.stage_at = to.map(|_| change.at);
            r.updated_at = change.at;
        });
        g.push_event(row, change.event());
        self.changed(Change::Events);
        Ok(g.ticket(row))
    }

    async fn stage_figures(&self, worker: Option<UserId>) -> Result<Vec<StageFigures>, StoreError> {
        let g = self.read();
        Ok(g.stages
            .figures
            .iter()
            .filter(|&(&(w, _), _)| worker.is_none() || w == worker)
            .map(|(&(_, stage_id), f)| StageFigures {
                stage_id,
                tickets: f.tickets.max(0) as u64,
                visits: f.visits,
                micros_sum: f.micros,
            })
            .collect())
    }
}
