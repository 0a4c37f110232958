//! Publishing rendered cluster directories to Git.
//!
//! No worktree is checked out: the new tree is built from blobs, only the
//! subtree at the target path is replaced (files added, changed and
//! deleted), everything else in the repository is kept. The commit is
//! reproducible (fixed identity and time given by the caller, a message
//! naming the Sovereign, the source revision, the compiler version and the
//! lock digest); no change means no commit. The push never forces: when
//! someone else pushed first, the branch is fetched again, the change is
//! re-applied on the new tip, and the push is retried a bounded number of
//! times; a push the remote declines for another reason (a pre-receive
//! hook, a protected branch) is tried once and reported with the remote's
//! reason and what it printed. Branch names are checked by git's own ref
//! rules before anything is sent. Credentials come from the caller and
//! never appear in errors.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use catalyst_secret::Secret;
use git2::{Cred, FetchOptions, Oid, PushOptions, RemoteCallbacks, Repository, Signature, Time};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{url} refused the credentials{}", if *.had_credentials { "" } else { " (none were given: set CATALYST_GIT_USERNAME and CATALYST_GIT_PASSWORD, or CATALYST_GIT_TOKEN)" })]
    Auth { url: String, had_credentials: bool },
    #[error("{url}: {message}")]
    Git { url: String, message: String },
    #[error("{url}: the push was rejected {attempts} times (others kept pushing first); try again")]
    Contended { url: String, attempts: u32 },
    /// The remote declined the push for another reason than a race (a
    /// hook, a protected branch): not retried. `remote`: what the server
    /// said on its side band (a hook's output), cleaned.
    #[error("{url}: the remote declined the push of {branch}: {reason}")]
    Declined { url: String, branch: String, reason: String, remote: Vec<String> },
    /// The server was not reached (refused, a name that does not resolve,
    /// no route, a timeout): transient, nothing was sent.
    #[error("{url}: cannot connect: {message}")]
    Unreachable { url: String, message: String },
    /// No TLS session: the server's certificate is not trusted here.
    #[error("{url}: {message}")]
    Certificate { url: String, message: String },
    #[error("`{0}` is not a valid path inside the repository")]
    BadPath(String),
    #[error("{url}: {path} changed on the remote since it was checked; nothing was committed")]
    Moved { url: String, path: String },
    #[error("`{name}` cannot be a branch: {why}")]
    BadBranch { name: String, why: String },
}

/// Trusts the CA certificates in the PEM file `path` for HTTPS Git
/// servers (a Sovereign's Gitea behind a private CA), besides the system's
/// (libgit2's OpenSSL stream adds them to the default verify paths). Call
/// it before any other thread starts: it sets a libgit2 global.
pub fn trust_ca_file(path: &Path) -> Result<(), String> {
    // SAFETY: libgit2's global options are not synchronized; the CLI calls
    // this first thing, from its only thread.
    unsafe { git2::opts::set_ssl_cert_file(path) }
        .map_err(|e| format!("{}: cannot use it as a CA file: {}", path.display(), e.message()))
}

/// Why `name` cannot be a branch, or `None`: git's own rules for
/// `refs/heads/<name>` (as `git check-ref-format --branch` applies them:
/// no `..`, `~`, `^`, `:`, `?`, `*`, `[`, `\`, space or control character,
/// no `@{`, no component starting with `.` or ending with `.lock`, no `/`
/// or `.` at the end), and never `HEAD` or a name starting with `-`, which
/// git refuses as branch names.
pub fn branch_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the name is empty".into());
    }
    if name == "HEAD" {
        return Some("`HEAD` names the checked-out commit, git refuses it as a branch name".into());
    }
    if name.starts_with('-') {
        return Some("it starts with `-`, which git would read as an option".into());
    }
    if !git2::Reference::is_valid_name(&format!("refs/heads/{name}")) {
        return Some(
            "git's ref rules refuse it (no `..`, `~`, `^`, `:`, `?`, `*`, `[`, `\\`, spaces or control characters, \
             no `@{`, no part starting with `.` or ending in `.lock`, no `/` or `.` at the end)"
                .into(),
        );
    }
    None
}

/// Text a server sent, for a message: control and invisible formatting
/// characters escaped, the password (and `user:password` in base64, as a
/// `Basic` header carries it) removed, cut at 200 characters.
fn clean_remote_text(text: &str, creds: &GitCredentials) -> String {
    let mut text = text.to_string();
    if let Some(p) = creds.password.as_ref().map(Secret::expose).filter(|p| !p.is_empty()) {
        let user = creds.username.clone().unwrap_or_default();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{p}"));
        text = text.replace(&basic, "<redacted>").replace(p, "<redacted>");
    }
    let invisible = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
    };
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == 200 {
            out.push('…');
            break;
        }
        if invisible(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a push's rejection is a race (someone pushed first, or held the
/// ref's lock): the change is then re-applied on the new tip.
fn is_race(status: &str) -> bool {
    let s = status.to_ascii_lowercase();
    [
        "fast-forward",
        "fetch first",
        "failed to lock",
        "cannot lock ref",
        "failed to update ref",
        "stale info",
        "incorrect old value",
    ]
    .iter()
    .any(|m| s.contains(m))
}

/// How a push went.
enum Pushed {
    Done,
    /// Someone pushed first: try again on the new tip.
    Race,
}

/// Credentials: user and password (or token) for HTTPS; an SSH private
/// key file (else the SSH agent) and the known_hosts file that vouches for
/// the server's host key. The password and passphrase print as
/// `<redacted>` (they are [`Secret`]s).
///
/// Opaque to other crates: they get credentials only from
/// [`GitCredentials::from_env`] (or none, `Default`) and hand them to
/// [`Publisher::open`]; reading Git credentials is this crate's alone (an
/// invariant the workspace's invariant tests hold).
#[derive(Clone, Default, Debug)]
pub struct GitCredentials {
    username: Option<String>,
    password: Option<Secret>,
    ssh_key: Option<std::path::PathBuf>,
    ssh_passphrase: Option<Secret>,
    /// Default: `~/.ssh/known_hosts`.
    known_hosts: Option<std::path::PathBuf>,
}

impl GitCredentials {
    /// Credentials from the environment: `CATALYST_GIT_USERNAME` /
    /// `CATALYST_GIT_PASSWORD`, or `CATALYST_GIT_TOKEN` (sent as the
    /// password); for SSH `CATALYST_GIT_SSH_KEY` (a private key file; else
    /// the agent), `CATALYST_GIT_SSH_KEY_PASSPHRASE`,
    /// `CATALYST_GIT_KNOWN_HOSTS` (default `~/.ssh/known_hosts`). Empty
    /// variables count as unset.
    pub fn from_env() -> GitCredentials {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> GitCredentials {
        let var = |k: &str| get(k).filter(|v| !v.is_empty());
        let password =
            var(catalyst_env::CATALYST_GIT_PASSWORD).or_else(|| var(catalyst_env::CATALYST_GIT_TOKEN)).map(Secret::new);
        let username =
            var(catalyst_env::CATALYST_GIT_USERNAME).or_else(|| password.as_ref().map(|_| "catalyst".to_string()));
        GitCredentials {
            username,
            password,
            ssh_key: var(catalyst_env::CATALYST_GIT_SSH_KEY).map(std::path::PathBuf::from),
            ssh_passphrase: var(catalyst_env::CATALYST_GIT_SSH_KEY_PASSPHRASE).map(Secret::new),
            known_hosts: var(catalyst_env::CATALYST_GIT_KNOWN_HOSTS).map(std::path::PathBuf::from),
        }
    }
}

/// `https://user:pass@host/x` → (`https://host/x`, credentials from the URL).
pub fn split_userinfo(url: &str) -> (String, GitCredentials) {
    let Some((scheme, rest)) = url.split_once("://") else { return (url.to_string(), GitCredentials::default()) };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    match authority.rsplit_once('@') {
        // An SSH user name is not a secret; it stays in the URL.
        Some((userinfo, _)) if scheme == "ssh" && !userinfo.contains(':') => {
            (url.to_string(), GitCredentials::default())
        }
        Some((userinfo, host)) => {
            let (u, p) = userinfo.split_once(':').map_or((userinfo, None), |(u, p)| (u, Some(p)));
            let creds =
                GitCredentials { username: Some(u.to_string()), password: p.map(Secret::new), ..Default::default() };
            (format!("{scheme}://{host}/{path}"), creds)
        }
        None => (url.to_string(), GitCredentials::default()),
    }
}

fn creds_known_hosts(c: &GitCredentials) -> std::path::PathBuf {
    c.known_hosts.clone().unwrap_or_else(|| {
        std::path::PathBuf::from(std::env::var_os(catalyst_env::HOME).unwrap_or_default()).join(".ssh/known_hosts")
    })
}

/// `ssh://user@host:2222/x` → (`host`, Some(2222)).
fn host_and_port(url: &str) -> (String, Option<u16>) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    match hostport.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_string(), p.parse().ok()),
        _ => (hostport.to_string(), None),
    }
}

/// Who commits, and when (seconds since the epoch, UTC).
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: String,
    pub email: String,
    pub time: i64,
}

/// One directory to publish.
#[derive(Debug, Clone)]
pub struct Change {
    /// Path inside the repository (`clusters/<fqdn>`, or empty for the root).
    pub path: String,
    /// The files, by path relative to `path`.
    pub files: BTreeMap<String, Vec<u8>>,
    pub message: String,
    /// Made only while `path` on the remote is still this tree (its id, as
    /// [`Publisher::files_under`] read it): a removal of what was checked
    /// never takes what someone pushed there since. `None`: whatever is
    /// there.
    pub only_if: Option<String>,
}

/// What is under a path on the remote branch: the tree's id (`None`
/// where the path is no folder) and every entry, by path relative to it (a
/// regular file's bytes, `None` for anything else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subtree {
    pub id: Option<String>,
    pub files: BTreeMap<String, Option<Vec<u8>>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Committed(String),
    Unchanged,
    /// A dry run: this commit would have been pushed (it exists only in
    /// the local cache; the remote is untouched).
    WouldCommit(String),
}

pub struct Publisher {
    repo: Repository,
    url: String,
    branch: String,
    /// Where a new branch starts from (the target branch when `None`).
    base: Option<String>,
    creds: GitCredentials,
    pub attempts: u32,
    /// Fetch and build the commit, push nothing and move no branch.
    pub dry_run: bool,
}

impl Publisher {
    /// Opens (or creates) the cache repository at `cache` for `url`.
    pub fn open(cache: &Path, url: &str, branch: &str, creds: GitCredentials) -> Result<Publisher, PublishError> {
        if let Some(why) = branch_problem(branch) {
            return Err(PublishError::BadBranch { name: branch.escape_debug().to_string(), why });
        }
        let (clean, from_url) = split_userinfo(url);
        let creds = GitCredentials {
            username: creds.username.clone().or(from_url.username),
            password: creds.password.clone().or(from_url.password),
            ..creds
        };
        let repo = match Repository::open_bare(cache) {
            Ok(r) => r,
            Err(_) => {
                std::fs::create_dir_all(cache).map_err(|e| PublishError::Git {
                    url: clean.clone(),
                    message: format!("cannot create the cache {}: {e}", cache.display()),
                })?;
                Repository::init_bare(cache)
                    .map_err(|e| PublishError::Git { url: clean.clone(), message: e.message().to_string() })?
            }
        };
        Ok(Publisher { repo, url: clean, branch: branch.to_string(), base: None, creds, attempts: 8, dry_run: false })
    }

    /// Start the branch from `base` when it does not exist yet (a branch
    /// per change, for review before merge).
    pub fn with_base(mut self, base: &str) -> Result<Self, PublishError> {
        if let Some(why) = branch_problem(base) {
            return Err(PublishError::BadBranch { name: base.escape_debug().to_string(), why });
        }
        self.base = Some(base.to_string());
        Ok(self)
    }

    /// The URL without credentials.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn callbacks(&self) -> (RemoteCallbacks<'_>, std::rc::Rc<std::cell::Cell<u32>>) {
        let mut cb = RemoteCallbacks::new();
        let tries = std::rc::Rc::new(std::cell::Cell::new(0u32));
        let t = tries.clone();
        let creds = self.creds.clone();
        cb.credentials(move |url, user_from_url, allowed| {
            t.set(t.get() + 1);
            // libgit2 asks again after a refusal; give up instead of looping.
            if t.get() > 2 {
                return Err(git2::Error::from_str("authentication failed"));
            }
            if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) {
                if let (Some(u), Some(p)) = (&creds.username, &creds.password) {
                    return Cred::userpass_plaintext(u, p.expose());
                }
                if let Ok(cfg) = git2::Config::open_default()
                    && let Ok(c) = Cred::credential_helper(&cfg, url, user_from_url)
                {
                    return Ok(c);
                }
            }
            if allowed.contains(git2::CredentialType::SSH_KEY) {
                let user = user_from_url.unwrap_or("git");
                return match &creds.ssh_key {
                    Some(key) => Cred::ssh_key(user, None, key, creds.ssh_passphrase.as_ref().map(Secret::expose)),
                    None => Cred::ssh_key_from_agent(user),
                };
            }
            Err(git2::Error::from_str("no credentials"))
        });
        // SSH host keys must be in known_hosts: a server we cannot vouch
        // for is refused.
        let known = creds_known_hosts(&self.creds);
        let host_port = host_and_port(&self.url);
        cb.certificate_check(move |cert, _host| {
            let Some(hk) = cert.as_hostkey() else { return Ok(git2::CertificateCheckStatus::CertificatePassthrough) };
            let Some(raw) = hk.hostkey() else { return Err(git2::Error::from_str("the SSH server sent no host key")) };
            let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
            let text = std::fs::read_to_string(&known).unwrap_or_default();
            let names = match &host_port {
                (h, Some(p)) => vec![format!("[{h}]:{p}")],
                (h, None) => vec![h.clone()],
            };
            let ok = text.lines().any(|l| {
                let mut f = l.split_whitespace();
                let (Some(hosts), Some(_kind), Some(key)) = (f.next(), f.next(), f.next()) else { return false };
                hosts.split(',').any(|h| names.iter().any(|n| n == h)) && key == b64
            });
            if ok {
                Ok(git2::CertificateCheckStatus::CertificateOk)
            } else {
                Err(git2::Error::from_str(&format!(
                    "the SSH host key of {} is not in {}; add it (ssh-keyscan) after checking it",
                    names[0],
                    known.display()
                )))
            }
        });
        (cb, tries)
    }

    fn err(&self, e: git2::Error, tries: u32) -> PublishError {
        let auth = e.class() == git2::ErrorClass::Http
            && (e.message().contains("401") || e.message().contains("authentication"))
            || e.message().contains("authentication failed")
            || e.message().contains("no credentials")
            || e.code() == git2::ErrorCode::Auth;
        if auth {
            return PublishError::Auth {
                url: self.url.clone(),
                had_credentials: self.creds.password.is_some() || tries > 0 && self.creds.username.is_some(),
            };
        }
        // libgit2 messages never carry the password; strip any URL userinfo anyway.
        let message = split_userinfo(e.message()).0;
        if e.code() == git2::ErrorCode::Certificate || e.class() == git2::ErrorClass::Ssl {
            return PublishError::Certificate { url: self.url.clone(), message };
        }
        if e.class() == git2::ErrorClass::Net
            || e.class() == git2::ErrorClass::Os && message.to_ascii_lowercase().contains("connect")
        {
            return PublishError::Unreachable { url: self.url.clone(), message };
        }
        PublishError::Git { url: self.url.clone(), message }
    }

    /// The remote branch's tip, fetched now (`None` for an empty repository
    /// or a new branch).
    fn fetch(&self) -> Result<Option<Oid>, PublishError> {
        let mut remote = self.repo.remote_anonymous(&self.url).map_err(|e| self.err(e, 0))?;
        let (cb, tries) = self.callbacks();
        let mut fo = FetchOptions::new();
        fo.remote_callbacks(cb);
        let mut branches = vec![self.branch.clone()];
        branches.extend(self.base.clone());
        // A missing branch is not an error: fetch what exists.
        let advertised: Vec<String> = {
            let (cb2, _) = self.callbacks();
            let conn =
                remote.connect_auth(git2::Direction::Fetch, Some(cb2), None).map_err(|e| self.err(e, tries.get()))?;
            conn.list().map_err(|e| self.err(e, tries.get()))?.iter().map(|h| h.name().to_string()).collect()
        };
        let specs: Vec<String> = branches
            .iter()
            .filter(|b| advertised.iter().any(|a| *a == format!("refs/heads/{b}")))
            .map(|b| format!("+refs/heads/{b}:refs/remotes/origin/{b}"))
            .collect();
        if !specs.is_empty() {
            let refs: Vec<&str> = specs.iter().map(String::as_str).collect();
            remote.fetch(&refs, Some(&mut fo), None).map_err(|e| self.err(e, tries.get()))?;
        }
        let tip = |b: &str| -> Option<Oid> {
            advertised
                .iter()
                .any(|a| *a == format!("refs/heads/{b}"))
                .then(|| self.repo.refname_to_id(&format!("refs/remotes/origin/{b}")).ok())
                .flatten()
        };
        Ok(tip(&self.branch).or_else(|| self.base.as_deref().and_then(tip)))
    }

    /// Builds the tree for `files` (paths relative to the subtree).
    fn tree_of(&self, files: &BTreeMap<String, Vec<u8>>) -> Result<Oid, git2::Error> {
        #[derive(Default)]
        struct Dir {
            files: BTreeMap<String, Oid>,
            dirs: BTreeMap<String, Dir>,
        }
        let mut root = Dir::default();
        for (path, bytes) in files {
            let oid = self.repo.blob(bytes)?;
            let mut parts: Vec<&str> = path.split('/').collect();
            let name = parts.pop().unwrap_or_default();
            let mut d = &mut root;
            for p in parts {
                d = d.dirs.entry(p.to_string()).or_default();
            }
            d.files.insert(name.to_string(), oid);
        }
        fn write(repo: &Repository, d: &Dir) -> Result<Oid, git2::Error> {
            let mut tb = repo.treebuilder(None)?;
            for (n, oid) in &d.files {
                tb.insert(n, *oid, 0o100644)?;
            }
            for (n, sub) in &d.dirs {
                let oid = write(repo, sub)?;
                tb.insert(n, oid, 0o040000)?;
            }
            tb.write()
        }
        write(&self.repo, &root)
    }

    /// `base` with the subtree at `path` replaced by `sub` (or removed when
    /// `sub` is `None`).
    fn replace(&self, base: Option<Oid>, path: &[&str], sub: Option<Oid>) -> Result<Option<Oid>, git2::Error> {
        let base_tree = base.map(|b| self.repo.find_tree(b)).transpose()?;
        let Some((first, rest)) = path.split_first() else { return Ok(sub) };
        let mut tb = self.repo.treebuilder(base_tree.as_ref())?;
        let child = base_tree
            .as_ref()
            .and_then(|t| t.get_name(first))
            .filter(|e| e.kind() == Some(git2::ObjectType::Tree))
            .map(|e| e.id());
        match self.replace(child, rest, sub)? {
            Some(oid) => {
                tb.insert(first, oid, 0o040000)?;
            }
            None => {
                if tb.get(first)?.is_some() {
                    tb.remove(first)?;
                }
            }
        }
        if tb.is_empty() { Ok(None) } else { tb.write().map(Some) }
    }

    /// The folders directly under `path` on the remote branch (fetched
    /// now) that hold a file named `marker`: what a tool wrote there, by
    /// the file it always writes. Empty for an empty repository, a new
    /// branch or a missing `path`.
    pub fn subtrees_with(&self, path: &str, marker: &str) -> Result<Vec<String>, PublishError> {
        let g = |e: git2::Error| PublishError::Git { url: self.url.clone(), message: e.message().to_string() };
        let Some(tip) = self.fetch()? else { return Ok(Vec::new()) };
        let root = self.repo.find_commit(tip).and_then(|c| c.tree()).map_err(g)?;
        let under = match root.get_path(Path::new(path)) {
            Ok(e) if e.kind() == Some(git2::ObjectType::Tree) => self.repo.find_tree(e.id()).map_err(g)?,
            _ => return Ok(Vec::new()),
        };
        let mut out = Vec::new();
        for e in under.iter().filter(|e| e.kind() == Some(git2::ObjectType::Tree)) {
            let sub = self.repo.find_tree(e.id()).map_err(g)?;
            if sub.get_name(marker).is_some_and(|m| m.kind() == Some(git2::ObjectType::Blob))
                && let Ok(name) = e.name()
            {
                out.push(name.to_string());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Every entry under `path` on the remote branch (fetched now), by
    /// path relative to it: a regular file's bytes, `None` for anything
    /// else (a link, a submodule). Empty where `path` is no folder.
    pub fn files_under(&self, path: &str) -> Result<Subtree, PublishError> {
        let g = |e: git2::Error| PublishError::Git { url: self.url.clone(), message: e.message().to_string() };
        let mut out = BTreeMap::new();
        let Some(tip) = self.fetch()? else { return Ok(Subtree { id: None, files: out }) };
        let root = self.repo.find_commit(tip).and_then(|c| c.tree()).map_err(g)?;
        let under = match root.get_path(Path::new(path)) {
            Ok(e) if e.kind() == Some(git2::ObjectType::Tree) => self.repo.find_tree(e.id()).map_err(g)?,
            _ => return Ok(Subtree { id: None, files: out }),
        };
        let id = Some(under.id().to_string());
        let mut failed = None;
        under
            .walk(git2::TreeWalkMode::PreOrder, |dir, e| {
                if e.kind() == Some(git2::ObjectType::Tree) {
                    return git2::TreeWalkResult::Ok;
                }
                let rel = format!("{dir}{}", String::from_utf8_lossy(e.name_bytes()));
                // 0o100644 and 0o100755 are files; 0o120000 a link, 0o160000 a submodule.
                let file = matches!(e.filemode(), 0o100644 | 0o100755) && e.kind() == Some(git2::ObjectType::Blob);
                let bytes = if file {
                    match self.repo.find_blob(e.id()) {
                        Ok(b) => Some(b.content().to_vec()),
                        Err(err) => {
                            failed = Some(err);
                            return git2::TreeWalkResult::Abort;
                        }
                    }
                } else {
                    None
                };
                out.insert(rel, bytes);
                git2::TreeWalkResult::Ok
            })
            .map_err(g)?;
        match failed {
            Some(e) => Err(g(e)),
            None => Ok(Subtree { id, files: out }),
        }
    }

    /// Commits `change` on the remote branch and pushes it.
    pub fn publish(&self, change: &Change, who: &Identity) -> Result<Outcome, PublishError> {
        let parts: Vec<&str> = change.path.split('/').filter(|p| !p.is_empty()).collect();
        if parts.iter().any(|p| *p == "." || *p == ".." || p.contains('\\')) {
            return Err(PublishError::BadPath(change.path.clone()));
        }
        let g = |e: git2::Error| PublishError::Git { url: self.url.clone(), message: e.message().to_string() };
        let sub = self.tree_of(&change.files).map_err(g)?;
        for _ in 0..self.attempts {
            let tip = self.fetch()?;
            let tip_commit = tip.map(|t| self.repo.find_commit(t)).transpose().map_err(g)?;
            let base_tree = tip_commit.as_ref().map(|c| c.tree_id());
            if let Some(expected) = &change.only_if {
                let now = tip_commit
                    .as_ref()
                    .and_then(|c| c.tree().ok())
                    .and_then(|t| t.get_path(Path::new(&change.path)).ok())
                    .map(|e| e.id().to_string());
                if now.as_ref() != Some(expected) {
                    return Err(PublishError::Moved { url: self.url.clone(), path: change.path.clone() });
                }
            }
            let new_tree =
                self.replace(base_tree, &parts, if change.files.is_empty() { None } else { Some(sub) }).map_err(g)?;
            let new_tree = match new_tree {
                Some(t) => t,
                None => self.repo.treebuilder(None).and_then(|tb| tb.write()).map_err(g)?,
            };
            if Some(new_tree) == base_tree {
                return Ok(Outcome::Unchanged);
            }
            let sig = Signature::new(&who.name, &who.email, &Time::new(who.time, 0)).map_err(g)?;
            let tree = self.repo.find_tree(new_tree).map_err(g)?;
            let parents: Vec<&git2::Commit<'_>> = tip_commit.iter().collect();
            let commit = self.repo.commit(None, &sig, &sig, &change.message, &tree, &parents).map_err(g)?;
            if self.dry_run {
                return Ok(Outcome::WouldCommit(commit.to_string()));
            }
            let local = format!("refs/heads/{}", self.branch);
            self.repo.reference(&local, commit, true, "catalyst publish").map_err(g)?;
            match self.push(&local)? {
                Pushed::Done => return Ok(Outcome::Committed(commit.to_string())),
                Pushed::Race => continue,
            }
        }
        Err(PublishError::Contended { url: self.url.clone(), attempts: self.attempts })
    }

    /// Pushes `refname` to the same branch without force. A rejection
    /// because someone pushed first is [`Pushed::Race`]; any other (a
    /// hook, a protected branch) is [`PublishError::Declined`] with the
    /// remote's reason and what it printed.
    fn push(&self, refname: &str) -> Result<Pushed, PublishError> {
        let mut remote = self.repo.remote_anonymous(&self.url).map_err(|e| self.err(e, 0))?;
        let (mut cb, tries) = self.callbacks();
        let rejected = std::rc::Rc::new(std::cell::RefCell::new(None::<String>));
        let r = rejected.clone();
        cb.push_update_reference(move |_, status| {
            if let Some(s) = status {
                *r.borrow_mut() = Some(s.to_string());
            }
            Ok(())
        });
        // What the server prints on its side band (`remote: ...` in git's
        // own client): a hook's output, progress. At most 64 KiB is kept.
        let said = std::rc::Rc::new(std::cell::RefCell::new(Vec::<u8>::new()));
        let w = said.clone();
        cb.sideband_progress(move |b| {
            let mut w = w.borrow_mut();
            let room = (64usize << 10).saturating_sub(w.len());
            w.extend_from_slice(&b[..b.len().min(room)]);
            true
        });
        let mut po = PushOptions::new();
        po.remote_callbacks(cb);
        let result = remote.push(&[&format!("{refname}:{refname}")], Some(&mut po));
        let status = match result {
            Ok(()) => rejected.borrow().clone(),
            // Non-fast-forward is reported as an error by some transports.
            Err(e) if e.code() == git2::ErrorCode::NotFastForward || is_race(e.message()) => {
                return Ok(Pushed::Race);
            }
            // The server explained itself: show what it said.
            Err(e) if !said.borrow().is_empty() => Some(e.message().to_string()),
            Err(e) => return Err(self.err(e, tries.get())),
        };
        match status {
            None => Ok(Pushed::Done),
            Some(s) if is_race(&s) => Ok(Pushed::Race),
            Some(s) => Err(PublishError::Declined {
                url: self.url.clone(),
                branch: self.branch.clone(),
                reason: clean_remote_text(&split_userinfo(&s).0, &self.creds),
                remote: self.remote_said(&said.borrow()),
            }),
        }
    }

    /// The lines a server sent on its side band, without progress meters,
    /// cleaned: at most 20.
    fn remote_said(&self, bytes: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(bytes);
        let progress = ["Resolving deltas", "Counting objects", "Compressing objects", "Writing objects", "Total "];
        let mut out: Vec<String> = text
            .split(['\n', '\r'])
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty() && !progress.iter().any(|p| l.trim_start().starts_with(p)))
            .map(|l| clean_remote_text(l, &self.creds))
            .collect();
        if out.len() > 20 {
            let more = out.len() - 20;
            out.truncate(20);
            out.push(format!("({more} more lines)"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_split_and_never_printed() {
        let (u, c) = split_userinfo("https://bob:s3cret@git.example.org/x/y.git");
        assert_eq!(u, "https://git.example.org/x/y.git");
        assert_eq!(c.username.as_deref(), Some("bob"));
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn credentials_from_the_environment_token_as_password_and_never_printed() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let c = GitCredentials::from_lookup(env(&[
            ("CATALYST_GIT_TOKEN", "tok3n"),
            ("CATALYST_GIT_SSH_KEY_PASSPHRASE", "phr4se"),
        ]));
        assert_eq!(c.username.as_deref(), Some("catalyst"), "a token alone goes with a placeholder user");
        assert_eq!(c.password.as_ref().map(Secret::expose), Some("tok3n"));
        let shown = format!("{c:?}");
        assert!(!shown.contains("tok3n") && !shown.contains("phr4se"), "{shown}");
        // The password wins over the token; empty counts as unset.
        let c = GitCredentials::from_lookup(env(&[
            ("CATALYST_GIT_PASSWORD", "pw"),
            ("CATALYST_GIT_TOKEN", "tok3n"),
            ("CATALYST_GIT_USERNAME", ""),
        ]));
        assert_eq!(c.password.as_ref().map(Secret::expose), Some("pw"));
        assert_eq!(c.username.as_deref(), Some("catalyst"));
        assert!(GitCredentials::from_lookup(env(&[])).password.is_none());
    }

    #[test]
    fn branches_follow_gits_ref_rules() {
        for b in ["main", "catalyst/omantel-0123456789ab", "release-1.2", "a.b/c_d"] {
            assert_eq!(branch_problem(b), None, "{b}");
        }
        for b in [
            "", "HEAD", "-x", "a..b", "x.lock", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b", ".x", "x/", "x.",
            "a@{1}", "a//b", "a\u{7}",
        ] {
            assert!(branch_problem(b).is_some(), "{b:?}");
        }
        let t = tempfile::tempdir().unwrap();
        assert!(matches!(
            Publisher::open(t.path(), "file:///nowhere", "HEAD", GitCredentials::default()),
            Err(PublishError::BadBranch { .. })
        ));
    }

    #[test]
    fn races_are_told_from_refusals() {
        assert!(is_race("non-fast-forward") && is_race("failed to lock") && is_race("fetch first"));
        assert!(is_race("failed to update ref"));
        assert!(!is_race("pre-receive hook declined") && !is_race("protected branch hook declined"));
        let creds =
            GitCredentials { username: Some("u".into()), password: Some(Secret::new("s3cret")), ..Default::default() };
        let said = clean_remote_text("token s3cret dTpzM2NyZXQ= \u{1b}[31mred\u{202e}", &creds);
        assert!(
            !said.contains("s3cret")
                && !said.contains("dTpzM2NyZXQ")
                && !said.contains('\u{1b}')
                && !said.contains('\u{202e}'),
            "{said}"
        );
        assert!(said.contains("<redacted>") && said.contains("\\u{1b}"), "{said}");
    }

    /// A bare repository as the remote (`file://`), a publisher of its
    /// `main`, and a fixed identity.
    fn bare_remote() -> (tempfile::TempDir, std::path::PathBuf, String, Publisher, Identity) {
        let t = tempfile::tempdir().unwrap();
        let remote = t.path().join("remote.git");
        Repository::init_bare(&remote).unwrap();
        let url = format!("file://{}", remote.display());
        let p = Publisher::open(&t.path().join("cache"), &url, "main", GitCredentials::default()).unwrap();
        let who = Identity { name: "catalyst".into(), email: "catalyst@example.org".into(), time: 1_700_000_000 };
        (t, remote, url, p, who)
    }

    #[test]
    fn publishes_to_a_local_bare_repository_and_replaces_only_the_subtree() {
        let (_t, remote, _url, p, who) = bare_remote();
        let files = |l: &[(&str, &str)]| {
            l.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect::<BTreeMap<_, _>>()
        };
        let a = Change {
            path: "clusters/a".into(),
            files: files(&[("x.yaml", "1"), ("sub/y.yaml", "2")]),
            message: "a".into(),
            only_if: None,
        };
        let b =
            Change { path: "clusters/b".into(), files: files(&[("z.yaml", "3")]), message: "b".into(), only_if: None };
        assert!(matches!(p.publish(&a, &who).unwrap(), Outcome::Committed(_)));
        assert!(matches!(p.publish(&b, &who).unwrap(), Outcome::Committed(_)));
        assert_eq!(p.publish(&a, &who).unwrap(), Outcome::Unchanged);
        let a2 = Change { files: files(&[("x.yaml", "1")]), ..a };
        assert!(matches!(p.publish(&a2, &who).unwrap(), Outcome::Committed(_)));
        let r = Repository::open_bare(&remote).unwrap();
        let tree = r.find_reference("refs/heads/main").unwrap().peel_to_tree().unwrap();
        assert!(tree.get_path(Path::new("clusters/a/x.yaml")).is_ok());
        assert!(tree.get_path(Path::new("clusters/a/sub/y.yaml")).is_err(), "a removed file stays");
        assert!(tree.get_path(Path::new("clusters/b/z.yaml")).is_ok(), "another Sovereign's subtree was touched");
        let head = r.find_reference("refs/heads/main").unwrap().peel_to_commit().unwrap();
        assert_eq!(head.parent_count(), 1);
        assert_eq!(head.author().when().seconds(), 1_700_000_000);
    }

    #[test]
    fn a_change_made_only_if_the_path_is_as_checked_takes_nothing_pushed_since() {
        let (t, remote, url, p, who) = bare_remote();
        let change = |files: &[(&str, &str)], only_if: Option<String>| Change {
            path: "clusters/a".into(),
            files: files.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect(),
            message: "a".into(),
            only_if,
        };
        p.publish(&change(&[("catalyst.lock", "a")], None), &who).unwrap();
        let checked = p.files_under("clusters/a").unwrap();
        assert_eq!(checked.files.len(), 1);
        assert!(checked.id.is_some());
        // Someone pushes there after the check (another client).
        let other = Publisher::open(&t.path().join("cache2"), &url, "main", GitCredentials::default()).unwrap();
        other.publish(&change(&[("catalyst.lock", "a"), ("theirs.yaml", "x")], None), &who).unwrap();
        let err = p.publish(&change(&[], checked.id.clone()), &who).unwrap_err();
        assert!(matches!(err, PublishError::Moved { .. }), "{err}");
        let r = Repository::open_bare(&remote).unwrap();
        let tree = r.find_reference("refs/heads/main").unwrap().peel_to_tree().unwrap();
        assert!(tree.get_path(Path::new("clusters/a/theirs.yaml")).is_ok(), "their push was removed");
        // As it is now: removed.
        let now = p.files_under("clusters/a").unwrap();
        assert!(matches!(p.publish(&change(&[], now.id), &who).unwrap(), Outcome::Committed(_)));
        assert_eq!(p.files_under("clusters/a").unwrap(), Subtree { id: None, files: BTreeMap::new() });
    }

    #[test]
    fn folders_with_a_marker_are_listed_and_a_removed_subtree_leaves_the_others() {
        let t = tempfile::tempdir().unwrap();
        let remote = t.path().join("remote.git");
        Repository::init_bare(&remote).unwrap();
        let url = format!("file://{}", remote.display());
        let p = Publisher::open(&t.path().join("cache"), &url, "main", GitCredentials::default()).unwrap();
        assert_eq!(p.subtrees_with("clusters", "catalyst.lock").unwrap(), Vec::<String>::new(), "empty repository");
        let who = Identity { name: "catalyst".into(), email: "catalyst@example.org".into(), time: 1_700_000_000 };
        let change = |path: &str, files: &[(&str, &str)]| Change {
            path: path.into(),
            files: files.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect(),
            message: path.into(),
            only_if: None,
        };
        for (path, files) in [
            ("clusters/a", &[("catalyst.lock", "a"), ("x.yaml", "1")][..]),
            ("clusters/b", &[("catalyst.lock", "b")][..]),
            ("clusters/docs", &[("README.md", "notes")][..]),
            ("clusters/c", &[("sub/catalyst.lock", "deeper")][..]),
        ] {
            p.publish(&change(path, files), &who).unwrap();
        }
        assert_eq!(p.subtrees_with("clusters", "catalyst.lock").unwrap(), ["a", "b"]);
        assert_eq!(p.subtrees_with("nowhere", "catalyst.lock").unwrap(), Vec::<String>::new());
        assert!(matches!(p.publish(&change("clusters/b", &[]), &who).unwrap(), Outcome::Committed(_)));
        assert_eq!(p.subtrees_with("clusters", "catalyst.lock").unwrap(), ["a"]);
        let r = Repository::open_bare(&remote).unwrap();
        let tree = r.find_reference("refs/heads/main").unwrap().peel_to_tree().unwrap();
        assert!(tree.get_path(Path::new("clusters/b")).is_err());
        assert!(
            tree.get_path(Path::new("clusters/a/x.yaml")).is_ok() && tree.get_path(Path::new("clusters/docs")).is_ok()
        );
    }
}
