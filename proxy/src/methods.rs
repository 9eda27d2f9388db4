//! Which methods a route forwards (`forward_methods`), checked against its CORS policy when the
//! configuration is read, and on each request before anything else.
//!
//! `TRACE` and `TRACK` would have the upstream echo the request, secrets included, and `CONNECT`
//! would make the proxy a tunnel: they are never forwarded, refused before a route is chosen,
//! and a configuration error when listed.

use http::header::HeaderValue;
use http::{Method, StatusCode};

use crate::answer::Answer;

/// The methods a route forwards when it does not say.
pub const DEFAULT_FORWARD_METHODS: [&str; 7] =
    ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Whether `method` is one that is never forwarded (`TRACE`, `TRACK`, `CONNECT`), in any case.
pub fn never_forwarded(method: &str) -> bool {
    ["TRACE", "TRACK", "CONNECT"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method))
}

/// The methods browsers upper-case (Fetch's "normalize a method"); every other name keeps its
/// case, as the CORS layer reads it.
fn normalize(method: &str) -> String {
    const NORMALIZED: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
    match NORMALIZED.iter().find(|m| m.eq_ignore_ascii_case(method)) {
        Some(m) => (*m).to_owned(),
        None => method.to_owned(),
    }
}

/// A route's compiled method list.
#[derive(Debug, Clone)]
pub(crate) struct MethodRules {
    methods: Vec<Method>,
    allow: HeaderValue,
}

impl MethodRules {
    /// 405 with `Allow` for a method the route does not forward.
    pub(crate) fn check(&self, method: &Method) -> Result<(), Answer> {
        if self.methods.contains(method) {
            return Ok(());
        }
        Err(Answer::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("method {method} is not forwarded on this route"),
        )
        .allow(self.allow.clone()))
    }

    /// Compiles `forward_methods` (`None`: the default list), checking that the CORS policy
    /// allows no method the route would not forward. Problems name the route through `label`.
    pub(crate) fn compile(
        listed: Option<&[String]>,
        cors_methods: &[String],
        label: &str,
        problems: &mut Vec<String>,
    ) -> Option<Self> {
        let before = problems.len();
        let names: Vec<String> = match listed {
            Some(list) => list.iter().map(|m| normalize(m)).collect(),
            None => DEFAULT_FORWARD_METHODS.map(str::to_owned).to_vec(),
        };
        let mut methods = Vec::with_capacity(names.len());
        for name in &names {
            if never_forwarded(name) {
                problems.push(format!(
                    "{label}: forward_methods lists {name:?}, which is never forwarded (it \
                     would echo the route's secrets or open a tunnel)"
                ));
            } else {
                match Method::from_bytes(name.as_bytes()) {
                    Ok(method) if !methods.contains(&method) => methods.push(method),
                    Ok(_) => {}
                    Err(_) => problems.push(format!(
                        "{label}: forward_methods: {name:?} is not a method name"
                    )),
                }
            }
        }
        if listed.is_some_and(<[String]>::is_empty) {
            problems.push(format!(
                "{label}: forward_methods is empty: the route would forward nothing"
            ));
        }
        for allowed in cors_methods {
            let allowed = normalize(allowed.trim());
            if allowed == "*" {
                problems.push(format!(
                    "{label}: the CORS policy allows any method (\"*\"), but the route forwards \
                     only {names:?}: list the methods in allow_methods"
                ));
            } else if !names.contains(&allowed) {
                problems.push(format!(
                    "{label}: the CORS policy allows method {allowed:?}, which forward_methods \
                     {names:?} does not forward"
                ));
            }
        }
        if problems.len() > before {
            return None;
        }
        let allow = methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let allow = HeaderValue::from_str(&allow).ok()?;
        Some(Self { methods, allow })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(listed: Option<&[&str]>, cors: &[&str]) -> Result<MethodRules, Vec<String>> {
        let listed: Option<Vec<String>> = listed.map(|l| l.iter().map(|m| m.to_string()).collect());
        let cors: Vec<String> = cors.iter().map(|m| m.to_string()).collect();
        let mut problems = Vec::new();
        MethodRules::compile(listed.as_deref(), &cors, "route \"/x\"", &mut problems)
            .ok_or(problems)
    }

    #[test]
    fn defaults_and_checks() {
        let rules = compile(None, &["PUT", "delete"]).expect("valid");
        for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            assert!(rules
                .check(&Method::from_bytes(method.as_bytes()).unwrap())
                .is_ok());
        }
        for method in ["TRACE", "TRACK", "PROPFIND", "get"] {
            let answer = rules
                .check(&Method::from_bytes(method.as_bytes()).unwrap())
                .expect_err(method)
                .into_response();
            assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED);
            assert_eq!(
                answer.headers()["allow"],
                "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
            );
        }
    }

    #[test]
    fn configuration_problems_name_both_lists() {
        let problems = compile(Some(&["GET", "post"]), &["PUT"]).expect_err("PUT not forwarded");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("\"PUT\"") && problems[0].contains("[\"GET\", \"POST\"]"),
            "{problems:?}"
        );
        let problems = compile(None, &["*"]).expect_err("any method");
        assert!(problems[0].contains("\"*\""), "{problems:?}");
        let problems = compile(
            Some(&["GET", "TRACE", "connect", "Track", "BAD METHOD"]),
            &[],
        )
        .expect_err("x");
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(
            problems.iter().any(|p| p.contains("\"connect\"")),
            "{problems:?}"
        );
        assert!(compile(Some(&[]), &[]).is_err());
        // A listed method the policy allows too; the policy's lower-case `put` is PUT.
        assert!(compile(Some(&["GET", "PUT", "PROPFIND"]), &["put", "PROPFIND"]).is_ok());
    }

    #[test]
    fn never_forwarded_in_any_case() {
        for m in ["TRACE", "trace", "Track", "CONNECT", "connect"] {
            assert!(never_forwarded(m), "{m}");
        }
        assert!(!never_forwarded("GET"));
    }
}
