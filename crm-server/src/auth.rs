//! HS256 access tokens. The algorithm is pinned, `exp` is required and checked, and a token
//! only names its user: the role and the user's existence are read from the store on every
//! request, so a deleted user's token stops working at once.

use crm_core::{User, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use poem_openapi::{SecurityScheme, auth::Bearer};
use serde::{Deserialize, Serialize};

/// A bearer token from `Authorization: Bearer <jwt>`, as issued by `POST /auth/login`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT")]
pub struct BearerAuth(pub Bearer);

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
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

    /// A token for `user`.
    pub fn issue(&self, user: &User) -> IssuedToken {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user.id.to_string(),
            iat: now,
            exp: now + self.ttl_seconds,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with an in-memory key cannot fail");
        IssuedToken {
            token,
            expires_in: self.ttl_seconds,
        }
    }

    /// The user a valid token names; `None` for anything malformed, forged, of another
    /// algorithm or expired.
    pub fn verify(&self, token: &str) -> Option<UserId> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        data.claims.sub.parse::<i64>().ok().map(UserId)
    }
}

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
        assert_eq!(t.verify(&tok), Some(UserId(7)));
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
        };
        let hs512 = encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(b"k1"),
        )
        .unwrap();
        assert_eq!(t.verify(&hs512), None);
    }
}
