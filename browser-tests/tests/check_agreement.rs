//! Chromium, `cors check` and `testing::fetch` agree: every stand-in API of the CLI's tests
//! (the usual misconfigurations, and a correct app behind tower-cors) is fetched from a real
//! headless-Chromium page, checked by the CLI library from the same origin, and run through
//! `testing::fetch` in process. Chromium's verdict must equal `browsers.chromium`, its console
//! line the CLI's `message`, and `testing::fetch` the CLI's verdict.
//!
//! Every case runs twice: over plain HTTP, and over HTTPS with a certificate a test CA signed
//! (made at test time). The CLI trusts that CA through `--cacert`; Chromium trusts only the
//! server certificate's public key (`--ignore-certificate-errors-spki-list`), and a second
//! server whose certificate another CA signed shows that every other certificate is still
//! refused — by Chromium and by the CLI alike.
//!
//! Then the URL forms (`check_agreement/url_forms.rs`): URLs the URL standard rewrites, each on
//! a stand-in of its own that records the request heads it receives, so Chromium's requests and
//! `cors check`'s are compared too. An IDNA host reaches loopback through Chromium's
//! `--host-resolver-rules` and `cors check --resolve`, never through DNS.
//!
//! Without Chromium it prints a notice and passes, unless `CI` is set (or
//! `TOWER_CORS_BROWSER=require`), like the browser matrix.

#[path = "../../cli/tests/support/mod.rs"]
mod support;
#[path = "check_agreement/url_forms.rs"]
mod url_forms;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::body::Body;
use base64::Engine as _;
use tower_cors::browser::{Credentials, Engine, FetchRequest};
use tower_cors::testing;
use tower_cors_browser_tests::{
    chromium_version, locate_chromium, page_origin, run_in_chromium,
    Credentials as PageCredentials, PageServer, Probe,
};
use tower_cors_cli::check::{check, CheckArgs};
use tower_cors_cli::net::NetArgs;

/// One case, served over one scheme.
struct Target {
    case: support::Case,
    /// `https-` for the HTTPS run, empty for plain HTTP.
    prefix: &'static str,
    url: String,
    /// The CA file the CLI is given (`--cacert`) for HTTPS.
    cacert: Option<PathBuf>,
}

impl Target {
    fn id(&self) -> String {
        format!("{}{}", self.prefix, self.case.id)
    }
}

/// Where the misconfigured and the correct app listen, over one scheme.
struct Servers {
    scheme: &'static str,
    prefix: &'static str,
    broken: SocketAddr,
    correct: SocketAddr,
    cacert: Option<PathBuf>,
}

/// `--ignore-certificate-errors-spki-list`'s form of a public key: base64 of the SHA-256 of its
/// DER SubjectPublicKeyInfo.
fn spki_pin(spki_der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, spki_der);
    base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
}

fn check_args(
    url: String,
    origin: &str,
    case: &support::Case,
    cacert: Option<PathBuf>,
) -> CheckArgs {
    let net = NetArgs {
        cacert,
        ..NetArgs::default()
    };
    case.check_args(url, origin, None, net)
}

fn probe(id: String, url: String, case: &support::Case, cors_console: bool) -> Probe {
    Probe {
        id,
        console_key: format!("'{url}'"),
        url,
        method: case.method,
        headers: case.headers.to_vec(),
        credentials: if case.credentials {
            PageCredentials::Include
        } else {
            PageCredentials::SameOrigin
        },
        cors_console,
    }
}

#[test]
fn chromium_agrees_with_cors_check_and_testing_fetch() {
    let required = std::env::var_os("CI").is_some_and(|v| !v.is_empty())
        || std::env::var("TOWER_CORS_BROWSER").is_ok_and(|v| v == "require");
    let chromium = match locate_chromium() {
        Ok(path) => path,
        Err(why) if required => {
            panic!("Chromium is required (CI or TOWER_CORS_BROWSER=require) but {why}")
        }
        Err(why) => {
            println!("notice: skipping the cors check agreement test: {why}.");
            return;
        }
    };
    println!(
        "check agreement: {}",
        chromium_version(&chromium).unwrap_or_else(|| "unknown Chromium".to_owned())
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let started = Instant::now();
        let pages = PageServer::start().await.expect("page server");
        let origin = page_origin(&pages);
        let broken = support::misconfigured();
        let correct = support::correct(&origin);
        let ca = support::tls::make_ca();
        // Signed by a CA nobody was told about: Chromium and the CLI must both refuse it.
        let stranger_ca = support::tls::make_ca();
        let servers = [
            Servers {
                scheme: "http",
                prefix: "",
                broken: support::serve(broken.clone()).await,
                correct: support::serve(correct.clone()).await,
                cacert: None,
            },
            Servers {
                scheme: "https",
                prefix: "https-",
                broken: support::tls::serve_tls(broken.clone(), &ca).await,
                correct: support::tls::serve_tls(correct.clone(), &ca).await,
                cacert: Some(ca.pem_file.clone()),
            },
        ];
        let stranger = support::tls::serve_tls(correct.clone(), &stranger_ca).await;
        let stranger_case = support::cases()
            .into_iter()
            .find(|case| case.id == "correct-simple")
            .expect("the correct-simple case");
        let stranger_url = format!("https://{stranger}{}?case=untrusted", stranger_case.path);
        let mut url_targets = Vec::new();
        for tls in [
            None,
            Some((support::tls::acceptor(&ca), ca.pem_file.clone())),
        ] {
            for case in url_forms::CASES {
                let target = url_forms::Target::serve(case, tls.clone()).await;
                url_targets.push(target.expect("a URL-form stand-in"));
            }
        }

        let targets: Vec<Target> = servers
            .iter()
            .flat_map(|servers| {
                support::cases().into_iter().map(move |case| {
                    let addr = if case.correct {
                        servers.correct
                    } else {
                        servers.broken
                    };
                    Target {
                        case,
                        prefix: servers.prefix,
                        url: format!("{}://{addr}{}?case={}", servers.scheme, case.path, case.id),
                        cacert: servers.cacert.clone(),
                    }
                })
            })
            .collect();

        let mut probes: Vec<Probe> = targets
            .iter()
            .map(|t| probe(t.id(), t.url.clone(), &t.case, true))
            .collect();
        probes.extend(url_targets.iter().map(url_forms::Target::probe));
        probes.push(probe(
            "untrusted-certificate".to_owned(),
            stranger_url.clone(),
            &stranger_case,
            false,
        ));
        let trusted = [spki_pin(&ca.leaf_spki)];
        let seen = run_in_chromium(
            &chromium,
            &pages,
            &probes,
            &trusted,
            Some(&url_forms::chromium_host_rules()),
            Duration::from_secs(90),
        )
        .await
        .expect("the page ran");

        let mut problems = Vec::new();
        for (target, seen) in targets.iter().zip(&seen) {
            let (case, id) = (&target.case, target.id());
            let report = check(&check_args(
                target.url.clone(),
                &origin,
                case,
                target.cacert.clone(),
            ))
            .await;
            let json = report.to_json();
            let chromium_says = if seen.readable { "allowed" } else { "blocked" };
            println!(
                "{id}: chromium {chromium_says}, cors check {} / chromium {}",
                json["verdict"], json["browsers"]["chromium"]
            );
            if json["browsers"]["chromium"] != chromium_says {
                problems.push(format!(
                    "{id}: Chromium {chromium_says}, browsers.chromium {}",
                    json["browsers"]["chromium"]
                ));
            }
            if json["verdict"] != case.verdict {
                problems.push(format!(
                    "{id}: verdict {}, expected {}",
                    json["verdict"], case.verdict
                ));
            }
            if !seen.readable {
                match (&seen.console, json["message"].as_str()) {
                    (Some(line), Some(message)) if line == message => {}
                    (line, message) => problems.push(format!(
                        "{id}: Chromium printed {line:?}\n    cors check says {message:?}"
                    )),
                }
            }

            let mut builder = FetchRequest::builder(&target.url, &origin).method(case.method);
            for (name, value) in case.headers {
                builder = builder.header(name, value);
            }
            if case.credentials {
                builder = builder.credentials(Credentials::Include);
            }
            let request = builder.build().expect("valid description");
            let mut app = if case.correct {
                correct.clone()
            } else {
                broken.clone()
            };
            let verdict = testing::fetch::<Body, _, _>(&mut app, &request).await;
            if verdict.engine(Engine::Chromium).as_str() != chromium_says {
                problems.push(format!(
                    "{id}: testing::fetch says chromium {}",
                    verdict.engine(Engine::Chromium).as_str()
                ));
            }
            if json["message"]
                .as_str()
                .is_some_and(|m| m != verdict.to_string())
            {
                problems.push(format!("{id}: testing::fetch words it {verdict}"));
            }
        }

        let url_seen = &seen[targets.len()..targets.len() + url_targets.len()];
        let mut url_agree = 0;
        for (target, seen) in url_targets.iter().zip(url_seen) {
            let differences = target.compare(&origin, seen).await;
            url_agree += usize::from(differences.is_empty());
            problems.extend(differences);
        }
        println!(
            "url forms: {url_agree}/{} agree on requests, verdict and console line",
            url_targets.len()
        );

        // The certificate nobody trusts: a network error in Chromium (no CORS line, as CORS
        // never started), a TLS error from the CLI even with the test CA.
        let untrusted = seen.last().expect("one result per probe");
        let report = check(&check_args(
            stranger_url,
            &origin,
            &stranger_case,
            Some(ca.pem_file.clone()),
        ))
        .await;
        let json = report.to_json();
        println!(
            "untrusted-certificate: chromium {}, cors check {}",
            if untrusted.readable {
                "allowed"
            } else {
                "failed"
            },
            json["verdict"]
        );
        if untrusted.readable || untrusted.console.is_some() {
            problems.push(format!(
                "untrusted-certificate: Chromium accepted a certificate it was not told to \
                 trust ({untrusted:?})"
            ));
        }
        if json["verdict"] != "error"
            || !json["message"]
                .as_str()
                .is_some_and(|m| m.contains("TLS handshake"))
        {
            problems.push(format!(
                "untrusted-certificate: cors check --cacert of another CA said {json}"
            ));
        }

        assert!(
            problems.is_empty(),
            "{} disagreement(s):\n{}",
            problems.len(),
            problems.join("\n")
        );
        println!(
            "check agreement: {}/{} cases agree ({} over HTTP, {} over HTTPS), {url_agree}/{} \
             URL forms too, and an untrusted certificate is refused, in {:.1?}",
            targets.len(),
            targets.len(),
            targets.iter().filter(|t| t.prefix.is_empty()).count(),
            targets.iter().filter(|t| !t.prefix.is_empty()).count(),
            url_targets.len(),
            started.elapsed()
        );
    });
}
