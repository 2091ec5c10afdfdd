//! `sclab serve` as a browser sees it: the headers the lab needs, the wasm MIME type, loopback
//! by default, and no way out of the served folders.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command};
use std::time::Duration;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A raw request, so that no client tidies the path first.
fn get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn serve(root: &std::path::Path) -> (Server, u16) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_sclab"))
            .args(["serve", "--no-stage", "--port", &port.to_string(), "--root"])
            .arg(root)
            .spawn()
            .unwrap(),
    );
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (server, port);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("sclab serve did not start");
}

#[test]
fn serves_the_lab_isolated_and_confined_to_its_folders() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lab");
    for (file, text) in [
        ("web/index.html", "<!doctype html><title>lab</title>"),
        ("pkg/sclab_web_bg.wasm", "\0asm"),
        ("static/assets/manifest.json", "{}"),
    ] {
        std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
        std::fs::write(root.join(file), text).unwrap();
    }
    std::fs::write(dir.path().join("secret.txt"), "do not serve").unwrap();
    std::fs::write(root.join("Cargo.toml"), "do not serve either").unwrap();
    let (_server, port) = serve(&root);

    let page = get(port, "/").to_lowercase();
    assert!(page.starts_with("http/1.1 200"), "{page}");
    assert!(page.contains("cross-origin-opener-policy: same-origin"));
    assert!(page.contains("cross-origin-embedder-policy: require-corp"));
    assert!(page.contains("content-security-policy: default-src 'self'"));
    assert!(page.contains("<title>lab</title>"));
    assert!(get(port, "/pkg/sclab_web_bg.wasm").to_lowercase().contains("content-type: application/wasm"));
    assert!(get(port, "/static/assets/manifest.json").starts_with("HTTP/1.1 200"));

    for attempt in
        ["/pkg/../../secret.txt", "/static/%2e%2e/%2e%2e/secret.txt", "/pkg/..%2f..%2fsecret.txt", "/../secret.txt"]
    {
        let response = get(port, attempt);
        assert!(!response.contains("do not serve"), "{attempt} escaped: {response}");
    }
    assert!(!get(port, "/pkg/../Cargo.toml").contains("do not serve either"));
}

#[test]
fn listens_on_loopback_only_by_default_and_explains_a_missing_build() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("web")).unwrap();
    std::fs::write(dir.path().join("web/index.html"), "x").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sclab"))
        .args(["serve", "--no-stage", "--root"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sclab_web_bg.wasm is missing") && err.contains("./scripts/run"), "{err}");
    let help = Command::new(env!("CARGO_BIN_EXE_sclab")).args(["serve", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("[default: 127.0.0.1]"));
}
