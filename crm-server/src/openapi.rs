//! The OpenAPI document, made to tell the truth about the running service. poem-openapi
//! derives it from the operations; this module then, in one place:
//!
//! * keeps, for each operation, only the error statuses it can really answer ([`STATUSES`]);
//! * declares every optional field `nullable` (the service sends `null`, not an absent key);
//! * declares the limits of every input the core enforces ([`limits`]): lengths as patterns
//!   that allow the surrounding white space the core trims, ranges, and the character rules;
//! * records which methods each path answers, for the `Allow` header of a 405.
//!
//! The result is served at `/openapi.json` and behind the Swagger UI at `/docs`.

use crm_core::{
    PageRequest,
    input::{ClientName, Description, Email, Password, Phone, SearchTerm, Title, Username},
};
use poem_openapi::{OpenApi, OpenApiService};
use serde_json::{Map, Value, json};

/// Error statuses each operation can answer, beside its success status.
pub const STATUSES: &[(&str, &str, &[u16])] = &[
    ("post", "/auth/login", &[401, 413, 422, 429, 500, 503]),
    ("get", "/auth/me", &[401, 500, 503]),
    ("post", "/auth/password", &[401, 413, 422, 429, 500, 503]),
    ("post", "/auth/logout", &[401, 500, 503]),
    ("post", "/auth/totp/setup", &[401, 409, 500, 503]),
    ("post", "/auth/totp/enable", &[401, 409, 413, 422, 500, 503]),
    (
        "post",
        "/auth/totp/disable",
        &[401, 413, 422, 429, 500, 503],
    ),
    (
        "post",
        "/users/{id}/api-keys",
        &[401, 403, 404, 409, 413, 422, 500, 503],
    ),
    ("get", "/users/{id}/api-keys", &[401, 403, 404, 500, 503]),
    (
        "delete",
        "/users/{id}/api-keys/{key_id}",
        &[401, 403, 404, 500, 503],
    ),
    (
        "delete",
        "/users/{id}/totp",
        &[401, 403, 404, 409, 500, 503],
    ),
    ("post", "/public/tickets", &[409, 413, 422, 429, 500, 503]),
    ("get", "/public/tickets/{tracking_code}", &[404, 500, 503]),
    ("get", "/tickets", &[401, 403, 422, 500, 503]),
    ("post", "/tickets", &[401, 403, 409, 413, 422, 500, 503]),
    ("get", "/metrics", &[403, 500]),
    ("get", "/tickets/stats", &[401, 403, 404, 422, 500, 503]),
    ("get", "/tickets/counts", &[401, 500, 503]),
    ("get", "/tickets/export.csv", &[401, 403, 422, 500, 503]),
    ("get", "/tickets/{id}", &[401, 404, 500, 503]),
    (
        "patch",
        "/tickets/{id}",
        &[401, 404, 409, 413, 422, 500, 503],
    ),
    ("get", "/tickets/{id}/history", &[401, 404, 500, 503]),
    ("get", "/tickets/{id}/receipt", &[401, 404, 500, 503]),
    ("get", "/tickets/{id}/label", &[401, 404, 500, 503]),
    (
        "post",
        "/tickets/{id}/assign",
        &[401, 403, 404, 409, 413, 422, 500, 503],
    ),
    (
        "post",
        "/tickets/{id}/status",
        &[401, 404, 409, 413, 422, 500, 503],
    ),
    ("get", "/settings/stages", &[401, 500, 503]),
    ("post", "/settings/stages", &[401, 403, 413, 422, 500, 503]),
    (
        "patch",
        "/settings/stages/{id}",
        &[401, 403, 404, 413, 422, 500, 503],
    ),
    (
        "delete",
        "/settings/stages/{id}",
        &[401, 403, 404, 409, 500, 503],
    ),
    (
        "post",
        "/tickets/{id}/stage",
        &[401, 404, 413, 422, 500, 503],
    ),
    (
        "post",
        "/tickets/{id}/quotes",
        &[401, 404, 413, 422, 500, 503],
    ),
    ("get", "/tickets/{id}/quotes", &[401, 404, 500, 503]),
    (
        "patch",
        "/tickets/{id}/quotes/{quote_id}",
        &[401, 404, 409, 413, 422, 500, 503],
    ),
    (
        "post",
        "/tickets/{id}/quotes/{quote_id}/send",
        &[401, 404, 409, 500, 503],
    ),
    (
        "get",
        "/public/tickets/{tracking_code}/quote",
        &[404, 500, 503],
    ),
    (
        "post",
        "/public/tickets/{tracking_code}/quote/decision",
        &[404, 409, 413, 422, 429, 500, 503],
    ),
    ("get", "/users", &[401, 403, 422, 500, 503]),
    ("post", "/users", &[401, 403, 409, 413, 422, 500, 503]),
    ("delete", "/users/{id}", &[401, 403, 404, 409, 500, 503]),
    (
        "post",
        "/users/{id}/password",
        &[401, 403, 404, 409, 413, 422, 500, 503],
    ),
    ("get", "/users/{id}/history", &[401, 403, 404, 500, 503]),
    ("get", "/settings/assignment", &[401, 403, 500, 503]),
    (
        "put",
        "/settings/assignment",
        &[401, 403, 413, 422, 500, 503],
    ),
    (
        "put",
        "/users/{id}/availability",
        &[401, 403, 404, 413, 422, 500, 503],
    ),
    ("post", "/webhooks", &[401, 403, 413, 422, 500, 503]),
    ("get", "/webhooks", &[401, 403, 500, 503]),
    ("delete", "/webhooks/{id}", &[401, 403, 404, 500, 503]),
    (
        "get",
        "/webhooks/{id}/deliveries",
        &[401, 403, 404, 422, 500, 503],
    ),
    (
        "post",
        "/webhooks/{id}/deliveries/{delivery_id}/retry",
        &[401, 403, 404, 409, 500, 503],
    ),
    ("post", "/events/ticket", &[401, 500, 503]),
    ("get", "/events", &[401, 422, 500, 503]),
    (
        "get",
        "/public/tickets/{tracking_code}/events",
        &[404, 429, 500, 503],
    ),
    ("get", "/clients", &[401, 403, 422, 500, 503]),
    ("get", "/clients/{id}", &[401, 404, 500, 503]),
    (
        "patch",
        "/clients/{id}",
        &[401, 403, 404, 409, 413, 422, 500, 503],
    ),
    ("get", "/clients/{id}/history", &[401, 403, 404, 500, 503]),
    (
        "post",
        "/tickets/{id}/messages",
        &[401, 404, 413, 422, 500, 503],
    ),
    ("get", "/tickets/{id}/messages", &[401, 404, 422, 500, 503]),
    (
        "get",
        "/public/tickets/{tracking_code}/messages",
        &[404, 422, 500, 503],
    ),
    (
        "post",
        "/public/tickets/{tracking_code}/messages",
        &[404, 409, 413, 422, 429, 500, 503],
    ),
    (
        "post",
        "/tickets/{id}/attachments",
        &[401, 403, 404, 409, 413, 415, 422, 500, 503],
    ),
    (
        "get",
        "/tickets/{id}/attachments",
        &[401, 404, 422, 500, 503],
    ),
    (
        "get",
        "/tickets/{id}/attachments/{file_id}",
        &[401, 404, 500, 503],
    ),
    (
        "get",
        "/tickets/{id}/attachments/{file_id}/thumbnail",
        &[401, 404, 500, 503],
    ),
    (
        "delete",
        "/tickets/{id}/attachments/{file_id}",
        &[401, 403, 404, 500, 503],
    ),
    (
        "post",
        "/public/tickets/{tracking_code}/attachments",
        &[404, 409, 413, 415, 422, 429, 500, 503],
    ),
    (
        "get",
        "/public/tickets/{tracking_code}/attachments",
        &[404, 422, 500, 503],
    ),
    (
        "get",
        "/public/tickets/{tracking_code}/attachments/{file_id}",
        &[404, 500, 503],
    ),
    (
        "get",
        "/public/tickets/{tracking_code}/attachments/{file_id}/thumbnail",
        &[404, 500, 503],
    ),
    ("get", "/healthz", &[]),
    ("get", "/readyz", &[503]),
];

/// The processed document and what the server needs from it.
pub struct Document {
    /// The JSON text served at `/openapi.json`.
    pub json: String,
    /// The same document as a value, for reading requests against it ([`crate::explain`]).
    pub spec: Value,
    /// The Swagger UI page over it.
    pub html: String,
    /// Each path template's segments and the methods it answers.
    pub paths: Vec<(Vec<String>, Vec<String>)>,
}

/// Builds the truthful document of `service`.
///
/// Panics when an operation has no entry in [`STATUSES`], or a limit names a field the
/// document does not have: every operation must say what it can answer, every limit must
/// land, and the API tests build this document, so a stale entry fails them.
pub fn document<T: OpenApi>(service: &OpenApiService<T, ()>) -> Document {
    let raw = service.spec();
    let mut spec: Value = serde_json::from_str(&raw).expect("poem-openapi writes valid JSON");
    let mut paths = Vec::new();
    // Every schema a request body names, and those nested in them (`...Request`): all are
    // parsed with unknown fields refused.
    let mut request_bodies = std::collections::HashSet::new();
    if let Some(map) = spec.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in map.iter_mut() {
            let mut methods = Vec::new();
            for (method, op) in item.as_object_mut().into_iter().flatten() {
                methods.push(method.to_uppercase());
                for content in op
                    .pointer("/requestBody/content")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flat_map(|c| c.values())
                {
                    if let Some(r) = content.pointer("/schema/$ref").and_then(Value::as_str) {
                        request_bodies
                            .insert(r.trim_start_matches("#/components/schemas/").to_owned());
                    }
                }
                keep_declared_statuses(method, path, op);
                limit_parameters(path, op);
                describe_event_streams(op);
            }
            let segments = path.split('/').map(str::to_owned).collect();
            paths.push((segments, methods));
        }
    }
    if let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (schema_name, field, _) in limits::fields() {
            assert!(
                schemas
                    .get(schema_name)
                    .and_then(|s| s.pointer(&format!("/properties/{field}")))
                    .is_some(),
                "openapi::limits names {schema_name}.{field}, which the document does not have"
            );
        }
        for (name, schema) in schemas.iter_mut() {
            declare_nullable(schema);
            limit_fields(name, schema);
            if request_bodies.contains(name) || name.ends_with("Request") {
                schema["additionalProperties"] = json!(false);
            }
        }
    }
    let json = serde_json::to_string_pretty(&spec).expect("a JSON value serialises");
    let html = service.swagger_ui_html().replacen(&raw, &json, 1);
    Document {
        json,
        spec,
        html,
        paths,
    }
}

impl Document {
    /// The documented path template `path` falls under, preferring literal segments
    /// (`/tickets/stats` over `/tickets/{id}`).
    fn template(&self, path: &str) -> Option<&(Vec<String>, Vec<String>)> {
        let got: Vec<&str> = path.split('/').collect();
        self.paths
            .iter()
            .filter(|(segments, _)| {
                segments.len() == got.len()
                    && segments
                        .iter()
                        .zip(&got)
                        .all(|(s, g)| s == g || (s.starts_with('{') && !g.is_empty()))
            })
            .max_by_key(|(segments, _)| segments.iter().filter(|s| !s.starts_with('{')).count())
    }

    /// The operation `method` (lower case) of the path template `path` falls under.
    pub fn operation(&self, method: &str, path: &str) -> Option<&Value> {
        let route = self.route(path)?;
        self.spec.get("paths")?.get(&route)?.get(method)
    }

    /// The route a path is served by, as the document writes it (`/tickets/{id}`): a label
    /// whose values are bounded by the document, whatever paths clients send.
    pub fn route(&self, path: &str) -> Option<String> {
        self.template(path).map(|(segments, _)| segments.join("/"))
    }

    /// The methods the path answers (with `HEAD` beside `GET`), or `None` for no such path.
    pub fn allowed(&self, path: &str) -> Option<String> {
        let (_, methods) = self.template(path)?;
        let mut all: Vec<String> = methods.clone();
        if all.iter().any(|m| m == "GET") {
            all.push("HEAD".into());
        }
        Some(all.join(", "))
    }
}

fn keep_declared_statuses(method: &str, path: &str, op: &mut Value) {
    let errors = STATUSES
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, e)| *e)
        .unwrap_or_else(|| panic!("{method} {path} has no entry in openapi::STATUSES"));
    // Every signed-in operation but reading who one is can be refused by the session's own
    // limits (a `read` API key on a change, an admin without a second factor under
    // `REQUIRE_TOTP_FOR_ADMINS`), whatever the operation's own rules.
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let limited = secured && !(method == "get" && crate::auth::ACCOUNT_SETUP_PATHS.contains(&path));
    if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
        responses.retain(|code, _| {
            code.starts_with('2')
                || code
                    .parse::<u16>()
                    .is_ok_and(|c| errors.contains(&c) || (c == 403 && limited))
        });
    }
}

/// An event stream's schema describes one event, as Open API 3.2 does for sequential media
/// types: `id` and `event` text, and `data` a JSON document of the item's schema (poem-openapi
/// writes an array of items, which no event is).
fn describe_event_streams(op: &mut Value) {
    let responses = op.get_mut("responses").and_then(Value::as_object_mut);
    for resp in responses.into_iter().flat_map(|r| r.values_mut()) {
        if let Some(schema) = resp.pointer_mut("/content/text~1event-stream/schema") {
            if let Some(items) = schema.get("items").cloned() {
                *schema = json!({
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        "id": { "type": "string", "description": "The position (`seq`)." },
                        "event": { "type": "string", "description": "The kind." },
                        "data": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "contentSchema": items
                        }
                    }
                });
            }
        }
    }
}

/// Marks every property that is not required as nullable; a `$ref` is wrapped in `allOf` so
/// the flag is not ignored beside it.
fn declare_nullable(schema: &mut Value) {
    let required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, prop) in props.iter_mut() {
        if required.contains(name) {
            continue;
        }
        if let Some(r) = prop.get("$ref").cloned() {
            let mut wrapped = Map::new();
            wrapped.insert("allOf".into(), json!([{ "$ref": r }]));
            if let Some(d) = prop.get("description") {
                wrapped.insert("description".into(), d.clone());
            }
            *prop = Value::Object(wrapped);
        }
        prop["nullable"] = json!(true);
    }
}

fn limit_fields(schema_name: &str, schema: &mut Value) {
    for (name, field, limit) in limits::fields() {
        if name == schema_name {
            if let Some(prop) = schema.pointer_mut(&format!("/properties/{field}")) {
                merge(prop, limit);
            }
        }
    }
}

fn limit_parameters(path: &str, op: &mut Value) {
    let params = op.get_mut("parameters").and_then(Value::as_array_mut);
    for param in params.into_iter().flatten() {
        let name = param["name"].as_str().unwrap_or_default().to_owned();
        let place = param["in"].as_str().unwrap_or_default().to_owned();
        if let Some(limit) = limits::parameter(path, &place, &name) {
            merge(&mut param["schema"], limit);
        }
    }
}

fn merge(target: &mut Value, extra: Value) {
    if let (Some(t), Value::Object(e)) = (target.as_object_mut(), extra) {
        t.extend(e);
    }
}

/// The input rules of the core, as JSON Schema.
pub mod limits {
    use super::*;

    /// White space the core trims from text (Unicode White_Space that is not a forbidden
    /// control character), as a character-class body.
    const SPACE: &str = r"\t\n\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
    /// Forbidden control characters, as a character-class body.
    const CONTROL: &str = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f";

    /// A stage name ([`crm_core::StageName`]): one line of 1 to 64 characters after trimming.
    pub fn stage_name() -> Value {
        let edge = format!("[^{SPACE}{CONTROL}]");
        let inner = format!("[^{CONTROL}\\t\\n\\r\\u0085\\u2028\\u2029]");
        let pattern = format!(
            "^[{SPACE}]*{edge}(?:{inner}{{0,{}}}{edge})?[{SPACE}]*$",
            crm_core::stage::MAX_NAME - 2
        );
        json!({ "pattern": pattern })
    }

    /// Text of 1 to `max` characters after trimming, without control characters.
    pub fn trimmed_text(max: usize) -> Value {
        let edge = format!("[^{SPACE}{CONTROL}]");
        let any = format!("[^{CONTROL}]");
        let pattern = format!(
            "^[{SPACE}]*{edge}(?:{any}{{0,{}}}{edge})?[{SPACE}]*$",
            max.saturating_sub(2)
        );
        json!({ "pattern": pattern })
    }

    /// The e-mail rule of [`Email`]: one `@`, a local part of at most 64 characters, a
    /// dotted domain whose labels neither are empty nor start or end with `-`; no white
    /// space or control character inside.
    pub fn email() -> Value {
        let c = format!("[^@.{SPACE}{CONTROL}\\u0080-\\u009f]");
        let label = format!(
            "[^@.\\-{SPACE}{CONTROL}\\u0080-\\u009f](?:{c}*[^@.\\-{SPACE}{CONTROL}\\u0080-\\u009f])?"
        );
        let local = format!("[^@{SPACE}{CONTROL}\\u0080-\\u009f]{{1,64}}");
        let pattern = format!("^[{SPACE}]*{local}@{label}(?:\\.{label})+[{SPACE}]*$");
        json!({ "pattern": pattern, "maxLength": Email::MAX_CHARS })
    }

    /// Optional text: blank (nothing but white space) means "not given"; otherwise 1 to
    /// `max` characters after trimming, without control characters.
    pub fn optional_text(max: usize) -> Value {
        let edge = format!("[^{SPACE}{CONTROL}]");
        let any = format!("[^{CONTROL}]");
        let pattern = format!(
            "^[{SPACE}]*(?:{edge}(?:{any}{{0,{}}}{edge})?[{SPACE}]*)?$",
            max.saturating_sub(2)
        );
        json!({ "pattern": pattern })
    }

    /// A device serial as [`crm_core::Device`] takes it: blank, or 1-64 letters, digits,
    /// `-`, `/` and spaces after trimming.
    pub fn serial() -> Value {
        let max = crm_core::device::limits::SERIAL_MAX;
        let edge = "[A-Za-z0-9/-]";
        let pattern = format!(
            "^[{SPACE}]*(?:{edge}(?:[A-Za-z0-9/ -]{{0,{}}}{edge})?[{SPACE}]*)?$",
            max - 2
        );
        json!({ "pattern": pattern })
    }

    /// A phone as [`Phone`] takes it: blank means "no phone".
    pub fn phone() -> Value {
        json!({
            "pattern": format!(
                "^[{SPACE}]*$|^[{SPACE}]*(?:[ +().\\-]*[0-9]){{{}}}[0-9 +().\\-]*[{SPACE}]*$",
                Phone::MIN_DIGITS
            ),
            "maxLength": Phone::MAX_CHARS
        })
    }

    /// A new password ([`Password`]): without control characters.
    pub fn password() -> Value {
        json!({
            "minLength": Password::MIN_CHARS,
            "maxLength": Password::MAX_CHARS,
            "pattern": format!("^[^{CONTROL}]*$")
        })
    }

    /// A username as [`Username`] takes it.
    pub fn username() -> Value {
        json!({
            "pattern": format!("^[A-Za-z0-9_.-]{{{},{}}}$", Username::MIN_CHARS, Username::MAX_CHARS)
        })
    }

    /// The longest sign-in code worth checking: a recovery code with spaces between its
    /// groups is 19 characters; nothing longer than this can be right.
    const TOTP_CODE_MAX: usize = 32;

    /// Every body field the core limits.
    pub fn fields() -> Vec<(&'static str, &'static str, Value)> {
        use crm_core::device::limits as dl;
        vec![
            ("SubmitRequest", "title", trimmed_text(Title::MAX_CHARS)),
            (
                "SubmitRequest",
                "description",
                trimmed_text(Description::MAX_CHARS),
            ),
            ("IntakeRequest", "title", trimmed_text(Title::MAX_CHARS)),
            (
                "IntakeRequest",
                "description",
                trimmed_text(Description::MAX_CHARS),
            ),
            ("IntakeRequest", "worker_id", json!({ "minimum": 1 })),
            ("EditRequest", "title", trimmed_text(Title::MAX_CHARS)),
            (
                "EditRequest",
                "description",
                trimmed_text(Description::MAX_CHARS),
            ),
            ("DevicePatchRequest", "brand", optional_text(dl::NAME_MAX)),
            ("DevicePatchRequest", "model", optional_text(dl::NAME_MAX)),
            ("DevicePatchRequest", "serial", serial()),
            (
                "DevicePatchRequest",
                "condition",
                optional_text(dl::CONDITION_MAX),
            ),
            (
                "DevicePatchRequest",
                "accessories",
                optional_text(dl::ACCESSORIES_MAX),
            ),
            ("DeviceRequest", "brand", optional_text(dl::NAME_MAX)),
            ("DeviceRequest", "model", optional_text(dl::NAME_MAX)),
            ("DeviceRequest", "serial", serial()),
            (
                "DeviceRequest",
                "condition",
                optional_text(dl::CONDITION_MAX),
            ),
            (
                "DeviceRequest",
                "accessories",
                optional_text(dl::ACCESSORIES_MAX),
            ),
            ("ClientRequest", "name", trimmed_text(ClientName::MAX_CHARS)),
            (
                "EditClientRequest",
                "name",
                trimmed_text(ClientName::MAX_CHARS),
            ),
            ("EditClientRequest", "email", email()),
            ("ClientRequest", "email", email()),
            ("ClientRequest", "phone", phone()),
            ("EditClientRequest", "phone", phone()),
            ("CreateUserRequest", "username", username()),
            // Sign-in takes any text (it is checked against accounts, not against the rules),
            // but nothing longer than an account's name or password can be right.
            (
                "LoginRequest",
                "username",
                json!({ "maxLength": Username::MAX_CHARS }),
            ),
            (
                "LoginRequest",
                "password",
                json!({ "maxLength": Password::MAX_CHARS }),
            ),
            (
                "PasswordChangeRequest",
                "current_password",
                json!({ "maxLength": Password::MAX_CHARS }),
            ),
            ("CreateUserRequest", "password", password()),
            (
                "LoginRequest",
                "totp_code",
                json!({ "maxLength": TOTP_CODE_MAX }),
            ),
            (
                "TotpCodeRequest",
                "code",
                json!({ "maxLength": TOTP_CODE_MAX }),
            ),
            (
                "TotpDisableRequest",
                "password",
                json!({ "maxLength": Password::MAX_CHARS }),
            ),
            (
                "CreateApiKeyRequest",
                "name",
                trimmed_text(crm_core::service::KEY_NAME_MAX),
            ),
            ("AssignRequest", "worker_id", json!({ "minimum": 1 })),
            (
                "AssignmentBody",
                "max_open_per_worker",
                json!({ "minimum": 1, "maximum": u32::MAX }),
            ),
            (
                "WebhookRequest",
                "url",
                json!({ "maxLength": crm_core::notify::MAX_URL_CHARS }),
            ),
            ("PasswordChangeRequest", "new_password", password()),
            (
                "PostMessageRequest",
                "body",
                trimmed_text(crm_core::input::MessageBody::MAX_CHARS),
            ),
            (
                "PostMessageRequest",
                "visibility",
                json!({ "enum": ["internal", "customer"] }),
            ),
            (
                "PublicMessageRequest",
                "body",
                trimmed_text(crm_core::input::MessageBody::MAX_CHARS),
            ),
            ("PasswordResetRequest", "new_password", password()),
            ("CreateStageRequest", "name", stage_name()),
            ("EditStageRequest", "name", stage_name()),
            (
                "EditStageRequest",
                "position",
                json!({ "minimum": 0, "maximum": 999 }),
            ),
            ("StageRequest", "stage_id", json!({ "minimum": 1 })),
            ("StatusRequest", "stage_id", json!({ "minimum": 1 })),
            (
                "QuoteLineRequest",
                "description",
                trimmed_text(crm_core::money::MAX_DESCRIPTION),
            ),
            (
                "QuoteLineRequest",
                "quantity",
                json!({ "minimum": 1, "maximum": crm_core::money::MAX_QUANTITY }),
            ),
            (
                "QuoteLineRequest",
                "unit_price",
                json!({ "minimum": 0, "maximum": crm_core::money::MAX_UNIT_PRICE }),
            ),
            (
                "CreateQuoteRequest",
                "lines",
                json!({ "minItems": 1, "maxItems": crm_core::money::MAX_LINES }),
            ),
            (
                "EditQuoteRequest",
                "lines",
                json!({ "minItems": 1, "maxItems": crm_core::money::MAX_LINES }),
            ),
            (
                "CreateQuoteRequest",
                "tax_rate",
                json!({ "minimum": 0, "maximum": crm_core::money::MAX_TAX_RATE }),
            ),
            (
                "EditQuoteRequest",
                "tax_rate",
                json!({ "minimum": 0, "maximum": crm_core::money::MAX_TAX_RATE }),
            ),
            (
                "CreateQuoteRequest",
                "valid_days",
                json!({ "minimum": 1, "maximum": crm_core::quote::MAX_VALID_DAYS }),
            ),
            (
                "EditQuoteRequest",
                "valid_days",
                json!({ "minimum": 1, "maximum": crm_core::quote::MAX_VALID_DAYS }),
            ),
            (
                "CreateQuoteRequest",
                "note",
                optional_text(crm_core::quote::MAX_NOTE),
            ),
            (
                "EditQuoteRequest",
                "note",
                optional_text(crm_core::quote::MAX_NOTE),
            ),
            (
                "DecisionRequest",
                "name",
                trimmed_text(crm_core::quote::MAX_DECIDER_NAME),
            ),
            (
                "DecisionRequest",
                "comment",
                optional_text(crm_core::quote::MAX_COMMENT),
            ),
        ]
    }

    /// The limits of a path or query parameter.
    pub fn parameter(path: &str, place: &str, name: &str) -> Option<Value> {
        Some(match (place, name) {
            ("query", "page") => json!({ "minimum": 1, "maximum": u32::MAX }),
            ("query", "size") => json!({ "minimum": 1, "maximum": PageRequest::MAX_SIZE }),
            ("query", "worker_id" | "client_id" | "stage_id") | ("path", "id" | "key_id") => {
                json!({ "minimum": 1 })
            }
            ("query", "cursor") => json!({ "pattern": "^[0-9A-Fa-f]{1,16}\\.[0-9A-Fa-f]{1,16}$" }),
            ("query", "search" | "q" | "serial") => json!({
                "maxLength": SearchTerm::MAX_CHARS,
                "pattern": format!("^[^{CONTROL}]*$")
            }),
            ("header", "Last-Event-ID") => {
                json!({ "pattern": "^[ \\t]*(-?[0-9]{1,18})?[ \\t]*$" })
            }
            ("path", "tracking_code") if path.starts_with("/public/") => {
                // The readable form (any case, dashes optional) or an earlier code exactly.
                json!({ "pattern": "^(?:[A-Za-z0-9_-]{22}|[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}-?[0-9A-Za-z]{4})$" })
            }
            _ => return None,
        })
    }
}
