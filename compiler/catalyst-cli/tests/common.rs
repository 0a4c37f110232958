//! Helpers shared by the CLI tests: the real binary, the repository, the
//! snapshot, tree comparison.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use catalyst_testkit::{
    DOCKER_REGISTRY, FCGIWRAP, GIT_HTTP_BACKEND, GIT_SHELL, HELM3, HELM4, HTPASSWD, NGINX, PRLIMIT, PYTHON3, SSHD,
};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

pub fn catalyst(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_catalyst"))
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        .env_remove("CATALYST_JOBS")
        .args(["--color", "never"])
        .args(args)
        .output()
        .expect("run catalyst")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The snapshot corpus (../shared/openova-snapshot); where it is missing the
/// test fails (`None` only where a developer allowed skips).
pub fn snapshot() -> Option<PathBuf> {
    catalyst_testkit::shared("openova-snapshot")
}

/// Every regular file under `dir`, by relative path.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

/// Asserts two trees are equal, naming the first differing file.
pub fn assert_same_tree(expected: &BTreeMap<String, Vec<u8>>, actual: &BTreeMap<String, Vec<u8>>, what: &str) {
    let ek: Vec<_> = expected.keys().collect();
    let ak: Vec<_> = actual.keys().collect();
    assert_eq!(ek, ak, "{what}: file lists differ");
    for (k, v) in expected {
        if actual[k] != *v {
            panic!("{what}: {k} differs\n--- expected\n{}\n--- actual\n{}", text(v), text(&actual[k]));
        }
    }
}

/// A copy of the repository catalog (catalog.yaml, platform/, products/)
/// under `dir`, for tests that break it.
pub fn catalog_copy(dir: &Path) -> PathBuf {
    let cat = dir.join("cat");
    for part in ["platform", "products", "infra"] {
        for (rel, bytes) in tree(&repo().join(part)) {
            let p = cat.join(part).join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
    }
    std::fs::copy(repo().join("catalog.yaml"), cat.join("catalog.yaml")).unwrap();
    cat
}

/// Puts the committed spec of `clusters/<fqdn>` (`sovereign`, that path)
/// into the copied catalog `cat`, where `render` finds it.
pub fn add_spec(cat: &Path, sovereign: &str) {
    let spec = cat.join(sovereign).join("sovereign.yaml");
    std::fs::create_dir_all(spec.parent().unwrap()).unwrap();
    std::fs::copy(repo().join(sovereign).join("sovereign.yaml"), &spec).unwrap();
}

/// Appends to, or replaces text in, a file of a copied catalog.
pub fn patch(file: &Path, from: &str, to: &str) {
    let t = std::fs::read_to_string(file).unwrap();
    assert!(t.contains(from), "{} does not contain {from:?}", file.display());
    std::fs::write(file, t.replacen(from, to, 1)).unwrap();
}

/// A real `docker-registry` (distribution 2.8, Debian package) on a free
/// loopback port with htpasswd (bcrypt) auth, for the life of the value.
pub struct TestRegistry {
    pub addr: String,
    pub user: String,
    pub password: String,
    /// A Docker config directory with the credentials (for DOCKER_CONFIG).
    pub docker_config: PathBuf,
    _dir: tempfile::TempDir,
    child: std::process::Child,
}

impl TestRegistry {
    /// Where docker-registry is missing the test fails (`None` only where a
    /// developer allowed skips: catalyst_testkit).
    pub fn start() -> Option<TestRegistry> {
        Self::prepare().map(PendingRegistry::serve)
    }

    /// Everything but the server: port, credentials, Docker config. The
    /// registry starts with [`PendingRegistry::serve`] (late, for tests of
    /// what happens while it is not there yet).
    pub fn prepare() -> Option<PendingRegistry> {
        let bin = DOCKER_REGISTRY.require()?;
        let htpasswd = HTPASSWD.require()?;
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr = format!("127.0.0.1:{port}");
        let (user, password) = ("catalyst".to_string(), format!("pw-{port}-{}", std::process::id()));
        let ht = Command::new(htpasswd).args(["-Bbn", &user, &password]).output().expect("htpasswd");
        std::fs::write(dir.path().join("htpasswd"), &ht.stdout).unwrap();
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\nauth:\n  htpasswd:\n    realm: catalyst-test\n    path: {ht}\n",
            root = dir.path().join("data").display(),
            ht = dir.path().join("htpasswd").display()
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let docker_config = dir.path().join("docker");
        std::fs::create_dir_all(&docker_config).unwrap();
        let auth = base64_encode(format!("{user}:{password}").as_bytes());
        std::fs::write(docker_config.join("config.json"), format!(r#"{{"auths":{{"{addr}":{{"auth":"{auth}"}}}}}}"#))
            .unwrap();
        Some(PendingRegistry { bin, addr, user, password, docker_config, dir })
    }

    pub fn oci(&self, path: &str) -> String {
        format!("oci://{}/{path}", self.addr)
    }

    /// The digest the registry reports for `repo`'s manifest `reference`
    /// (asked with curl: an oracle independent of catalyst's client).
    pub fn manifest_digest(&self, repo: &str, reference: &str) -> String {
        let head = Command::new("curl")
            .args(["-sfI", "-u", &format!("{}:{}", self.user, self.password)])
            .args(["-H", "Accept: application/vnd.oci.image.manifest.v1+json"])
            .arg(format!("http://{}/v2/{repo}/manifests/{reference}", self.addr))
            .output()
            .unwrap();
        text(&head.stdout)
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("docker-content-digest: ").map(|d| d.trim().to_string()))
            .expect("a Docker-Content-Digest header")
    }
}

impl TestRegistry {
    /// GET of a registry path (`/v2/…`) with curl, authenticated.
    pub fn get(&self, path: &str, accept: &str) -> Vec<u8> {
        let o = Command::new("curl")
            .args(["-sf", "-u", &format!("{}:{}", self.user, self.password), "-H", &format!("Accept: {accept}")])
            .arg(format!("http://{}{path}", self.addr))
            .output()
            .unwrap();
        assert!(o.status.success(), "curl {path}");
        o.stdout
    }

    /// The in-toto statement of `predicate_type` attached to `repo@digest`
    /// under cosign's `.att` tag, its DSSE signature checked with `openssl`
    /// against `public_pem` (a verifier catalyst did not write).
    pub fn attestation(&self, repo: &str, digest: &str, predicate_type: &str, public_pem: &Path) -> serde_json::Value {
        let tag = format!("{}.att", digest.replace(':', "-"));
        let m: serde_json::Value = serde_json::from_slice(
            &self.get(&format!("/v2/{repo}/manifests/{tag}"), "application/vnd.oci.image.manifest.v1+json"),
        )
        .unwrap();
        let layer = m["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["annotations"]["predicateType"] == predicate_type)
            .unwrap_or_else(|| panic!("no {predicate_type} attestation: {m}"));
        let envelope: serde_json::Value = serde_json::from_slice(
            &self.get(&format!("/v2/{repo}/blobs/{}", layer["digest"].as_str().unwrap()), "*/*"),
        )
        .unwrap();
        let payload = base64_decode(envelope["payload"].as_str().unwrap());
        let payload_type = envelope["payloadType"].as_str().unwrap();
        let mut pae = format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).into_bytes();
        pae.extend_from_slice(&payload);
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("pae"), &pae).unwrap();
        std::fs::write(t.path().join("sig"), base64_decode(envelope["signatures"][0]["sig"].as_str().unwrap()))
            .unwrap();
        let v = Command::new("openssl")
            .args(["dgst", "-sha256", "-verify"])
            .arg(public_pem)
            .arg("-signature")
            .arg(t.path().join("sig"))
            .arg(t.path().join("pae"))
            .output()
            .unwrap();
        assert!(text(&v.stdout).contains("Verified OK"), "openssl: {}{}", text(&v.stdout), text(&v.stderr));
        let statement: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(statement["predicateType"], predicate_type);
        assert_eq!(statement["subject"][0]["digest"]["sha256"], digest.trim_start_matches("sha256:"), "{statement}");
        statement
    }
}

/// Standard base64, decoded (the tests' own, not catalyst's).
pub fn base64_decode(s: &str) -> Vec<u8> {
    let o = Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(s.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(o.status.success(), "base64 -d");
    o.stdout
}

/// A registry prepared but not started.
pub struct PendingRegistry {
    bin: PathBuf,
    pub addr: String,
    pub user: String,
    pub password: String,
    pub docker_config: PathBuf,
    dir: tempfile::TempDir,
}

impl PendingRegistry {
    /// The registry serving HTTPS with this certificate and key.
    pub fn serve_with_tls(self, cert: &Path, key: &Path) -> TestRegistry {
        let config = self.dir.path().join("config.yml");
        let addr_line = format!("  addr: {}\n", self.addr);
        let tls = format!("{addr_line}  tls:\n    certificate: {}\n    key: {}\n", cert.display(), key.display());
        let text = std::fs::read_to_string(&config).unwrap().replace(&addr_line, &tls);
        std::fs::write(&config, text).unwrap();
        self.serve()
    }

    pub fn serve(self) -> TestRegistry {
        let mut cmd = Command::new(&self.bin);
        // The registry reads REGISTRY_* variables as configuration.
        for (k, _) in std::env::vars() {
            if k.starts_with("REGISTRY_") {
                cmd.env_remove(k);
            }
        }
        let child = cmd
            .arg("serve")
            .arg(self.dir.path().join("config.yml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start docker-registry");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::net::TcpStream::connect(&self.addr).is_err() {
            assert!(std::time::Instant::now() < deadline, "docker-registry did not start on {}", self.addr);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        TestRegistry {
            addr: self.addr,
            user: self.user,
            password: self.password,
            docker_config: self.docker_config,
            _dir: self.dir,
            child,
        }
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn base64_encode(b: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in b.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Runs catalyst with extra environment variables.
pub fn catalyst_env(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_catalyst"));
    cmd.current_dir(cwd).env_remove("NO_COLOR").env_remove("CATALYST_JOBS").args(["--color", "never"]).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run catalyst")
}

/// A real static HTTP server (Python's http.server) on a free loopback
/// port, serving `dir`: a Helm chart repository is static files.
pub struct TestHttpServer {
    pub url: String,
    child: std::process::Child,
}

impl TestHttpServer {
    pub fn start(dir: &Path) -> TestHttpServer {
        // No caller can go on without its chart repository: never a skip.
        let python = PYTHON3.need();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(python)
            .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 http.server");
        let addr = format!("127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(std::time::Instant::now() < deadline, "http.server did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        TestHttpServer { url: format!("http://{addr}"), child }
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestHttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The tests' local Sigstore: a STAND-IN for the public instance (Fulcio,
/// Rekor, a CT log) and for a CI's OIDC issuer, which these machines cannot
/// reach. `tests/sigstore/server.js` serves sigstore-js's own doubles
/// (`@sigstore/mock`: real keys, certificates, SCTs, signed entry
/// timestamps, inclusion proofs) on loopback, refuses identity tokens its
/// issuer did not sign, and writes its trust root as a `trusted_root.json`.
pub struct TestSigstore {
    /// Fulcio and Rekor, both.
    pub url: String,
    /// The OIDC issuer of the tokens [`TestSigstore::token`] mints.
    pub issuer: String,
    pub trusted_root: PathBuf,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl TestSigstore {
    pub fn start() -> Option<TestSigstore> {
        let node = catalyst_testkit::NODE.require()?;
        let modules = catalyst_testkit::SIGSTORE_JS.require()?;
        let dir = tempfile::tempdir().unwrap();
        let trusted_root = dir.path().join("trusted_root.json");
        let mut child = Command::new(node)
            .arg(repo().join("compiler/catalyst-cli/tests/sigstore/server.js"))
            .arg(&trusted_root)
            .env("NODE_PATH", node_modules(&modules))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("node tests/sigstore/server.js");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("the local Sigstore did not start ({e}): {line:?}"));
        Some(TestSigstore {
            url: v["url"].as_str().unwrap().to_string(),
            issuer: v["issuer"].as_str().unwrap().to_string(),
            trusted_root,
            child,
            _dir: dir,
        })
    }

    /// An identity token for `subject`, as a CI's token endpoint hands one out.
    pub fn token(&self, subject: &str) -> String {
        let o = Command::new("curl")
            .args(["-sSf", "--max-time", "20", "-H", "Authorization: bearer stand-in"])
            .arg(format!("{}/oidc/token?sub={subject}", self.url))
            .output()
            .expect("curl");
        assert!(o.status.success(), "no token: {}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["value"].as_str().unwrap().to_string()
    }

    /// `--fulcio-url`, `--rekor-url` and `--trusted-root` for this stand-in.
    pub fn service_args(&self) -> Vec<String> {
        let root = self.trusted_root.to_string_lossy().into_owned();
        ["--fulcio-url", &self.url, "--rekor-url", &self.url, "--trusted-root", &root].map(str::to_string).to_vec()
    }

    /// The environment GitHub Actions gives a job that may ask for a token:
    /// the stand-in's token endpoint behind `ACTIONS_ID_TOKEN_REQUEST_URL`.
    pub fn actions_env(&self, subject: &str) -> Vec<(String, String)> {
        vec![
            ("ACTIONS_ID_TOKEN_REQUEST_URL".into(), format!("{}/oidc/token?sub={subject}", self.url)),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(), "stand-in".into()),
        ]
    }

    /// sigstore-js's verifier (`tests/sigstore/verify.js`): the independent
    /// check of a bundle against `trusted_root`; `args` as verify.js takes
    /// them (`--identity`, `--issuer`, `--key`, `--artifact`).
    pub fn verify_independently(trusted_root: &Path, bundle: &Path, args: &[&str]) -> Output {
        let node = catalyst_testkit::NODE.need();
        let modules = catalyst_testkit::SIGSTORE_JS.need();
        Command::new(node)
            .arg(repo().join("compiler/catalyst-cli/tests/sigstore/verify.js"))
            .arg(trusted_root)
            .arg(bundle)
            .args(args)
            .env("NODE_PATH", node_modules(&modules))
            .output()
            .expect("node tests/sigstore/verify.js")
    }
}

/// `…/node_modules` of the file [`catalyst_testkit::SIGSTORE_JS`] names.
fn node_modules(marker: &Path) -> PathBuf {
    marker.ancestors().find(|p| p.ends_with("node_modules")).expect("a file under node_modules").to_path_buf()
}

impl Drop for TestSigstore {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real smart-HTTP Git server on a free loopback port: nginx with basic
/// auth in front of fcgiwrap running `git http-backend`, serving bare
/// repositories created with [`TestGitServer::create`].
pub struct TestGitServer {
    pub url: String,
    pub user: String,
    pub password: String,
    dir: tempfile::TempDir,
    children: Vec<std::process::Child>,
}

impl TestGitServer {
    pub fn start() -> Option<TestGitServer> {
        Self::start_with(false)
    }

    /// The same server over HTTPS, with a self-signed certificate for
    /// 127.0.0.1 at [`TestGitServer::ca`].
    pub fn start_tls() -> Option<TestGitServer> {
        Self::start_with(true)
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn start_with(tls: bool) -> Option<TestGitServer> {
        let nginx = NGINX.require()?;
        let fcgiwrap = FCGIWRAP.require()?;
        let backend = GIT_HTTP_BACKEND.require()?;
        let htpasswd = HTPASSWD.require()?;
        let backend = backend.display();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("repos")).unwrap();
        std::fs::create_dir_all(d.join("tmp")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (user, password) = ("gitops".to_string(), format!("git-pw-{port}"));
        let ht = Command::new(htpasswd).args(["-bnm", &user, &password]).output().expect("htpasswd");
        std::fs::write(d.join("htpasswd"), &ht.stdout).unwrap();
        let dd = d.display();
        if tls {
            let o = Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=127.0.0.1",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                    "-keyout",
                ])
                .arg(d.join("key.pem"))
                .arg("-out")
                .arg(d.join("cert.pem"))
                .output()
                .expect("openssl");
            assert!(o.status.success(), "openssl req: {}", text(&o.stderr));
        }
        let listen = if tls {
            format!("{port} ssl;\n    ssl_certificate {dd}/cert.pem;\n    ssl_certificate_key {dd}/key.pem")
        } else {
            port.to_string()
        };
        let conf = format!(
            "daemon off;\nuser root;\nworker_processes 1;\npid {dd}/nginx.pid;\nerror_log {dd}/error.log;\nevents {{ worker_connections 64; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {dd}/tmp; fastcgi_temp_path {dd}/tmp; proxy_temp_path {dd}/tmp; uwsgi_temp_path {dd}/tmp; scgi_temp_path {dd}/tmp;\n  server {{\n    listen 127.0.0.1:{listen};\n    client_max_body_size 0;\n    location / {{\n      auth_basic \"git\";\n      auth_basic_user_file {dd}/htpasswd;\n      fastcgi_pass unix:{dd}/fcgi.sock;\n      include /etc/nginx/fastcgi_params;\n      fastcgi_param SCRIPT_FILENAME {backend};\n      fastcgi_param GIT_PROJECT_ROOT {dd}/repos;\n      fastcgi_param GIT_HTTP_EXPORT_ALL \"\";\n      fastcgi_param REMOTE_USER $remote_user;\n      fastcgi_param PATH_INFO $uri;\n    }}\n  }}\n}}\n"
        );
        std::fs::write(d.join("nginx.conf"), conf).unwrap();
        let fcgi = Command::new(fcgiwrap)
            .arg("-s")
            .arg(format!("unix:{dd}/fcgi.sock"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("fcgiwrap");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !d.join("fcgi.sock").exists() {
            assert!(std::time::Instant::now() < deadline, "fcgiwrap did not start");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let nginx = Command::new(nginx)
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .arg("-p")
            .arg(d)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nginx");
        let addr = format!("127.0.0.1:{port}");
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(std::time::Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let scheme = if tls { "https" } else { "http" };
        Some(TestGitServer { url: format!("{scheme}://{addr}"), user, password, dir, children: vec![fcgi, nginx] })
    }

    /// A new empty bare repository; its URL.
    pub fn create(&self, name: &str) -> String {
        let o = Command::new("git")
            .args(["init", "-q", "--bare", "-b", "main"])
            .arg(self.dir.path().join("repos").join(name))
            .output()
            .unwrap();
        assert!(o.status.success());
        format!("{}/{name}", self.url)
    }

    /// The bare repository on disk (to inspect what arrived).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join("repos").join(name)
    }
}

impl TestGitServer {
    /// The processes the server started (fcgiwrap, nginx's master).
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(std::process::Child::id).collect()
    }
}

impl Drop for TestGitServer {
    fn drop(&mut self) {
        for c in &mut self.children {
            // SIGTERM first: nginx's master then stops its worker, which a
            // SIGKILL of the master would leave running for good.
            let pid = libc::pid_t::try_from(c.id()).unwrap();
            // SAFETY: kill(2) on our own child, which is not reaped yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while matches!(c.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A real SSH Git server on a free loopback port: OpenSSH's sshd with one
/// authorized key whose sessions run `git-shell`, serving bare
/// repositories by absolute path.
pub struct TestSshGitServer {
    pub port: u16,
    /// The client's private key, and a known_hosts file with the server.
    pub client_key: PathBuf,
    pub known_hosts: PathBuf,
    dir: tempfile::TempDir,
    child: std::process::Child,
}

impl TestSshGitServer {
    pub fn start() -> Option<TestSshGitServer> {
        let sshd = SSHD.require()?;
        let git_shell = GIT_SHELL.require()?;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        for k in ["host_key", "client_key"] {
            let o = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(d.join(k))
                .output()
                .unwrap();
            assert!(o.status.success());
        }
        let client_pub = std::fs::read_to_string(d.join("client_key.pub")).unwrap();
        std::fs::create_dir_all(d.join("repos")).unwrap();
        std::fs::write(
            d.join("authorized_keys"),
            format!(
                "command=\"{} -c \\\"$SSH_ORIGINAL_COMMAND\\\"\",no-port-forwarding,no-pty {client_pub}",
                git_shell.display()
            ),
        )
        .unwrap();
        let dd = d.display();
        std::fs::write(
            d.join("sshd_config"),
            format!("Port {port}\nListenAddress 127.0.0.1\nHostKey {dd}/host_key\nPidFile {dd}/sshd.pid\nAuthorizedKeysFile {dd}/authorized_keys\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"),
        )
        .unwrap();
        std::fs::create_dir_all("/run/sshd").ok();
        let child = Command::new(sshd)
            .args(["-D", "-f"])
            .arg(d.join("sshd_config"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("sshd");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "sshd did not start");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let host_pub = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        let mut f = host_pub.split_whitespace();
        std::fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {} {}\n", f.next().unwrap(), f.next().unwrap()),
        )
        .unwrap();
        Some(TestSshGitServer {
            port,
            client_key: d.join("client_key"),
            known_hosts: d.join("known_hosts"),
            dir,
            child,
        })
    }

    /// A new empty bare repository; its ssh:// URL.
    pub fn create(&self, name: &str) -> String {
        let path = self.dir.path().join("repos").join(name);
        let o = Command::new("git").args(["init", "-q", "--bare", "-b", "main"]).arg(&path).output().unwrap();
        assert!(o.status.success());
        format!("ssh://root@127.0.0.1:{}{}", self.port, path.display())
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join("repos").join(name)
    }
}

impl Drop for TestSshGitServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new Git repository at `dir` (made with git2, like every repository of
/// the tests).
pub fn git_init(dir: &Path) {
    let repo = git2::Repository::init(dir).unwrap();
    let mut cfg = repo.config().unwrap();
    cfg.set_str("user.name", "catalyst tests").unwrap();
    cfg.set_str("user.email", "tests@example.org").unwrap();
}

/// Commits the whole working tree (additions, changes and deletions) and
/// tags the commit; a fixed time keeps commit ids stable.
pub fn git_commit_all(dir: &Path, message: &str, tag: Option<&str>) -> git2::Oid {
    let repo = git2::Repository::open(dir).unwrap();
    let mut index = repo.index().unwrap();
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None).unwrap();
    index.update_all(["*"], None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::new("catalyst tests", "tests@example.org", &git2::Time::new(1_700_000_000, 0)).unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    let id = repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents).unwrap();
    if let Some(t) = tag {
        repo.tag_lightweight(t, &repo.find_object(id, None).unwrap(), true).unwrap();
    }
    id
}

/// Copies the golden test catalog (golden/_catalog) into `root`.
pub fn golden_catalog_into(root: &Path) {
    copy_tree(&repo().join("golden/_catalog"), root);
}

/// The golden test catalog with what every render reads at the paths this
/// repository has them (the spec schema, the Blueprint template): the
/// start of a test fleet.
pub fn golden_workspace_into(root: &Path) {
    golden_catalog_into(root);
    for rel in ["schemas/sovereign.schema.json", "compiler/catalyst-render/src/objects.rs"] {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::copy(repo().join(rel), p).unwrap();
    }
}

/// Copies every file under `from` to the same place under `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    for (rel, bytes) in tree(from) {
        let p = to.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

/// A solo Hetzner Sovereign `<name>.omani.works` (pool domain) for the
/// golden catalog; `rest` is appended under `spec:` (components,
/// blueprints), indented by two spaces.
pub fn solo_spec(name: &str, rest: &str) -> String {
    format!(
        "apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata:
  name: {name}
spec:
  org:
    name: Fleet {name}
    email: admin@{name}.example.org
  topology:
    shape: solo
    regions:
      - provider: hetzner
        cloudRegion: nbg1
        controlPlane: {{sku: cpx32}}
        workers: {{sku: cpx32, count: 2}}
  credentials:
    hetzner:
      token:
        secretRef: {{name: hcloud-credentials, key: token}}
    sshPublicKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGolden0000000000000000000000000000000 ops@example.org
  domain:
    mode: pool
    pool: omani.works
    subdomain: {name}
  gitops:
    url: https://git.example.org/sovereigns/{name}.git
{rest}"
    )
}

/// Every entry under `dir` by relative path: a file's bytes, a symbolic
/// link's target (not followed), nothing for a folder, a marker for a FIFO
/// or device (never opened): to see that nothing was written anywhere.
pub fn entries(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let t = e.file_type().unwrap();
            let content = if t.is_symlink() {
                std::fs::read_link(&p).unwrap().into_os_string().into_encoded_bytes()
            } else if t.is_dir() {
                stack.push(p);
                Vec::new()
            } else if t.is_file() {
                std::fs::read(&p).unwrap_or_default()
            } else {
                // A FIFO or a device: opening it could block.
                b"(special file)".to_vec()
            };
            out.insert(rel, content);
        }
    }
    out
}

/// The real helm binaries, Helm 3 then Helm 4 (scripts/setup fetches both).
/// Where one is missing the test fails; where a developer allowed skips,
/// the ones there are.
pub fn helms() -> Vec<PathBuf> {
    [&HELM3, &HELM4].into_iter().filter_map(|h| h.require()).collect()
}

/// What a bounded run of a command gave.
pub struct Bounded {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: std::time::Duration,
    pub timed_out: bool,
}

/// util-linux's prlimit: hostile runs are memory-capped through it. Where it
/// is missing the test fails (where a developer allowed skips, the runs are
/// not capped).
pub fn prlimit() -> Option<&'static Path> {
    static FOUND: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    FOUND.get_or_init(|| PRLIMIT.require()).as_deref()
}

/// The catalyst binary as a command, its address space capped at `memory`
/// bytes where prlimit is installed (prlimit execs it: the child is
/// catalyst itself), in `cwd`, without colour or the caller's
/// NO_COLOR/CATALYST_JOBS, stdin closed.
pub fn catalyst_command(cwd: &Path, memory: Option<u64>) -> Command {
    let bin = env!("CARGO_BIN_EXE_catalyst");
    let mut cmd = match memory.and_then(|m| prlimit().map(|p| (m, p))) {
        Some((m, p)) => {
            let mut c = Command::new(p);
            c.arg(format!("--as={m}")).arg("--").arg(bin);
            c
        }
        None => Command::new(bin),
    };
    cmd.current_dir(cwd)
        .env_remove("NO_COLOR")
        .env_remove("CATALYST_JOBS")
        .args(["--color", "never"])
        .stdin(std::process::Stdio::null());
    cmd
}

/// Runs `cmd`, draining its output while it runs (a full pipe must not
/// look like a hang), killed after `timeout`.
pub fn run_killed_after(mut cmd: Command, timeout: std::time::Duration) -> Bounded {
    use std::io::Read as _;
    use std::process::Stdio;
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = std::time::Instant::now();
    let mut child = cmd.spawn().expect("run catalyst");
    let drain = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = r.read_to_end(&mut b);
            b
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > timeout {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    Bounded {
        code: status.code(),
        stdout: text(&out.join().unwrap()),
        stderr: text(&err.join().unwrap()),
        elapsed: start.elapsed(),
        timed_out,
    }
}

/// Writes `text` to `path`, creating the folders above it.
pub fn write_file(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Runs `pyspdxtools` (validation only) over `doc`: whether it found the
/// document valid, and what it said.
pub fn pyspdxtools(tool: &Path, dir: &Path, doc: &serde_json::Value) -> (bool, String) {
    // The tool picks the format by the file's ending.
    let file = dir.join("sbom.spdx.json");
    std::fs::write(&file, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    let o = Command::new(tool).arg("--infile").arg(&file).output().unwrap();
    let out = format!("{}{}", text(&o.stdout), text(&o.stderr));
    (o.status.success() && !out.contains("invalid"), out)
}

/// The real OpenTofu (or Terraform) agrees: `plan` over the module's
/// variables accepts every rendered file.
pub fn oracle_plan(dirs: &[PathBuf]) {
    let Some(bin) = catalyst_testkit::TOFU.require() else { return };
    for dir in dirs {
        let f = dir.join("tofu/hetzner.auto.tfvars.json");
        if !f.is_file() {
            continue;
        }
        let w = tempfile::tempdir().unwrap();
        std::fs::copy(repo().join("infra/hetzner/variables.tf"), w.path().join("variables.tf")).unwrap();
        std::fs::write(w.path().join("out.tf"), "output \"fqdn\" { value = var.sovereign_fqdn }\n").unwrap();
        std::fs::copy(&f, w.path().join("x.auto.tfvars.json")).unwrap();
        let run = |args: &[&str]| {
            std::process::Command::new(&bin)
                .current_dir(w.path())
                .env("TF_CLI_CONFIG_FILE", "/dev/null")
                .env("TF_VAR_hcloud_token", "a".repeat(64))
                .env("TF_VAR_registrar_token", "b".repeat(40))
                .args(args)
                .output()
                .unwrap()
        };
        let o = run(&["init", "-input=false", "-no-color"]);
        assert!(o.status.success(), "{} init: {}", bin.display(), text(&o.stderr));
        let o = run(&["plan", "-input=false", "-no-color"]);
        assert!(
            o.status.success(),
            "{} plan refuses {}:\n{}{}",
            bin.display(),
            f.display(),
            text(&o.stdout),
            text(&o.stderr)
        );
    }
}
