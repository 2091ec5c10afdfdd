//! `sclab serve`: the lab page on loopback. The page (`web/`), the wasm build (`pkg/`) and
//! the staged assets (`static/`) are served as files, with the headers the lab relies on:
//! cross-origin isolation (so the Cancel button can reach a busy worker through a
//! `SharedArrayBuffer`) and a Content-Security-Policy that allows nothing from another origin.

mod stage;

pub use stage::stage;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use axum::http::{header, HeaderName, HeaderValue};
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on; the default keeps the lab on this machine.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// The repository root, which holds web/, pkg/ and static/.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Serve what is staged already; do not check the asset cache.
    #[arg(long)]
    no_stage: bool,
}

/// Scripts, styles, workers and wasm from this origin only; wasm compilation is allowed,
/// `eval` is not; model output can never load or run anything.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     worker-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn run(args: Args) -> anyhow::Result<()> {
    let root = args.root.canonicalize().with_context(|| format!("--root {}", args.root.display()))?;
    for (needed, how) in [
        ("web/index.html", "run the command from the repository root, or pass --root"),
        ("pkg/sclab_web_bg.wasm", "build the wasm first: ./scripts/run does it"),
    ] {
        if !root.join(needed).exists() {
            bail!("{} is missing: {how}", root.join(needed).display());
        }
    }
    if !args.no_stage {
        eprintln!("staging assets in {}…", root.join("static/assets").display());
        stage::stage(&root)?;
    }
    let address = SocketAddr::new(args.host, args.port);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
        eprintln!("the lab is at http://{address}/  (Ctrl-C stops it)");
        axum::serve(listener, app(&root))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("serving")
    })
}

/// The lab's routes: the page at `/`, the wasm at `/pkg/`, the assets at `/static/`.
pub fn app(root: &Path) -> Router {
    let page = ServeDir::new(root.join("web")).fallback(ServeFile::new(root.join("web/index.html")));
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    Router::new()
        .nest_service("/pkg", ServeDir::new(root.join("pkg")))
        .nest_service("/static", ServeDir::new(root.join("static")))
        .fallback_service(page)
        .layer(header(HeaderName::from_static("cross-origin-opener-policy"), "same-origin"))
        .layer(header(HeaderName::from_static("cross-origin-embedder-policy"), "require-corp"))
        .layer(header(HeaderName::from_static("cross-origin-resource-policy"), "same-origin"))
        .layer(header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
        // Files change with each build; versioned assets are re-validated cheaply by ETag/Last-Modified.
        .layer(header(header::CACHE_CONTROL, "no-cache"))
}
