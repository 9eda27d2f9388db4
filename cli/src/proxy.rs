//! `cors proxy`: the self-hosted CORS proxy of [`tower_cors_proxy`], from a TOML file or from
//! one command line.
//!
//! - `cors proxy --config proxy.toml [--listen ADDR]`
//! - `cors proxy --to URL --allow-origin ORIGIN [--allow-origin ORIGIN]... [--allow-method M]...
//!   [--allow-header H]... [--listen ADDR]`: one route `/` to that upstream, the policy
//!   allowing those origins, methods and headers. The route forwards its default methods
//!   (`GET`, `HEAD`, `POST`, `PUT`, `PATCH`, `DELETE`, `OPTIONS`) and every `--allow-method`,
//!   and the log line of a refused request names the flag that would allow it
//!   (`allow_with=--allow-method PUT`).
//!
//! `--listen` (or the environment's `CORS_LISTEN`, which the container image sets to
//! `0.0.0.0:8787`) overrides the file's `listen`; the default is `127.0.0.1:8787`. SIGTERM or
//! Ctrl-C stops accepting, lets in-flight requests finish, writes the buffered log and exits 0.
//!
//! At start the soft open-file limit is raised to the hard one, as nginx's
//! `worker_rlimit_nofile` and Go's runtime do: every connection is a descriptor, and a proxied
//! request holds a second one upstream. The start-up lines say the limit obtained and the
//! `max_connections` that follows from it (half of it less 64, at most 10 000, unless
//! `[limits] max_connections` says otherwise).
//!
//! One log line per request; `--log`, `--log-flush` and `--log-file` are described in
//! [`crate::log`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tower_cors_proxy::methods::{never_forwarded, DEFAULT_FORWARD_METHODS};
use tower_cors_proxy::{cors_config, default_max_connections, Proxy, ProxyConfig, RouteConfig};

use crate::log::{self, LogArgs};

/// Arguments of `cors proxy`.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// The proxy's configuration file (TOML).
    #[arg(long, value_name = "FILE", conflicts_with = "to")]
    pub config: Option<PathBuf>,
    /// One-line mode: forward every path to this upstream base URL.
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    /// One-line mode: an origin the CORS policy allows (repeatable).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,
    /// One-line mode: a method the CORS policy allows (repeatable; default GET, HEAD, POST).
    #[arg(long = "allow-method", value_name = "METHOD")]
    pub allow_method: Vec<String>,
    /// One-line mode: a request header the CORS policy allows (repeatable).
    #[arg(long = "allow-header", value_name = "HEADER")]
    pub allow_header: Vec<String>,
    /// Address to listen on (default 127.0.0.1:8787, or the file's `listen`; the environment's
    /// CORS_LISTEN, when set, also overrides the file).
    #[arg(long, value_name = "ADDR", env = "CORS_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Where the log goes, how much of it, and how soon.
    #[command(flatten)]
    pub log: LogArgs,
}

/// Runs the proxy until SIGTERM or Ctrl-C.
pub fn run(args: ProxyArgs) -> ExitCode {
    // Checked here rather than by clap, so the message names the missing option on one line.
    if let Some(message) = usage(&args) {
        eprintln!("cors proxy: {message}");
        return ExitCode::from(2);
    }
    // Before anything reads the limit: the default `max_connections` is derived from it.
    let open_files = raise_open_file_limit();
    let config = match load(&args) {
        Ok(config) => config,
        Err(message) => return fail(&message),
    };
    let proxy = match Proxy::builder(config)
        .command_line_hints(args.to.is_some())
        .build()
    {
        Ok(proxy) => proxy,
        Err(err) => return fail(&err.to_string()),
    };
    // Declared before the runtime, so dropped after it: lines logged while the runtime shuts
    // down are written too.
    let _flush_log = match log::init(&args.log) {
        Ok(guard) => guard,
        Err(message) => return fail(&message),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return fail(&format!("cannot start the runtime: {err}")),
    };
    runtime.block_on(async move {
        let addr = proxy.listen();
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => listener,
            Err(err) => return fail(&format!("cannot listen on {addr}: {err}")),
        };
        let local = listener.local_addr().unwrap_or(addr);
        eprintln!("cors proxy: listening on http://{local} (help at http://{local}/_cors/)");
        let max_connections = match proxy.limits().max_connections {
            Some(max) => format!("{max} (from [limits])"),
            None => format!("{}", default_max_connections()),
        };
        eprintln!("cors proxy: open files: {open_files}; max_connections {max_connections}");
        match tower_cors_proxy::serve(proxy, listener, tower_cors_proxy::shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => fail(&format!("server error: {err}")),
        }
    })
}

fn usage(args: &ProxyArgs) -> Option<&'static str> {
    let one_line = !(args.allow_origin.is_empty()
        && args.allow_method.is_empty()
        && args.allow_header.is_empty());
    match (&args.config, &args.to) {
        (None, None) => Some("give --config FILE, or --to URL with --allow-origin ORIGIN"),
        (None, Some(_)) if args.allow_origin.is_empty() => {
            Some("--to needs at least one --allow-origin ORIGIN")
        }
        (Some(_), _) if one_line => Some(
            "--allow-origin, --allow-method and --allow-header go with --to; with --config, \
             write them in the file's [cors] table",
        ),
        _ => None,
    }
}

fn load(args: &ProxyArgs) -> Result<ProxyConfig, String> {
    let mut config = match (&args.config, &args.to) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
            ProxyConfig::from_toml(&text).map_err(|err| format!("{}: {err}", path.display()))?
        }
        (None, Some(to)) => {
            let mut config = ProxyConfig::default();
            let methods = if args.allow_method.is_empty() {
                ["GET", "HEAD", "POST"].map(String::from).to_vec()
            } else {
                args.allow_method.clone()
            };
            config.cors = Some(cors_config(
                &args.allow_origin,
                &methods,
                &args.allow_header,
            ));
            let mut route = RouteConfig::new("/");
            route.upstream = Some(to.clone());
            route.forward_methods = Some(forward_methods(&args.allow_method));
            config.routes.push(route);
            config
        }
        (None, None) => return Err("give --config FILE or --to URL".to_owned()),
    };
    if let Some(listen) = args.listen {
        config.listen = Some(listen);
    }
    Ok(config)
}

/// The default forward list and every `--allow-method`: a method worth allowing is one to
/// forward, and the proxy refuses to start when its policy allows a method the route would not
/// forward. `*`, `TRACE`, `TRACK` and `CONNECT` are left out, for the policy's own checks to
/// explain.
fn forward_methods(allowed: &[String]) -> Vec<String> {
    let mut methods = DEFAULT_FORWARD_METHODS.map(str::to_owned).to_vec();
    for method in allowed {
        // Compared exactly: only the standard methods are case-insensitive, and the proxy
        // folds those itself.
        if method != "*" && !never_forwarded(method) && !methods.contains(method) {
            methods.push(method.clone());
        }
    }
    methods
}

/// Raises the soft open-file limit to the hard one; says what it got, or why not.
fn raise_open_file_limit() -> String {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => format!("up to {limit}"),
        Err(err) => {
            let current = rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map_or_else(|_| "unknown".to_owned(), |(soft, _)| soft.to_string());
            format!("up to {current} (could not raise the limit: {err})")
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("cors proxy: {message}");
    ExitCode::FAILURE
}
