//! The vocabulary scenarios are written in: which page asks, what it fetches, and what the
//! browser must observe — every expectation is spelled out by hand in the test file, never
//! computed from the crate under test.

/// Where the page that runs a scenario is loaded from; the page's origin is what the browser
/// sends as `Origin`. All names resolve to loopback inside Chromium.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Page {
    /// `http://127.0.0.1:PAGE` — same host as the APIs, so its cookies are same-site with them.
    Loopback,
    /// `http://app.localhost:PAGE`
    Subdomain,
    /// `http://deep.app.localhost:PAGE` — two labels above `localhost`.
    DeepSubdomain,
    /// `http://localhost:PAGE`
    Localhost,
    /// `http://127.0.0.1:PAGE/opaque/…`, served with `Content-Security-Policy: sandbox
    /// allow-scripts`, so the document has an opaque origin and sends `Origin: null`.
    Opaque,
}

impl Page {
    /// Every page, in the order the browser visits them.
    pub const ALL: [Page; 5] = [
        Page::Loopback,
        Page::Subdomain,
        Page::DeepSubdomain,
        Page::Localhost,
        Page::Opaque,
    ];

    pub(crate) fn host(self) -> &'static str {
        match self {
            Page::Loopback | Page::Opaque => "127.0.0.1",
            Page::Subdomain => "app.localhost",
            Page::DeepSubdomain => "deep.app.localhost",
            Page::Localhost => "localhost",
        }
    }

    pub(crate) fn route(self) -> &'static str {
        match self {
            Page::Opaque => "opaque",
            _ => "page",
        }
    }

    pub(crate) fn slug(self) -> &'static str {
        match self {
            Page::Loopback => "loopback",
            Page::Subdomain => "subdomain",
            Page::DeepSubdomain => "deep-subdomain",
            Page::Localhost => "localhost",
            Page::Opaque => "opaque",
        }
    }
}

/// The `credentials` member of the fetch() init.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// `'omit'`
    Omit,
    /// `'same-origin'`, fetch()'s default: no cookies on a cross-origin request.
    SameOrigin,
    /// `'include'`: cookies go along, and the answer needs `Access-Control-Allow-Credentials`.
    Include,
}

impl Credentials {
    pub(crate) fn as_js(self) -> &'static str {
        match self {
            Credentials::Omit => "omit",
            Credentials::SameOrigin => "same-origin",
            Credentials::Include => "include",
        }
    }
}

/// One request made by the page, with fetch() unless [`Fetch::xhr_with_upload_listener`] says
/// otherwise. `path` may contain `{id}`, replaced by the scenario id so every scenario has URLs of
/// its own (the preflight cache is keyed by URL).
#[derive(Clone, Debug)]
pub struct Fetch {
    pub(crate) method: &'static str,
    pub(crate) api: &'static str,
    pub(crate) path: &'static str,
    pub(crate) headers: Vec<(&'static str, &'static str)>,
    pub(crate) credentials: Credentials,
    pub(crate) body: Option<&'static str>,
    pub(crate) xhr_upload: bool,
    pub(crate) no_cors: bool,
}

impl Fetch {
    /// `fetch(url_of(api) + path, { method })`. The method is passed to fetch() exactly as
    /// written: the browser itself upper-cases `delete`, `get`, `head`, `options`, `post`, `put`.
    pub fn new(method: &'static str, api: &'static str, path: &'static str) -> Self {
        Self {
            method,
            api,
            path,
            headers: Vec::new(),
            credentials: Credentials::SameOrigin,
            body: None,
            xhr_upload: false,
            no_cors: false,
        }
    }

    /// Adds a request header, name and value exactly as the script should write them.
    pub fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Sets fetch()'s `credentials` mode.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Sends a string body (fetch() labels it `text/plain;charset=UTF-8` unless a
    /// `content-type` header says otherwise).
    pub fn body(mut self, body: &'static str) -> Self {
        self.body = Some(body);
        self
    }

    /// Sends the request with `XMLHttpRequest` and a listener on `xhr.upload`. The Fetch
    /// standard then preflights even a safelisted method with no custom headers — the
    /// "preflight for a safelisted method with no `Access-Control-Request-Headers`" of SPEC §3.
    /// `credentials` maps to `withCredentials` (`Include` only).
    pub fn xhr_with_upload_listener(mut self) -> Self {
        self.xhr_upload = true;
        self
    }
}

impl Fetch {
    /// fetch() with `mode: "no-cors"`, as an `<img>` or `<script>` on another site would
    /// request: no `Origin` on a GET, and an opaque answer (status 0, empty body) the page
    /// cannot read.
    pub fn no_cors(mut self) -> Self {
        self.no_cors = true;
        self
    }
}

/// `fetch()` with method `GET`.
pub fn get(api: &'static str, path: &'static str) -> Fetch {
    Fetch::new("GET", api, path)
}

/// What the page must see for one fetch().
#[derive(Clone, Debug)]
pub enum Expect {
    /// The promise resolves and the script can read this status and body, and these response
    /// headers through `response.headers.get` (`None`: the header must read as `null`).
    Readable {
        status: u16,
        body: &'static str,
        headers: Vec<(&'static str, Option<&'static str>)>,
    },
    /// The promise rejects (`TypeError: Failed to fetch`) and the console says the request was
    /// "blocked by CORS policy" — so a network error cannot pass for a CORS refusal.
    Blocked,
}

impl Expect {
    /// Also requires `response.headers.get(name)` to return `value` (`None` = `null`).
    pub fn header(mut self, name: &'static str, value: Option<&'static str>) -> Self {
        if let Expect::Readable { headers, .. } = &mut self {
            headers.push((name, value));
        }
        self
    }
}

/// The response is readable with this status and body.
pub fn readable(status: u16, body: &'static str) -> Expect {
    Expect::Readable {
        status,
        body,
        headers: Vec::new(),
    }
}

/// The browser refuses the response and says so on the console.
pub fn blocked() -> Expect {
    Expect::Blocked
}

/// What the servers must have seen for a scenario, summed over all its requests (they are told
/// apart by the `{id}` in their paths), counted outside the CORS layer and in the inner app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerCheck {
    /// This many `OPTIONS` requests reached the server.
    OptionsSeen(u32),
    /// The server answered the `OPTIONS` requests with exactly these statuses, in order.
    PreflightStatuses(&'static [u16]),
    /// The inner app (behind the CORS layer) ran this many times.
    InnerCalls(u32),
}

/// A named case: one page, one or more fetch() calls run in order, and checks.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub(crate) id: &'static str,
    pub(crate) what: &'static str,
    pub(crate) page: Page,
    pub(crate) steps: Vec<(Fetch, Expect)>,
    pub(crate) checks: Vec<ServerCheck>,
}

impl Scenario {
    /// `id` must be unique and URL-safe: it becomes part of every path and cookie name.
    pub fn new(id: &'static str, page: Page, what: &'static str) -> Self {
        Self {
            id,
            what,
            page,
            steps: Vec::new(),
            checks: Vec::new(),
        }
    }

    /// Adds a fetch() and what the page must observe from it.
    pub fn step(mut self, fetch: Fetch, expect: Expect) -> Self {
        self.steps.push((fetch, expect));
        self
    }

    /// Adds a server-side check.
    pub fn check(mut self, check: ServerCheck) -> Self {
        self.checks.push(check);
        self
    }
}
