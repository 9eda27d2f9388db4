//! `CorsConfig`: TOML and JSON files (with the `serde` feature), environment variables, and the
//! overlay of one on the other; valid configurations build the same policy as the builder,
//! invalid ones report every problem.

use std::time::Duration;

use http::StatusCode;
use tower_cors::{testing, CorsConfig, Decision, Problem};

fn allowed(cors: &tower_cors::CorsLayer, origin: &str) -> bool {
    matches!(
        cors.evaluate(&testing::actual_parts("GET", origin)),
        Decision::ActualAllowed { .. }
    )
}

#[test]
fn env_reads_every_setting() {
    let config = CorsConfig::from_env("TOWER_CORS_TEST_UNSET_")
        .expect("nothing set")
        .merge_vars(
            "APP_CORS_",
            [
                (
                    "APP_CORS_ALLOW_ORIGINS",
                    "https://a.example, https://*.b.example,,",
                ),
                ("APP_CORS_ALLOW_METHODS", "PUT,patch"),
                ("APP_CORS_ALLOW_HEADERS", "content-type, x-api-key"),
                ("APP_CORS_EXPOSE_HEADERS", "x-request-id"),
                ("APP_CORS_ALLOW_CREDENTIALS", "yes"),
                ("APP_CORS_MAX_AGE", "1h30m"),
                ("APP_CORS_ALLOW_PRIVATE_NETWORK", "TRUE"),
                ("APP_CORS_PREFLIGHT_STATUS", "200"),
                ("OTHER_VARIABLE", "ignored"),
            ],
        )
        .expect("valid");
    assert_eq!(
        config.allow_origins,
        ["https://a.example", "https://*.b.example"]
    );
    assert_eq!(config.allow_methods, ["PUT", "patch"]);
    assert_eq!(config.allow_headers, ["content-type", "x-api-key"]);
    assert_eq!(config.expose_headers, ["x-request-id"]);
    assert!(config.allow_credentials);
    assert_eq!(config.max_age, Some(Duration::from_secs(5400)));
    assert!(config.allow_private_network);
    assert_eq!(config.preflight_status, Some(StatusCode::OK));

    let cors = config.build().expect("builds");
    assert!(allowed(&cors, "https://x.b.example"));
    assert!(!allowed(&cors, "https://b.example"));
    let parts = testing::preflight_parts("https://a.example", "patch", &["x-api-key"]);
    let Decision::PreflightAccepted {
        headers, status, ..
    } = cors.evaluate(&parts)
    else {
        panic!("preflight refused");
    };
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers.get(&http::header::ACCESS_CONTROL_MAX_AGE).unwrap(),
        "5400"
    );
}

#[test]
fn env_errors_name_every_bad_variable() {
    let err = CorsConfig::default()
        .merge_vars(
            "CORS_",
            [
                ("CORS_MAX_AGE", "forever"),
                ("CORS_ALLOW_CREDENTIALS", "sometimes"),
                ("CORS_PREFLIGHT_STATUS", "two hundred"),
                ("CORS_ALLOW_PRIVATE_NETWORK", "2"),
                ("CORS_ALLOWED_ORIGINS", "https://a.example"),
            ],
        )
        .unwrap_err();
    assert_eq!(err.problems().len(), 5, "{err}");
    let text = err.to_string();
    for name in [
        "CORS_MAX_AGE",
        "CORS_ALLOW_CREDENTIALS",
        "CORS_PREFLIGHT_STATUS",
        "CORS_ALLOW_PRIVATE_NETWORK",
        "CORS_ALLOWED_ORIGINS",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    assert!(text.contains("\"forever\""), "{text}");
    assert!(matches!(
        &err.problems()[0],
        Problem::InvalidEnvironmentVariable { name, value, .. }
            if name == "CORS_MAX_AGE" && value == "forever"
    ));
    assert!(matches!(
        &err.problems()[4],
        Problem::UnknownEnvironmentVariable { name } if name == "CORS_ALLOWED_ORIGINS"
    ));
}

#[test]
fn env_values_are_validated_by_build() {
    let err = CorsConfig::default()
        .merge_vars(
            "CORS_",
            [
                ("CORS_ALLOW_ORIGINS", "*, https://example.com/"),
                ("CORS_ALLOW_CREDENTIALS", "true"),
                ("CORS_ALLOW_METHODS", "TRACE"),
                ("CORS_MAX_AGE", "2d"),
                ("CORS_PREFLIGHT_STATUS", "302"),
            ],
        )
        .expect("parses")
        .build()
        .unwrap_err();
    let problems = err.problems();
    assert!(
        problems.contains(&Problem::AnyOriginWithCredentials),
        "{err}"
    );
    assert!(problems.contains(&Problem::ForbiddenMethod {
        value: "TRACE".into()
    }));
    assert!(problems.contains(&Problem::MaxAgeTooLong { seconds: 172_800 }));
    assert!(problems.contains(&Problem::InvalidPreflightStatus { status: 302 }));
    assert!(problems.iter().any(
        |p| matches!(p, Problem::InvalidOrigin { value, .. } if value == "https://example.com/")
    ));
    assert_eq!(problems.len(), 5, "{err}");
}

#[test]
fn empty_env_value_resets_a_setting() {
    let mut config = CorsConfig::default();
    config.allow_origins = vec!["https://a.example".into()];
    config.allow_headers = vec!["x-api-key".into()];
    config.max_age = Some(Duration::from_secs(60));
    config.allow_credentials = true;
    let config = config
        .merge_vars(
            "CORS_",
            [
                ("CORS_ALLOW_HEADERS", ""),
                ("CORS_MAX_AGE", " "),
                ("CORS_ALLOW_CREDENTIALS", ""),
            ],
        )
        .expect("valid");
    assert_eq!(config.allow_origins, ["https://a.example"]);
    assert!(config.allow_headers.is_empty());
    assert_eq!(config.max_age, None);
    assert!(!config.allow_credentials);
}

/// The process environment itself, under a prefix no other test uses (tests share the
/// process, and variables are global).
#[test]
fn process_environment() {
    std::env::set_var("TOWER_CORS_TEST_PROC_ALLOW_ORIGINS", "https://env.example");
    std::env::set_var("TOWER_CORS_TEST_PROC_MAX_AGE", "10m");
    let config = CorsConfig::from_env("TOWER_CORS_TEST_PROC_").expect("valid");
    assert_eq!(config.allow_origins, ["https://env.example"]);
    assert_eq!(config.max_age, Some(Duration::from_secs(600)));

    std::env::set_var("TOWER_CORS_TEST_PROC_MAX_AGES", "10m");
    let err = CorsConfig::from_env("TOWER_CORS_TEST_PROC_").unwrap_err();
    assert!(
        err.to_string().contains("TOWER_CORS_TEST_PROC_MAX_AGES"),
        "{err}"
    );
    std::env::remove_var("TOWER_CORS_TEST_PROC_MAX_AGES");
}

#[cfg(feature = "serde")]
mod files {
    use super::*;

    const TOML: &str = r#"
        allow_origins = ["https://app.example.com", "https://*.example.org", "http://localhost:*"]
        allow_methods = ["PUT", "DELETE"]
        allow_headers = "content-type, x-api-key"
        expose_headers = ["x-request-id"]
        allow_credentials = true
        max_age = "10m"
        allow_private_network = true
        preflight_status = 200
    "#;

    #[test]
    fn toml_file() {
        let config: CorsConfig = toml::from_str(TOML).expect("valid TOML");
        assert_eq!(config.allow_origins.len(), 3);
        assert_eq!(config.allow_headers, ["content-type", "x-api-key"]);
        assert_eq!(config.max_age, Some(Duration::from_secs(600)));
        assert_eq!(config.preflight_status, Some(StatusCode::OK));
        let cors = config.build().expect("builds");
        assert!(allowed(&cors, "http://localhost:5173"));
        assert!(allowed(&cors, "https://a.example.org"));
        assert!(!allowed(&cors, "https://example.org"));
    }

    #[test]
    fn sample_file_in_examples_builds() {
        let text = include_str!("../examples/cors.toml");
        let config: CorsConfig = toml::from_str(text).expect("valid TOML");
        config.build().expect("the sample is a valid policy");
    }

    #[test]
    fn json_file() {
        let config: CorsConfig = serde_json::from_str(
            r#"{
                "allow_origins": "*",
                "allow_methods": ["*"],
                "expose_headers": ["*"],
                "max_age": 3600,
                "preflight_status": null
            }"#,
        )
        .expect("valid JSON");
        assert_eq!(config.allow_origins, ["*"]);
        assert_eq!(config.max_age, Some(Duration::from_secs(3600)));
        assert_eq!(config.preflight_status, None);
        let cors = config.build().expect("builds");
        let parts = testing::actual_parts("GET", "https://anyone.example");
        let Decision::ActualAllowed { headers } = cors.evaluate(&parts) else {
            panic!("refused");
        };
        assert_eq!(
            headers
                .get(&http::header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .unwrap(),
            "*"
        );
    }

    #[test]
    fn max_age_forms() {
        for (text, seconds) in [
            ("max_age = 90", 90),
            ("max_age = \"90s\"", 90),
            ("max_age = \"10m\"", 600),
            ("max_age = \"1h\"", 3600),
            ("max_age = \"1h 30m\"", 5400),
            ("max_age = 2.9", 2),
        ] {
            let mut config: CorsConfig = toml::from_str(text).expect(text);
            config.allow_origins = vec!["*".into()];
            let cors = config.build().expect("builds");
            let parts = testing::preflight_parts("https://a.example", "GET", &[]);
            let decision = cors.evaluate(&parts);
            let got = decision
                .headers()
                .and_then(|h| h.get(&http::header::ACCESS_CONTROL_MAX_AGE))
                .expect("max-age");
            assert_eq!(got, seconds.to_string().as_str(), "{text}");
        }
        let json: CorsConfig = serde_json::from_str(r#"{"max-age": "2h"}"#).expect("kebab key");
        assert_eq!(json.max_age, Some(Duration::from_secs(7200)));
    }

    #[test]
    fn invalid_files_report_every_problem() {
        // Well-formed, so it deserializes; its values are wrong, and `build` lists them all.
        let config: CorsConfig = toml::from_str(
            r#"
            allow_origins = ["https://example.com/", "HTTPS://EXAMPLE.ORG", "*"]
            allow_methods = ["TRACE", "get me"]
            allow_headers = ["cookie"]
            expose_headers = ["set-cookie"]
            allow_credentials = true
            max_age = "25h"
            preflight_status = 404
        "#,
        )
        .expect("valid TOML");
        let err = config.build().unwrap_err();
        let text = err.to_string();
        assert_eq!(err.problems().len(), 9, "{text}");
        for quoted in [
            "\"https://example.com/\"",
            "\"HTTPS://EXAMPLE.ORG\"",
            "\"TRACE\"",
            "\"get me\"",
            "\"cookie\"",
            "\"set-cookie\"",
            "90000",
            "404",
        ] {
            assert!(text.contains(quoted), "{quoted} missing from:\n{text}");
        }
        assert!(err.problems().contains(&Problem::AnyOriginWithCredentials));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = toml::from_str::<CorsConfig>("allowed_origins = [\"https://a.example\"]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `allowed_origins`"), "{err}");
        assert!(err.contains("allow_origins"), "{err}");

        let err = serde_json::from_str::<CorsConfig>(r#"{"credentials": true}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `credentials`"), "{err}");
    }

    #[test]
    fn malformed_values_are_rejected_with_the_value() {
        let err = toml::from_str::<CorsConfig>("max_age = \"ten minutes\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ten minutes") && err.contains("10m"), "{err}");

        let err = toml::from_str::<CorsConfig>("max_age = -5")
            .unwrap_err()
            .to_string();
        assert!(err.contains("-5"), "{err}");

        let err = serde_json::from_str::<CorsConfig>(r#"{"preflight_status": 1000}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("1000"), "{err}");

        let err = serde_json::from_str::<CorsConfig>(r#"{"allow_origins": [1]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("string"), "{err}");

        let err = toml::from_str::<CorsConfig>("allow_credentials = \"yes\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("allow_credentials") || err.contains("bool"),
            "{err}"
        );
    }

    #[test]
    fn env_overrides_file() {
        let config: CorsConfig = toml::from_str(TOML).expect("valid TOML");
        let config = config
            .merge_vars(
                "CORS_",
                [
                    ("CORS_ALLOW_ORIGINS", "https://override.example"),
                    ("CORS_MAX_AGE", "1h"),
                ],
            )
            .expect("valid");
        // Replaced as a whole.
        assert_eq!(config.allow_origins, ["https://override.example"]);
        assert_eq!(config.max_age, Some(Duration::from_secs(3600)));
        // Left alone.
        assert_eq!(config.allow_methods, ["PUT", "DELETE"]);
        assert!(config.allow_credentials);
        let cors = config.build().expect("builds");
        assert!(allowed(&cors, "https://override.example"));
        assert!(!allowed(&cors, "https://app.example.com"));
    }
}
