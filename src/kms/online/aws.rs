//! The KMS client of online mode: `TrentService.ReEncrypt` over the JSON 1.1 protocol, signed
//! with SigV4, sent with a blocking `ureq` agent. Credentials, region and endpoint come from
//! the standard environment variables only (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `AWS_REGION`/`AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL_KMS`/
//! `AWS_ENDPOINT_URL`) — no profiles, SSO or instance metadata.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::{json, Value};

use super::sigv4::{self, Request, Scope};
use super::{Answer, Fatal, Verifier};
use crate::messages::UserError;

/// A KMS endpoint with credentials.
pub struct KmsClient {
    agent: ureq::Agent,
    /// Full URL requests are posted to.
    url: String,
    /// `host[:port]` as sent in the `Host` header.
    host: String,
    path: String,
    region: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl KmsClient {
    /// Reads the configuration through `var` (the process environment in the binary).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<KmsClient, UserError> {
        let (Some(access_key_id), Some(secret_access_key)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
        else {
            return Err(UserError::new("--online: no AWS credentials in the environment").hint(
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)",
            ));
        };
        let Some(region) = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")) else {
            return Err(UserError::new("--online: no AWS region in the environment")
                .hint("set AWS_REGION (or AWS_DEFAULT_REGION), e.g. AWS_REGION=eu-west-1"));
        };
        let url = var("AWS_ENDPOINT_URL_KMS")
            .or_else(|| var("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| format!("https://kms.{region}.amazonaws.com"));
        let (host, path) = split_url(&url).ok_or_else(|| {
            UserError::new(format!("{url}: not an http(s) URL"))
                .hint("check AWS_ENDPOINT_URL_KMS / AWS_ENDPOINT_URL, e.g. http://127.0.0.1:4566")
        })?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Ok(KmsClient {
            agent,
            url: format!(
                "{}://{host}{path}",
                if url.starts_with("https://") { "https" } else { "http" }
            ),
            host,
            path,
            region,
            access_key_id,
            secret_access_key,
            session_token: var("AWS_SESSION_TOKEN"),
        })
    }

    /// One signed JSON 1.1 call; (HTTP status, parsed body).
    fn call(&self, target: &str, body: &Value) -> Result<(u16, Value), Fatal> {
        let payload = serde_json::to_vec(body).expect("JSON values serialise");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let amz_date = crate::source::git::rfc3339(now).replace(['-', ':'], "");
        let mut headers = vec![
            ("content-type".to_string(), "application/x-amz-json-1.1".to_string()),
            ("host".to_string(), self.host.clone()),
            ("x-amz-date".to_string(), amz_date.clone()),
            ("x-amz-target".to_string(), format!("TrentService.{target}")),
        ];
        if let Some(t) = &self.session_token {
            headers.push(("x-amz-security-token".to_string(), t.clone()));
        }
        let request = Request {
            method: "POST",
            path: &self.path,
            query: "",
            headers: &headers,
            payload: &payload,
        };
        let scope = Scope {
            amz_date: &amz_date,
            region: &self.region,
            service: "kms",
        };
        let auth = sigv4::authorization(&request, &scope, &self.access_key_id, &self.secret_access_key);
        let mut req = self.agent.post(&self.url).header("authorization", auth);
        for (k, v) in headers.iter().filter(|(k, _)| k != "host") {
            req = req.header(k.as_str(), v.as_str());
        }
        let mut resp = req
            .send(&payload[..])
            .map_err(|e| Fatal(format!("cannot reach KMS: {}", transport_reason(&e))))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| Fatal(format!("reading the KMS answer: {e}")))?;
        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok((status, value))
    }
}

impl Verifier for KmsClient {
    fn endpoint(&self) -> String {
        self.url.clone()
    }

    fn re_encrypt(&self, blob: &[u8], destination: &str, context: &BTreeMap<String, String>) -> Result<Answer, Fatal> {
        let mut body = json!({
            "CiphertextBlob": base64::engine::general_purpose::STANDARD.encode(blob),
            "DestinationKeyId": destination,
        });
        if !context.is_empty() {
            body["SourceEncryptionContext"] = json!(context);
            body["DestinationEncryptionContext"] = json!(context);
        }
        let (status, v) = self.call("ReEncrypt", &body)?;
        if status == 200 {
            // The re-encrypted blob in the answer is dropped unread.
            return match v.get("SourceKeyId").and_then(Value::as_str) {
                Some(id) => Ok(Answer::Confirmed {
                    source_key_id: id.to_string(),
                }),
                None => Err(Fatal("KMS answered ReEncrypt without a SourceKeyId".into())),
            };
        }
        let code = error_code(&v).unwrap_or_else(|| format!("HTTP {status}"));
        let message = v
            .get("message")
            .or_else(|| v.get("Message"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if super::kind_of(&code).is_some() {
            return Ok(Answer::Rejected { code, message });
        }
        let detail = if message.is_empty() {
            String::new()
        } else {
            format!(": {message}")
        };
        Err(Fatal(format!("KMS refused the request: {code}{detail}")))
    }
}

/// `__type` of a JSON 1.1 error (`com.amazonaws.kms#NotFoundException` -> `NotFoundException`).
fn error_code(v: &Value) -> Option<String> {
    let t = v.get("__type")?.as_str()?;
    let t = t.rsplit('#').next().unwrap_or(t);
    Some(t.split(':').next().unwrap_or(t).to_string())
}

/// (`host[:port]`, path) of an http(s) URL.
fn split_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    (!host.is_empty()).then(|| (host.to_string(), path.to_string()))
}

/// A short reason for a transport error (no URL repetition, no debug dump).
fn transport_reason(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => crate::messages::io_reason(io),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::Timeout(_) => "timed out".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn configuration_from_the_environment() {
        let c = KmsClient::from_env(env(&[
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.endpoint(), "https://kms.eu-west-1.amazonaws.com/");
        assert_eq!(c.host, "kms.eu-west-1.amazonaws.com");
        let c = KmsClient::from_env(env(&[
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:5000"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.host, "127.0.0.1:5000");
        assert_eq!(c.path, "/");
    }

    #[test]
    fn missing_settings_are_one_line_errors() {
        let e = KmsClient::from_env(env(&[])).err().expect("no credentials").to_string();
        assert!(e.starts_with("--online: no AWS credentials"), "{e}");
        let e = KmsClient::from_env(env(&[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")]))
            .err()
            .expect("no region")
            .to_string();
        assert!(e.starts_with("--online: no AWS region"), "{e}");
    }

    #[test]
    fn error_codes_are_read_from_type() {
        assert_eq!(
            error_code(&json!({"__type": "com.amazonaws.kms#InvalidCiphertextException"})).as_deref(),
            Some("InvalidCiphertextException")
        );
        assert_eq!(
            error_code(&json!({"__type": "NotFoundException"})).as_deref(),
            Some("NotFoundException")
        );
    }

    #[test]
    fn a_closed_port_is_a_fatal_error() {
        let c = KmsClient::from_env(env(&[
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "b"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:1"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        let e = c.re_encrypt(b"x", "alias/k", &BTreeMap::new()).unwrap_err();
        assert!(e.0.starts_with("cannot reach KMS: "), "{e:?}");
    }
}
