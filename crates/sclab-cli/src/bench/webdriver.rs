//! Headless Chromium driven over WebDriver (Debian's chromedriver), and the lab's server on a
//! free port beside it: what the browser benchmarks share.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use axum::Router;
use serde_json::{json, Value};

pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Serve `app` on a free loopback port until the returned runtime is dropped.
pub fn serve(app: Router) -> anyhow::Result<(tokio::runtime::Runtime, u16)> {
    let port = free_port()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))?;
    runtime.spawn(async move { axum::serve(listener, app).await });
    Ok((runtime, port))
}

/// Debian's ChromeDriver on a free port, stopped when dropped.
pub struct ChromeDriver {
    child: Child,
    base: String,
}

impl ChromeDriver {
    pub fn start() -> anyhow::Result<Self> {
        let port = free_port()?;
        let binary = std::env::var_os("CHROMEDRIVER").map(PathBuf::from).unwrap_or_else(|| "chromedriver".into());
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {} (apt install chromium-driver)", binary.display()))?;
        let driver = Self { child, base: format!("http://127.0.0.1:{port}") };
        for _ in 0..100 {
            if ureq::get(&format!("{}/status", driver.base)).call().is_ok() {
                return Ok(driver);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("chromedriver did not start")
    }

    pub fn session(&self) -> anyhow::Result<Session> {
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let capabilities = json!({ "capabilities": { "alwaysMatch": { "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run"],
        } } } });
        let answer: Value =
            ureq::post(&format!("{}/session", self.base)).send_json(capabilities)?.body_mut().read_json()?;
        let id = answer
            .pointer("/value/sessionId")
            .and_then(Value::as_str)
            .with_context(|| format!("chromedriver refused a session: {answer}"))?;
        let session = Session { url: format!("{}/session/{id}", self.base) };
        // A benchmark's script runs for many minutes.
        session.post("timeouts", json!({ "script": 30 * 60 * 1000, "pageLoad": 120_000 }))?;
        Ok(session)
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Session {
    url: String,
}

impl Session {
    pub fn post(&self, command: &str, body: Value) -> anyhow::Result<Value> {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(None).http_status_as_error(false).build().into();
        let mut response = agent.post(&format!("{}/{command}", self.url)).send_json(body)?;
        let answer: Value = response.body_mut().read_json()?;
        if !response.status().is_success() {
            bail!("webdriver {command}: {}", answer.pointer("/value/message").unwrap_or(&answer));
        }
        Ok(answer["value"].clone())
    }

    pub fn close(&self) {
        let _ = ureq::delete(&self.url).call();
    }
}

impl Session {
    /// Run `script` in the page as an async WebDriver script: its body gets `arguments[0]` and
    /// settles a promise named `work`; the answer is the promise's value, or its error.
    pub fn run_async(&self, work: &str, args: Value) -> anyhow::Result<Value> {
        let script = format!(
            "const done = arguments[arguments.length - 1];\
             (async () => {{ {work} }})().then((r) => done({{ ok: r }}), (e) => done({{ error: String(e && e.stack || e) }}));"
        );
        let answer = self.post("execute/async", json!({ "script": script, "args": [args] }))?;
        match (answer.get("ok"), answer.get("error")) {
            (Some(ok), _) => Ok(ok.clone()),
            (_, Some(error)) => bail!("the page failed: {}", error.as_str().unwrap_or_default()),
            _ => bail!("the page answered {answer}"),
        }
    }
}
