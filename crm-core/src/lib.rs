//! # crm-core
//!
//! The repair-request workflow of repair-crm as a library: customers submit requests, admins
//! assign them to workers, workers move them `new -> in_progress -> done`, and every step is
//! timestamped and recorded in an audit trail.
//!
//! * [`input`] parses every value once into newtypes that prove their validity.
//! * [`status`], [`role`] hold the state machine and the visibility rules as data.
//! * [`store`] is the seam: traits whose methods are the atomic steps a backend must make
//!   race-free (`crm-store-memory`, `crm-store-postgres`).
//! * [`Crm`] is the facade embedders call with an authenticated [`Actor`]; it enforces the
//!   rules and maps every refusal to one [`CoreError`] variant, one API error code.
//!
//! The crate does no I/O of its own; password hashing runs on a few threads of its own (see
//! [`password`]), never on the embedder's.

pub mod account;
pub mod assignment;
pub mod attachment;
pub mod client;
pub mod clock;
pub mod credential;
pub mod device;
pub mod edit;
pub mod error;
pub mod history;
pub mod ids;
pub mod input;
pub mod message;
pub mod money;
pub mod notify;
pub mod page;
pub mod password;
pub mod quote;
pub mod role;
pub mod secret;
pub mod service;
pub mod stage;
pub mod status;
pub mod store;
pub mod throttle;
pub mod ticket;
pub mod user;

pub use account::{AccountEvent, AccountEventKind, PasswordChange, SessionRecord};
pub use assignment::{AssignmentMode, AssignmentSettings, Candidate};
pub use attachment::{Attachment, AttachmentStore, FileKind, NewAttachment, Room};
pub use client::{
    ClientEdit, ClientEvent, ClientEventKind, ClientQuery, ClientSearch, ClientStore,
    ClientSummary, EditClient,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use credential::{
    ApiKey, CredentialStore, KeyRecord, KeyScope, KeySecret, NewApiKey, TotpDisable, TotpEnable,
    TotpState,
};
pub use device::{Device, DeviceInput, DeviceKind, Priority, PublicDevice};
pub use edit::{DevicePatch, EditTicket, Patch, TicketEdit};
pub use error::{CoreError, StoreError};
pub use history::{Event, EventKind, FieldChange, NewEvent};
pub use ids::{ClientId, EventId, QuoteId, StageId, TicketId, UserId};
pub use message::{
    Audience, Author, Message, MessageReader, MessageStore, MessageTarget, NewMessage,
};
pub use page::{
    CounterSearch, Cursor, Page, PageRequest, Positioned, TicketFilter, TicketQuery, TicketSort,
    UserQuery, parse_list,
};
pub use password::PasswordCost;
pub use quote::{
    DecideQuote, Decision, NewQuote, Quote, QuoteContent, QuoteDecision, QuoteFilter,
    QuoteListState, QuoteState, QuoteStore, TicketQuote,
};
pub use role::{Actor, Permission, Role, Scope, Visibility};
pub use secret::Secret;
pub use service::{
    Crm, CustomerDecision, DefaultAccount, Download, EditStage, FileSettings, IntakeTicket,
    ListClients, ListMessages, ListTickets, ListUsers, StoredFile, SubmitTicket, UploadSlot,
    Uploader, WriteLine, WriteQuote,
};
pub use stage::{
    NewStage, Stage, StageChange, StageFigures, StageName, StagePatch, StageRef, StageStats,
    StageStore,
};
pub use status::TicketStatus;
pub use store::{
    AssignmentStore, Change, ChangeListener, EventLog, ExpectedState, LoginThrottle, Outbox,
    PoolStatus, Store, StoreHealth, TicketStore, Transition, UserRecord, UserStore,
};
pub use throttle::ThrottleState;
pub use ticket::{
    Client, DedupKey, NewTicket, Submission, Ticket, TicketCounts, TicketProgress, TrackingCode,
};
pub use user::{NewUser, SessionKey, StatCounts, Stats, User, UserCredentials};
