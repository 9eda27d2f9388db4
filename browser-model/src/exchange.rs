//! The exchange as a sans-I/O state machine: it says which request to send next (preflight,
//! actual request, each redirect hop), takes each response's head, and ends in a [`Verdict`].
//! `tower_cors::testing::fetch` drives it through a tower service; the `cors check` command
//! drives it over the network.

use http::header::{
    HeaderName, HeaderValue, ACCEPT, ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD,
    AUTHORIZATION, COOKIE, HOST, LOCATION, ORIGIN,
};
use http::{HeaderMap, Method, Request, StatusCode};

use crate::check::{self, Finding};
use crate::safelist::{is_safelisted_method, unsafe_names};
use crate::url::{same_site, Url};
use crate::verdict::{
    BlockReason, Blocked, Check, Engine, EngineOutcome, MaxAge, Outcome, Readable, Stage, Verdict,
};
use crate::{Credentials, FetchRequest};

/// At most this many redirects are followed, as in the standard.
pub const MAX_REDIRECTS: usize = 20;

#[derive(Debug, Clone)]
enum State {
    Preflight,
    Actual,
    Done(Option<Readable>),
}

/// One `fetch()` in progress. Call [`next_request`](Self::next_request), send it, hand the
/// answer to [`receive`](Self::receive) (or the failure to [`fail`](Self::fail)), until
/// `next_request` returns `None`; then [`finish`](Self::finish).
///
/// ```
/// use http::{HeaderMap, StatusCode};
/// use cors_browser_model::{Exchange, FetchRequest, Stage};
///
/// let request = FetchRequest::builder("https://api.example.com/items", "https://app.example.com")
///     .method("PUT")
///     .build()?;
/// let mut exchange = Exchange::new(&request);
/// let preflight = exchange.next_request().expect("a preflight");
/// assert_eq!(preflight.method(), "OPTIONS");
/// assert_eq!(preflight.headers()["access-control-request-method"], "PUT");
///
/// exchange.receive(StatusCode::NOT_FOUND, &HeaderMap::new());
/// assert!(exchange.next_request().is_none());
/// let verdict = exchange.finish();
/// assert_eq!(verdict.stage(), Some(Stage::Preflight));
/// assert!(verdict.to_string().ends_with(
///     "Response to preflight request doesn't pass access control check: \
///      No 'Access-Control-Allow-Origin' header is present on the requested resource."
/// ));
/// # Ok::<(), cors_browser_model::InvalidRequest>(())
/// ```
#[derive(Debug, Clone)]
pub struct Exchange {
    origin: String,
    credentials: Credentials,
    cookie: Option<HeaderValue>,
    urls: Vec<Url>,
    method: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    cors: bool,
    state: State,
    checks: Vec<Check>,
    standard: Option<Outcome>,
    engines: [Option<EngineOutcome>; 3],
    preflight: bool,
    max_age: Option<MaxAge>,
    status: Option<StatusCode>,
}

impl Exchange {
    /// Starts the exchange for `request`.
    pub fn new(request: &FetchRequest) -> Self {
        let mut exchange = Exchange {
            origin: request.origin.clone(),
            credentials: request.credentials,
            cookie: request.cookie.clone(),
            urls: vec![request.url.clone()],
            method: request.method.clone(),
            headers: request.headers.clone(),
            cors: false,
            state: State::Actual,
            checks: Vec::new(),
            standard: None,
            engines: [None, None, None],
            preflight: false,
            max_age: None,
            status: None,
        };
        if !request.url.is_http() {
            let reason = BlockReason::RequestNotHttp(request.url.scheme().to_owned());
            exchange.record(Stage::Actual, vec![Finding::failed("scheme", reason)]);
        } else {
            exchange.enter();
        }
        exchange
    }

    fn url(&self) -> &Url {
        self.urls
            .last()
            .unwrap_or_else(|| unreachable!("the URL list starts with one URL"))
    }

    /// Main fetch, entered for the first URL and again after each redirect: the response
    /// tainting (which sticks once `cors`) and whether a preflight goes first.
    fn enter(&mut self) {
        if self.url().origin() != self.origin {
            self.cors = true;
        }
        let needs_preflight = self.cors
            && (!is_safelisted_method(&self.method) || !self.unsafe_header_names().is_empty());
        self.state = if needs_preflight {
            State::Preflight
        } else {
            State::Actual
        };
    }

    fn alive(&self) -> bool {
        self.standard.is_none() || self.engines.iter().any(Option::is_none)
    }

    /// Which request [`next_request`](Self::next_request) returns, if any.
    pub fn pending(&self) -> Option<Stage> {
        match self.state {
            State::Preflight => Some(Stage::Preflight),
            State::Actual => Some(Stage::Actual),
            State::Done(_) => None,
        }
    }

    /// The URL the next request goes to (the last one once the exchange is over), as the
    /// engines' messages quote it: serialized by the URL standard, fragment included.
    ///
    /// ```
    /// use cors_browser_model::{Exchange, FetchRequest};
    ///
    /// let typed = "https://API.example/a/../items?q=a b#top";
    /// let request = FetchRequest::builder(typed, "https://app.example").build()?;
    /// let exchange = Exchange::new(&request);
    /// assert_eq!(exchange.current_url(), "https://api.example/items?q=a%20b#top");
    /// let sent = exchange.next_request().expect("the actual request");
    /// assert_eq!(sent.uri(), "https://api.example/items?q=a%20b");
    /// # Ok::<(), cors_browser_model::InvalidRequest>(())
    /// ```
    pub fn current_url(&self) -> String {
        self.url().to_string()
    }

    /// The request to send next, with an absolute URI and every header the browser sends
    /// (`Host` included; no `User-Agent`, `Accept-Language` or `Accept-Encoding`, which a
    /// browser adds but CORS never looks at). `None` when the exchange is over.
    pub fn next_request(&self) -> Option<Request<()>> {
        let stage = self.pending()?;
        let url = self.url();
        let mut request = Request::new(());
        *request.uri_mut() = url.without_fragment().parse().ok()?;
        let headers = request.headers_mut();
        if let Ok(host) = HeaderValue::from_str(&url.authority()) {
            headers.insert(HOST, host);
        }
        let serialized_origin = self.serialized_origin();
        let origin = HeaderValue::from_str(&serialized_origin).ok()?;
        match stage {
            Stage::Preflight => {
                let unsafe_names = self.unsafe_header_names();
                *request.method_mut() = Method::OPTIONS;
                let headers = request.headers_mut();
                headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
                headers.insert(
                    ACCESS_CONTROL_REQUEST_METHOD,
                    HeaderValue::from_str(&self.method).ok()?,
                );
                let names: Vec<&str> = unsafe_names.iter().map(HeaderName::as_str).collect();
                if !names.is_empty() {
                    // Joined with a bare `,`, as the standard says (not the `, ` of combining).
                    headers.insert(
                        ACCESS_CONTROL_REQUEST_HEADERS,
                        HeaderValue::from_str(&names.join(",")).ok()?,
                    );
                }
                headers.insert(ORIGIN, origin);
            }
            Stage::Actual => {
                *request.method_mut() = Method::from_bytes(self.method.as_bytes()).ok()?;
                let send_origin = self.cors || !matches!(self.method.as_str(), "GET" | "HEAD");
                let headers = request.headers_mut();
                for (name, value) in &self.headers {
                    headers.append(name.clone(), value.clone());
                }
                if !headers.contains_key(ACCEPT) {
                    headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
                }
                if send_origin {
                    headers.insert(ORIGIN, origin);
                }
                let with_cookies = match self.credentials {
                    Credentials::Include => true,
                    Credentials::SameOrigin => !self.cors,
                    Credentials::Omit => false,
                };
                if let (true, Some(cookie)) = (with_cookies, &self.cookie) {
                    headers.insert(COOKIE, cookie.clone());
                }
            }
        }
        // Fetch metadata goes only to potentially trustworthy URLs (Fetch Metadata Request
        // Headers, "append the Fetch metadata headers"), whatever the address a name resolves to.
        // Chromium 156 sends `Sec-Fetch-Mode` on every preflight all the same (the URL-form
        // agreement case `url-idna-host` over plain HTTP): Chromium's bytes win on the wire.
        let trustworthy = url.is_potentially_trustworthy();
        let headers = request.headers_mut();
        if trustworthy || stage == Stage::Preflight {
            headers.insert("sec-fetch-mode", HeaderValue::from_static("cors"));
        }
        if trustworthy {
            let site = if !self.cors {
                "same-origin"
            } else if serialized_origin != "null" && same_site(url, &self.origin) {
                "same-site"
            } else {
                "cross-site"
            };
            headers.insert("sec-fetch-site", HeaderValue::from_static(site));
            headers.insert("sec-fetch-dest", HeaderValue::from_static("empty"));
        }
        Some(request)
    }

    /// The `Origin` the next request carries: `null` once a redirect chain tainted it (a URL
    /// cross-origin to the page redirected to another origin).
    fn serialized_origin(&self) -> String {
        let tainted = self.urls.windows(2).any(|pair| {
            let (last, url) = (pair[0].origin(), pair[1].origin());
            url != last && self.origin != last
        });
        if tainted {
            String::from("null")
        } else {
            self.origin.clone()
        }
    }

    /// The names of the request's headers that are not safelisted, sorted, each once: what
    /// `Access-Control-Request-Headers` lists.
    fn unsafe_header_names(&self) -> Vec<HeaderName> {
        unsafe_names(&self.headers)
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }

    fn include(&self) -> bool {
        self.credentials == Credentials::Include
    }

    /// Hands over the head of the answer to the request [`next_request`](Self::next_request)
    /// returned.
    pub fn receive(&mut self, status: StatusCode, headers: &HeaderMap) {
        self.status = Some(status);
        match self.state {
            State::Preflight => self.receive_preflight(status, headers),
            State::Actual => self.receive_actual(status, headers),
            State::Done(_) => {}
        }
    }

    /// Reports that the request could not be sent or answered (refused connection, TLS
    /// failure, timeout, a service error): the exchange ends with [`Outcome::Error`].
    pub fn fail(&mut self, message: impl Into<String>) {
        let Some(stage) = self.pending() else { return };
        self.preflight |= stage == Stage::Preflight;
        if self.standard.is_none() {
            self.standard = Some(Outcome::Error {
                stage,
                message: message.into(),
            });
        }
        for engine in &mut self.engines {
            engine.get_or_insert(EngineOutcome::Error);
        }
        self.state = State::Done(None);
    }

    fn receive_preflight(&mut self, status: StatusCode, headers: &HeaderMap) {
        self.preflight = true;
        let names = self.unsafe_header_names();
        let findings = check::check_preflight(
            status,
            headers,
            &self.serialized_origin(),
            self.include(),
            &self.method,
            &names,
        );
        self.max_age = Some(MaxAge {
            sent: check::max_age(headers),
        });
        self.record(Stage::Preflight, findings);
        if self.alive() {
            self.state = State::Actual;
        } else {
            self.max_age = None;
        }
    }

    fn receive_actual(&mut self, status: StatusCode, headers: &HeaderMap) {
        if self.cors {
            let findings = check::cors_check(headers, &self.serialized_origin(), self.include());
            self.record(Stage::Actual, findings);
            if !self.alive() {
                return;
            }
        }
        let location = headers
            .get(LOCATION)
            .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
        let (true, Some(location)) = (check::is_redirect(status), location) else {
            let readable = Readable {
                status,
                headers: check::readable_headers(headers, self.cors, self.include()),
                url: self.url().without_fragment().to_owned(),
            };
            self.state = State::Done(Some(readable));
            return;
        };
        if self.urls.len() > MAX_REDIRECTS {
            self.record(
                Stage::Actual,
                vec![Finding::failed(
                    "redirect-count",
                    BlockReason::TooManyRedirects,
                )],
            );
            return;
        }
        let Some(next) = self.url().join(&location) else {
            self.record(
                Stage::Actual,
                vec![Finding::failed(
                    "redirect-location",
                    BlockReason::InvalidRedirectLocation(location),
                )],
            );
            return;
        };
        if !next.is_http() {
            let reason = BlockReason::RequestNotHttp(next.scheme().to_owned());
            self.record(
                Stage::Actual,
                vec![Finding::failed("redirect-location", reason)],
            );
            return;
        }
        if next.has_credentials() && (self.cors || next.origin() != self.origin) {
            let reason = BlockReason::RedirectContainsCredentials(location);
            self.record(
                Stage::Actual,
                vec![Finding::failed("redirect-location", reason)],
            );
            return;
        }
        self.record(Stage::Actual, vec![Finding::passed("redirect-location")]);
        let code = status.as_u16();
        if ((code == 301 || code == 302) && self.method == "POST")
            || (code == 303 && !matches!(self.method.as_str(), "GET" | "HEAD"))
        {
            self.method = String::from("GET");
            self.headers.retain(|(name, _)| {
                !matches!(
                    name.as_str(),
                    "content-type" | "content-encoding" | "content-language" | "content-location"
                )
            });
        }
        if next.origin() != self.url().origin() {
            self.headers.retain(|(name, _)| name != AUTHORIZATION);
        }
        self.urls.push(next);
        self.enter();
    }

    /// Records findings as checks; the first failure (in each one's order) blocks the standard
    /// and each engine that does not let it pass. Ends the exchange when nobody is left to
    /// follow it.
    fn record(&mut self, stage: Stage, findings: Vec<Finding>) {
        let url = self.url().to_string();
        let blocked = |reason| Blocked {
            reason,
            stage,
            url: url.clone(),
            redirected_from: (self.urls.len() > 1).then(|| self.urls[0].to_string()),
            origin: self.origin.clone(),
            status: self.status,
        };
        let standard = check::first_failure(&findings, None).map(blocked);
        let engines =
            Engine::ALL.map(|engine| check::first_failure(&findings, Some(engine)).map(blocked));
        if self.standard.is_none() {
            self.standard = standard.map(Outcome::Blocked);
        }
        for (slot, blocked) in self.engines.iter_mut().zip(engines) {
            if slot.is_none() {
                *slot = blocked.map(EngineOutcome::Blocked);
            }
        }
        self.checks.extend(findings.into_iter().map(|f| Check {
            stage,
            check: f.check,
            url: url.clone(),
            failure: f.failure,
            lenient: f.lenient,
        }));
        if !self.alive() {
            self.state = State::Done(None);
        }
    }

    /// The verdict. Called before the exchange is over, the missing answer counts as a failure.
    pub fn finish(mut self) -> Verdict {
        if self.pending().is_some() {
            self.fail("the exchange ended before its last response");
        }
        let readable = match &self.state {
            State::Done(readable) => readable.clone(),
            _ => None,
        };
        let outcome = match (self.standard.take(), readable) {
            (Some(outcome), _) => outcome,
            (None, Some(readable)) => Outcome::Allowed(readable),
            (None, None) => Outcome::Error {
                stage: Stage::Actual,
                message: String::from("no response"),
            },
        };
        let engines = self.engines.map(|e| e.unwrap_or(EngineOutcome::Allowed));
        Verdict {
            outcome,
            engines,
            checks: self.checks,
            preflight: self.preflight,
            max_age: self.max_age,
        }
    }
}
