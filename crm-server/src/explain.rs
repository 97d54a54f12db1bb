//! Sentences for people when a request does not even parse: a number where text goes, `-3`
//! for a count, an unknown field. poem-openapi refuses such requests before an operation
//! runs, with its parser's text and without naming the field; this layer reads the
//! request again against the OpenAPI document (the same schemas the parser used) and answers
//! the documented error body with a sentence per field, naming the field and the rule.
//!
//! Only answers that are a `validation_error` without `fields` are rewritten: those the core
//! gave already name their fields.

use crate::{
    error::{ErrorBody, FieldErrorBody},
    openapi::Document,
};
use poem::{Endpoint, IntoResponse, Request, Response, Result, http::StatusCode};
use poem_openapi::payload::Json;
use serde_json::Value;
use std::sync::Arc;

/// See the module docs; `ep` is the service inside the body limit.
pub async fn rejections<E: Endpoint>(
    doc: Arc<Document>,
    ep: E,
    mut req: Request,
) -> Result<Response> {
    let json = req
        .header(poem::http::header::CONTENT_TYPE)
        .is_some_and(|c| c.starts_with("application/json"));
    let body = if json {
        let bytes = req.take_body().into_bytes().await?;
        req.set_body(bytes.clone());
        Some(bytes)
    } else {
        None
    };
    let method = req.method().as_str().to_ascii_lowercase();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let resp = match ep.call(req).await {
        Ok(r) => r.into_response(),
        // The 405 answer is the method check's, further out.
        Err(e) if e.status() == StatusCode::METHOD_NOT_ALLOWED => return Err(e),
        // What an operation could not extract is rendered here, as it would be further out.
        Err(e) => crate::error::render_any(e),
    };
    if resp.status() != StatusCode::UNPROCESSABLE_ENTITY {
        return Ok(resp);
    }
    let (parts, body_of_resp) = resp.into_parts();
    let bytes = body_of_resp.into_bytes().await.unwrap_or_default();
    let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
    let unexplained = parsed
        .as_ref()
        .is_some_and(|v| v["code"] == "validation_error" && v.get("fields").is_none());
    let fields = if unexplained {
        doc.operation(&method, &path)
            .map(|op| explain(&doc.spec, op, &query, body.as_deref()))
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    if fields.is_empty() {
        return Ok(Response::from_parts(parts, bytes.into()));
    }
    let detail = fields
        .iter()
        .map(|f| f.message.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let body = ErrorBody {
        detail,
        code: "validation_error".into(),
        fields: Some(fields),
        allowed_next: None,
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response())
}

/// Every rule a request breaks, per field: its query parameters, then its JSON body, against
/// the operation `op` of the document `spec`.
pub fn explain(spec: &Value, op: &Value, query: &str, body: Option<&[u8]>) -> Vec<FieldErrorBody> {
    let mut out = Vec::new();
    for p in op["parameters"].as_array().into_iter().flatten() {
        if p["in"] != "query" {
            continue;
        }
        let name = p["name"].as_str().unwrap_or_default();
        for (k, v) in url::form_urlencoded_pairs(query) {
            if k == name {
                let schema = resolve(spec, &p["schema"]);
                if let Some(rule) = breaks_text(&schema, &v) {
                    out.push(field(name, &format!("{name} {rule}.")));
                }
            }
        }
    }
    if let (Some(bytes), Some(schema)) = (
        body,
        op.pointer("/requestBody/content/application~1json; charset=utf-8/schema")
            .or_else(|| op.pointer("/requestBody/content/application~1json/schema")),
    ) {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(v) => check(spec, &resolve(spec, schema), &v, "", &mut out),
            Err(e) => out.push(field(
                "body",
                &format!(
                    "The request body is not valid JSON (line {}, column {}).",
                    e.line(),
                    e.column()
                ),
            )),
        }
    }
    out
}

fn field(name: &str, message: &str) -> FieldErrorBody {
    FieldErrorBody {
        field: if name.is_empty() {
            "body".into()
        } else {
            name.into()
        },
        message: message.into(),
    }
}

/// A schema with its `$ref` (or `allOf: [$ref]`, how nullable references are written)
/// followed.
fn resolve(spec: &Value, schema: &Value) -> Value {
    let r = schema["$ref"]
        .as_str()
        .or_else(|| schema["allOf"][0]["$ref"].as_str());
    match r {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            spec["components"]["schemas"][name].clone()
        }
        None => schema.clone(),
    }
}

/// What a value must be under `schema`, as the end of a sentence: "a whole number from 1 to
/// 100", "true or false", "one of: new, in_progress, done".
fn rule(schema: &Value) -> String {
    if let Some(values) = schema["enum"].as_array() {
        let names: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
        return format!("one of: {}", names.join(", "));
    }
    match schema["type"].as_str() {
        Some("integer") => match (schema["minimum"].as_i64(), schema["maximum"].as_u64()) {
            (Some(min), Some(max)) => format!("a whole number from {min} to {max}"),
            (Some(min), None) => format!("a whole number of {min} or more"),
            _ => "a whole number".into(),
        },
        Some("number") => "a number".into(),
        Some("boolean") => "true or false".into(),
        Some("string") => "text".into(),
        Some("array") => "a list".into(),
        Some("object") => "an object with named fields".into(),
        _ => "a value of the documented kind".into(),
    }
}

fn sentence(name: &str, schema: &Value) -> String {
    let name = if name.is_empty() {
        "The request body"
    } else {
        name
    };
    format!("{name} must be {}.", rule(schema))
}

/// Whether a query parameter's text breaks its schema, and the sentence if so.
fn breaks_text(schema: &Value, text: &str) -> Option<String> {
    let ok = if let Some(values) = schema["enum"].as_array() {
        values.iter().any(|v| v == text)
    } else {
        match schema["type"].as_str() {
            Some("integer") => text.trim().parse::<i64>().is_ok_and(|n| {
                schema["minimum"].as_i64().is_none_or(|m| n >= m)
                    && schema["maximum"].as_i64().is_none_or(|m| n <= m)
            }),
            Some("boolean") => matches!(text, "true" | "false"),
            _ => true,
        }
    };
    (!ok).then(|| format!("must be {}", rule(schema)))
}

/// Checks `v` against `schema`, naming fields from `at`.
fn check(spec: &Value, schema: &Value, v: &Value, at: &str, out: &mut Vec<FieldErrorBody>) {
    let name = |f: &str| {
        if at.is_empty() {
            f.to_owned()
        } else {
            format!("{at}.{f}")
        }
    };
    if v.is_null() {
        if schema["nullable"] != true && !at.is_empty() {
            out.push(field(
                at,
                &format!("{at} must not be null: it must be {}.", rule(schema)),
            ));
        }
        return;
    }
    if let Some(values) = schema["enum"].as_array() {
        if !values.contains(v) {
            out.push(field(at, &sentence(at, schema)));
        }
        return;
    }
    let fits = match schema["type"].as_str() {
        Some("integer") => {
            v.as_i64().is_some_and(|n| {
                schema["minimum"].as_i64().is_none_or(|m| n >= m)
                    && schema["maximum"].as_i64().is_none_or(|m| n <= m)
            }) || v
                .as_u64()
                .is_some_and(|n| schema["maximum"].as_u64().is_none_or(|m| n <= m))
        }
        Some("number") => v.is_number(),
        Some("boolean") => v.is_boolean(),
        Some("string") => v.is_string(),
        Some("array") => v.is_array(),
        Some("object") | None if schema.get("properties").is_some() => v.is_object(),
        _ => true,
    };
    if !fits {
        out.push(field(at, &sentence(at, schema)));
        return;
    }
    if let (Some(items), Some(list)) = (schema.get("items"), v.as_array()) {
        let items = resolve(spec, items);
        for (i, item) in list.iter().enumerate() {
            check(
                spec,
                &items,
                item,
                &format!("{}[{i}]", if at.is_empty() { "body" } else { at }),
                out,
            );
        }
    }
    let (Some(props), Some(obj)) = (schema["properties"].as_object(), v.as_object()) else {
        return;
    };
    for req in schema["required"].as_array().into_iter().flatten() {
        let f = req.as_str().unwrap_or_default();
        if !obj.contains_key(f) {
            out.push(field(&name(f), &format!("{} is required.", name(f))));
        }
    }
    for (k, value) in obj {
        match props.get(k) {
            Some(p) => check(spec, &resolve(spec, p), value, &name(k), out),
            None if schema["additionalProperties"] == false => {
                out.push(field(
                    &name(k),
                    &format!("{} is not a field of this request.", name(k)),
                ));
            }
            None => {}
        }
    }
}

/// Query-string pairs, decoded, without a dependency for it.
mod url {
    pub(super) fn form_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
        q.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect()
    }

    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                },
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> Value {
        json!({"components": {"schemas": {
            "Body": {"type": "object", "required": ["mode"], "additionalProperties": false,
                     "properties": {
                        "mode": {"type": "string", "enum": ["off", "least_open"]},
                        "limit": {"type": "integer", "minimum": 1, "maximum": 4294967295u64, "nullable": true},
                        "inner": {"$ref": "#/components/schemas/Inner"}}},
            "Inner": {"type": "object", "properties": {"on": {"type": "boolean"}}}
        }}})
    }

    fn op() -> Value {
        json!({
            "parameters": [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 4294967295u64}}],
            "requestBody": {"content": {"application/json; charset=utf-8": {"schema": {"$ref": "#/components/schemas/Body"}}}}
        })
    }

    fn said(query: &str, body: &str) -> Vec<(String, String)> {
        explain(&spec(), &op(), query, Some(body.as_bytes()))
            .into_iter()
            .map(|f| (f.field, f.message))
            .collect()
    }

    #[test]
    fn each_broken_rule_is_a_sentence_naming_its_field() {
        assert_eq!(
            said("", r#"{"mode": "off", "limit": -3}"#),
            [(
                "limit".into(),
                "limit must be a whole number from 1 to 4294967295.".into()
            )]
        );
        assert_eq!(
            said(
                "page=0",
                r#"{"mode": "sometimes", "inner": {"on": "yes"}, "extra": 1}"#
            ),
            [
                (
                    "page".into(),
                    "page must be a whole number from 1 to 4294967295.".into()
                ),
                (
                    "extra".into(),
                    "extra is not a field of this request.".into()
                ),
                ("inner.on".into(), "inner.on must be true or false.".into()),
                (
                    "mode".into(),
                    "mode must be one of: off, least_open.".into()
                ),
            ]
        );
        assert_eq!(
            said("", "{}"),
            [("mode".into(), "mode is required.".into())]
        );
        assert_eq!(
            said("", r#"{"mode": "off", "limit": null}"#),
            Vec::<(String, String)>::new()
        );
        let e = said("", "{nope");
        assert_eq!(e[0].0, "body");
        assert!(
            e[0].1
                .starts_with("The request body is not valid JSON (line 1"),
            "{e:?}"
        );
        assert_eq!(
            said("", "[1]"),
            [(
                "body".into(),
                "The request body must be an object with named fields.".into()
            )]
        );
    }
}
