//! `catalyst publish` against a real smart-HTTP Git server (nginx +
//! fcgiwrap + git http-backend, basic auth).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;

/// A workspace with rendered Sovereigns (copies of the examples).
fn rendered(root: &Path, fqdns: &[&str]) -> Vec<PathBuf> {
    let cat = repo().to_string_lossy().into_owned();
    let mut out = Vec::new();
    for f in fqdns {
        let d = root.join("clusters").join(f);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(repo().join("clusters").join(f).join("sovereign.yaml"), d.join("sovereign.yaml")).unwrap();
        out.push(d);
    }
    let o = catalyst(root, &["--catalog", &cat, "render"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    out
}

/// The files under `path` on `branch`, read with git2 from a fresh clone.
fn fresh_clone_tree(server: &TestGitServer, url: &str, path: &str) -> (BTreeMap<String, Vec<u8>>, usize) {
    let t = tempfile::tempdir().unwrap();
    let mut cb = git2::RemoteCallbacks::new();
    let (u, p) = (server.user.clone(), server.password.clone());
    cb.credentials(move |_, _, _| git2::Cred::userpass_plaintext(&u, &p));
    let mut fo = git2::FetchOptions::new();
    fo.remote_callbacks(cb);
    let repo = git2::build::RepoBuilder::new().fetch_options(fo).clone(url, t.path()).expect("clone");
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    let mut commits = 0;
    let mut walk = repo.revwalk().unwrap();
    walk.push(head.id()).unwrap();
    for _ in walk {
        commits += 1;
    }
    (tree(&t.path().join(path)), commits)
}

fn publish(root: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String) {
    let cache = root.join(".cache").to_string_lossy().into_owned();
    let mut e: Vec<(&str, &str)> = env.to_vec();
    e.push(("CATALYST_CACHE_DIR", cache.as_str()));
    let o = catalyst_env(root, &e, &[&["--catalog", &repo().to_string_lossy()], args].concat());
    (o.status.code().unwrap_or(-1), format!("{}{}", text(&o.stdout), text(&o.stderr)))
}

#[test]
fn publish_makes_the_subtree_equal_commits_once_and_removes_files() {
    let Some(server) = TestGitServer::start() else { return };
    let url = server.create("fleet.git");
    let t = tempfile::tempdir().unwrap();
    let dirs = rendered(t.path(), &["omantel.omani.works"]);
    let env = [("CATALYST_GIT_USERNAME", server.user.as_str()), ("CATALYST_GIT_PASSWORD", server.password.as_str())];
    let (code, out) = publish(t.path(), &env, &["publish", "--repo", &url]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("committed omantel.omani.works"), "{out}");
    let (files, commits) = fresh_clone_tree(&server, &url, "clusters/omantel.omani.works");
    assert_same_tree(&tree(&dirs[0]), &files, "the published subtree");
    assert_eq!(commits, 1);

    // Again: no change, no commit.
    let (code, out) = publish(t.path(), &env, &["publish", "--repo", &url]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("unchanged"), "{out}");
    assert_eq!(fresh_clone_tree(&server, &url, "clusters/omantel.omani.works").1, 1);

    // A file removed from the render is removed from the repository.
    let grafana = "hz-fsn-mgt-prod/blueprints/bp-grafana.yaml";
    assert!(dirs[0].join(grafana).exists());
    let spec = dirs[0].join("sovereign.yaml");
    std::fs::write(
        &spec,
        std::fs::read_to_string(&spec).unwrap().replace("families: [insights, fabric]", "families: [fabric]"),
    )
    .unwrap();
    let o = catalyst(t.path(), &["--catalog", &repo().to_string_lossy(), "render"]);
    assert!(o.status.success());
    assert!(!dirs[0].join(grafana).exists());
    let (code, out) = publish(t.path(), &env, &["publish", "--repo", &url]);
    assert_eq!(code, 0, "{out}");
    let (files, commits) = fresh_clone_tree(&server, &url, "clusters/omantel.omani.works");
    assert_same_tree(&tree(&dirs[0]), &files, "after the second render");
    assert_eq!(commits, 2);
    assert!(!files.contains_key(grafana));
}

#[test]
fn concurrent_publishes_of_two_sovereigns_to_one_monorepo_both_land() {
    let Some(server) = TestGitServer::start() else { return };
    let url = server.create("mono.git");
    let t = tempfile::tempdir().unwrap();
    let dirs = rendered(t.path(), &["omantel.omani.works", "cloud.meridian-bank.example.com"]);
    let cat = repo().to_string_lossy().into_owned();
    // Two jobs, each with its own cache (as on two CI runners), at once.
    let spawn = |dir: &Path, n: usize| {
        let cache = t.path().join(format!(".cache-{n}"));
        std::process::Command::new(env!("CARGO_BIN_EXE_catalyst"))
            .current_dir(t.path())
            .env("CATALYST_GIT_USERNAME", &server.user)
            .env("CATALYST_GIT_PASSWORD", &server.password)
            .env("CATALYST_CACHE_DIR", &cache)
            .args(["--catalog", &cat, "publish", "--repo", &url])
            .arg(dir)
            .spawn()
            .unwrap()
    };
    let mut a = spawn(&dirs[0], 0);
    let mut b = spawn(&dirs[1], 1);
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    for (d, f) in dirs.iter().zip(["omantel.omani.works", "cloud.meridian-bank.example.com"]) {
        let (files, commits) = fresh_clone_tree(&server, &url, &format!("clusters/{f}"));
        assert_same_tree(&tree(d), &files, f);
        assert_eq!(commits, 2, "one commit each, none lost");
    }
}

#[test]
fn wrong_credentials_fail_clearly_without_printing_them() {
    let Some(server) = TestGitServer::start() else { return };
    let url = server.create("sec.git");
    let t = tempfile::tempdir().unwrap();
    rendered(t.path(), &["omantel.omani.works"]);
    let wrong = "Wr0ng-Passw0rd-xyz";
    let (code, out) = publish(
        t.path(),
        &[("CATALYST_GIT_USERNAME", server.user.as_str()), ("CATALYST_GIT_PASSWORD", wrong)],
        &["publish", "--repo", &url],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused the credentials"), "{out}");
    assert!(!out.contains(wrong), "the password was printed:\n{out}");
    // A bad token in the URL.
    let token = "glpat-TOKEN-in-url-12345";
    let with_token = url.replace("http://", &format!("http://{}:{token}@", server.user));
    let (code, out) = publish(t.path(), &[], &["publish", "--repo", &with_token]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused the credentials") && !out.contains(token), "{out}");
}

#[test]
fn a_branch_per_change_is_pushed_for_review_with_its_compare_url() {
    let Some(server) = TestGitServer::start() else { return };
    let url = server.create("review.git");
    let t = tempfile::tempdir().unwrap();
    let dirs = rendered(t.path(), &["omantel.omani.works"]);
    let env = [("CATALYST_GIT_USERNAME", server.user.as_str()), ("CATALYST_GIT_PASSWORD", server.password.as_str())];
    // main has a first commit; the change goes to its own branch.
    let (code, out) = publish(t.path(), &env, &["publish", "--repo", &url]);
    assert_eq!(code, 0, "{out}");
    let spec = dirs[0].join("sovereign.yaml");
    std::fs::write(&spec, std::fs::read_to_string(&spec).unwrap().replace("count: 3", "count: 4")).unwrap();
    assert!(catalyst(t.path(), &["--catalog", &repo().to_string_lossy(), "render"]).status.success());
    let (code, out) = publish(t.path(), &env, &["publish", "--repo", &url, "--branch-per-change"]);
    assert_eq!(code, 0, "{out}");
    let lock = std::fs::read_to_string(dirs[0].join("catalyst.lock")).unwrap();
    let digest = lock.lines().find_map(|l| l.strip_prefix("inputDigest: sha256:")).unwrap();
    let branch = format!("catalyst/omantel-{}", &digest[..12]);
    assert!(out.contains(&format!("branch {branch}")), "{out}");
    assert!(
        out.contains(&format!("compare {url}/compare/main...{branch}").replace(".git/compare", "/compare")),
        "{out}"
    );
    // The branch has main's commit as parent; main itself is untouched.
    let bare = git2::Repository::open_bare(server.path("review.git")).unwrap();
    let tip = bare.find_reference(&format!("refs/heads/{branch}")).unwrap().peel_to_commit().unwrap();
    let main = bare.find_reference("refs/heads/main").unwrap().peel_to_commit().unwrap();
    assert_eq!(tip.parent_id(0).unwrap(), main.id());
    assert_eq!(main.parent_count(), 0, "main moved");
    // Publishing the same change again is a no-op.
    let (code, out) = publish(t.path(), &env, &["publish", "--repo", &url, "--branch-per-change"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("unchanged"), "{out}");
}

#[test]
fn publish_works_over_https_and_refuses_an_untrusted_certificate() {
    let Some(server) = TestGitServer::start_tls() else { return };
    let url = server.create("tls.git");
    assert!(url.starts_with("https://"));
    let t = tempfile::tempdir().unwrap();
    let dirs = rendered(t.path(), &["omantel.omani.works"]);
    let ca = server.ca().to_string_lossy().into_owned();
    // An unknown certificate authority: a clear error.
    let env = [
        ("CATALYST_GIT_USERNAME", server.user.as_str()),
        ("CATALYST_GIT_PASSWORD", server.password.as_str()),
        ("SSL_CERT_FILE", "/dev/null"),
    ];
    let (code, out) = publish(t.path(), &env, &["publish", "--repo", &url]);
    assert_eq!(code, 1, "{out}");
    assert!(out.to_lowercase().contains("certificate"), "{out}");
    assert!(!out.contains(&server.password));
    // Trusted: published.
    let env = [
        ("CATALYST_GIT_USERNAME", server.user.as_str()),
        ("CATALYST_GIT_PASSWORD", server.password.as_str()),
        ("SSL_CERT_FILE", ca.as_str()),
    ];
    let (code, out) = publish(t.path(), &env, &["publish", "--repo", &url]);
    assert_eq!(code, 0, "{out}");
    let bare = git2::Repository::open_bare(server.path("tls.git")).unwrap();
    let tree = bare.find_reference("refs/heads/main").unwrap().peel_to_tree().unwrap();
    let entry = tree.get_path(Path::new("clusters/omantel.omani.works/catalyst.lock")).unwrap();
    let blob = bare.find_blob(entry.id()).unwrap();
    assert_eq!(blob.content(), std::fs::read(dirs[0].join("catalyst.lock")).unwrap().as_slice());
}

#[test]
fn a_flux_oci_artifact_has_fluxs_format_unpacks_to_the_directory_and_verifies() {
    let Some(reg) = TestRegistry::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let dirs = rendered(t.path(), &["omantel.omani.works"]);
    // The workspace is a Git repository with an origin: source and revision.
    let git = |args: &[&str]| {
        let o = std::process::Command::new("git")
            .current_dir(t.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", text(&o.stderr));
        text(&o.stdout).trim().to_string()
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["remote", "add", "origin", "https://bot:tok3n@git.example.org/fleet/clusters.git"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "render"]);
    let sha = git(&["rev-parse", "HEAD"]);
    let when: i64 = git(&["log", "-1", "--format=%ct"]).parse().unwrap();
    let dc = reg.docker_config.to_string_lossy().into_owned();
    let env = [("DOCKER_CONFIG", dc.as_str()), ("COSIGN_PASSWORD", "pw")];
    assert!(catalyst_env(t.path(), &env, &["generate-key-pair"]).status.success());
    let reference = format!("{}/fleet/omantel:main", reg.oci("").trim_end_matches('/'));
    let o = catalyst_env(
        t.path(),
        &env,
        &[
            "--catalog",
            &repo().to_string_lossy(),
            "publish",
            "clusters/omantel.omani.works",
            "--oci",
            &reference,
            "--key",
            "cosign.key",
            "--plain-http",
        ],
    );
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));

    let curl = |args: &[&str]| {
        let o = std::process::Command::new("curl")
            .args(["-sf", "-u", &format!("{}:{}", reg.user, reg.password)])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "curl {args:?}");
        o.stdout
    };
    let m: serde_json::Value = serde_json::from_slice(&curl(&[
        "-H",
        "Accept: application/vnd.oci.image.manifest.v1+json",
        &format!("http://{}/v2/fleet/omantel/manifests/main", reg.addr),
    ]))
    .unwrap();
    assert_eq!(m["config"]["mediaType"], "application/vnd.cncf.flux.config.v1+json");
    assert_eq!(m["layers"][0]["mediaType"], "application/vnd.cncf.flux.content.v1.tar+gzip");
    let a = &m["annotations"];
    assert_eq!(a["org.opencontainers.image.revision"], format!("main@sha1:{sha}"));
    assert_eq!(
        a["org.opencontainers.image.source"], "https://git.example.org/fleet/clusters.git",
        "credentials leaked or source wrong"
    );
    let expected = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{when}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    assert_eq!(
        a["org.opencontainers.image.created"],
        text(&expected.stdout).trim(),
        "created is the source commit's time"
    );
    // The archive unpacks to the rendered directory.
    let blob =
        curl(&[&format!("http://{}/v2/fleet/omantel/blobs/{}", reg.addr, m["layers"][0]["digest"].as_str().unwrap())]);
    let out = t.path().join("unpacked");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(t.path().join("a.tgz"), &blob).unwrap();
    let x =
        std::process::Command::new("tar").arg("-xzf").arg(t.path().join("a.tgz")).arg("-C").arg(&out).output().unwrap();
    assert!(x.status.success(), "{}", text(&x.stderr));
    assert_same_tree(&tree(&dirs[0]), &tree(&out), "the unpacked artifact");
    // Its signature verifies.
    let v = catalyst_env(t.path(), &env, &["verify", &reference, "--key", "cosign.pub", "--plain-http"]);
    assert!(v.status.success(), "{}", text(&v.stderr));
    // Published with a Rekor configured (the local Sigstore, a stand-in
    // for the public instance), the signature is in its log: verify with
    // the trust root requires the entry, and the entry verifies with that
    // log's key; published with --tlog-upload=false, it does not.
    let Some(ss) = TestSigstore::start() else { return };
    let trusted = ss.trusted_root.to_string_lossy().into_owned();
    let publish_to = |tag: &str, extra: &[&str]| {
        let r = format!("{}/fleet/omantel:{tag}", reg.oci("").trim_end_matches('/'));
        let catalog = repo().to_string_lossy().into_owned();
        let mut a = vec!["--catalog", &catalog, "publish", "clusters/omantel.omani.works", "--oci", &r];
        a.extend(["--key", "cosign.key", "--plain-http", "--rekor-url", &ss.url]);
        a.extend(extra);
        let o = catalyst_env(t.path(), &env, &a);
        assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
        r
    };
    let verify_logged = |r: &str| {
        catalyst_env(t.path(), &env, &["verify", r, "--key", "cosign.pub", "--trusted-root", &trusted, "--plain-http"])
    };
    let logged = publish_to("logged", &[]);
    let v = verify_logged(&logged);
    assert!(v.status.success(), "the published signature is in Rekor: {}", text(&v.stderr));
    let unlogged = publish_to("unlogged", &["--tlog-upload=false"]);
    let v = verify_logged(&unlogged);
    assert_eq!(v.status.code(), Some(1), "{}", text(&v.stderr));
    assert!(text(&v.stderr).contains("no-tlog-entry"), "{}", text(&v.stderr));
    // Its SLSA provenance names the source revision and every input the
    // lock records, by digest.
    let digest = reg.manifest_digest("fleet/omantel", "main");
    let st = reg.attestation("fleet/omantel", &digest, "https://slsa.dev/provenance/v1", &t.path().join("cosign.pub"));
    let deps = st["predicate"]["buildDefinition"]["resolvedDependencies"].as_array().unwrap();
    assert_eq!(deps[0]["uri"], "git+https://git.example.org/fleet/clusters.git@refs/heads/main", "{st}");
    assert_eq!(deps[0]["digest"]["gitCommit"], sha.as_str());
    let lock = std::fs::read_to_string(dirs[0].join("catalyst.lock")).unwrap();
    let spec = deps.iter().find(|d| d["name"] == "spec").expect("the spec is an input");
    assert!(lock.contains(spec["digest"]["sha256"].as_str().unwrap()), "the spec's digest is the lock's");
    assert!(deps.len() > 10, "every lock input: {}", deps.len());
    assert!(!st.to_string().contains("tok3n"), "credentials leaked into the provenance");
}

#[test]
fn publish_over_ssh_with_a_key_file_and_known_hosts() {
    let Some(server) = TestSshGitServer::start() else { return };
    let url = server.create("ssh.git");
    let t = tempfile::tempdir().unwrap();
    let dirs = rendered(t.path(), &["omantel.omani.works"]);
    let key = server.client_key.to_string_lossy().into_owned();
    // A server that is not in known_hosts is refused.
    let (code, out) = publish(
        t.path(),
        &[("CATALYST_GIT_SSH_KEY", key.as_str()), ("CATALYST_GIT_KNOWN_HOSTS", "/dev/null")],
        &["publish", "--repo", &url],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("hostkey") || out.contains("host key"), "{out}");
    // Known: published.
    let kh = server.known_hosts.to_string_lossy().into_owned();
    let (code, out) = publish(
        t.path(),
        &[("CATALYST_GIT_SSH_KEY", key.as_str()), ("CATALYST_GIT_KNOWN_HOSTS", kh.as_str())],
        &["publish", "--repo", &url],
    );
    assert_eq!(code, 0, "{out}");
    let bare = git2::Repository::open_bare(server.path("ssh.git")).unwrap();
    let tree = bare.find_reference("refs/heads/main").unwrap().peel_to_tree().unwrap();
    let entry = tree.get_path(Path::new("clusters/omantel.omani.works/hz-fsn-mgt-prod/kustomization.yaml")).unwrap();
    assert_eq!(
        bare.find_blob(entry.id()).unwrap().content(),
        std::fs::read(dirs[0].join("hz-fsn-mgt-prod/kustomization.yaml")).unwrap().as_slice()
    );
}

#[test]
fn credentials_from_a_git_credential_helper_and_keys_from_the_ssh_agent() {
    // HTTPS user and password from git's own credential store.
    let Some(server) = TestGitServer::start() else { return };
    let url = server.create("helper.git");
    let t = tempfile::tempdir().unwrap();
    rendered(t.path(), &["omantel.omani.works"]);
    let home = t.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let store = home.join("creds");
    std::fs::write(
        &store,
        format!(
            "{}\n",
            url.replace("http://", &format!("http://{}:{}@", server.user, server.password))
                .trim_end_matches("/helper.git")
        ),
    )
    .unwrap();
    std::fs::write(home.join(".gitconfig"), format!("[credential]\n\thelper = store --file={}\n", store.display()))
        .unwrap();
    let h = home.to_string_lossy().into_owned();
    let (code, out) =
        publish(t.path(), &[("HOME", h.as_str()), ("XDG_CONFIG_HOME", h.as_str())], &["publish", "--repo", &url]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains(&server.password));

    // An SSH key held by ssh-agent, no key file given.
    let Some(ssh) = TestSshGitServer::start() else { return };
    let sshurl = ssh.create("agent.git");
    let sock = t.path().join("agent.sock");
    let mut agent = std::process::Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ssh-agent");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !sock.exists() {
        assert!(std::time::Instant::now() < deadline, "ssh-agent did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let add = std::process::Command::new("ssh-add").arg(&ssh.client_key).env("SSH_AUTH_SOCK", &sock).output().unwrap();
    assert!(add.status.success(), "{}", text(&add.stderr));
    let s = sock.to_string_lossy().into_owned();
    let kh = ssh.known_hosts.to_string_lossy().into_owned();
    let (code, out) = publish(
        t.path(),
        &[("SSH_AUTH_SOCK", s.as_str()), ("CATALYST_GIT_KNOWN_HOSTS", kh.as_str())],
        &["publish", "--repo", &sshurl],
    );
    let _ = agent.kill();
    let _ = agent.wait();
    assert_eq!(code, 0, "{out}");
    assert!(git2::Repository::open_bare(ssh.path("agent.git")).unwrap().find_reference("refs/heads/main").is_ok());
}

#[test]
fn a_repository_per_sovereign_holds_the_directory_at_its_root() {
    let Some(server) = TestGitServer::start() else { return };
    let url = server.create("omantel.git");
    let t = tempfile::tempdir().unwrap();
    let dirs = rendered(t.path(), &["omantel.omani.works"]);
    let env = [("CATALYST_GIT_USERNAME", server.user.as_str()), ("CATALYST_GIT_PASSWORD", server.password.as_str())];
    let (code, out) =
        publish(t.path(), &env, &["publish", "clusters/omantel.omani.works", "--repo", &url, "--path", "."]);
    assert_eq!(code, 0, "{out}");
    let (files, commits) = fresh_clone_tree(&server, &url, "");
    let files: std::collections::BTreeMap<String, Vec<u8>> =
        files.into_iter().filter(|(k, _)| !k.starts_with(".git/")).collect();
    assert_same_tree(&tree(&dirs[0]), &files, "the repository root");
    assert_eq!(commits, 1);
}
