//! What the model concludes: the typed reason a response is refused, the stage it was refused
//! at, every check made, the per-browser outcome, and Chromium's console wording.

use std::fmt;

use http::{HeaderMap, StatusCode};

/// Which request of the exchange a check or a refusal belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The `OPTIONS` preflight.
    Preflight,
    /// The request the script made (or one of its redirects).
    Actual,
}

impl Stage {
    /// `"preflight"` or `"actual"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Preflight => "preflight",
            Stage::Actual => "actual",
        }
    }
}

/// A browser engine whose known deviations from the standard the model applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    /// Chromium, as measured in 156.0.8078.114.
    Chromium,
    /// Firefox, from its source (`nsCORSListenerProxy.cpp`).
    Firefox,
    /// Safari, from WebKit's source (`CrossOriginAccessControl.cpp`).
    Safari,
}

impl Engine {
    /// The three engines, in the order reports list them.
    pub const ALL: [Engine; 3] = [Engine::Chromium, Engine::Firefox, Engine::Safari];

    /// `"chromium"`, `"firefox"` or `"safari"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Chromium => "chromium",
            Engine::Firefox => "firefox",
            Engine::Safari => "safari",
        }
    }

    /// The longest time, in seconds, the engine caches a preflight answer: Chromium 2 hours,
    /// Firefox 24 hours, Safari 10 minutes.
    ///
    /// ```
    /// use cors_browser_model::Engine;
    /// assert_eq!(Engine::Safari.max_age_cap(), 600);
    /// ```
    pub fn max_age_cap(self) -> u64 {
        match self {
            Engine::Chromium => 7200,
            Engine::Firefox => 86400,
            Engine::Safari => 600,
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Engine::Chromium => 0,
            Engine::Firefox => 1,
            Engine::Safari => 2,
        }
    }
}

/// Why a browser refuses to hand a response to the script.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockReason {
    /// No `Access-Control-Allow-Origin` header.
    MissingAllowOrigin,
    /// `Access-Control-Allow-Origin: *` on a credentialed request.
    WildcardWithCredentials,
    /// Several `Access-Control-Allow-Origin` values (several lines, or one line with `,` or a
    /// space); the value as the browser joined it.
    MultipleAllowOrigin(String),
    /// An `Access-Control-Allow-Origin` value that is not an origin.
    InvalidAllowOrigin(String),
    /// An `Access-Control-Allow-Origin` origin that is not the request's (`/` at the end, another
    /// host, scheme or port, `null`).
    AllowOriginMismatch(String),
    /// A credentialed request whose response lacks `Access-Control-Allow-Credentials: true`
    /// (the value found, empty when absent).
    InvalidAllowCredentials(String),
    /// A preflight answered with a status outside 200–299.
    PreflightStatus(StatusCode),
    /// A preflight answered with a redirect.
    PreflightRedirect,
    /// An `Access-Control-Allow-Methods` item that is not a method token.
    InvalidAllowMethods(String),
    /// An `Access-Control-Allow-Headers` item that is not a header-name token.
    InvalidAllowHeaders(String),
    /// The method is not in `Access-Control-Allow-Methods` (nor covered by `*` or the safelist).
    MethodNotAllowed(String),
    /// A request header (lower-case) missing from `Access-Control-Allow-Headers`.
    HeaderNotAllowed(String),
    /// A redirect to a URL with a user name or password.
    RedirectContainsCredentials(String),
    /// A request, or a redirect, to a scheme other than `http` and `https`.
    RequestNotHttp(String),
    /// A redirect whose `Location` is not a URL.
    InvalidRedirectLocation(String),
    /// More than 20 redirects.
    TooManyRedirects,
}

impl BlockReason {
    /// Firefox's reason key for it, without the digit suffix (`CORSMissingAllowOrigin`…). Firefox
    /// has no key for three of them; they get one of the same style: `CORSRedirectContainsCredentials`,
    /// `CORSInvalidRedirectLocation`, `CORSTooManyRedirects`.
    ///
    /// ```
    /// use cors_browser_model::BlockReason;
    /// let reason = BlockReason::AllowOriginMismatch("https://app.example.com/".into());
    /// assert_eq!(reason.firefox_key(), "CORSAllowOriginNotMatchingOrigin");
    /// ```
    pub fn firefox_key(&self) -> &'static str {
        match self {
            BlockReason::MissingAllowOrigin => "CORSMissingAllowOrigin",
            BlockReason::WildcardWithCredentials => "CORSNotSupportingCredentials",
            BlockReason::MultipleAllowOrigin(_) => "CORSMultipleAllowOriginNotAllowed",
            BlockReason::InvalidAllowOrigin(_) | BlockReason::AllowOriginMismatch(_) => {
                "CORSAllowOriginNotMatchingOrigin"
            }
            BlockReason::InvalidAllowCredentials(_) => "CORSMissingAllowCredentials",
            BlockReason::PreflightStatus(_) => "CORSPreflightDidNotSucceed",
            BlockReason::PreflightRedirect => "CORSExternalRedirectNotAllowed",
            BlockReason::InvalidAllowMethods(_) => "CORSInvalidAllowMethod",
            BlockReason::InvalidAllowHeaders(_) => "CORSInvalidAllowHeader",
            BlockReason::MethodNotAllowed(_) => "CORSMethodNotFound",
            BlockReason::HeaderNotAllowed(_) => "CORSMissingAllowHeaderFromPreflight",
            BlockReason::RedirectContainsCredentials(_) => "CORSRedirectContainsCredentials",
            BlockReason::RequestNotHttp(_) => "CORSRequestNotHttp",
            BlockReason::InvalidRedirectLocation(_) => "CORSInvalidRedirectLocation",
            BlockReason::TooManyRedirects => "CORSTooManyRedirects",
        }
    }

    /// Whether Chromium words it after "Response to preflight request doesn't pass access
    /// control check: " when the preflight fails it.
    fn has_preflight_prefix(&self) -> bool {
        matches!(
            self,
            BlockReason::MissingAllowOrigin
                | BlockReason::WildcardWithCredentials
                | BlockReason::MultipleAllowOrigin(_)
                | BlockReason::InvalidAllowOrigin(_)
                | BlockReason::AllowOriginMismatch(_)
                | BlockReason::InvalidAllowCredentials(_)
                | BlockReason::PreflightStatus(_)
                | BlockReason::PreflightRedirect
        )
    }

    /// The reason part of Chromium 156's console line.
    fn chromium_text(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const VALID: &str = " Have the server send the header with a valid value.";
        match self {
            BlockReason::MissingAllowOrigin => f.write_str(
                "No 'Access-Control-Allow-Origin' header is present on the requested resource.",
            ),
            BlockReason::WildcardWithCredentials => f.write_str(
                "The value of the 'Access-Control-Allow-Origin' header in the response must not be \
                 the wildcard '*' when the request's credentials mode is 'include'.",
            ),
            BlockReason::MultipleAllowOrigin(v) => write!(
                f,
                "The 'Access-Control-Allow-Origin' header contains multiple values '{v}', but only \
                 one is allowed.{VALID}"
            ),
            BlockReason::InvalidAllowOrigin(v) => write!(
                f,
                "The 'Access-Control-Allow-Origin' header contains the invalid value '{v}'.{VALID}"
            ),
            BlockReason::AllowOriginMismatch(v) => write!(
                f,
                "The 'Access-Control-Allow-Origin' header has a value '{v}' that is not equal to \
                 the supplied origin.{VALID}"
            ),
            BlockReason::InvalidAllowCredentials(v) => write!(
                f,
                "The value of the 'Access-Control-Allow-Credentials' header in the response is \
                 '{v}' which must be 'true' when the request's credentials mode is 'include'."
            ),
            BlockReason::PreflightStatus(_) => f.write_str("It does not have HTTP ok status."),
            BlockReason::PreflightRedirect => {
                f.write_str("Redirect is not allowed for a preflight request.")
            }
            BlockReason::InvalidAllowMethods(_) => f.write_str(
                "Cannot parse Access-Control-Allow-Methods response header field in preflight \
                 response.",
            ),
            BlockReason::InvalidAllowHeaders(_) => f.write_str(
                "Cannot parse Access-Control-Allow-Headers response header field in preflight \
                 response.",
            ),
            BlockReason::MethodNotAllowed(m) => write!(
                f,
                "Method {m} is not allowed by Access-Control-Allow-Methods in preflight response."
            ),
            BlockReason::HeaderNotAllowed(h) => write!(
                f,
                "Request header field {h} is not allowed by Access-Control-Allow-Headers in \
                 preflight response."
            ),
            BlockReason::RedirectContainsCredentials(url) => write!(
                f,
                "Redirect location '{url}' contains a username and password, which is disallowed \
                 for cross-origin requests."
            ),
            BlockReason::RequestNotHttp(scheme) => write!(
                f,
                "Cross origin requests are only supported for protocol schemes: http, https \
                 (not '{scheme}')."
            ),
            BlockReason::InvalidRedirectLocation(location) => {
                write!(f, "The redirect location '{location}' is not a valid URL.")
            }
            BlockReason::TooManyRedirects => f.write_str("It was redirected more than 20 times."),
        }
    }
}

/// A plain description of the reason, without Chromium's framing.
impl fmt::Display for BlockReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.chromium_text(f)
    }
}

/// One check the model made on one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The request it was made on.
    pub stage: Stage,
    /// A stable name: `allow-origin`, `allow-credentials`, `redirect`, `status`,
    /// `allow-methods-syntax`, `allow-headers-syntax`, `method`, `headers`, `redirect-location`,
    /// `redirect-count`, `scheme`.
    pub check: &'static str,
    /// The URL of the response checked.
    pub url: String,
    /// `None` when the check passed.
    pub failure: Option<BlockReason>,
    /// Set when the standard refuses but some engine lets it pass, naming them (for example
    /// `authorization` under `Access-Control-Allow-Headers: *`).
    pub lenient: Vec<Engine>,
}

impl Check {
    /// Whether it passed.
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }
}

/// The effective preflight cache lifetime of an accepted preflight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxAge {
    /// `Access-Control-Max-Age` as sent, when it is a number.
    pub sent: Option<u64>,
}

impl MaxAge {
    /// Seconds the engine keeps the answer: 5 when absent or not a number, else capped by
    /// [`Engine::max_age_cap`].
    ///
    /// ```
    /// use cors_browser_model::{Engine, MaxAge};
    /// let day = MaxAge { sent: Some(86400) };
    /// assert_eq!(day.effective(Engine::Chromium), 7200);
    /// assert_eq!(MaxAge { sent: None }.effective(Engine::Firefox), 5);
    /// ```
    pub fn effective(self, engine: Engine) -> u64 {
        self.sent.unwrap_or(5).min(engine.max_age_cap())
    }
}

/// The response the script gets when the browser allows it.
#[derive(Debug, Clone)]
pub struct Readable {
    /// The final status.
    pub status: StatusCode,
    /// The headers the script can read (`response.headers`): CORS-safelisted response headers
    /// plus the exposed ones; never `Set-Cookie`.
    pub headers: HeaderMap,
    /// The final URL (after redirects).
    pub url: String,
}

/// A refusal: the reason, the stage, and what Chromium prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The first failed check, in Chromium's order.
    pub reason: BlockReason,
    /// The request it failed on.
    pub stage: Stage,
    /// The URL the refused response came from.
    pub url: String,
    /// The URL the script asked for, when it was redirected.
    pub redirected_from: Option<String>,
    /// The page origin.
    pub origin: String,
    /// The status of the refused response (none when nothing was received).
    pub status: Option<StatusCode>,
}

impl Blocked {
    /// `engine`'s console line: Chromium's is the [`Display`](fmt::Display) text, Firefox's
    /// [`firefox_message`](Self::firefox_message), Safari's
    /// [`safari_message`](Self::safari_message).
    pub fn message(&self, engine: Engine) -> String {
        match engine {
            Engine::Chromium => self.to_string(),
            Engine::Firefox => self.firefox_message(),
            Engine::Safari => self.safari_message(),
        }
    }

    /// Firefox's console line, from its source (`security.properties`; not measured):
    /// `Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote
    /// resource at … (Reason: …)`.
    pub fn firefox_message(&self) -> String {
        let status = self
            .status
            .map_or_else(|| String::from("(null)"), |s| s.as_u16().to_string());
        let reason = match &self.reason {
            BlockReason::MissingAllowOrigin => format!(
                "CORS header \u{2018}Access-Control-Allow-Origin\u{2019} missing). Status code: {status}."
            ),
            BlockReason::WildcardWithCredentials => String::from(
                "Credential is not supported if the CORS header \u{2018}Access-Control-Allow-Origin\u{2019} is \u{2018}*\u{2019}",
            ),
            BlockReason::MultipleAllowOrigin(_) => String::from(
                "Multiple CORS header \u{2018}Access-Control-Allow-Origin\u{2019} not allowed",
            ),
            BlockReason::InvalidAllowOrigin(v) | BlockReason::AllowOriginMismatch(v) => format!(
                "CORS header \u{2018}Access-Control-Allow-Origin\u{2019} does not match \u{2018}{v}\u{2019}"
            ),
            BlockReason::InvalidAllowCredentials(_) => String::from(
                "expected \u{2018}true\u{2019} in CORS header \u{2018}Access-Control-Allow-Credentials\u{2019}",
            ),
            BlockReason::PreflightStatus(_) => {
                format!("CORS preflight response did not succeed). Status code: {status}.")
            }
            BlockReason::PreflightRedirect => {
                String::from("CORS request external redirect not allowed")
            }
            BlockReason::InvalidAllowMethods(t) => format!(
                "invalid token \u{2018}{t}\u{2019} in CORS header \u{2018}Access-Control-Allow-Methods\u{2019}"
            ),
            BlockReason::InvalidAllowHeaders(t) => format!(
                "invalid token \u{2018}{t}\u{2019} in CORS header \u{2018}Access-Control-Allow-Headers\u{2019}"
            ),
            BlockReason::MethodNotAllowed(_) => String::from(
                "Did not find method in CORS header \u{2018}Access-Control-Allow-Methods\u{2019}",
            ),
            BlockReason::HeaderNotAllowed(h) => format!(
                "header \u{2018}{h}\u{2019} is not allowed according to header \u{2018}Access-Control-Allow-Headers\u{2019} from CORS preflight response"
            ),
            BlockReason::RequestNotHttp(_) => String::from("CORS request not http"),
            BlockReason::RedirectContainsCredentials(_)
            | BlockReason::InvalidRedirectLocation(_)
            | BlockReason::TooManyRedirects => {
                String::from("CORS request did not succeed). Status code: (null).")
            }
        };
        // The reasons that carry a status close the parenthesis themselves, the others do not.
        let close =
            if reason.ends_with("Status code: (null).") || reason.contains("). Status code: ") {
                ""
            } else {
                ")."
            };
        format!(
            "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote \
             resource at {}. (Reason: {reason}{close}",
            self.url
        )
    }

    /// Safari's console lines, from WebKit's source (`CrossOriginAccessControl.cpp`; not
    /// measured): the reason, then `Fetch API cannot load … due to access control checks.`
    pub fn safari_message(&self) -> String {
        let status = self.status.map(|s| s.as_u16()).unwrap_or(0);
        let reason = match &self.reason {
            BlockReason::PreflightStatus(_) | BlockReason::PreflightRedirect => {
                format!("Preflight response is not successful. Status code: {status}")
            }
            BlockReason::WildcardWithCredentials => String::from(
                "Cannot use wildcard in Access-Control-Allow-Origin when credentials flag is true.",
            ),
            BlockReason::MultipleAllowOrigin(_) => {
                String::from("Access-Control-Allow-Origin cannot contain more than one origin.")
            }
            BlockReason::MissingAllowOrigin
            | BlockReason::InvalidAllowOrigin(_)
            | BlockReason::AllowOriginMismatch(_) => format!(
                "Origin {} is not allowed by Access-Control-Allow-Origin. Status code: {status}",
                self.origin
            ),
            BlockReason::InvalidAllowCredentials(_) => String::from(
                "Credentials flag is true, but Access-Control-Allow-Credentials is not \"true\".",
            ),
            BlockReason::MethodNotAllowed(m) => {
                format!("Method {m} is not allowed by Access-Control-Allow-Methods.")
            }
            BlockReason::HeaderNotAllowed(h) => {
                format!("Request header field {h} is not allowed by Access-Control-Allow-Headers.")
            }
            other => other.to_string(),
        };
        format!(
            "{reason} Fetch API cannot load {} due to access control checks.",
            self.url
        )
    }
}

/// Chromium 156's console line: `Access to fetch at '…' from origin '…' has been blocked by CORS
/// policy: …`.
///
/// ```
/// use cors_browser_model::{BlockReason, Blocked, Stage};
/// let blocked = Blocked {
///     reason: BlockReason::PreflightRedirect,
///     stage: Stage::Preflight,
///     url: "https://api.example/items".into(),
///     redirected_from: None,
///     origin: "https://app.example".into(),
///     status: Some(http::StatusCode::FOUND),
/// };
/// assert_eq!(
///     blocked.to_string(),
///     "Access to fetch at 'https://api.example/items' from origin 'https://app.example' has been \
///      blocked by CORS policy: Response to preflight request doesn't pass access control check: \
///      Redirect is not allowed for a preflight request."
/// );
/// assert!(blocked.firefox_message().ends_with("(Reason: CORS request external redirect not allowed)."));
/// ```
impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Access to fetch at '{}' ", self.url)?;
        if let Some(first) = &self.redirected_from {
            write!(f, "(redirected from '{first}') ")?;
        }
        write!(
            f,
            "from origin '{}' has been blocked by CORS policy: ",
            self.origin
        )?;
        if self.stage == Stage::Preflight && self.reason.has_preflight_prefix() {
            f.write_str("Response to preflight request doesn't pass access control check: ")?;
        }
        self.reason.chromium_text(f)
    }
}

/// The standard's outcome of the exchange.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The script reads the response.
    Allowed(Readable),
    /// The script gets a `TypeError` and the console shows [`Blocked`]'s line.
    Blocked(Blocked),
    /// The exchange could not complete (connection refused, TLS, timeout, a service error): not
    /// a CORS answer at all.
    Error {
        /// The request that failed.
        stage: Stage,
        /// What failed.
        message: String,
    },
}

/// One engine's outcome, beside the standard's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineOutcome {
    /// It hands the response to the script.
    Allowed,
    /// It refuses, first for this reason (in its own order of checks).
    Blocked(Blocked),
    /// The exchange did not complete.
    Error,
}

impl EngineOutcome {
    /// `"allowed"`, `"blocked"` or `"error"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            EngineOutcome::Allowed => "allowed",
            EngineOutcome::Blocked(_) => "blocked",
            EngineOutcome::Error => "error",
        }
    }
}

/// Everything the model concluded about one `fetch()`.
///
/// ```
/// use http::{HeaderMap, HeaderValue, StatusCode};
/// use cors_browser_model::{Engine, EngineOutcome, Exchange, FetchRequest};
///
/// let request = FetchRequest::builder("https://api.example/me", "https://app.example")
///     .header("authorization", "Bearer t")
///     .build()?;
/// let mut exchange = Exchange::new(&request);
/// let mut any = HeaderMap::new();
/// any.insert("access-control-allow-origin", HeaderValue::from_static("*"));
/// any.insert("access-control-allow-headers", HeaderValue::from_static("*"));
/// while exchange.next_request().is_some() {
///     exchange.receive(StatusCode::OK, &any);
/// }
/// let verdict = exchange.finish();
/// // The standard never lets `*` cover Authorization; the browsers still do.
/// assert!(!verdict.is_allowed());
/// assert_eq!(verdict.engine(Engine::Chromium), &EngineOutcome::Allowed);
/// assert_eq!(verdict.checks().iter().filter(|c| !c.ok()).count(), 1);
/// # Ok::<(), cors_browser_model::InvalidRequest>(())
/// ```
#[derive(Debug, Clone)]
pub struct Verdict {
    pub(crate) outcome: Outcome,
    pub(crate) engines: [EngineOutcome; 3],
    pub(crate) checks: Vec<Check>,
    pub(crate) preflight: bool,
    pub(crate) max_age: Option<MaxAge>,
}

impl Verdict {
    /// The standard's outcome.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// Whether the standard lets the script read the response.
    pub fn is_allowed(&self) -> bool {
        matches!(self.outcome, Outcome::Allowed(_))
    }

    /// The readable response, when allowed.
    pub fn readable(&self) -> Option<&Readable> {
        match &self.outcome {
            Outcome::Allowed(readable) => Some(readable),
            _ => None,
        }
    }

    /// The refusal, when blocked.
    pub fn blocked(&self) -> Option<&Blocked> {
        match &self.outcome {
            Outcome::Blocked(blocked) => Some(blocked),
            _ => None,
        }
    }

    /// The reason, when blocked.
    pub fn reason(&self) -> Option<&BlockReason> {
        self.blocked().map(|b| &b.reason)
    }

    /// The stage the exchange was refused or failed at.
    pub fn stage(&self) -> Option<Stage> {
        match &self.outcome {
            Outcome::Allowed(_) => None,
            Outcome::Blocked(blocked) => Some(blocked.stage),
            Outcome::Error { stage, .. } => Some(*stage),
        }
    }

    /// What `engine` does, where it deviates from the standard.
    pub fn engine(&self, engine: Engine) -> &EngineOutcome {
        &self.engines[engine.index()]
    }

    /// Every check made, in the order made; failures included (not only the first).
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// Whether a preflight was sent.
    pub fn preflight_sent(&self) -> bool {
        self.preflight
    }

    /// The accepted preflight's cache lifetime, when one was accepted.
    pub fn max_age(&self) -> Option<MaxAge> {
        self.max_age
    }
}

/// `allowed (200)`, Chromium's console line, or `failed: …`.
impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Allowed(readable) => write!(f, "allowed ({})", readable.status.as_u16()),
            Outcome::Blocked(blocked) => blocked.fmt(f),
            Outcome::Error { message, .. } => write!(f, "failed: {message}"),
        }
    }
}
