//! The page Chromium opens: an inline script that runs each fetch() in order and posts one
//! line per result back to the page server, plus the parser for those lines. The line format is
//! tab-separated `key=encodeURIComponent(value)` pairs, so no JSON library is needed on either side.

use std::fmt::Write as _;

use crate::scenario::{Credentials, Expect};

/// One fetch() as the script needs it.
pub(crate) struct StepSpec<'a> {
    pub(crate) scenario: &'a str,
    pub(crate) step: usize,
    pub(crate) url: String,
    pub(crate) method: &'a str,
    pub(crate) headers: &'a [(&'a str, &'a str)],
    pub(crate) credentials: Credentials,
    pub(crate) body: Option<&'a str>,
    /// Use XMLHttpRequest with an upload listener instead of fetch().
    pub(crate) xhr_upload: bool,
    /// fetch() with `mode: "no-cors"`.
    pub(crate) no_cors: bool,
    /// Response headers the script reads with `response.headers.get`.
    pub(crate) read: Vec<&'a str>,
}

impl<'a> StepSpec<'a> {
    pub(crate) fn read_list(expect: &'a Expect) -> Vec<&'a str> {
        match expect {
            Expect::Readable { headers, .. } => headers.iter().map(|(name, _)| *name).collect(),
            Expect::Blocked => Vec::new(),
        }
    }
}

/// The line the script posts after its last step.
pub(crate) const DONE: &str = "done";

/// The script body. `STEPS`, `BATCH` and `STEP_TIMEOUT_MS` are prepended by [`html`].
const RUNNER: &str = r#"
const enc = encodeURIComponent;
async function post(line) {
  try {
    await fetch("/results/" + BATCH, { method: "POST", body: line });
  } catch (e) {
    console.log("browser matrix: could not post a result: " + e);
  }
}
function viaFetch(s) {
  const init = {
    method: s.method,
    headers: s.headers,
    credentials: s.credentials,
    signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
  };
  if (s.body !== null) init.body = s.body;
  if (s.noCors) init.mode = "no-cors";
  return fetch(s.url, init).then(async (response) => ({
    status: response.status,
    body: await response.text(),
    header: (name) => response.headers.get(name),
  }));
}
function viaXhrWithUploadListener(s) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(s.method, s.url);
    xhr.withCredentials = s.credentials === "include";
    for (const [name, value] of s.headers) xhr.setRequestHeader(name, value);
    // Registered before send(): this is what makes the browser preflight a simple POST.
    xhr.upload.addEventListener("progress", () => {});
    xhr.timeout = STEP_TIMEOUT_MS;
    xhr.onload = () => resolve({
      status: xhr.status,
      body: xhr.responseText,
      header: (name) => xhr.getResponseHeader(name),
    });
    xhr.onerror = () => reject(new TypeError("XMLHttpRequest network error"));
    xhr.ontimeout = () => reject(new TypeError("XMLHttpRequest timed out"));
    xhr.send(s.body);
  });
}
async function run(s) {
  const fields = ["scenario=" + enc(s.scenario), "step=" + s.step];
  try {
    const response = await (s.xhrUpload ? viaXhrWithUploadListener(s) : viaFetch(s));
    fields.push("outcome=ok", "status=" + response.status, "body=" + enc(response.body));
    for (const name of s.read) {
      const value = response.header(name);
      if (value !== null) fields.push("header=" + enc(name) + ":" + enc(value));
    }
  } catch (e) {
    fields.push("outcome=error", "error=" + enc(String(e)));
  }
  return fields.join("\t");
}
window.addEventListener("error", (e) => post("script-error=" + enc(String(e.message))));
(async () => {
  for (const s of STEPS) await post(await run(s));
  await post("done");
})();
"#;

/// The HTML for one batch of steps.
pub(crate) fn html(batch: &str, steps: &[StepSpec<'_>], step_timeout_ms: u64) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>tower-cors browser matrix</title>\
         <link rel=\"icon\" href=\"data:,\"></head><body>\n<script>\n\"use strict\";\n",
    );
    let _ = writeln!(out, "const BATCH = {};", js_string(batch));
    let _ = writeln!(out, "const STEP_TIMEOUT_MS = {step_timeout_ms};");
    out.push_str("const STEPS = [\n");
    for step in steps {
        let headers: Vec<String> = step
            .headers
            .iter()
            .map(|(name, value)| format!("[{}, {}]", js_string(name), js_string(value)))
            .collect();
        let read: Vec<String> = step.read.iter().map(|name| js_string(name)).collect();
        let _ = writeln!(
            out,
            "  {{ scenario: {}, step: {}, url: {}, method: {}, headers: [{}], credentials: {}, body: {}, xhrUpload: {}, noCors: {}, read: [{}] }},",
            js_string(step.scenario),
            step.step,
            js_string(&step.url),
            js_string(step.method),
            headers.join(", "),
            js_string(step.credentials.as_js()),
            step.body.map_or_else(|| "null".to_owned(), js_string),
            step.xhr_upload,
            step.no_cors,
            read.join(", "),
        );
    }
    out.push_str("];\n");
    out.push_str(RUNNER);
    out.push_str("</script>\n</body></html>\n");
    out
}

/// A JavaScript string literal that is also safe inside `<script>` (no `<`, no line breaks).
fn js_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' if c != '<' && c != '>' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
    out
}

/// What the script observed for one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Observed {
    /// The promise resolved; `headers` holds the non-null values the script read.
    Readable {
        status: u16,
        body: String,
        headers: Vec<(String, String)>,
    },
    /// The promise rejected with this error.
    Failed(String),
}

/// A parsed result line: `(scenario id, step index, what was observed)`.
pub(crate) type ResultLine = (String, usize, Observed);

/// Parses one line posted by the script; `Err` carries a description of what was wrong.
pub(crate) fn parse_result(line: &str) -> Result<ResultLine, String> {
    let mut scenario = None;
    let mut step = None;
    let mut outcome = None;
    let mut status = None;
    let mut body = String::new();
    let mut error = String::new();
    let mut headers = Vec::new();
    for field in line.split('\t') {
        let (key, value) = field
            .split_once('=')
            .ok_or_else(|| format!("field without '=': {field:?}"))?;
        match key {
            "scenario" => scenario = Some(percent_decode(value)),
            "step" => step = value.parse::<usize>().ok(),
            "outcome" => outcome = Some(value.to_owned()),
            "status" => status = value.parse::<u16>().ok(),
            "body" => body = percent_decode(value),
            "error" => error = percent_decode(value),
            "header" => {
                let (name, value) = value
                    .split_once(':')
                    .ok_or_else(|| format!("header field without ':': {value:?}"))?;
                headers.push((percent_decode(name), percent_decode(value)));
            }
            "script-error" => return Err(format!("script error: {}", percent_decode(value))),
            _ => return Err(format!("unknown field {key:?}")),
        }
    }
    let scenario = scenario.ok_or("no scenario field")?;
    let step = step.ok_or("no step field")?;
    let observed = match (outcome.as_deref(), status) {
        (Some("ok"), Some(status)) => Observed::Readable {
            status,
            body,
            headers,
        },
        (Some("error"), _) => Observed::Failed(error),
        _ => return Err(format!("no usable outcome in {line:?}")),
    };
    Ok((scenario, step, observed))
}

/// Undoes `encodeURIComponent`; malformed escapes are kept as they are.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
