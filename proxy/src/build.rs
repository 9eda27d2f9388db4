//! From a [`ProxyConfig`] to a [`Proxy`]: every setting validated, every problem collected
//! (each naming the route and the value at fault), one function per concern — where a route
//! goes, its secrets, its header rules, its methods, its CORS policy.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use http::header::{HeaderName, HeaderValue};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tower_cors::{CorsConfig, CorsLayer};
use tower_layer::Layer;
use url::Url;

use crate::config::{substitute, ProxyConfig, ProxyConfigError, RouteConfig, DEFAULT_LISTEN};
use crate::guard::{AddressPolicy, GuardedConnector, Resolve};
use crate::headers::{BrowserHeaders, RequestRules, ResponseRules};
use crate::methods::MethodRules;
use crate::origin_guard::{serialize_origin, GuardSettings};
use crate::proxy::{Inner, Proxy};
use crate::route::{HttpClient, Mode, Route, RouteService, Shared};
use crate::target::{check_target, AllowEntry};

/// Validates `config` into a proxy; `hints` names command-line flags in refusal log lines.
pub(crate) fn build(
    config: ProxyConfig,
    env: &dyn Fn(&str) -> Option<String>,
    resolver: Arc<dyn Resolve>,
    hints: bool,
) -> Result<Proxy, ProxyConfigError> {
    let mut problems = Vec::new();
    let listen = config.listen.unwrap_or_else(|| {
        DEFAULT_LISTEN
            .parse()
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8787)))
    });
    let base_path = config.base_path.trim_end_matches('/').to_owned();
    if !base_path.is_empty() && !base_path.starts_with('/') {
        problems.push(format!(
            "base_path {:?} must start with /",
            config.base_path
        ));
    }
    let public_origins = config
        .public_origins
        .iter()
        .filter_map(|text| {
            serialize_origin(text)
                .map_err(|why| problems.push(format!("public_origins: {why}")))
                .ok()
        })
        .collect();
    limits(&config, &mut problems);
    let tls = tls_config(&config, &mut problems);
    if config.routes.is_empty() {
        problems.push("no [[routes]]: the proxy would forward nothing".to_owned());
    }
    let global_cors = config.cors.clone().map(|cors| {
        cors.clone()
            .build()
            .map(|layer| (layer, cors))
            .map_err(|e| e.to_string())
    });
    if let Some(Err(e)) = &global_cors {
        problems.push(format!("[cors]: {e}"));
    }
    let shared = Arc::new(Shared::new(
        config.limits.clone(),
        config.trusted_proxies.clone(),
        base_path.clone(),
        public_origins,
        hints,
    ));
    let mut seen = HashSet::new();
    let mut routes = Vec::new();
    let mut help = String::from("tower-cors proxy\n\nRoutes (longest prefix wins):\n");
    for (index, rc) in config.routes.iter().enumerate() {
        let label = if rc.path.is_empty() {
            format!("routes[{index}]")
        } else {
            format!("route {:?}", rc.path)
        };
        let before = problems.len();
        let path = route_path(rc, &label, &mut seen, &mut problems);
        let cors = route_cors(rc, global_cors.as_ref(), &label, &mut problems);
        let (mode, allow) = route_target(rc, &label, &mut problems);
        let secrets = route_secrets(rc, env, &label, &mut problems);
        let (request_rules, response_rules) = header_rules(rc, &label, &mut problems);
        let cors_methods = cors.as_ref().map_or(&[][..], |(_, c)| &c.allow_methods[..]);
        let methods = MethodRules::compile(
            rc.forward_methods.as_deref(),
            cors_methods,
            &label,
            &mut problems,
        );
        if problems.len() > before {
            continue;
        }
        let (Some((cors, _)), Some(mode), Some(methods), Some(tls)) =
            (cors, mode, methods, tls.as_ref())
        else {
            continue;
        };
        let timeout = config.limits.connect_timeout;
        let trusted = AddressPolicy {
            trusted: true,
            ..AddressPolicy::default()
        };
        let guarded = AddressPolicy {
            allow_private_networks: rc.allow_private_networks,
            deny_networks: rc.deny_networks.clone(),
            trusted: false,
        };
        describe(&mut help, &path, rc, &mode, &allow);
        let (set_headers, set_query, secrets) = secrets;
        let route = Route {
            path: path.clone(),
            mode,
            allow,
            cors: cors.clone(),
            methods,
            guard: GuardSettings {
                allow_navigation: rc.allow_navigation,
                require_origin: rc.require_origin,
            },
            set_headers,
            set_query,
            secrets,
            request_rules,
            response_rules,
            forwarded_headers: rc.forwarded_headers,
            follow_redirects: rc.follow_redirects,
            trusted_client: client(tls, &resolver, trusted, timeout),
            guarded_client: client(tls, &resolver, guarded, timeout),
        };
        let service = RouteService::new(Arc::new(route), shared.clone());
        routes.push((path, cors.clone(), cors.layer(service)));
    }
    if !problems.is_empty() {
        return Err(ProxyConfigError::new(problems));
    }
    routes.sort_by_key(|(path, _, _)| std::cmp::Reverse(path.len()));
    let root_owned = routes.iter().any(|(p, _, _)| p.is_empty());
    help.push_str(
        "\nProxy endpoints: /_cors/ (this page), /_cors/healthz\n\
         Requests are answered with the route's CORS policy; cookies, Authorization and \
         Set-Cookie are not passed unless a route opts in.\n",
    );
    Ok(Proxy::from_inner(Inner {
        routes,
        help,
        listen,
        admin: config.admin.as_ref().map(|admin| admin.listen),
        root_owned,
        limits: config.limits,
        hints,
    }))
}

/// Limits that cannot work as given.
fn limits(config: &ProxyConfig, problems: &mut Vec<String>) {
    let limits = &config.limits;
    if limits.max_connections == Some(0) {
        problems.push("[limits] max_connections must be at least 1".to_owned());
    }
    if limits.request_head_timeout.is_zero() {
        problems.push("[limits] request_head_timeout must be more than 0".to_owned());
    }
    if let (Some(admin), Some(listen)) = (&config.admin, config.listen) {
        if admin.listen == listen && listen.port() != 0 {
            problems.push(format!(
                "[admin] listen {} is the main listener's address",
                admin.listen
            ));
        }
    }
}

/// A route's path: `/` or plain segments, not under `/_cors`, not repeated.
fn route_path(
    rc: &RouteConfig,
    label: &str,
    seen: &mut HashSet<String>,
    problems: &mut Vec<String>,
) -> String {
    let path = rc.path.trim_end_matches('/').to_owned();
    if !rc.path.starts_with('/') {
        problems.push(format!(
            "{label}: path must start with / (got {:?})",
            rc.path
        ));
    } else if path.starts_with("/_cors") {
        problems.push(format!("{label}: paths under /_cors are the proxy's own"));
    } else if rc.path.contains(['?', '#', '*', '{']) || path.contains("//") {
        problems.push(format!("{label}: path must be plain segments like /github"));
    }
    if !seen.insert(path.clone()) {
        problems.push(format!("{label}: another route has the same path"));
    }
    path
}

/// The route's CORS policy (its own, else the global one) and the configuration it came from.
fn route_cors(
    rc: &RouteConfig,
    global: Option<&Result<(CorsLayer, CorsConfig), String>>,
    label: &str,
    problems: &mut Vec<String>,
) -> Option<(CorsLayer, CorsConfig)> {
    match (&rc.cors, global) {
        (Some(own), _) => match own.clone().build() {
            Ok(layer) => Some((layer, own.clone())),
            Err(e) => {
                problems.push(format!("{label} [routes.cors]: {e}"));
                None
            }
        },
        (None, Some(Ok(global))) => Some(global.clone()),
        (None, Some(Err(_))) => None,
        (None, None) => {
            problems.push(format!(
                "{label}: no CORS policy: add a [cors] table, or [routes.cors] to the route"
            ));
            None
        }
    }
}

/// Where the route goes: route mode's upstream, or URL mode's allow list.
fn route_target(
    rc: &RouteConfig,
    label: &str,
    problems: &mut Vec<String>,
) -> (Option<Mode>, Vec<AllowEntry>) {
    let allow: Vec<AllowEntry> = rc
        .allow_upstreams
        .iter()
        .filter_map(|e| match e.parse::<AllowEntry>() {
            Ok(entry) => Some(entry),
            Err(err) => {
                problems.push(format!("{label}: {err}"));
                None
            }
        })
        .collect();
    let mode = match &rc.upstream {
        Some(upstream) => match Url::parse(upstream) {
            Ok(url) => match check_target(&url) {
                Ok(()) if url.query().is_none() && url.fragment().is_none() => {
                    Some(Mode::Upstream { base: url })
                }
                Ok(()) => {
                    problems.push(format!(
                        "{label}: upstream {upstream:?} must not have a query or fragment"
                    ));
                    None
                }
                Err(why) => {
                    problems.push(format!("{label}: upstream {upstream:?}: {why}"));
                    None
                }
            },
            Err(e) => {
                problems.push(format!("{label}: upstream {upstream:?} is not a URL: {e}"));
                None
            }
        },
        None if rc.allow_upstreams.is_empty() => {
            problems.push(format!(
                "{label}: set `upstream` (route mode) or `allow_upstreams` (URL mode)"
            ));
            None
        }
        None => Some(Mode::Urls),
    };
    (mode, allow)
}

/// The headers and query parameters the route sets, with `${VAR}` substituted, and the secrets
/// scrubbed from responses. A value that holds a secret never appears in a problem.
#[allow(clippy::type_complexity)]
fn route_secrets(
    rc: &RouteConfig,
    env: &dyn Fn(&str) -> Option<String>,
    label: &str,
    problems: &mut Vec<String>,
) -> (
    Vec<(HeaderName, HeaderValue)>,
    Vec<(String, String)>,
    Vec<Vec<u8>>,
) {
    let mut secrets = Vec::new();
    let mut set_headers = Vec::new();
    for (name, value) in &rc.set_headers {
        let what = format!("{label} set_headers.{name}");
        let header = HeaderName::from_bytes(name.as_bytes());
        if header.is_err() {
            problems.push(format!("{what}: {name:?} is not a header name"));
        }
        let Some((value, used)) = substitute(value, env, &what, problems) else {
            continue;
        };
        let mut header_value = match HeaderValue::from_str(&value) {
            Ok(v) => v,
            // The value may hold a secret: say what is wrong without it.
            Err(_) => {
                problems.push(format!("{what}: the value is not a valid header value"));
                continue;
            }
        };
        header_value.set_sensitive(true);
        if let Ok(header) = header {
            // A value with a variable in it is a secret as a whole, and so is each variable.
            if !used.is_empty() {
                secrets.push(value.into_bytes());
            }
            secrets.extend(scrubbed(used));
            set_headers.push((header, header_value));
        }
    }
    let mut set_query = Vec::new();
    for (name, value) in &rc.set_query {
        let what = format!("{label} set_query.{name}");
        if let Some((value, used)) = substitute(value, env, &what, problems) {
            secrets.extend(scrubbed(used));
            set_query.push((name.clone(), value));
        }
    }
    (set_headers, set_query, secrets)
}

/// What the route lets through each way.
fn header_rules(
    rc: &RouteConfig,
    label: &str,
    problems: &mut Vec<String>,
) -> (RequestRules, ResponseRules) {
    let request_rules = RequestRules {
        forward_cookies: rc.forward_cookies,
        forward_authorization: rc.forward_authorization,
        allow: rc
            .allow_request_headers
            .as_ref()
            .map(|names| header_names(names, &format!("{label} allow_request_headers"), problems)),
        deny: header_names(
            &rc.deny_request_headers,
            &format!("{label} deny_request_headers"),
            problems,
        ),
        browser: BrowserHeaders::parse(&rc.forward_browser_headers, label, problems),
    };
    let csp = match rc.content_security_policy.as_deref() {
        None => Some(HeaderValue::from_static("sandbox")),
        Some("") => None,
        Some(value) => match HeaderValue::from_str(value) {
            Ok(v) => Some(v),
            Err(_) => {
                problems.push(format!(
                    "{label}: content_security_policy {value:?} is not a header value"
                ));
                None
            }
        },
    };
    let response_rules = ResponseRules {
        return_set_cookie: rc.return_set_cookie,
        deny: header_names(
            &rc.deny_response_headers,
            &format!("{label} deny_response_headers"),
            problems,
        ),
        csp,
    };
    (request_rules, response_rules)
}

fn tls_config(config: &ProxyConfig, problems: &mut Vec<String>) -> Option<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &config.ca_file {
        match CertificateDer::pem_file_iter(path) {
            Ok(certs) => {
                let mut n = 0;
                for cert in certs {
                    match cert
                        .map_err(|e| e.to_string())
                        .and_then(|c| roots.add(c).map_err(|e| e.to_string()))
                    {
                        Ok(()) => n += 1,
                        Err(e) => problems.push(format!("ca_file {}: {e}", path.display())),
                    }
                }
                if n == 0 {
                    problems.push(format!("ca_file {}: no certificate found", path.display()));
                }
            }
            Err(e) => problems.push(format!("ca_file {}: {e}", path.display())),
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(builder) => Some(builder.with_root_certificates(roots).with_no_client_auth()),
        Err(e) => {
            problems.push(format!("TLS setup: {e}"));
            None
        }
    }
}

/// The largest read buffer of an HTTP/1 upstream connection.
const UPSTREAM_READ_BUFFER: usize = 64 * 1024;
/// The HTTP/2 flow-control window per upstream stream: what one response may have in flight.
const H2_STREAM_WINDOW: u32 = 1024 * 1024;

fn client(
    tls: &rustls::ClientConfig,
    resolver: &Arc<dyn Resolve>,
    policy: AddressPolicy,
    connect_timeout: std::time::Duration,
) -> HttpClient {
    let connector = GuardedConnector::new(resolver.clone(), Arc::new(policy), connect_timeout);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls.clone())
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(connector);
    Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        // hyper's read buffer grows to ~400 KiB on a fast body; per upstream connection that
        // is the proxy's memory under load, and 64 KiB reads already saturate loopback.
        .http1_max_buf_size(UPSTREAM_READ_BUFFER)
        .http2_initial_stream_window_size(H2_STREAM_WINDOW)
        .build(https)
}

fn header_names(names: &[String], what: &str, problems: &mut Vec<String>) -> Vec<HeaderName> {
    names
        .iter()
        .filter_map(|name| match HeaderName::from_bytes(name.as_bytes()) {
            Ok(h) => Some(h),
            Err(_) => {
                problems.push(format!("{what}: {name:?} is not a header name"));
                None
            }
        })
        .collect()
}

/// The shortest variable value that is scrubbed from response headers on its own.
const MIN_SECRET_LEN: usize = 4;

/// The variable values a setting used, as the secrets scrubbed from response headers.
fn scrubbed(used: Vec<String>) -> impl Iterator<Item = Vec<u8>> {
    used.into_iter()
        .filter(|s| s.len() >= MIN_SECRET_LEN)
        .map(String::into_bytes)
}

/// One route's help lines: where it goes and what it sets, by name only.
fn describe(help: &mut String, path: &str, rc: &RouteConfig, mode: &Mode, allow: &[AllowEntry]) {
    let shown = if path.is_empty() { "/" } else { path };
    let _ = match mode {
        Mode::Upstream { base, .. } => writeln!(help, "  {shown}/...  ->  {base}"),
        Mode::Urls => writeln!(
            help,
            "  {shown}/{{absolute URL}}  ->  URL mode, allowed: {}",
            allow
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    if !rc.set_headers.is_empty() {
        let names: Vec<&str> = rc.set_headers.keys().map(String::as_str).collect();
        let _ = writeln!(
            help,
            "      sets headers: {} (values hidden)",
            names.join(", ")
        );
    }
    if !rc.set_query.is_empty() {
        let names: Vec<&str> = rc.set_query.keys().map(String::as_str).collect();
        let _ = writeln!(
            help,
            "      sets query parameters: {} (values hidden)",
            names.join(", ")
        );
    }
}
