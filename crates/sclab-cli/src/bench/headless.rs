//! What the browser benchmarks share: the lab's server on a free port, and headless Chromium
//! driven through playwright-core by `scripts/drive-page.mjs` (as the e2e tests drive it).

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context};
use axum::Router;
use serde_json::{json, Value};

/// Serve `app` on a free loopback port until the returned runtime is dropped.
pub fn serve(app: Router) -> anyhow::Result<(tokio::runtime::Runtime, u16)> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))?;
    runtime.spawn(async move { axum::serve(listener, app).await });
    Ok((runtime, port))
}

/// One page visit: open `url` (unless `None`; `${previous}` in it is the previous step's
/// answer), choose `upload` in a file input as a visitor would, then run `script` in the page
/// as the body of an async function of `arg`.
pub struct Step<'a> {
    pub url: Option<String>,
    pub upload: Option<Upload<'a>>,
    pub script: &'a str,
    pub arg: Value,
}

/// A local file chosen in the page's file input `selector`.
pub struct Upload<'a> {
    pub selector: &'a str,
    pub path: &'a Path,
}

/// Run `steps` in one headless Chromium; the last step's answer.
pub fn drive(root: &Path, steps: &[Step]) -> anyhow::Result<Value> {
    if !root.join("node_modules/playwright-core").exists() {
        bail!("node_modules/playwright-core is missing: run `npm ci` in the repository first");
    }
    let steps: Vec<Value> = steps
        .iter()
        .map(|s| {
            let upload = s.upload.as_ref().map(|u| json!({ "selector": u.selector, "path": u.path }));
            json!({ "url": s.url, "upload": upload, "script": s.script, "arg": s.arg })
        })
        .collect();
    let mut child = Command::new("node")
        .arg(root.join("scripts/drive-page.mjs"))
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting node (the browser benchmarks drive Chromium with playwright-core)")?;
    child.stdin.take().context("node's stdin")?.write_all(json!({ "steps": steps }).to_string().as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!("the page failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    serde_json::from_slice(&output.stdout).context("the page's answer is not JSON")
}

/// The browser and its version from the page's `user_agent` ("HeadlessChrome/156.0.0.0"), or
/// the whole user agent where it names no Chrome.
pub fn browser_name(raw: &Value) -> String {
    let agent = raw["user_agent"].as_str().unwrap_or_default();
    agent.split(' ').find(|p| p.contains("Chrome/")).unwrap_or(agent).to_owned()
}
