//! The workspace's invariants, executable (as rust-analyzer's `tidy.rs`):
//! these tests read every crate's `Cargo.toml` and sources and fail, naming
//! the file, the rule and why the rule exists, when ARCHITECTURE.md's
//! invariants stop holding. They run with every other test (`scripts/test`);
//! alone: `cargo test -p catalyst-cli --test invariants`.
//!
//! What they read: "shipped" code is `compiler/*/src/**` without its
//! `#[cfg(test)] mod` tail and `tests.rs` files, and `build.rs`; comments
//! are removed before a pattern is looked for (string literals are kept: a
//! key read from a config file is a string). A pattern that starts or ends
//! with a word character matches only at a word boundary.
//!
//! Adding a rule is one entry in [`RULES`] (crates allowed → dependencies
//! and patterns), or in [`CREDENTIAL_FIELDS`] / [`NOT_CREDENTIALS`].
//!
//! Each rule was broken on purpose once to see it fail (then reverted):
//! - `clap.workspace = true` added to catalyst-ops' `[dependencies]`:
//!   `only-the-cli-knows-clap` failed on compiler/catalyst-ops/Cargo.toml;
//! - `let _ = std::fs::read("x");` added to catalyst-render's `lib.rs`:
//!   `render-does-no-io` failed on compiler/catalyst-render/src/lib.rs;
//! - `std::env::var("CATALYST_GIT_TOKEN")` added to catalyst-ops'
//!   `publish.rs`: `only-publish-sees-git-credentials` and both
//!   environment rules failed there;
//! - `std::env::var(catalyst_env::DOCKER_CONFIG)` added to catalyst-vendor,
//!   and `v.get("credHelpers")` to catalyst-ops:
//!   `only-oci-sees-registry-credentials` failed on each;
//! - `git2::Cred::default()` added to catalyst-ops: the Git rule failed;
//! - `anyhow` and `tokio` added to catalyst-render's `[dependencies]`: the
//!   clap/anyhow rule and `render-does-no-io` failed on its Cargo.toml;
//! - `pub password: String` in a struct of catalyst-ops: `secret_fields`
//!   failed; `std::env::var_os("CATALYST_NEW")` in catalyst-ops:
//!   `environment_variables` failed;
//! - `pointer.ends_with("/sshPublicKey")` put back into catalyst-yaml:
//!   `secret-policy-stays-out-of-yaml` failed;
//! - a row of the README's table edited: `readme_lists_every_variable` failed;
//! - `pub fn f(d: Diagnostics) -> (Vec<FoundRelease>, Diagnostics)` added
//!   to catalyst-ops' `drift.rs` and `pub fn g() -> Result<(),
//!   Vec<Diagnostic>>` to its `package.rs`: `one_result_convention`
//!   failed on each (and on the four functions it was written against:
//!   `parse_partial`, `compose_claim`, `check_split`, `check_dir`); so it
//!   did with `pub warnings: Vec<Diagnostic>` put back into
//!   catalyst-resolve's `Resolution`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which crates a rule lets hold what it names.
enum Allowed {
    /// Only these.
    Only(&'static [&'static str]),
    /// Every crate but these.
    AllBut(&'static [&'static str]),
}

impl Allowed {
    fn allows(&self, krate: &str) -> bool {
        match self {
            Allowed::Only(c) => c.contains(&krate),
            Allowed::AllBut(c) => !c.contains(&krate),
        }
    }
}

struct Rule {
    name: &'static str,
    /// Why the rule exists: said by every failure.
    why: &'static str,
    allowed: Allowed,
    /// Dependencies (`[dependencies]` and `[build-dependencies]`: what
    /// ships; tests may use anything).
    deps: &'static [&'static str],
    /// Text in shipped code.
    patterns: &'static [&'static str],
}

const RULES: &[Rule] = &[
    Rule {
        name: "only-the-cli-knows-clap",
        why: "the command line is the CLI's alone (ARCHITECTURE.md): the other crates are libraries that take typed \
              options and return typed errors and diagnostics, never anyhow's opaque ones",
        allowed: Allowed::Only(&["catalyst-cli"]),
        deps: &["clap", "clap_complete", "clap_mangen", "anyhow"],
        patterns: &["clap::", "anyhow::", "anyhow!", "use clap", "use anyhow"],
    },
    Rule {
        name: "only-oci-sees-registry-credentials",
        why: "registry credentials (the CATALYST_REGISTRY_* variables, the Docker config's auths, credHelpers and \
              credsStore, docker-credential helpers) are read in catalyst-oci alone, held as a Secret there and sent \
              only to the registry they are for (`Credentials` and `credentials_for` are private to it); other crates \
              get a Registry that authorizes itself, never the credentials (catalyst-env only declares the \
              variables' names)",
        allowed: Allowed::Only(&["catalyst-oci", "catalyst-env"]),
        deps: &[],
        patterns: &[
            "CATALYST_REGISTRY_USERNAME",
            "CATALYST_REGISTRY_PASSWORD",
            "DOCKER_CONFIG",
            "\"auths\"",
            "\"credHelpers\"",
            "\"credsStore\"",
            "docker-credential-{",
            "credentials_for",
            "Credentials {",
        ],
    },
    Rule {
        name: "only-publish-sees-git-credentials",
        why: "Git credentials (the CATALYST_GIT_* variables, git2's credential callbacks, credential helpers, SSH \
              keys) are read in catalyst-publish alone (`GitCredentials::from_env`), whose fields no other crate \
              can see: catalyst-ops passes the opaque value to `Publisher::open` (catalyst-env only declares the \
              variables' names)",
        allowed: Allowed::Only(&["catalyst-publish", "catalyst-env"]),
        deps: &[],
        patterns: &[
            "CATALYST_GIT_USERNAME",
            "CATALYST_GIT_PASSWORD",
            "CATALYST_GIT_TOKEN",
            "CATALYST_GIT_SSH_KEY",
            "CATALYST_GIT_SSH_KEY_PASSPHRASE",
            "CATALYST_GIT_KNOWN_HOSTS",
            "Cred::",
            "git2::Cred",
            "CredentialType",
            ".credentials(",
            "credential_helper",
            "ssh_key_from_agent",
        ],
    },
    Rule {
        name: "render-does-no-io",
        why: "render is pure (ARCHITECTURE.md: it never touches the network, a cluster or a file; catalyst-ops \
              reads the inputs and writes the output): same inputs, same bytes, testable without a file system. \
              Its direct dependencies are checked here; catalyst-catalog, which it uses for types, does I/O in \
              `load`, which render must not call",
        allowed: Allowed::AllBut(&["catalyst-render"]),
        deps: &[
            "tokio",
            "reqwest",
            "git2",
            "oci-client",
            "rustix",
            "libc",
            "walkdir",
            "tempfile",
            "rpassword",
            "indicatif",
            "catalyst-fs",
            "catalyst-oci",
            "catalyst-ops",
            "catalyst-publish",
            "catalyst-vendor",
            "catalyst-sigstore",
            "catalyst-env",
        ],
        patterns: &[
            "std::fs",
            "std::net",
            "std::process",
            "std::env::",
            "std::io::stdin",
            "std::io::stdout",
            "std::io::stderr",
            "std::os::",
            "File::",
            "OpenOptions",
            "Command::new",
            "TcpStream",
            "tokio",
            "reqwest",
            "git2",
            "println!",
            "eprintln!",
            "print!",
            "eprint!",
            "dbg!",
            "SystemTime",
            "Instant::now",
            "catalyst_fs",
            "catalyst_catalog::load(",
            "audit_dir",
            "load_module(",
        ],
    },
    Rule {
        name: "secret-policy-stays-out-of-yaml",
        why: "which keys and strings are secrets or exempt from the secret scan is catalyst-diag's policy \
              (`secrets.rs`, beside the patterns); catalyst-yaml parses and walks, asking the policy \
              (`exempt_at`, `MapContext`), so the policy has one place",
        allowed: Allowed::AllBut(&["catalyst-yaml"]),
        deps: &[],
        patterns: &[
            "sshPublicKey",
            "mediaType",
            "secretRef",
            "secretKeyRef",
            "existingSecret",
            "REPLACE_ME",
            "\"name\"",
            "\"value\"",
            "password",
            "Password",
        ],
    },
];

/// Field names that hold a credential: a struct field named so (or ending
/// `_<name>`) must be a `catalyst_secret::Secret`, which never prints,
/// not text that `Debug` or a message would show.
const CREDENTIAL_FIELDS: &[&str] =
    &["password", "passphrase", "token", "secret_key", "private_key", "key_pem", "api_key", "access_key"];

/// Types that print their content.
const PLAIN_TYPES: &[&str] =
    &["String", "Option<String>", "Vec<u8>", "Option<Vec<u8>>", "&str", "&[u8]", "Box<str>", "Option<&str>"];

/// Fields named like credentials that are not: (crate, field, why).
const NOT_CREDENTIALS: &[(&str, &str, &str)] = &[
    (
        "catalyst-catalog",
        "secret_key",
        "the name of a key inside a Kubernetes Secret (a ProviderConfig's `secret.key`)",
    ),
    (
        "catalyst-ops",
        "private_key",
        "`generate-key-pair -o json` (catalyst_ops::json::KeyPair): the path of the key file written",
    ),
];

/// Names Cargo sets for build scripts and tests, documented by Cargo.
fn set_by_cargo(name: &str) -> bool {
    name.starts_with("CARGO_") || ["RUSTC", "TARGET", "HOST", "OUT_DIR", "PROFILE", "OPT_LEVEL"].contains(&name)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// `src/` outside tests, `build.rs`.
    Shipped,
    /// `tests/`, `benches/`, `examples/`, test modules.
    Test,
}

struct Source {
    krate: String,
    /// Relative to the repository.
    path: String,
    kind: Kind,
    /// Line of the file where `code` starts (a test module's tail starts
    /// below the top).
    first_line: usize,
    /// Comments blanked (newlines kept).
    code: String,
}

impl Source {
    fn at(&self, offset: usize) -> String {
        format!("{}:{}", self.path, self.first_line + self.code[..offset].matches('\n').count())
    }
}

struct Crate {
    name: String,
    manifest_path: String,
    /// Shipped dependencies (`[dependencies]`, `[build-dependencies]`).
    deps: Vec<String>,
}

struct Workspace {
    root: PathBuf,
    crates: Vec<Crate>,
    sources: Vec<Source>,
}

fn workspace() -> Workspace {
    let root = catalyst_testkit::repo_root();
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(root.join("compiler")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    let mut crates = Vec::new();
    let mut sources = Vec::new();
    for dir in dirs {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let name = package_name(&manifest);
        crates.push(Crate {
            name: name.clone(),
            manifest_path: rel(&root, &dir.join("Cargo.toml")),
            deps: deps(&manifest),
        });
        let mut files = Vec::new();
        for sub in ["src", "tests", "benches", "examples"] {
            rs_files(&dir.join(sub), &mut files);
        }
        if dir.join("build.rs").is_file() {
            files.push(dir.join("build.rs"));
        }
        files.sort();
        for f in files {
            // This file names every pattern it looks for.
            if f.ends_with("catalyst-cli/tests/invariants.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap();
            let path = rel(&root, &f);
            let under = |d: &str| f.strip_prefix(dir.join(d)).is_ok();
            let test_file = !under("src") && !f.ends_with("build.rs")
                || f.file_name().is_some_and(|n| n == "tests.rs")
                || f.components().any(|c| c.as_os_str() == "tests") && under("src");
            let code = strip_comments(&text);
            if test_file {
                sources.push(Source { krate: name.clone(), path, kind: Kind::Test, first_line: 1, code });
                continue;
            }
            // A `#[cfg(test)] mod` is where a file's tests start.
            let cut = test_module_start(&code).unwrap_or(code.len());
            let first_line = 1 + code[..cut].matches('\n').count();
            sources.push(Source {
                krate: name.clone(),
                path: path.clone(),
                kind: Kind::Shipped,
                first_line: 1,
                code: code[..cut].to_string(),
            });
            sources.push(Source {
                krate: name.clone(),
                path,
                kind: Kind::Test,
                first_line,
                code: code[cut..].to_string(),
            });
        }
    }
    assert!(crates.len() > 20 && sources.len() > 100, "the workspace was not found from {}", root.display());
    Workspace { root, crates, sources }
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).to_string_lossy().into_owned()
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn package_name(manifest: &str) -> String {
    let line = manifest.lines().find(|l| l.trim_start().starts_with("name")).expect("a package name");
    line.split('"').nth(1).expect("name = \"...\"").to_string()
}

/// The names under `[dependencies]`, `[build-dependencies]` and their
/// `[target.*.…]` forms.
fn deps(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut shipped = false;
    for line in manifest.lines().map(str::trim) {
        if let Some(section) = line.strip_prefix('[') {
            let section = section.trim_end_matches(']');
            shipped = section.ends_with("dependencies") && !section.ends_with("dev-dependencies");
            if let Some(dep) =
                section.strip_prefix("dependencies.").or_else(|| section.strip_prefix("build-dependencies."))
            {
                out.push(dep.to_string());
            }
            continue;
        }
        if shipped && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['=', '.', ' ']).next().unwrap_or_default();
            out.push(name.trim_matches('"').to_string());
        }
    }
    out
}

/// `text` with every comment replaced by spaces (newlines kept), strings
/// and character literals left as they are.
fn strip_comments(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p);
                blank(&mut out, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let (mut depth, mut j) = (1, i + 2);
                while j < b.len() && depth > 0 {
                    if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                        depth += 1;
                        j += 1;
                    } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                        depth -= 1;
                        j += 1;
                    }
                    j += 1;
                }
                blank(&mut out, i, j.min(b.len()));
                i = j;
            }
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#')) && (i == 0 || !is_word(b[i - 1])) => {
                // r"..." or r#"..."#
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
                let start = i + 2 + hashes;
                i = b[start..]
                    .windows(close.len())
                    .position(|w| w == close)
                    .map_or(b.len(), |p| start + p + close.len());
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'\'' => {
                // A character literal ('x', '\n', '"'); else a lifetime.
                if b.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while i < b.len() && b[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                } else if let Some(len) = text[i + 1..].chars().next().map(char::len_utf8)
                    && b.get(i + 1 + len) == Some(&b'\'')
                {
                    i += 2 + len;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).expect("blanking keeps UTF-8")
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Offsets of `pattern` in `code`, at word boundaries where the pattern
/// starts or ends with a word character.
fn find_all(code: &str, pattern: &str) -> Vec<usize> {
    let (b, p) = (code.as_bytes(), pattern.as_bytes());
    code.match_indices(pattern)
        .map(|(i, _)| i)
        .filter(|&i| {
            let before = !is_word(p[0]) || i == 0 || !is_word(b[i - 1]);
            let after = !is_word(p[p.len() - 1]) || b.get(i + p.len()).is_none_or(|&c| !is_word(c));
            before && after
        })
        .collect()
}

fn test_module_start(code: &str) -> Option<usize> {
    find_all(code, "#[cfg(test)]").into_iter().find(|&i| code[i + 12..].trim_start().starts_with("mod "))
}

fn fail(problems: Vec<String>) {
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n\n"));
}

#[test]
fn dependency_and_source_rules() {
    let ws = workspace();
    let mut problems = Vec::new();
    for rule in RULES {
        for c in ws.crates.iter().filter(|c| !rule.allowed.allows(&c.name)) {
            for d in c.deps.iter().filter(|d| rule.deps.contains(&d.as_str())) {
                problems.push(format!(
                    "{}: {} depends on `{d}`, which breaks `{}`: {}",
                    c.manifest_path, c.name, rule.name, rule.why
                ));
            }
        }
        for s in ws.sources.iter().filter(|s| s.kind == Kind::Shipped && !rule.allowed.allows(&s.krate)) {
            for p in rule.patterns {
                for at in find_all(&s.code, p) {
                    problems.push(format!("{}: `{p}` breaks `{}`: {}", s.at(at), rule.name, rule.why));
                }
            }
        }
    }
    fail(problems);
}

#[test]
fn secret_fields() {
    let why = "every password, token and key is a catalyst_secret::Secret, which prints `<redacted>` in Display and \
               Debug: a String would show in a #[derive(Debug)], a message or a log";
    let ws = workspace();
    let mut problems = Vec::new();
    for s in ws.sources.iter().filter(|s| s.kind == Kind::Shipped && s.krate != "catalyst-secret") {
        for (here, name, ty) in struct_fields(&s.code) {
            let credential = CREDENTIAL_FIELDS.iter().any(|w| name == *w || name.ends_with(&format!("_{w}")));
            let excused = NOT_CREDENTIALS.iter().any(|(k, f, _)| *k == s.krate && *f == name);
            if credential && !excused && PLAIN_TYPES.contains(&ty.as_str()) {
                problems.push(format!(
                    "{}: field `{name}: {ty}` holds a credential as plain text, which breaks `secret-fields`: {why} \
                     (not a credential? list it in NOT_CREDENTIALS with the reason)",
                    s.at(here)
                ));
            }
        }
    }
    fail(problems);
}

/// Every field of a struct or enum variant in `code`: where its line
/// starts, its name and its type (as [`field`] gives them).
fn struct_fields(code: &str) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    let mut offset = 0;
    // The struct whose body we are in: its closing line.
    let mut closing: Option<String> = None;
    for line in code.split_inclusive('\n') {
        let here = offset;
        offset += line.len();
        let trimmed = line.trim_end();
        if let Some(close) = &closing {
            if trimmed == close {
                closing = None;
            } else if let Some((name, ty)) = field(trimmed) {
                out.push((here, name, ty));
            }
        } else if (trimmed.contains("struct ") || trimmed.contains("enum ")) && trimmed.ends_with('{') {
            let indent = &line[..line.len() - line.trim_start().len()];
            closing = Some(format!("{indent}}}"));
        }
    }
    out
}

/// `pub(crate) name: Type,` → (name, Type without spaces and lifetimes).
fn field(line: &str) -> Option<(String, String)> {
    let mut l = line.trim().strip_suffix(',')?;
    for vis in ["pub(crate) ", "pub(super) ", "pub "] {
        l = l.strip_prefix(vis).unwrap_or(l);
    }
    let (name, ty) = l.split_once(':')?;
    let name = name.trim();
    if !name.bytes().all(is_word) || ty.starts_with(':') {
        return None;
    }
    // Lifetimes go first (`&'a str` → `&str`), then spaces.
    let mut ty = ty.to_string();
    while let Some(i) = ty.find('\'') {
        let end = ty[i + 1..].find(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(ty.len(), |e| i + 1 + e);
        ty.replace_range(i..end, "");
    }
    Some((name.to_string(), ty.split_whitespace().collect()))
}

#[test]
fn environment_variables() {
    let ws = workspace();
    let declared: BTreeMap<&str, &str> = catalyst_env::ALL
        .iter()
        .map(|v| (v.name, "catalyst_env"))
        .chain(catalyst_testkit::env::ALL.iter().map(|v| (v.name, "catalyst_testkit::env")))
        .collect();
    let why = "every variable catalyst reads is declared once, with its doc, in compiler/catalyst-env (the tests' \
               own in catalyst-testkit's `env`), and read through its constant: the README's table is generated \
               from that list, so a variable read anywhere else would be undocumented";
    let mut problems = Vec::new();
    for s in ws.sources.iter().filter(|s| s.krate != "catalyst-env") {
        // A variable read by a literal name, in any code (tests too).
        for call in ["var(\"", "var_os(\"", "env(\"", "env = \"", "env=\""] {
            for at in find_all(&s.code, call) {
                // `Command::env("X", ..)` sets a child's variable; a method
                // `.var(..)` is another type's.
                if !call.starts_with("env ") && !call.starts_with("env=") && s.code[..at].ends_with('.') {
                    continue;
                }
                let name_at = at + call.len();
                let name: String = s.code[name_at..].chars().take_while(|&c| c != '"').collect();
                // An environment variable's name (`var("gitops_secret_name")`
                // of an HCL test is not one), not one Cargo sets.
                let env_like = name.starts_with(|c: char| c.is_ascii_uppercase())
                    && name.bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_');
                if !env_like || set_by_cargo(&name) {
                    continue;
                }
                let hint = match declared.get(name.as_str()) {
                    Some(module) => format!("use `{module}::{name}`"),
                    None => "declare it in catalyst-env (or catalyst-testkit's `env` if only tests read it)".into(),
                };
                problems.push(format!("{}: `{name}` is read by a string literal ({hint}): {why}", s.at(at)));
            }
        }
        // A declared name spelled out again in shipped code.
        if s.kind == Kind::Shipped {
            for name in declared.keys() {
                for at in find_all(&s.code, &format!("\"{name}\"")) {
                    problems.push(format!(
                        "{}: `\"{name}\"` spells out a declared variable: use `{}::{name}`: {why}",
                        s.at(at),
                        declared[name]
                    ));
                }
            }
            // Tools' variables are the testkit's, each once.
            if s.krate != "catalyst-testkit" {
                for at in find_all(&s.code, "\"CATALYST_TEST_") {
                    problems.push(format!("{}: a CATALYST_TEST_ variable outside catalyst-testkit: {why}", s.at(at)));
                }
            }
        }
    }
    let testkit: String = ws
        .sources
        .iter()
        .filter(|s| s.krate == "catalyst-testkit" && s.kind == Kind::Shipped)
        .map(|s| s.code.as_str())
        .collect();
    let mut seen = BTreeMap::new();
    for (at, _) in testkit.match_indices("\"CATALYST_TEST_") {
        let name: String = testkit[at + 1..].chars().take_while(|&c| c != '"').collect();
        *seen.entry(name).or_insert(0) += 1;
    }
    for (name, n) in seen.into_iter().filter(|(_, n)| *n > 1) {
        problems.push(format!("catalyst-testkit declares `{name}` {n} times: {why}"));
    }
    fail(problems);
}

/// One result convention (ARCHITECTURE.md, "Diagnostics"): a public
/// function that can fail with diagnostics returns `DiagResult<T>`
/// (`Result<T, Diagnostics>`), a value with warnings is a `Warned<T>`,
/// and a value made despite errors is a `Partial<T>` (or a named type
/// that says what it holds). A `Result<_, Vec<Diagnostic>>` or a tuple
/// with diagnostics in it says neither which of its diagnostics are
/// errors nor whether its value may be used.
#[test]
fn one_result_convention() {
    let why = "a public fn returns diagnostics as catalyst_diag's DiagResult<T>, Warned<T> or Partial<T> (or a \
               named type), never as Result<_, Vec<Diagnostic>> nor in a tuple: a tuple does not say whether its \
               value may be used when its diagnostics hold errors";
    let ws = workspace();
    let mut problems = Vec::new();
    for s in ws.sources.iter().filter(|s| s.kind == Kind::Shipped) {
        for (at, ty) in public_return_types(&s.code) {
            if let Some(bad) = mixed_diagnostics(&ty) {
                let part = if bad == ty { String::new() } else { format!(", in which `{bad}`") };
                problems.push(format!("{}: returns `{ty}`{part} breaks `one-result-convention`: {why}", s.at(at)));
            }
        }
        // A value's warnings travel beside it, in a Warned: not in a field
        // of its own, which every caller must remember to read.
        for (at, name, ty) in struct_fields(&s.code) {
            let accumulator = WARNINGS_FIELDS.iter().any(|(k, p, _)| *k == s.krate && s.path.ends_with(p));
            if name == "warnings" && matches!(ty.as_str(), "Diagnostics" | "Vec<Diagnostic>") && !accumulator {
                problems.push(format!(
                    "{}: field `warnings: {ty}` breaks `one-result-convention`: a value with warnings is a \
                     catalyst_diag::Warned<T> (an accumulator of a stage's problems? list it in WARNINGS_FIELDS)",
                    s.at(at)
                ));
            }
        }
    }
    fail(problems);
}

/// Where a `warnings` field of diagnostics is no value's: (crate, file,
/// why).
const WARNINGS_FIELDS: &[(&str, &str, &str)] = &[
    ("catalyst-diag", "src/lib.rs", "Warned itself"),
    (
        "catalyst-render",
        "src/lib.rs",
        "Report, what the stages of one render found so far; it ends as a DiagResult<Warned<Rendered>>",
    ),
];

/// The return type (spaces removed) of every `pub fn` and the type of
/// every `pub type` in `code`, with where each starts.
fn public_return_types(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for at in find_all(code, "pub type") {
        let rest = &code[at..];
        let Some(eq) = rest.find('=') else { continue };
        let end = rest.find(';').unwrap_or(rest.len());
        if eq < end {
            out.push((at, rest[eq + 1..end].split_whitespace().collect()));
        }
    }
    for at in find_all(code, "pub fn").into_iter().chain(find_all(code, "pub const fn")) {
        let sig = &code[at..];
        // The signature ends where the body (or `;`) starts, outside any
        // parentheses or angle brackets.
        let (mut depth, mut arrow, mut end) = (0i32, None, sig.len());
        let b = sig.as_bytes();
        for (i, &c) in b.iter().enumerate() {
            match c {
                b'(' | b'<' | b'[' => depth += 1,
                b')' | b']' => depth -= 1,
                // An arrow: the return type's when outside the parameters.
                b'>' if i > 0 && b[i - 1] == b'-' => arrow = (depth == 0).then_some(i + 1).or(arrow),
                b'>' => depth -= 1,
                b'{' | b';' if depth == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let Some(from) = arrow else { continue };
        let ret = &sig[from..end];
        let ret = ret.find(" where ").or_else(|| ret.find("\nwhere")).map_or(ret, |w| &ret[..w]);
        out.push((at, ret.split_whitespace().collect()));
    }
    out
}

/// The part of a type (spaces removed) that mixes diagnostics in: a
/// `Result` whose error is `Vec<Diagnostic>`, or a tuple with
/// `Diagnostics` or `Vec<Diagnostic>` among its elements.
fn mixed_diagnostics(ty: &str) -> Option<String> {
    let plain = |t: &str| t.replace("catalyst_diag::", "");
    let is_list = |t: &str| matches!(plain(t).as_str(), "Diagnostics" | "Vec<Diagnostic>");
    let b = ty.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        let opens_args = c == b'<' && ty[..i].ends_with("Result");
        let opens_tuple = c == b'(' && (i == 0 || !is_word(b[i - 1]));
        if !(opens_args || opens_tuple) {
            continue;
        }
        // The top-level elements up to the matching bracket.
        let (mut depth, mut start, mut parts, mut close) = (0i32, i + 1, Vec::new(), ty.len());
        for (j, &d) in b.iter().enumerate().skip(i) {
            match d {
                b'(' | b'<' | b'[' => depth += 1,
                b')' | b'>' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        parts.push(&ty[start..j]);
                        close = j + 1;
                        break;
                    }
                }
                b',' if depth == 1 => {
                    parts.push(&ty[start..j]);
                    start = j + 1;
                }
                _ => {}
            }
        }
        let whole = || ty[i.saturating_sub(if opens_args { 6 } else { 0 })..close].to_string();
        if opens_args && parts.get(1).is_some_and(|e| plain(e) == "Vec<Diagnostic>") {
            return Some(whole());
        }
        if opens_tuple && parts.len() > 1 && parts.iter().any(|p| is_list(p)) {
            return Some(whole());
        }
    }
    None
}

const BEGIN: &str = "<!-- BEGIN env-vars: generated from compiler/catalyst-env; do not edit -->\n";
const END: &str = "<!-- END env-vars -->";

/// The README's table of environment variables is `catalyst_env::ALL`;
/// `UPDATE_README=1` rewrites it.
#[test]
fn readme_lists_every_variable() {
    let path = workspace_root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme.find(BEGIN).expect("README.md has the env-vars markers") + BEGIN.len();
    let end = start + readme[start..].find(END).expect("README.md has the END env-vars marker");
    let table = catalyst_env::markdown_table();
    if readme[start..end] == table {
        return;
    }
    if std::env::var_os(catalyst_testkit::env::UPDATE_README).is_some() {
        std::fs::write(&path, format!("{}{table}{}", &readme[..start], &readme[end..])).unwrap();
        return;
    }
    panic!(
        "README.md's table of environment variables is not compiler/catalyst-env's list (it is generated from it, \
         so each variable is documented where it is declared); run with UPDATE_README=1 to rewrite it.\n\
         expected:\n{table}\nfound:\n{}",
        &readme[start..end]
    );
}

fn workspace_root() -> PathBuf {
    catalyst_testkit::repo_root()
}

/// The scanner itself: comments go, strings and lifetimes stay.
#[test]
fn comments_are_stripped_and_strings_kept() {
    let code = strip_comments(
        "let a = \"// not a comment\"; // std::fs\n/* std::net /* nested */ */ let c = '\"'; fn f<'a>(x: &'a str) {}\nr#\"std::process\"#",
    );
    assert!(code.contains("\"// not a comment\""));
    assert!(!code.contains("std::fs") && !code.contains("std::net"));
    assert!(code.contains("'\"'") && code.contains("<'a>") && code.contains("r#\"std::process\"#"));
    assert_eq!(code.lines().count(), 3);
    assert_eq!(find_all("clap::x catalyst_env::Y", "clap::").len(), 1);
    assert!(find_all("GitCredentials {", "Credentials {").is_empty());
    assert_eq!(field("    pub(crate) password: Option<String>,"), Some(("password".into(), "Option<String>".into())));
    assert_eq!(field("    pub pem: &'a str,"), Some(("pem".into(), "&str".into())));
    let _ = workspace().root;
    let types = public_return_types(
        "pub fn a(f: impl Fn(u8) -> bool) -> (Option<T>, Diagnostics) where T: X { }\npub type R = Result<T, Vec<Diagnostic>>;",
    );
    let types: Vec<&str> = types.iter().map(|t| t.1.as_str()).collect();
    assert_eq!(types, ["Result<T,Vec<Diagnostic>>", "(Option<T>,Diagnostics)"]);
    assert!(mixed_diagnostics(types[0]).is_some() && mixed_diagnostics(types[1]).is_some());
    assert_eq!(
        mixed_diagnostics("Result<Result<S,catalyst_diag::Diagnostic>,Vec<Diagnostic>>").as_deref(),
        Some("Result<Result<S,catalyst_diag::Diagnostic>,Vec<Diagnostic>>")
    );
    assert_eq!(mixed_diagnostics("Result<Result<S,Vec<Diagnostic>>,E>").as_deref(), Some("Result<S,Vec<Diagnostic>>"));
    for fine in
        ["Result<Warned<T>,Partial<T>>", "DiagResult<(A,B)>", "Result<T,Diagnostics>", "Vec<(String,Diagnostic)>"]
    {
        assert_eq!(mixed_diagnostics(fine), None, "{fine}");
    }
}
