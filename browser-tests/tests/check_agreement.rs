//! Chromium, `cors check` and `testing::fetch` agree: every stand-in API of the CLI's tests
//! (the usual misconfigurations, and a correct app behind tower-cors) is fetched from a real
//! headless-Chromium page, checked by the CLI library from the same origin, and run through
//! `testing::fetch` in process. Chromium's verdict must equal `browsers.chromium`, its console
//! line the CLI's `message`, and `testing::fetch` the CLI's verdict.
//!
//! Without Chromium it prints a notice and passes, unless `CI` is set (or
//! `TOWER_CORS_BROWSER=require`), like the browser matrix.

#[path = "../../cli/tests/support/mod.rs"]
mod support;

use std::time::Duration;

use axum::body::Body;
use tower_cors::browser::{Credentials, Engine, FetchRequest};
use tower_cors::testing;
use tower_cors_browser_tests::{
    chromium_version, locate_chromium, page_origin, run_in_chromium,
    Credentials as PageCredentials, PageServer, Probe,
};
use tower_cors_cli::check::{check, CheckArgs};

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
        let pages = PageServer::start().await.expect("page server");
        let origin = page_origin(&pages);
        let broken = support::misconfigured();
        let correct = support::correct(&origin);
        let broken_addr = support::serve(broken.clone()).await;
        let correct_addr = support::serve(correct.clone()).await;
        let cases = support::cases();
        let url = |case: &support::Case| {
            let addr = if case.correct {
                correct_addr
            } else {
                broken_addr
            };
            format!("http://{addr}{}?case={}", case.path, case.id)
        };

        let probes: Vec<Probe> = cases
            .iter()
            .map(|case| Probe {
                id: case.id.to_owned(),
                url: url(case),
                method: case.method,
                headers: case.headers.to_vec(),
                credentials: if case.credentials {
                    PageCredentials::Include
                } else {
                    PageCredentials::SameOrigin
                },
            })
            .collect();
        let seen = run_in_chromium(&chromium, &pages, &probes, Duration::from_secs(60))
            .await
            .expect("the page ran");

        let mut problems = Vec::new();
        for (case, seen) in cases.iter().zip(&seen) {
            let id = case.id;
            let report = check(&CheckArgs {
                url: url(case),
                origin: origin.clone(),
                method: case.method.to_owned(),
                headers: case
                    .headers
                    .iter()
                    .map(|(n, v)| format!("{n}: {v}"))
                    .collect(),
                credentials: case.credentials,
                cookie: None,
                json: true,
                cacert: None,
                timeout: 10.0,
            })
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

            let mut builder = FetchRequest::builder(&url(case), &origin).method(case.method);
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
        assert!(
            problems.is_empty(),
            "{} disagreement(s):\n{}",
            problems.len(),
            problems.join("\n")
        );
        println!(
            "check agreement: {}/{} cases agree",
            cases.len(),
            cases.len()
        );
    });
}
