//! HS256 access tokens and the security schemes that check them. The algorithm is pinned,
//! `exp` is required and checked, and a token only names its user and the session key it was
//! issued under: on every request the account is read from the store, must be active, and
//! must still hold that key, so a deleted account's tokens, and every token older than a
//! password change, stop working at once on every replica.
//!
//! The check runs inside the security scheme, the first thing an operation extracts, so a
//! missing or bad token is 401 and a role that may not use the operation is 403 before the
//! query or the body is even parsed.

use crate::error::ApiError;
use crm_core::{Actor, KeyScope, SessionKey, User, UserId, secret::Secret};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use poem::{Request, http::Method};
use poem_openapi::{SecurityScheme, auth::Bearer};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
    /// The account's session key when the token was issued.
    sk: i64,
    /// This token's own id, for revoking just this one.
    jti: String,
    /// What the token is for: an access token, or a single-use stream ticket. A token of one
    /// kind is never accepted as the other.
    #[serde(default = "access")]
    typ: String,
    /// For a stream ticket: the access token it was exchanged for (revoking that ends it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tok: Option<String>,
    /// For a stream ticket: when that access token expires (the stream ends then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    texp: Option<i64>,
}

fn access() -> String {
    ACCESS.into()
}

const ACCESS: &str = "access";
const STREAM: &str = "stream";

/// How long a stream ticket may wait to be used.
pub const STREAM_TICKET_SECONDS: i64 = 60;

/// What a verified stream ticket says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTicket {
    /// The ticket's own id: it is used once.
    pub id: String,
    /// When the ticket itself expires.
    pub expires_at: i64,
    /// The access token it stands for.
    pub access: TokenClaims,
}

fn random_id() -> String {
    let mut id = [0u8; 16];
    rand::rng().fill_bytes(&mut id);
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// The account.
    pub user: UserId,
    /// The account's session key at issue time.
    pub session_key: SessionKey,
    /// The token's id.
    pub token_id: String,
    /// Expiry, seconds since the epoch.
    pub expires_at: i64,
}

/// A freshly signed token and its lifetime.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The JWT.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// Issues and verifies tokens with one key.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_seconds: i64,
}

impl Tokens {
    /// Tokens signed with `secret`, valid for `ttl_minutes`.
    pub fn new(secret: &[u8], ttl_minutes: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_seconds: ttl_minutes * 60,
        }
    }

    /// A token for `user`, bound to its current session key.
    pub fn issue(&self, user: &User) -> IssuedToken {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user.id.to_string(),
            iat: now,
            exp: now + self.ttl_seconds,
            sk: user.session_key.0,
            jti: random_id(),
            typ: ACCESS.into(),
            tok: None,
            texp: None,
        };
        IssuedToken {
            token: self.sign(&claims),
            expires_in: self.ttl_seconds,
        }
    }

    /// A single-use stream ticket standing for the access token `access`, valid for
    /// [`STREAM_TICKET_SECONDS`]: browsers cannot send `Authorization` on an `EventSource`.
    pub fn issue_stream_ticket(&self, access: &TokenClaims) -> IssuedToken {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: access.user.to_string(),
            iat: now,
            exp: (now + STREAM_TICKET_SECONDS).min(access.expires_at),
            sk: access.session_key.0,
            jti: random_id(),
            typ: STREAM.into(),
            tok: Some(access.token_id.clone()),
            texp: Some(access.expires_at),
        };
        IssuedToken {
            token: self.sign(&claims),
            expires_in: STREAM_TICKET_SECONDS,
        }
    }

    fn sign(&self, claims: &Claims) -> String {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing with an in-memory key cannot fail")
    }

    fn decode(&self, token: &str) -> Option<Claims> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|d| d.claims)
    }

    /// What a valid access token says; `None` for anything malformed, forged, of another
    /// algorithm, expired, missing a claim, or not an access token.
    pub fn verify(&self, token: &str) -> Option<TokenClaims> {
        let c = self.decode(token).filter(|c| c.typ == ACCESS)?;
        Some(TokenClaims {
            user: UserId(c.sub.parse().ok()?),
            session_key: SessionKey(c.sk),
            token_id: c.jti,
            expires_at: c.exp,
        })
    }

    /// What a valid stream ticket says (its single use is the caller's to record).
    pub fn verify_stream_ticket(&self, ticket: &str) -> Option<StreamTicket> {
        let c = self.decode(ticket).filter(|c| c.typ == STREAM)?;
        Some(StreamTicket {
            id: c.jti,
            expires_at: c.exp,
            access: TokenClaims {
                user: UserId(c.sub.parse().ok()?),
                session_key: SessionKey(c.sk),
                token_id: c.tok?,
                expires_at: c.texp?,
            },
        })
    }
}

/// What a request signed in with.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A token from `POST /auth/login`.
    Token(TokenClaims),
    /// An API key.
    Key {
        /// The key's id.
        id: i64,
        /// What it may do.
        scope: KeyScope,
        /// When it stops working, if ever.
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
        /// The key as presented, to check it again (a long stream re-checks on account
        /// changes).
        key: Secret,
    },
}

/// A signed-in request: who, with which account, and the credential it came with.
#[derive(Debug, Clone)]
pub struct Session {
    /// Identity and role, as just read from the store.
    pub actor: Actor,
    /// The account.
    pub user: User,
    /// How it signed in.
    pub credential: Credential,
}

impl Session {
    /// The sign-in token, for what only a person's session may do (sign out, change its
    /// password or second factor, take a stream ticket): an API key gets 403.
    pub fn token(&self) -> Result<&TokenClaims, ApiError> {
        match &self.credential {
            Credential::Token(t) => Ok(t),
            Credential::Key { .. } => Err(ApiError::forbidden(
                "An API key cannot do this; it needs a person's sign-in.",
            )),
        }
    }

    /// When the credential stops working, seconds since the epoch (`None`: a key that
    /// never expires).
    pub fn expires_at(&self) -> Option<i64> {
        match &self.credential {
            Credential::Token(t) => Some(t.expires_at),
            Credential::Key { expires_at, .. } => expires_at.map(|at| at.timestamp()),
        }
    }
}

/// Checks a bearer token or a stream ticket against the store. The server installs one as
/// request data; the security schemes below find it there, whatever store the server runs on.
pub trait SessionCheck: Send + Sync + 'static {
    /// The session of a token, or the refusal to answer (401, or 503 when the store is away).
    fn check<'a>(
        &'a self,
        token: &'a str,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Session, ApiError>> + Send + 'a>>;

    /// The session a stream ticket stands for, using the ticket up (a second use is 401).
    fn check_stream_ticket<'a>(
        &'a self,
        ticket: &'a str,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Session, ApiError>> + Send + 'a>>;
}

/// The [`SessionCheck`] as request data, with the sign-in policy the security schemes apply.
#[derive(Clone)]
pub struct SessionGate {
    /// Checks credentials against the store.
    pub check: Arc<dyn SessionCheck>,
    /// `REQUIRE_TOTP_FOR_ADMINS`: an admin without two-factor sign-in may only set it up.
    pub require_totp_for_admins: bool,
}

/// What a session still may do while it must set up two-factor sign-in first: read who it
/// is, change its password (a default account's first step), set the second factor up, and
/// sign out.
pub const ACCOUNT_SETUP_PATHS: &[&str] = &[
    "/auth/me",
    "/auth/password",
    "/auth/totp/setup",
    "/auth/totp/enable",
    "/auth/logout",
];

/// A refusal from a security scheme, carried through poem's error to the operation's bad
/// request handler, which answers it as it is.
#[derive(Debug, thiserror::Error)]
#[error("authentication refused")]
pub struct Refusal(pub ApiError);

async fn session(req: &Request, bearer: &Bearer) -> Result<Session, ApiError> {
    let gate = req
        .data::<SessionGate>()
        .expect("the server installs the session gate");
    let s = gate.check.check(&bearer.token).await?;
    admit(req, gate, s)
}

/// The limits of a session beyond its role, applied to every operation in one place so no
/// endpoint can forget them: a `read` key may only read (`GET`, `HEAD`), and under
/// `REQUIRE_TOTP_FOR_ADMINS` an admin without a second factor may only set one up.
fn admit(req: &Request, gate: &SessionGate, s: Session) -> Result<Session, ApiError> {
    if let Credential::Key {
        scope: KeyScope::Read,
        ..
    } = s.credential
    {
        if !matches!(*req.method(), Method::GET | Method::HEAD) {
            return Err(ApiError::forbidden(
                "This API key may only read; a key with the write scope can change things.",
            ));
        }
    }
    if gate.require_totp_for_admins
        && s.actor.is_admin()
        && !s.user.totp_enabled
        && !ACCOUNT_SETUP_PATHS.contains(&req.uri().path())
    {
        return Err(ApiError::totp_setup_required());
    }
    Ok(s)
}

fn refuse(e: ApiError) -> poem::Error {
    let status = e.status();
    poem::Error::new(Refusal(e), status)
}

async fn check_staff(req: &Request, bearer: Bearer) -> poem::Result<Session> {
    session(req, &bearer).await.map_err(refuse)
}

async fn check_admin(req: &Request, bearer: Bearer) -> poem::Result<Session> {
    let s = session(req, &bearer).await.map_err(refuse)?;
    if s.actor.is_admin() {
        Ok(s)
    } else {
        Err(refuse(ApiError::forbidden("This operation is for admins.")))
    }
}

async fn check_stream_ticket(
    req: &Request,
    key: poem_openapi::auth::ApiKey,
) -> poem::Result<Session> {
    let gate = req
        .data::<SessionGate>()
        .expect("the server installs the session gate");
    let s = gate
        .check
        .check_stream_ticket(&key.key)
        .await
        .map_err(refuse)?;
    admit(req, gate, s).map_err(refuse)
}

/// A single-use stream ticket from `POST /events/ticket`, as `?ticket=` (for browsers, whose
/// `EventSource` cannot send `Authorization`).
#[derive(SecurityScheme)]
#[oai(
    rename = "StreamTicket",
    ty = "api_key",
    key_name = "ticket",
    key_in = "query",
    checker = "check_stream_ticket"
)]
pub struct StreamTicketAuth(pub Session);

/// Either credential a stream accepts (a token, when one is sent, decides alone).
#[derive(SecurityScheme)]
pub enum StreamAuth {
    /// `Authorization: Bearer <token>`.
    Bearer(StaffAuth),
    /// `?ticket=`.
    Ticket(StreamTicketAuth),
}

impl StreamAuth {
    /// The session, whichever way it came.
    pub fn into_session(self) -> Session {
        match self {
            Self::Ticket(t) => t.0,
            Self::Bearer(b) => b.0,
        }
    }
}

/// Any signed-in staff member: `Authorization: Bearer <token>` from `POST /auth/login`.
#[derive(SecurityScheme)]
#[oai(
    rename = "BearerAuth",
    ty = "bearer",
    bearer_format = "JWT",
    checker = "check_staff"
)]
pub struct StaffAuth(pub Session);

/// A signed-in admin (the same bearer token; other roles get 403).
#[derive(SecurityScheme)]
#[oai(
    rename = "BearerAuth",
    ty = "bearer",
    bearer_format = "JWT",
    checker = "check_admin"
)]
pub struct AdminAuth(pub Session);

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
    use crm_core::Role;

    fn user() -> User {
        User {
            id: UserId(7),
            username: "u".into(),
            role: Role::Admin,
            created_at: chrono::Utc::now(),
            session_key: SessionKey(42),
            must_change_password: false,
            available: true,
            totp_enabled: false,
        }
    }

    #[test]
    fn round_trip_and_rejections() {
        let t = Tokens::new(b"k1", 60);
        let IssuedToken {
            token: tok,
            expires_in,
        } = t.issue(&user());
        assert_eq!(expires_in, 3600);
        let claims = t.verify(&tok).unwrap();
        assert_eq!(
            (claims.user, claims.session_key),
            (UserId(7), SessionKey(42))
        );
        assert_ne!(
            t.verify(&t.issue(&user()).token).unwrap().token_id,
            claims.token_id
        );
        assert_eq!(Tokens::new(b"k2", 60).verify(&tok), None, "another key");
        assert_eq!(t.verify("garbage"), None);
        let expired = Tokens {
            ttl_seconds: -10,
            ..t.clone()
        }
        .issue(&user())
        .token;
        assert_eq!(t.verify(&expired), None, "expired");
        // alg=none with the same claims
        let parts: Vec<&str> = tok.split('.').collect();
        let none = format!(
            "{}.{}.",
            B64.encode(r#"{"alg":"none","typ":"JWT"}"#),
            parts[1]
        );
        assert_eq!(t.verify(&none), None);
        // HS512 signed with the right key is still refused: the algorithm is pinned.
        let claims = Claims {
            sub: "7".into(),
            iat: 0,
            exp: chrono::Utc::now().timestamp() + 60,
            sk: 42,
            jti: "x".into(),
            typ: ACCESS.into(),
            tok: None,
            texp: None,
        };
        let hs512 = encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(b"k1"),
        )
        .unwrap();
        assert_eq!(t.verify(&hs512), None);
    }

    #[test]
    fn stream_tickets_and_access_tokens_are_never_taken_for_each_other() {
        let t = Tokens::new(b"k1", 60);
        let access = t.verify(&t.issue(&user()).token).unwrap();
        let ticket = t.issue_stream_ticket(&access);
        assert_eq!(ticket.expires_in, STREAM_TICKET_SECONDS);
        assert_eq!(t.verify(&ticket.token), None, "a ticket is no access token");
        let st = t.verify_stream_ticket(&ticket.token).unwrap();
        assert_eq!(st.access, access);
        assert_ne!(st.id, access.token_id);
        let token = t.issue(&user()).token;
        assert_eq!(
            t.verify_stream_ticket(&token),
            None,
            "an access token is no ticket"
        );
    }
}
