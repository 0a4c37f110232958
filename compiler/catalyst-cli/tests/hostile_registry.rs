//! Hostile and broken registries: the real `catalyst` binary against small
//! HTTP servers started here on 127.0.0.1 (std::net, plain HTTP as the
//! other registry tests use for loopback), each bounded in connections and
//! time and stopping by itself. A registry that never answers, one that
//! sends a 1 GiB manifest, one whose error echoes the request (its
//! `Authorization` header with it) or carries escape sequences, one that
//! takes a push and then fails to give it back: each must end in bounded
//! time and memory, with a short, clean message that names what happened.
//! The limits are documented in docs/limits.md ("Registries").

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{catalyst_command, run_killed_after};

/// How long one run may take before it counts as a hang.
const RUN_LIMIT: Duration = Duration::from_secs(40);

// ---------------------------------------------------------------------------
// Servers.

/// A loopback HTTP/1.1 server: each connection carries one request
/// (answers say `Connection: close`), answered by `answer(head, body,
/// stream)` on a thread of its own. It stops by itself after `max`
/// connections or 60 s. Returns its address and the request heads seen.
fn serve(
    max: usize,
    answer: impl Fn(&str, &[u8], &mut TcpStream) + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (log, answer) = (seen.clone(), Arc::new(answer));
    std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(60);
        let mut accepted = 0;
        while accepted < max && Instant::now() < end {
            let Ok((mut c, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            accepted += 1;
            let (log, answer) = (log.clone(), answer.clone());
            std::thread::spawn(move || {
                c.set_nonblocking(false).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                let mut req = Vec::new();
                let mut b = [0u8; 8192];
                let head_end = loop {
                    if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match c.read(&mut b) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&b[..n]),
                    }
                    if req.len() > 64 << 10 {
                        return;
                    }
                };
                let head = String::from_utf8_lossy(&req[..head_end]).into_owned();
                let len: usize = header(&head, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                let mut body = req[head_end..].to_vec();
                while body.len() < len.min(16 << 20) {
                    match c.read(&mut b) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => body.extend_from_slice(&b[..n]),
                    }
                }
                log.lock().unwrap().push(head.clone());
                answer(&head, &body, &mut c);
            });
        }
    });
    (addr, seen)
}

/// A header's value in a request head (names compared without case).
fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// `GET /v2/x HTTP/1.1` → (`GET`, `/v2/x`).
fn request_line(head: &str) -> (String, String) {
    let mut w = head.split_whitespace();
    (w.next().unwrap_or_default().to_string(), w.next().unwrap_or_default().to_string())
}

fn respond(c: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let _ = c.write_all(out.as_bytes());
    let _ = c.write_all(body);
}

/// Asks for `Basic` credentials when a request has none (as
/// docker-registry with htpasswd does); true when it did.
fn challenged(head: &str, c: &mut TcpStream) -> bool {
    if header(head, "authorization").is_some() {
        return false;
    }
    respond(c, "401 Unauthorized", &[("WWW-Authenticate", "Basic realm=\"hostile\"")], b"");
    true
}

// ---------------------------------------------------------------------------
// Running catalyst under bounds.

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Run {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs catalyst in `cwd` with `env`, killed after [`RUN_LIMIT`] (a failure:
/// a hang), its address space capped at `memory` bytes where util-linux's
/// prlimit is installed. No credentials or registry settings from the
/// environment of the test leak in.
fn run(cwd: &Path, env: &[(&str, &str)], args: &[&str], memory: Option<u64>) -> Run {
    let mut cmd = catalyst_command(cwd, memory);
    cmd.env_remove("CATALYST_REGISTRY_TIMEOUT")
        .env_remove("CATALYST_REGISTRY_USERNAME")
        .env_remove("CATALYST_REGISTRY_PASSWORD")
        .env("DOCKER_CONFIG", cwd.join("no-docker-config"))
        .env("COSIGN_PASSWORD", "test-pass-phrase")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let b = run_killed_after(cmd, RUN_LIMIT);
    assert!(!b.timed_out, "catalyst {args:?} still running after {RUN_LIMIT:?}: it hangs on this registry");
    let r = Run { code: b.code, stdout: b.stdout, stderr: b.stderr, elapsed: b.elapsed };
    assert!(!r.stderr.contains("panicked") && r.code.is_some(), "catalyst {args:?}: {:?}\n{}", r.code, r.stderr);
    r
}

/// A chart archive (`demo-1.0.0.tgz`, packaged by catalyst) and a
/// cosign key pair, in a fresh folder.
fn setup() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let chart = t.path().join("demo");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: demo\nversion: 1.0.0\nannotations:\n  catalyst.openova.io/no-upstream: \"true\"\n",
    )
    .unwrap();
    std::fs::write(chart.join("templates/cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n")
        .unwrap();
    let r = run(t.path(), &[], &["package", "demo", "-d", "dist", "--skip-smoke-render"], None);
    assert_eq!(r.code, Some(0), "{}", r.all());
    let r = run(t.path(), &[], &["generate-key-pair"], None);
    assert_eq!(r.code, Some(0), "{}", r.all());
    let tgz = t.path().join("dist/demo-1.0.0.tgz");
    assert!(tgz.is_file());
    (t, tgz)
}

fn push(dir: &Path, tgz: &Path, addr: &str, extra: &[&str], env: &[(&str, &str)], memory: Option<u64>) -> Run {
    let to = format!("oci://{addr}/charts");
    let mut args = vec!["push", tgz.to_str().unwrap(), "--to", &to, "--plain-http"];
    args.extend_from_slice(extra);
    run(dir, env, &args, memory)
}

// ---------------------------------------------------------------------------
// Tests.

/// A registry that accepts the connection and never answers: `push` and
/// `verify` fail within the configured timeout (here 2 s: a 1 s read
/// timeout, not retried), naming the registry's URL, the limit and how to
/// change it. (The defaults and the retry arithmetic are unit-tested in
/// catalyst-oci.)
#[test]
fn push_and_verify_fail_within_the_timeout_on_a_silent_registry() {
    let (dir, tgz) = setup();
    let (addr, seen) = serve(20, |_, _, c| {
        // Say nothing until the client leaves.
        let mut b = [0u8; 64];
        while matches!(c.read(&mut b), Ok(n) if n > 0) {}
    });
    let silent_for = |r: &Run, what: &str| {
        // A timeout is a transient network failure: exit 3, not invalid input.
        assert_eq!(r.code, Some(3), "{what}: {}", r.all());
        assert!(r.elapsed >= Duration::from_millis(900), "{what}: over before the read timeout: {:?}", r.elapsed);
        assert!(r.elapsed < Duration::from_secs(8), "{what}: {:?} for a 2 s limit", r.elapsed);
        let e = &r.stderr;
        assert!(e.contains(&format!("http://{addr}/v2/charts/demo/manifests/1.0.0")), "{what}: {e}");
        assert!(e.contains("error[registry-timeout]: "), "{what}: {e}");
        assert!(e.contains("the server sent nothing for 1 s (the read timeout)"), "{what}: {e}");
        assert!(e.contains("--registry-timeout SECS") && e.contains("CATALYST_REGISTRY_TIMEOUT"), "{what}: {e}");
    };
    let r = push(dir.path(), &tgz, &addr, &["--registry-timeout", "2"], &[], None);
    silent_for(&r, "push");
    assert!(r.stderr.contains("nothing was pushed"), "{}", r.stderr);
    // The environment variable sets it too.
    let reference = format!("oci://{addr}/charts/demo:1.0.0");
    let r = run(
        dir.path(),
        &[("CATALYST_REGISTRY_TIMEOUT", "2")],
        &["verify", &reference, "--key", "cosign.pub", "--plain-http"],
        None,
    );
    silent_for(&r, "verify");
    assert_eq!(seen.lock().unwrap().len(), 2, "one request each: a timed-out request is not retried");
}

/// A manifest of 1 GiB, announced by its Content-Length or streamed in
/// chunks without end: refused at the 4 MiB cap, in bounded time and
/// memory (the run's address space is capped at 1 GiB).
#[test]
fn a_1_gib_manifest_is_refused_without_reading_it() {
    let (dir, tgz) = setup();
    for chunked in [false, true] {
        let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = sent.clone();
        let (addr, _) = serve(8, move |_, _, c| {
            let head = if chunked {
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nTransfer-Encoding: chunked\r\n\r\n"
            } else {
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: 1073741824\r\n\r\n"
            };
            let _ = c.write_all(head.as_bytes());
            let chunk = vec![b' '; 256 << 10];
            let end = Instant::now() + Duration::from_secs(30);
            while Instant::now() < end {
                let ok = if chunked {
                    c.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                        .and_then(|_| c.write_all(&chunk))
                        .and_then(|_| c.write_all(b"\r\n"))
                } else {
                    c.write_all(&chunk)
                };
                if ok.is_err() {
                    break;
                }
                counter.fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::SeqCst);
            }
        });
        let what = if chunked { "chunked" } else { "Content-Length" };
        let r = push(dir.path(), &tgz, &addr, &[], &[], Some(1 << 30));
        assert_eq!(r.code, Some(1), "{what}: {}", r.all());
        assert!(r.elapsed < Duration::from_secs(15), "{what}: {:?}", r.elapsed);
        assert!(
            r.stderr.contains(&format!(
                "{addr}/charts/demo:1.0.0: the manifest is larger than the manifest limit of 4194304 bytes (4 MiB"
            )),
            "{what}: {}",
            r.stderr
        );
        let reference = format!("oci://{addr}/charts/demo:1.0.0");
        let r = run(dir.path(), &[], &["verify", &reference, "--key", "cosign.pub", "--plain-http"], Some(1 << 30));
        assert_eq!(r.code, Some(1), "{what}: {}", r.all());
        assert!(r.stderr.contains("manifest limit of 4194304 bytes"), "{what}: {}", r.stderr);
        std::thread::sleep(Duration::from_millis(300));
        let n = sent.load(std::sync::atomic::Ordering::SeqCst);
        assert!(n < 128 << 20, "{what}: the server got {n} bytes out: the manifest was read on");
    }
}

/// A registry (or a proxy before it) whose 500 echoes the request, the
/// `Authorization: Basic` header with it, and a megabyte more: neither the
/// password, nor its base64, nor the header reaches stdout or stderr, and
/// the message is short.
#[test]
fn a_500_echoing_the_authorization_header_prints_no_credential() {
    let (dir, tgz) = setup();
    let (user, password) = ("ci-robot", "Correct-Horse-Battery-Staple-42");
    let (addr, seen) = serve(40, |head, _, c| {
        if challenged(head, c) {
            return;
        }
        let mut body = format!("upstream error, request was:\n{head}\n").into_bytes();
        body.extend(std::iter::repeat_n(b'.', 1 << 20));
        respond(c, "500 Internal Server Error", &[("Content-Type", "text/plain")], &body);
    });
    let env = [("CATALYST_REGISTRY_USERNAME", user), ("CATALYST_REGISTRY_PASSWORD", password)];
    let basic = common::base64_encode(format!("{user}:{password}").as_bytes());
    for format in ["human", "json"] {
        let r = push(dir.path(), &tgz, &addr, &["--format", format], &env, None);
        assert_eq!(r.code, Some(1), "{format}: {}", r.all());
        assert!(
            seen.lock().unwrap().iter().any(|h| h.contains(&format!("Basic {basic}"))),
            "the server must have had the credentials to echo"
        );
        let all = r.all();
        assert!(all.contains("HTTP 500 Internal Server Error: upstream error"), "{format}: {all}");
        for leak in [password, basic.as_str(), basic.trim_end_matches('='), "Basic "] {
            assert!(!all.contains(leak), "{format}: `{leak}` was printed:\n{all}");
        }
        assert!(!all.to_ascii_lowercase().contains("authorization: basic"), "{format}: {all}");
        assert!(all.len() < 1500, "{format}: {} bytes of output:\n{all}", all.len());
        assert!(all.contains(" bytes)"), "{format}: the excerpt says how much was cut: {all}");
    }
}

/// Escape sequences, C1 controls and bidirectional overrides in a server's
/// error body are escaped in the message, never sent raw.
#[test]
fn control_characters_in_a_server_body_are_escaped() {
    let (dir, tgz) = setup();
    let (addr, _) = serve(40, |_, _, c| {
        let body = "\x1b]0;owned\x07\x1b[2J\u{9b}31mred\u{202e}exe.txt\r\nend".as_bytes();
        respond(c, "500 Internal Server Error", &[], body);
    });
    for format in ["human", "json"] {
        let r = push(dir.path(), &tgz, &addr, &["--format", format], &[], None);
        assert_eq!(r.code, Some(1), "{format}: {}", r.all());
        let all = r.all();
        for raw in ['\x1b', '\x07', '\u{9b}', '\u{202e}', '\r'] {
            assert!(!all.contains(raw), "{format}: raw {raw:?} printed:\n{all:?}");
        }
        let escaped = r"\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31mred\u{202e}exe.txt\r\nend";
        let shown = if format == "json" { escaped.replace('\\', r"\\") } else { escaped.to_string() };
        assert!(all.contains(&shown), "{format}: {all}");
    }
}

/// A registry that takes the push (blobs and manifest) and then fails to
/// give the manifest back: `push` says the chart was published, with its
/// reference and digest, and what failed; never "nothing was pushed".
#[test]
fn push_reports_what_was_published_when_the_pull_back_fails() {
    let (dir, tgz) = setup();
    // Manifests pushed, by repository (`/v2/<repository>`).
    let stored: Arc<Mutex<BTreeMap<String, Vec<u8>>>> = Arc::default();
    let manifests = stored.clone();
    let (addr, _) = serve(80, move |head, body, c| {
        let (method, path) = request_line(head);
        let repo = path.split("/manifests/").next().unwrap_or_default().split("/blobs/").next().unwrap_or_default();
        let pushed = manifests.lock().unwrap().contains_key(repo);
        match (method.as_str(), path.as_str()) {
            ("GET", p) if p.contains("/manifests/") && !pushed => {
                respond(c, "404 Not Found", &[], br#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#)
            }
            ("GET", p) if p.contains("/manifests/") => {
                respond(c, "500 Internal Server Error", &[], b"storage backend unavailable")
            }
            ("HEAD", _) => respond(c, "404 Not Found", &[], b""),
            ("POST", p) if p.ends_with("/blobs/uploads/") => {
                respond(c, "202 Accepted", &[("Location", &format!("{repo}/blobs/uploads/u1?state=x"))], b"")
            }
            ("PUT", p) if p.contains("/blobs/uploads/u1?state=x&digest=sha256%3A") => {
                respond(c, "201 Created", &[], b"")
            }
            ("PUT", p) if p.contains("/manifests/") => {
                manifests.lock().unwrap().insert(repo.to_string(), body.to_vec());
                respond(c, "201 Created", &[], b"");
            }
            _ => respond(c, "400 Bad Request", &[], b"unexpected"),
        }
    });
    let reference = format!("oci://{addr}/charts/demo:1.0.0");
    let r = push(dir.path(), &tgz, &addr, &[], &[], None);
    assert_eq!(r.code, Some(1), "{}", r.all());
    let digest = catalyst_oci::sha256_digest(&stored.lock().unwrap()["/v2/charts/demo"]);
    let published = format!("{reference}@{digest}");
    assert!(
        r.stderr.contains(&format!("{published} was published, but pulling it back to check it failed"))
            && r.stderr.contains("HTTP 500 Internal Server Error: storage backend unavailable"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(&format!("published {published}, but the check after the push failed")), "{}", r.stderr);
    assert!(!r.all().contains("nothing was pushed"), "{}", r.all());
    // The same in JSON, to another repository.
    let to = format!("oci://{addr}/other");
    let r =
        run(dir.path(), &[], &["push", tgz.to_str().unwrap(), "--to", &to, "--plain-http", "--format", "json"], None);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    assert_eq!(doc["pushed"]["outcome"], "published-unchecked", "{doc}");
    assert_eq!(doc["pushed"]["digest"], digest.as_str(), "the same chart, the same manifest: {doc}");
    assert_eq!(doc["errors"], 1, "{doc}");
}
