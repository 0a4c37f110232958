//! Every environment variable catalyst reads, declared once with its
//! documentation (as uv's `EnvVars`).
//!
//! Code reads a variable only through its constant here
//! (`std::env::var(catalyst_env::CATALYST_JOBS)`, clap's
//! `env = catalyst_env::CATALYST_JOBS`), so a variable cannot be read
//! without being documented, and [`ALL`] lists them all: the README's table
//! of environment variables is generated from it ([`markdown_table`]; a
//! test holds the README to it, `UPDATE_README=1` rewrites it). The
//! invariant tests (`compiler/catalyst-cli/tests/invariants.rs`) fail on a
//! variable named by a string literal anywhere else. Variables only the
//! tests and benchmarks read are declared in `catalyst-testkit`.
//!
//! No dependencies: the build script and every crate may use it.

/// One variable: its name and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    pub name: &'static str,
    /// What it does (the constant's doc comment, one paragraph).
    pub doc: &'static str,
}

/// Declares each variable once: a constant named as the variable, with its
/// doc comment, and its entry in `ALL` with the same words. Exported for
/// `catalyst-testkit`, which declares the tests' own variables with it.
#[macro_export]
macro_rules! declare_vars {
    ($( #[doc = $doc:literal] $name:ident ),* $(,)?) => {
        $(
            #[doc = $doc]
            pub const $name: &str = stringify!($name);
        )*
        /// Every variable declared here, in order.
        pub const ALL: &[$crate::Var] = &[$( $crate::Var { name: stringify!($name), doc: $doc } ),*];
    };
}

declare_vars! {
    /// Threads to render, package and release with (`-j N`; 1 to 256).
    CATALYST_JOBS,
    /// The longest one registry operation may take, retries included, in seconds (`--registry-timeout`; default 60).
    CATALYST_REGISTRY_TIMEOUT,
    /// How long to wait for another run that holds the repository's lock, in seconds (`--lock-timeout`; default 300, 0: do not wait).
    CATALYST_LOCK_TIMEOUT,
    /// CA certificates (PEM) trusted besides the system's for registries, chart repositories and HTTPS Git servers (`--ca-file`).
    CATALYST_CA_FILE,
    /// Seconds a run takes before its progress bar shows on a terminal (default 1; `0`: at once).
    CATALYST_PROGRESS_AFTER,
    /// The cache directory: vendored charts under `charts/`, `publish`'s Git clones under `git/` (default `~/.cache/catalyst`).
    CATALYST_CACHE_DIR,
    /// The mirrors file that redirects upstream chart repositories (`--mirrors`).
    CATALYST_MIRRORS,
    /// Sigstore's `trusted_root.json` that keyless signatures and upstream signatures are verified with (`--trusted-root`).
    CATALYST_TRUSTED_ROOT,
    /// Fulcio's URL for keyless signing; overrides the signing config's (`--fulcio-url`).
    CATALYST_FULCIO_URL,
    /// Rekor's URL: where signatures and attestations are logged; overrides the signing config's (`--rekor-url`).
    CATALYST_REKOR_URL,
    /// Sigstore's `signing_config.json`, naming Fulcio and Rekor (`--signing-config`).
    CATALYST_SIGNING_CONFIG,
    /// The user name for every registry (with `CATALYST_REGISTRY_PASSWORD`; before the Docker config).
    CATALYST_REGISTRY_USERNAME,
    /// The password or token for every registry (with `CATALYST_REGISTRY_USERNAME`). Read only by `catalyst-oci`.
    CATALYST_REGISTRY_PASSWORD,
    /// The directory of the Docker config file (`config.json`: `auths`, `credHelpers`, `credsStore`); default `~/.docker`.
    DOCKER_CONFIG,
    /// The user name `publish` pushes to Git over HTTPS with (default `catalyst` when only a password or token is set).
    CATALYST_GIT_USERNAME,
    /// The password `publish` pushes to Git over HTTPS with. Read only by `catalyst-publish`.
    CATALYST_GIT_PASSWORD,
    /// A token `publish` sends as the Git password when `CATALYST_GIT_PASSWORD` is not set. Read only by `catalyst-publish`.
    CATALYST_GIT_TOKEN,
    /// The SSH private key file `publish` pushes over `ssh://` with (else the SSH agent).
    CATALYST_GIT_SSH_KEY,
    /// The passphrase of `CATALYST_GIT_SSH_KEY`. Read only by `catalyst-publish`.
    CATALYST_GIT_SSH_KEY_PASSPHRASE,
    /// The known_hosts file that vouches for Git servers' SSH host keys (default `~/.ssh/known_hosts`).
    CATALYST_GIT_KNOWN_HOSTS,
    /// The password of a cosign private key (else a prompt on the terminal), as cosign reads it.
    COSIGN_PASSWORD,
    /// The OIDC identity token for keyless signing when `--identity-token` is not given.
    SIGSTORE_ID_TOKEN,
    /// The CI's token service (GitHub, Gitea and Forgejo Actions) asked for an identity token when no other is given.
    ACTIONS_ID_TOKEN_REQUEST_URL,
    /// The bearer token for `ACTIONS_ID_TOKEN_REQUEST_URL`.
    ACTIONS_ID_TOKEN_REQUEST_TOKEN,
    /// The time (Unix seconds) written into archives, SBOMs and provenance instead of the clock, for reproducible builds.
    SOURCE_DATE_EPOCH,
    /// The CI server's URL; with `GITHUB_WORKFLOW_REF`, provenance names the workflow as its builder.
    GITHUB_SERVER_URL,
    /// The workflow that runs the build (`owner/repo/.github/workflows/x.yaml@ref`), named in provenance.
    GITHUB_WORKFLOW_REF,
    /// The repository of the CI run, named in provenance's invocation.
    GITHUB_REPOSITORY,
    /// The CI run's id, named in provenance's invocation.
    GITHUB_RUN_ID,
    /// The CI run's attempt (default 1), named in provenance's invocation.
    GITHUB_RUN_ATTEMPT,
    /// Set (not empty, not `false`): a CI run; no progress bar, no prompt.
    CI,
    /// Set (not empty): no colour with `--color auto`.
    NO_COLOR,
    /// The `helm` binary for the smoke render of `package`, `push` and `release` (else `helm` on `PATH`).
    HELM,
    /// Where `helm` is looked up when `HELM` is not set.
    PATH,
    /// The home directory: `~/.cache/catalyst`, `~/.ssh/known_hosts`.
    HOME,
    /// Build time only: the commit `catalyst version` reports when the source is not a Git checkout.
    CATALYST_GIT_COMMIT,
}

/// The README's table: one row per variable of [`ALL`], in order.
pub fn markdown_table() -> String {
    let mut out = String::from("| Variable | What it does |\n|---|---|\n");
    for v in ALL {
        out.push_str(&format!("| `{}` | {} |\n", v.name, v.doc.trim()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variable_is_declared_once_documented_and_named_as_its_constant() {
        let mut seen = std::collections::BTreeSet::new();
        for v in ALL {
            assert!(seen.insert(v.name), "{} declared twice", v.name);
            assert!(!v.doc.trim().is_empty(), "{} has no doc", v.name);
            assert!(!v.doc.contains('|') && !v.doc.contains('\n'), "{}: one paragraph without `|`", v.name);
            assert!(v.name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'), "{}", v.name);
        }
        assert_eq!(CATALYST_JOBS, "CATALYST_JOBS");
        assert!(markdown_table().contains("| `SIGSTORE_ID_TOKEN` | The OIDC identity token"));
    }
}
