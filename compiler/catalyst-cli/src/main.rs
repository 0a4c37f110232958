//! `catalyst`: the command line. Parses arguments, calls `catalyst-ops`,
//! prints results and diagnostics, and maps outcomes to exit codes:
//! 0 success, 1 invalid input, 2 usage or internal error, 3 a transient
//! network failure (see `output`).

mod output;

// Rendering a fleet allocates millions of small strings and nodes; glibc's
// allocator was a fifth of the render's time in profiles.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use catalyst_diag::{Diagnostics, Sources, render_human, render_json};
use catalyst_ops::{OpsError, Options, Outcome, Report, Workspace, json};
use catalyst_resolve::GraphFormat;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(name = "catalyst", version, about = "Compile a Blueprint catalog and Sovereign specs into Flux cluster directories", long_about = None)]
struct Cli {
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Catalog root (holds platform/, products/, catalog.yaml). Default: the repository containing the current directory.
    #[arg(long, global = true, value_name = "DIR")]
    catalog: Option<PathBuf>,
    /// Worker threads, 1 to 256 (default: one per core).
    #[arg(short = 'j', long, global = true, env = catalyst_env::CATALYST_JOBS, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: Option<u16>,
    /// Largest input file accepted, in bytes (at least 1024).
    #[arg(long, global = true, value_name = "BYTES", default_value_t = 16 << 20, value_parser = clap::value_parser!(u64).range(1024..))]
    max_file_size: u64,
    /// Longest one registry operation may take, retries included, in seconds (1 to 86400); connecting may take a
    /// sixth of it, a silent server half.
    #[arg(long, global = true, env = catalyst_env::CATALYST_REGISTRY_TIMEOUT, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    registry_timeout: u64,
    /// How long to wait for another catalyst run that is writing the same cluster directories, in seconds (0: do not wait).
    #[arg(long, global = true, env = catalyst_env::CATALYST_LOCK_TIMEOUT, value_name = "SECONDS", default_value_t = catalyst_ops::repo_lock::DEFAULT_TIMEOUT.as_secs())]
    lock_timeout: u64,
    /// Output format of every command (overrides --format): `json` prints exactly one JSON document on standard
    /// output, also when the run fails (then `{"errors": 1, "diagnostics": [{"code", "message", ...}]}`).
    #[arg(short = 'o', long = "output", global = true, value_enum, value_name = "FORMAT")]
    output: Option<Format>,
    /// Show the chain of causes under errors (`Caused by:` lines).
    #[arg(short = 'v', long, global = true)]
    verbose: bool,
    /// Trust the CA certificates in this PEM file (besides the system's) for registries, chart repositories and
    /// HTTPS Git servers: a private Harbor or Gitea.
    #[arg(long, global = true, env = catalyst_env::CATALYST_CA_FILE, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Render Sovereign specs into their cluster directories (clusters/<fqdn>/).
    ///
    /// Each PATH is a Sovereign spec or a cluster directory holding sovereign.yaml; `-` reads a spec from standard
    /// input, which renders into clusters/<fqdn>/ (its metadata decides) and is written there as its sovereign.yaml.
    /// Without PATH every clusters/*/sovereign.yaml is rendered, and a rendered directory whose spec is gone is
    /// reported (--prune removes it). A directory is written whole or not at all; when any Sovereign has an
    /// error, nothing is written.
    Render {
        paths: Vec<PathBuf>,
        /// Write into this directory instead of clusters/<fqdn>/ (one spec only).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Output format of diagnostics and the summary.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Print only problems.
        #[arg(short, long)]
        quiet: bool,
        /// Write nothing: exit 1 and name every committed file that differs from a fresh render, and every rendered
        /// directory whose spec is gone; one line per Sovereign, then the totals.
        #[arg(long, conflicts_with = "out")]
        check: bool,
        /// Also remove the directories under clusters/ that catalyst rendered and whose spec is gone, each whole
        /// (renamed aside, then deleted); only when they hold nothing but what catalyst wrote.
        #[arg(long, conflicts_with_all = ["check", "paths", "out"])]
        prune: bool,
        /// Only the Sovereigns affected by changes since this Git revision (see `catalyst affected`).
        #[arg(long, value_name = "REF", conflicts_with_all = ["paths", "out"])]
        affected_since: Option<String>,
        /// Render every Sovereign, even those whose catalyst.lock says their inputs have not changed.
        #[arg(long, conflicts_with = "check")]
        force: bool,
        /// Only part I of N (1 ≤ I ≤ N) of the Sovereigns, for a CI matrix: specs sorted by path and dealt out in
        /// turn, so N runners with I = 1..N cover every Sovereign exactly once.
        #[arg(long, value_name = "I/N", conflicts_with = "out")]
        shard: Option<catalyst_ops::Shard>,
        /// Let this Blueprint move to a version whose `upgrades.from`/`upgrades.blocks` refuse the version a
        /// Sovereign's catalyst.lock records (repeat for several).
        #[arg(long, value_name = "BLUEPRINT")]
        allow_upgrade: Vec<String>,
    },
    /// Show what a fresh render would change: per Sovereign, each resource (kind/namespace/name) added, changed,
    /// renamed or removed, with its lines; HelmRelease fields as YAML paths.
    ///
    /// Renders in memory and compares with the cluster directories in the working tree, or at --against REF (read
    /// from Git; nothing is checked out). PATH: Sovereign specs or cluster directories (default: all; a directory
    /// that no longer exists names a removed Sovereign). Exit 0 without differences, 1 with differences, 2 on errors.
    Diff {
        paths: Vec<PathBuf>,
        /// Compare with the cluster directories at this Git revision (branch, tag, commit).
        #[arg(long, value_name = "REF")]
        against: Option<String>,
        /// Only a summary: one line per Sovereign that differs, then the totals.
        #[arg(long)]
        stat: bool,
        /// human, json, markdown (a pull-request comment or job summary) or html (one self-contained page: Sovereign →
        /// host cluster → resource, old and new side by side).
        #[arg(long, value_enum, default_value_t = DiffFormat::Human)]
        format: DiffFormat,
    },
    /// List the Blueprints changed since a Git revision and the Sovereigns whose output that reaches.
    ///
    /// A changed Blueprint folder reaches every Sovereign whose resolved dependency graph holds it (selected, by
    /// family, or needed by another); a changed spec or cluster directory reaches its Sovereign; catalog.yaml,
    /// schemas/, infra/hetzner and the compiler reach all. `--format lines` prints one cluster directory per line
    /// (for a CI matrix or `xargs catalyst render --check`).
    Affected {
        /// Compare the working tree (untracked files included) with this revision.
        #[arg(long, value_name = "REF")]
        since: String,
        #[arg(long, value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
    },
    /// Refuse chart content changed without a version bump, as chart-testing does for pull requests.
    ///
    /// Every Blueprint whose chart files (what Helm packages: .helmignore applied) differ between REF and the
    /// working tree must have a higher chart version than at REF; a version published once never changes. Exit 0
    /// when every changed chart is bumped, 1 naming each Blueprint that is not.
    CheckBumps {
        /// The base of the pull request (branch, tag, commit), e.g. origin/main.
        #[arg(long, value_name = "REF")]
        since: String,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Check the catalog, Sovereign specs and hand-written cluster directories, reporting every problem.
    ///
    /// A PATH that is a spec (or a directory holding sovereign.yaml; `-`: a spec on standard input) is checked on
    /// its own: the spec and what it would render, in memory, whether or not it has been rendered. Without PATH:
    /// the catalog and every clusters/*/sovereign.yaml, each rendered directory against a fresh render (a spec
    /// changed since is "not rendered yet", a file edited by hand is named), and rendered directories whose spec
    /// is gone. A PATH that is a directory without sovereign.yaml is read as a hand-written cluster directory and
    /// checked against the catalog (chart pins, dependsOn, placeholders).
    Validate {
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Check rendered cluster directories instead (PATH: directories; default every rendered clusters/*/): every
        /// object against its kind's schema (Kubernetes, Flux, Crossplane, external-dns, kustomize; schemas/rendered/)
        /// and claims against the catalog's XRDs. `render` runs the same checks before it writes.
        #[arg(long)]
        rendered: bool,
        /// Only part I of N of the Sovereign specs (as `render --shard`).
        #[arg(long, value_name = "I/N", conflicts_with = "rendered")]
        shard: Option<catalyst_ops::Shard>,
    },
    /// Print the resolved dependency graph of a Sovereign, or of the whole catalog.
    Graph {
        /// Sovereign spec or cluster directory; omit for the whole catalog.
        path: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = GraphFmt::Dot)]
        format: GraphFmt,
    },
    /// Package a Blueprint's chart (or a chart folder) into a reproducible <name>-<version>.tgz, behind the release guards.
    ///
    /// Guards: the Blueprint's versions, upstream pin and observability defaults agree; every upstream chart declared
    /// in Chart.yaml is vendored in charts/ and inside the archive (the opt-out is the Chart.yaml annotation
    /// catalyst.openova.io/no-upstream: "true"); `helm template` (HELM or helm on PATH) renders resources.
    Package {
        /// Blueprint folder (blueprint.yaml + chart/) or chart folder (Chart.yaml).
        path: PathBuf,
        /// Where to write the archive.
        #[arg(short, long, value_name = "DIR")]
        destination: Option<PathBuf>,
        /// Skip the `helm template` smoke render.
        #[arg(long)]
        skip_smoke_render: bool,
        /// Repository mirrors: a YAML file `mirrors: [{from: URL, to: URL}]` (also CATALYST_MIRRORS); its `signers:` say
        /// who signs which upstream (verified before it is vendored).
        #[arg(long, value_name = "FILE")]
        mirrors: Option<PathBuf>,
        /// Reach OCI registries of dependencies over plain HTTP.
        #[arg(long)]
        plain_http: bool,
        /// Resolve dependencies again and rewrite Chart.lock.
        #[arg(long)]
        update_lock: bool,
        /// Do not vendor: package charts/ as it is (the hollow-chart guard still runs).
        #[arg(long, conflicts_with = "update_lock")]
        no_vendor: bool,
        /// Keyless upstream signers (mirrors `signers:`, catalog.yaml `spec.upstreamSigners`) are verified against it.
        #[command(flatten)]
        trust: TrustArgs,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Push a chart to an OCI registry as a Helm chart artifact (PATH: a .tgz, or a chart or Blueprint folder, packaged
    /// behind the guards first). Prints the manifest digest.
    ///
    /// The chart goes to <TO>/<name>:<version> (`+` written `_`). Credentials come from the Docker config file
    /// ($DOCKER_CONFIG/config.json or ~/.docker/config.json) or CATALYST_REGISTRY_USERNAME / CATALYST_REGISTRY_PASSWORD
    /// and are never printed. Published versions are immutable: the same content again is a no-op, other content is
    /// refused. The pushed chart is pulled back and checked.
    Push {
        path: PathBuf,
        /// Repository holding the charts, e.g. oci://ghcr.io/openova-io.
        #[arg(long, value_name = "OCI_REF")]
        to: String,
        /// Talk plain HTTP to the registry (a loopback or in-cluster registry).
        #[arg(long)]
        plain_http: bool,
        #[arg(long)]
        skip_smoke_render: bool,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Package and check the chart and ask the registry whether the version is published; push nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Create a cosign-compatible key pair: <PREFIX>.key (encrypted; password from COSIGN_PASSWORD or a prompt) and
    /// <PREFIX>.pub.
    GenerateKeyPair {
        #[arg(long, default_value = "cosign", value_name = "PREFIX")]
        output_key_prefix: PathBuf,
    },
    /// Sign an artifact in an OCI registry, cosign-style: with --key, simple signing (ECDSA P-256, tag
    /// sha256-<hex>.sig); with --keyless, as cosign 3 does (an ephemeral key, a Fulcio certificate for the CI's
    /// OIDC identity, a Rekor entry; a Sigstore bundle attached through the OCI referrers API or its tag fallback).
    Sign {
        /// The artifact: oci://host/repository:tag or oci://host/repository@sha256:<64 hex> (with both, the digest is
        /// what counts, as in cosign).
        reference: String,
        /// The private key (cosign format), a file or env://VAR; its password from COSIGN_PASSWORD or a prompt.
        #[arg(long, value_name = "FILE|env://VAR", required_unless_present = "keyless", conflicts_with = "keyless")]
        key: Option<PathBuf>,
        /// Sign with an OIDC identity instead of a key (identity token: --identity-token, SIGSTORE_ID_TOKEN, or the
        /// token service of GitHub, Gitea or Forgejo Actions); the Sigstore from --signing-config or --fulcio-url and
        /// --rekor-url.
        #[arg(long)]
        keyless: bool,
        #[command(flatten)]
        sigstore: SigstoreArgs,
        /// With --key: record the signature in the Rekor of --rekor-url or --signing-config (as cosign's
        /// --tlog-upload); false signs without a log entry. Without a Rekor configured nothing is recorded.
        #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
        tlog_upload: bool,
        #[arg(long)]
        plain_http: bool,
    },
    /// Verify an artifact's signature: with --key, its cosign signature (.sig) by that public key; with
    /// --certificate-identity and --certificate-oidc-issuer, its Sigstore bundles (found through the OCI referrers API
    /// or its tag fallback) against --trusted-root. Fails on a wrong key or identity, changed content, or no signature.
    Verify {
        /// The artifact: oci://host/repository:tag or oci://host/repository@sha256:<64 hex> (with both, the digest is
        /// what counts, as in cosign).
        reference: String,
        /// The public key (PKIX PEM, e.g. cosign.pub), a file or env://VAR.
        #[arg(long, value_name = "FILE|env://VAR")]
        key: Option<PathBuf>,
        /// The identity the signing certificate must name (its SAN: an e-mail address or a URI such as a CI
        /// workflow's).
        #[arg(long, value_name = "IDENTITY", conflicts_with_all = ["key", "certificate_identity_regexp"])]
        certificate_identity: Option<String>,
        /// A regular expression the certificate's identity must match (a match anywhere, as cosign's: anchor it with
        /// ^…$).
        #[arg(long, value_name = "REGEXP", conflicts_with = "key")]
        certificate_identity_regexp: Option<String>,
        /// The OIDC issuer the certificate must name (e.g. https://token.actions.githubusercontent.com).
        #[arg(long, value_name = "URL", conflicts_with_all = ["key", "certificate_oidc_issuer_regexp"])]
        certificate_oidc_issuer: Option<String>,
        /// A regular expression the certificate's OIDC issuer must match.
        #[arg(long, value_name = "REGEXP", conflicts_with = "key")]
        certificate_oidc_issuer_regexp: Option<String>,
        #[command(flatten)]
        trust: TrustArgs,
        /// Verify the SBOM attestation instead of the signature: with --key, the one under the .att tag; with the
        /// certificate flags, the SBOM bundle among the referrers (as `release --keyless` attaches it).
        #[arg(long)]
        attestation: bool,
        /// Verify the SLSA provenance instead of the signature: with --key, the one under the .att tag; with the
        /// certificate flags, the provenance bundle among the referrers.
        #[arg(long, conflicts_with = "attestation")]
        provenance: bool,
        /// With --key and --trusted-root: accept a signature without a transparency-log entry the trust root's Rekor
        /// vouches for (as cosign's flag; with a trust root, the entry is required otherwise).
        #[arg(long, requires = "key")]
        insecure_ignore_tlog: bool,
        #[arg(long)]
        plain_http: bool,
    },
    /// Attach an SPDX 2.3 SBOM of a chart (files with digests, vendored upstream charts, images named in values) as a
    /// signed in-toto attestation (DSSE) under the tag sha256-<hex>.att.
    Attest {
        /// The chart: oci://host/repository:tag or oci://host/repository@sha256:<64 hex> (with both, the digest is
        /// what counts, as in cosign).
        reference: String,
        /// The private key (cosign format), a file or env://VAR; its password from COSIGN_PASSWORD or a prompt.
        #[arg(long, value_name = "FILE|env://VAR")]
        key: PathBuf,
        #[command(flatten)]
        rekor: RekorArgs,
        #[arg(long)]
        plain_http: bool,
    },
    /// Release Blueprints: package (vendor + guards) → push → pull-back guard → sign → attest, in parallel; one summary
    /// row each. Published versions are immutable: an unchanged Blueprint is a no-op.
    Release {
        /// Blueprints to release by name.
        #[arg(conflicts_with_all = ["since", "all"])]
        names: Vec<String>,
        /// The Blueprints changed since this Git revision (working tree and untracked files included).
        #[arg(long, value_name = "REF", conflicts_with = "all")]
        since: Option<String>,
        /// Every Blueprint of the catalog.
        #[arg(long)]
        all: bool,
        /// Repository holding the charts (default: spec.registry of catalog.yaml).
        #[arg(long, value_name = "OCI_REF")]
        to: Option<String>,
        /// Signing key (cosign format), a file or env://VAR; its password from COSIGN_PASSWORD or a prompt.
        #[arg(long, value_name = "FILE|env://VAR", required_unless_present = "keyless", conflicts_with = "keyless")]
        key: Option<PathBuf>,
        /// Sign each chart keyless (as `sign --keyless`) instead of with a key; the SBOM and the provenance are keyless
        /// Sigstore bundles then, attached beside the signature.
        #[arg(long)]
        keyless: bool,
        #[command(flatten)]
        sigstore: SigstoreArgs,
        #[arg(long)]
        plain_http: bool,
        /// Repository mirrors for upstream charts, and who signs them (`signers:`) (also CATALYST_MIRRORS).
        #[arg(long, value_name = "FILE")]
        mirrors: Option<PathBuf>,
        #[arg(long)]
        skip_smoke_render: bool,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Package each Blueprint, open the key and ask the registry what is published; push, sign and attest
        /// nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Commit rendered cluster directories to a Git repository (the Sovereign's Gitea) and push, without force.
    ///
    /// PATH: rendered cluster directories (default: every clusters/<fqdn>/). The repository's subtree at the path
    /// becomes equal to the directory; one reproducible commit per changed Sovereign; no change, no commit. Without
    /// PATH and --path, a folder of the repository's clusters/ that catalyst wrote (it holds catalyst.lock) and whose
    /// spec is gone from the workspace is removed, one commit each. A push
    /// rejected because someone pushed first is retried on the new tip; one the remote declines (a hook, a protected
    /// branch) is not, and the remote's reason is shown. Credentials: CATALYST_GIT_USERNAME / CATALYST_GIT_PASSWORD,
    /// CATALYST_GIT_TOKEN, or a git credential helper; never printed.
    Publish {
        paths: Vec<PathBuf>,
        /// The repository URL (https://..., http://... or ssh://...).
        #[arg(long, value_name = "URL", required_unless_present = "oci", conflicts_with = "oci")]
        repo: Option<String>,
        /// Instead of Git: pack the directory as a Flux OCI artifact, push it to this reference
        /// (oci://host/repository:tag) and sign it (one directory).
        #[arg(long, value_name = "OCI_REF", requires = "key")]
        oci: Option<String>,
        /// Signing key for --oci (cosign format; password from COSIGN_PASSWORD or a prompt).
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
        /// Reach the registry of --oci over plain HTTP.
        #[arg(long)]
        plain_http: bool,
        #[command(flatten)]
        rekor: RekorArgs,
        /// The branch to push to (a name git accepts; not HEAD, not starting with `-`).
        #[arg(long, default_value = "main")]
        branch: String,
        /// Path inside the repository (default clusters/<fqdn>; `.` for a repository per Sovereign).
        #[arg(long, value_name = catalyst_env::PATH)]
        path: Option<String>,
        /// Commit identity, `Name <email>` (default: catalyst <catalyst@openova.io>).
        #[arg(long)]
        author: Option<String>,
        /// Push each Sovereign to its own branch catalyst/<name>-<lock digest> (from --branch), for review before
        /// merge; prints the branch and the compare URL.
        #[arg(long)]
        branch_per_change: bool,
        /// Say what would be published (each commit is built against the fetched branch; --oci: the artifact is
        /// packed and the key opened) and push nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Audit rendered cluster directories.
    Audit {
        #[command(subcommand)]
        what: AuditCommand,
    },
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff), or with --dir write it and one page per subcommand (catalyst-render.1, ...).
    Man {
        /// Write catalyst.1 and a page for every subcommand the main page names into this directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Print the version, the Git commit it was built from, the compiler and the target (`-o json` for tools).
    Version,
    /// Explain a diagnostic code: what it means and what to do about it (every code: docs/diagnostics.md).
    Explain {
        /// The code, as in `error[unknown-field]` or a JSON diagnostic's `code`.
        code: String,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// List everything rendered cluster directories reach outside themselves (Git repositories, chart and image
    /// registries, provider packages), and what a cut-over Sovereign must not reach.
    ///
    /// PATH: cluster directories or their sovereign.yaml (default: every clusters/<fqdn>/). Every *.yaml, *.yml and
    /// *.json file under a directory is read. A Sovereign is cut over when its spec says spec.sources.cutover: true;
    /// then nothing of the mothership may be reached (github.com, ghcr.io, harbor.openova.io, hosts under
    /// openova.io), and Git repositories, charts and provider packages come only from its own domain (its Gitea and
    /// Harbor). Exit 0 without violations, 1 with violations or unreadable files, 2 on usage or I/O errors.
    Tethers {
        paths: Vec<PathBuf>,
        /// Treat every Sovereign as cut over, whatever its spec says.
        #[arg(long)]
        cutover: bool,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Format {
    Human,
    Json,
}

/// `catalyst diff --format`: the formats of [`Format`], and two for people
/// reading a review.
/// A Sigstore's trust root: what keyless signatures are verified against.
#[derive(clap::Args, Debug)]
struct TrustArgs {
    /// The Sigstore's trust root: a trusted_root.json as Sigstore publishes it (Fulcio CAs, Rekor and CT-log keys).
    #[arg(long, env = catalyst_env::CATALYST_TRUSTED_ROOT, value_name = "FILE")]
    trusted_root: Option<PathBuf>,
}

/// Where keyless signing gets its identity token and its Sigstore (nothing assumes the public instance).
#[derive(clap::Args, Debug)]
struct SigstoreArgs {
    /// The OIDC identity token (a JWT) in a file, or `-` for standard input (else SIGSTORE_ID_TOKEN, else the
    /// token service of GitHub, Gitea or Forgejo Actions: ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN).
    #[arg(long, value_name = "FILE|-", requires = "keyless")]
    identity_token: Option<PathBuf>,
    /// Fulcio's URL (overrides the signing config's).
    #[arg(long, env = catalyst_env::CATALYST_FULCIO_URL, value_name = "URL")]
    fulcio_url: Option<String>,
    /// Rekor's URL (v1 API; overrides the signing config's).
    #[arg(long, env = catalyst_env::CATALYST_REKOR_URL, value_name = "URL")]
    rekor_url: Option<String>,
    /// The Sigstore's signing_config.json (its Fulcio, Rekor and timestamp authority URLs).
    #[arg(long, env = catalyst_env::CATALYST_SIGNING_CONFIG, value_name = "FILE")]
    signing_config: Option<PathBuf>,
    /// When given, each new bundle is verified against it before it is attached.
    #[command(flatten)]
    trust: TrustArgs,
}

/// Where a key-based signature or attestation is recorded (`attest`,
/// `publish --oci`): the Rekor of --rekor-url or the signing config, as
/// `sign --key` does.
#[derive(clap::Args, Debug)]
struct RekorArgs {
    /// Rekor's URL (v1 API; overrides the signing config's): the signature is recorded there.
    #[arg(long = "rekor-url", env = catalyst_env::CATALYST_REKOR_URL, value_name = "URL")]
    rekor_url: Option<String>,
    /// The Sigstore's signing_config.json, for its Rekor.
    #[arg(long, env = catalyst_env::CATALYST_SIGNING_CONFIG, value_name = "FILE")]
    signing_config: Option<PathBuf>,
    /// Record the signature in that Rekor (as cosign's --tlog-upload); false signs without a log entry.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    tlog_upload: bool,
}

impl RekorArgs {
    /// The Rekor to record in, if any.
    fn rekor(self, cwd: &std::path::Path) -> Result<Option<String>, output::Usage> {
        if !self.tlog_upload {
            return Ok(None);
        }
        let opts = catalyst_ops::sign::KeylessOptions {
            rekor_url: self.rekor_url,
            signing_config: self.signing_config.map(|p| cwd.join(p)),
            ..Default::default()
        };
        catalyst_ops::sign::key_rekor(&opts).map_err(|d| output::Usage::new(d.message))
    }
}

impl SigstoreArgs {
    fn options(self, cwd: &std::path::Path) -> catalyst_ops::sign::KeylessOptions {
        catalyst_ops::sign::KeylessOptions {
            identity_token: self.identity_token.map(|p| if p.as_os_str() == "-" { p } else { cwd.join(p) }),
            fulcio_url: self.fulcio_url,
            rekor_url: self.rekor_url,
            signing_config: self.signing_config.map(|p| cwd.join(p)),
            trusted_root: self.trust.trusted_root.map(|p| cwd.join(p)),
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum DiffFormat {
    Human,
    Json,
    Markdown,
    Html,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum ListFormat {
    Human,
    Lines,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum GraphFmt {
    Dot,
    Mermaid,
    Json,
}

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when whoever reads the output goes
    // away (`catalyst diff | head`) instead of panicking on a broken pipe.
    #[cfg(unix)]
    // SAFETY: called first thing, before any thread exists; SIG_DFL is a
    // valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return output::clap_error(e, output::json_requested(&args)),
    };
    let (json, verbose) = (cli.output == Some(Format::Json) || format_is_json(&mut cli.command), cli.verbose);
    match run(cli) {
        Ok(code) => code,
        Err(e) => output::fatal(&e, json, verbose),
    }
}

/// Whether to colour a stream: as asked, or on a terminal without `NO_COLOR`.
fn color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::env::var_os(catalyst_env::NO_COLOR).is_none_or(|v| v.is_empty()) && terminal,
    }
}

/// A command's own `--format`, whichever of the format enums it takes.
enum FormatArg<'a> {
    Main(&'a mut Format),
    Diff(&'a mut DiffFormat),
    List(&'a mut ListFormat),
    Graph(&'a mut GraphFmt),
}

impl FormatArg<'_> {
    fn is_json(&self) -> bool {
        match self {
            FormatArg::Main(f) => **f == Format::Json,
            FormatArg::Diff(f) => **f == DiffFormat::Json,
            FormatArg::List(f) => **f == ListFormat::Json,
            FormatArg::Graph(f) => **f == GraphFmt::Json,
        }
    }

    fn set_json(self) {
        match self {
            FormatArg::Main(f) => *f = Format::Json,
            FormatArg::Diff(f) => *f = DiffFormat::Json,
            FormatArg::List(f) => *f = ListFormat::Json,
            FormatArg::Graph(f) => *f = GraphFmt::Json,
        }
    }
}

/// The `--format` of the commands that have one: the one list both
/// `-o json` and JSON fatal errors read.
fn format_arg(command: &mut Command) -> Option<FormatArg<'_>> {
    match command {
        Command::Render { format, .. }
        | Command::Validate { format, .. }
        | Command::Package { format, .. }
        | Command::Push { format, .. }
        | Command::Release { format, .. }
        | Command::CheckBumps { format, .. }
        | Command::Audit { what: AuditCommand::Tethers { format, .. } } => Some(FormatArg::Main(format)),
        Command::Diff { format, .. } => Some(FormatArg::Diff(format)),
        Command::Affected { format, .. } => Some(FormatArg::List(format)),
        Command::Graph { format, .. } => Some(FormatArg::Graph(format)),
        _ => None,
    }
}

/// Whether a command's own `--format` asks for JSON: its fatal errors are
/// then JSON too, as with `-o json`.
fn format_is_json(command: &mut Command) -> bool {
    format_arg(command).is_some_and(|f| f.is_json())
}

/// `-o json` sets every command's `--format` to JSON.
fn json_everywhere(command: &mut Command) {
    if let Some(f) = format_arg(command) {
        f.set_json();
    }
}

fn run(mut cli: Cli) -> anyhow::Result<ExitCode> {
    let use_color = color(cli.color, std::io::stderr().is_terminal());
    let json = cli.output == Some(Format::Json);
    if json {
        json_everywhere(&mut cli.command);
    }
    VERBOSE.store(cli.verbose, std::sync::atomic::Ordering::Relaxed);
    if let Some(ca) = &cli.ca_file {
        let hint = "--ca-file takes a PEM file of CA certificates: the CA that signed the registry's or Git server's \
                    certificate";
        let bad = |m: String| output::Usage::new(m).hint(hint);
        let pem = std::fs::read(ca).map_err(|e| bad(format!("--ca-file {}: {e}", ca.display())))?;
        catalyst_oci::trust_ca_pem(&pem, &format!("--ca-file {}", ca.display())).map_err(bad)?;
        let abs = std::env::current_dir()?.join(ca);
        catalyst_publish::trust_ca_file(&abs).map_err(bad)?;
    }
    let opts = Options {
        limits: catalyst_yaml::Limits {
            max_bytes: usize::try_from(cli.max_file_size).unwrap_or(usize::MAX),
            ..Default::default()
        },
        jobs: cli.jobs.map(usize::from),
        lock: catalyst_ops::repo_lock::Wait {
            timeout: std::time::Duration::from_secs(cli.lock_timeout),
            waiting: Some(|what| eprintln!("note: {what}")),
        },
        ..Default::default()
    };
    let timeouts = catalyst_oci::Timeouts::scaled(std::time::Duration::from_secs(cli.registry_timeout));
    let cwd = std::env::current_dir()?;
    let ws = || Workspace::discover(&cwd, cli.catalog.as_deref());
    let result = match cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "catalyst", &mut std::io::stdout());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Man { dir } => {
            // No `help` subcommand in the pages: `catalyst help X` is `catalyst X --help`, and a page the main page
            // names must exist.
            let cmd = Cli::command().disable_help_subcommand(true);
            let Some(dir) = dir else {
                clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
                return Ok(ExitCode::SUCCESS);
            };
            std::fs::create_dir_all(&dir)
                .map_err(|e| output::Usage::new(format!("cannot create {}: {e}", dir.display())))?;
            clap_mangen::generate_to(cmd, &dir)?;
            let mut pages: Vec<String> = std::fs::read_dir(&dir)?
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with("catalyst") && n.ends_with(".1"))
                .collect();
            pages.sort();
            if json {
                println!("{}", serde_json::to_string_pretty(&json::ManPages { dir, pages })?);
            } else {
                println!("wrote {} man pages to {}", pages.len(), dir.display());
            }
            return Ok(ExitCode::SUCCESS);
        }
        Command::Version => {
            let v = output::version();
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print!("{}", output::version_human(&v));
            }
            return Ok(ExitCode::SUCCESS);
        }
        Command::Explain { code } => {
            print!("{}", output::explain(&code, json)?);
            return Ok(ExitCode::SUCCESS);
        }
        Command::Audit { what: AuditCommand::Tethers { paths, cutover, format } } => {
            let audit = catalyst_ops::audit::tethers(&cwd, cli.catalog.as_deref(), &paths, cutover, &opts.limits)?;
            return Ok(print_audit(&audit, format, use_color));
        }
        Command::Render { paths, out, format, quiet, check, prune, affected_since, force, shard, allow_upgrade } => {
            let watch = output::RenderProgress::start(format == Format::Human && !quiet);
            let opts = Options { out, force, shard, prune, allow_upgrade, progress: watch.callback(), ..opts };
            ws().and_then(|ws| {
                let paths = match &affected_since {
                    None => paths,
                    Some(rev) => {
                        let a = catalyst_ops::affected::affected(&ws, rev, &opts)?;
                        if a.sovereigns.is_empty() {
                            if !quiet && format == Format::Human {
                                println!("nothing to render: no Sovereign is affected by the changes since {rev}");
                            }
                            if format == Format::Json {
                                let none =
                                    json::Doc::errors_only(json::Checked { sovereigns: vec![] }, &Diagnostics::new());
                                println!("{}", serde_json::to_string(&none).unwrap_or_default());
                            }
                            return Ok(ExitCode::SUCCESS);
                        }
                        catalyst_ops::affected::affected_specs(&a)
                    }
                };
                if check {
                    catalyst_ops::check(&ws, &paths, &opts).map(|r| {
                        watch.finish();
                        print_check(&r, format, quiet, use_color)
                    })
                } else {
                    catalyst_ops::render(&ws, &paths, &opts)
                        .map(|r| print_render(&r, format, quiet, use_color, watch.finish()))
                }
            })
        }
        Command::Diff { paths, against, stat, format } => ws().and_then(|ws| {
            let (d, r) = catalyst_ops::diff::diff(&ws, &paths, against.as_deref(), &opts)?;
            Ok(print_diff(&d, &r, format, stat, use_color, color(cli.color, std::io::stdout().is_terminal())))
        }),
        Command::CheckBumps { since, format } => ws().and_then(|ws| {
            let (changes, r) = catalyst_ops::bumps::check_bumps(&ws, &since, &opts)?;
            Ok(print_bumps(&since, &changes, &r, format, use_color))
        }),
        Command::Affected { since, format } => ws().and_then(|ws| {
            let a = catalyst_ops::affected::affected(&ws, &since, &opts)?;
            print_affected(&a, format);
            Ok(ExitCode::SUCCESS)
        }),
        Command::Package {
            path,
            destination,
            skip_smoke_render,
            mirrors,
            plain_http,
            update_lock,
            no_vendor,
            trust,
            format,
        } => {
            let popts = catalyst_ops::package::PackageOptions {
                destination,
                skip_smoke_render,
                mirrors,
                plain_http: if plain_http {
                    catalyst_ops::package::PlainHttp::Dependencies
                } else {
                    catalyst_ops::package::PlainHttp::None
                },
                update_lock,
                no_vendor,
                timeouts,
                scratch: false,
                trusted_root: trust.trusted_root.map(|p| cwd.join(p)),
            };
            let ws = Workspace::discover(&cwd, cli.catalog.as_deref()).or_else(|_| {
                // A chart folder outside any repository is packaged on its own.
                Ok::<_, OpsError>(Workspace { root: cwd.clone(), catalog: cwd.clone(), cwd: cwd.clone() })
            })?;
            catalyst_ops::package::package(&ws, &path, &popts).map(|(p, r)| {
                match format {
                    Format::Json => {
                        let packaged = json::Packaged { packaged: p.as_ref().map(json::Package::from) };
                        println!("{}", json::Doc::new(packaged, &r.diagnostics).pretty());
                    }
                    Format::Human => {
                        print_diagnostics(&r.diagnostics, &r.sources, format, use_color);
                        match &p {
                            Some(p) => println!("packaged {} {} → {} (sha256:{})", p.name, p.version, p.path, p.sha256),
                            None => eprintln!("nothing was packaged"),
                        }
                    }
                }
                exit_for(&r)
            })
        }
        Command::Push { path, to, plain_http, skip_smoke_render, format, dry_run } => {
            let popts =
                catalyst_ops::push::PushOptions { plain_http, skip_smoke_render, created: None, timeouts, dry_run };
            let ws = Workspace::discover(&cwd, cli.catalog.as_deref()).or_else(|_| {
                Ok::<_, OpsError>(Workspace { root: cwd.clone(), catalog: cwd.clone(), cwd: cwd.clone() })
            })?;
            catalyst_ops::push::push(&ws, &path, &to, &popts).map(|(p, r)| {
                match format {
                    Format::Json => {
                        let pushed = json::PushedDoc { pushed: p.as_ref().map(json::Pushed::from), dry_run };
                        println!("{}", json::Doc::errors_only(pushed, &r.diagnostics).pretty());
                    }
                    Format::Human => {
                        print_diagnostics(&r.diagnostics, &r.sources, format, use_color);
                        match &p {
                            Some(p) if p.outcome == catalyst_ops::push::PushOutcome::Unchanged => {
                                println!("unchanged {}@{} (already published with this content)", p.reference, p.digest)
                            }
                            Some(p) if p.outcome == catalyst_ops::push::PushOutcome::PublishedUnchecked => {
                                eprintln!("published {}@{}, but the check after the push failed", p.reference, p.digest)
                            }
                            Some(p) if p.outcome == catalyst_ops::push::PushOutcome::WouldPush => println!(
                                "would push {} (chart {}): not published yet; dry run, nothing was pushed",
                                p.reference, p.digest
                            ),
                            Some(p) => println!("pushed {}@{}", p.reference, p.digest),
                            None => eprintln!("nothing was pushed"),
                        }
                    }
                }
                exit_for(&r)
            })
        }
        Command::GenerateKeyPair { output_key_prefix } => {
            let prefix = cwd.join(&output_key_prefix);
            catalyst_ops::sign::password(true, &prompt)
                .and_then(|pw| catalyst_ops::sign::generate_key_pair(&prefix, pw.expose_bytes()))
                .map(|(k, p)| {
                    if json {
                        output::print_doc(json::KeyPair { private_key: k, public_key: p }, &Diagnostics::new());
                    } else {
                        println!("private key written to {k}\npublic key written to {p}");
                    }
                    ExitCode::SUCCESS
                })
        }
        Command::Sign { reference, key, keyless, sigstore, tlog_upload, plain_http } => {
            let signed = match key {
                Some(key) if !keyless => {
                    let pem = read_key(&cwd, &key)?;
                    let rekor = match tlog_upload {
                        true => catalyst_ops::sign::key_rekor(&sigstore.options(&cwd))
                            .map_err(|d| output::Usage::new(d.message))?,
                        false => None,
                    };
                    catalyst_ops::sign::password(false, &prompt).and_then(|pw| {
                        catalyst_ops::sign::sign_logged(
                            &reference,
                            pem.expose(),
                            pw.expose_bytes(),
                            rekor.as_deref(),
                            plain_http,
                            timeouts,
                        )
                    })
                }
                _ => catalyst_ops::sign::sign_keyless(&reference, &sigstore.options(&cwd), plain_http, timeouts),
            };
            signed.map(|(s, r)| {
                if json {
                    output::print_doc(json::SignedDoc { signed: s }, &r.diagnostics);
                    return exit_for(&r);
                }
                print_diagnostics(&r.diagnostics, &r.sources, Format::Human, use_color);
                match s {
                    Some(catalyst_ops::sign::Signed { reference, digest, keyless: Some(k), .. }) => println!(
                        "signed {} keyless as {} (issuer {}) → bundle {} (found through {}){}",
                        pinned(&reference, &digest),
                        k.identity,
                        k.issuer,
                        k.bundle,
                        k.referrers,
                        k.log_index.map(|i| format!(", Rekor log index {i}")).unwrap_or_default()
                    ),
                    Some(s) => {
                        println!("signed {} → {}", pinned(&s.reference, &s.digest), s.signature_tag.unwrap_or_default())
                    }
                    None => {}
                }
                exit_for(&r)
            })
        }
        Command::Verify {
            reference,
            key,
            certificate_identity,
            certificate_identity_regexp,
            certificate_oidc_issuer,
            certificate_oidc_issuer_regexp,
            trust,
            attestation,
            provenance,
            insecure_ignore_tlog,
            plain_http,
        } => {
            let statement = match (attestation, provenance) {
                (true, _) => Some(catalyst_ops::sign::Attestation::Sbom),
                (_, true) => Some(catalyst_ops::sign::Attestation::Provenance),
                _ => None,
            };
            let what = match statement {
                Some(catalyst_ops::sign::Attestation::Sbom) => "attestation",
                Some(catalyst_ops::sign::Attestation::Provenance) => "provenance",
                None => "signature",
            };
            let Some(key) = key else {
                let opts = catalyst_ops::sign::IdentityOptions {
                    identity: certificate_identity,
                    identity_regexp: certificate_identity_regexp,
                    issuer: certificate_oidc_issuer,
                    issuer_regexp: certificate_oidc_issuer_regexp,
                    trusted_root: trust.trusted_root.map(|p| cwd.join(p)),
                };
                if [&opts.identity, &opts.identity_regexp, &opts.issuer, &opts.issuer_regexp]
                    .iter()
                    .all(|o| o.is_none())
                {
                    return Err(output::Usage::new("verify needs --key, or --certificate-identity (or -regexp) and --certificate-oidc-issuer (or -regexp) with --trusted-root")
                        .hint("--key FILE checks a cosign key signature (.sig); the certificate flags check keyless Sigstore bundles")
                        .into());
                }
                let verified = match statement {
                    Some(kind) => {
                        catalyst_ops::sign::verify_keyless_attestation(&reference, &opts, kind, plain_http, timeouts)
                    }
                    None => catalyst_ops::sign::verify_keyless(&reference, &opts, plain_http, timeouts),
                };
                return Ok(verified.map(|(v, r)| {
                    if json {
                        let verified = v.map(|v| json::Verified {
                            reference: v.reference,
                            digest: v.digest,
                            // A signature is "bundle" (as before); an
                            // attestation says which.
                            kind: if statement.is_some() { what } else { "bundle" },
                            count: v.bundles.len(),
                            bundles: v.bundles,
                        });
                        output::print_doc(json::VerifiedDoc { verified }, &r.diagnostics);
                        return exit_for(&r);
                    }
                    print_diagnostics(&r.diagnostics, &r.sources, Format::Human, use_color);
                    if let Some(v) = v {
                        for b in &v.bundles {
                            println!(
                                "verified {}{}: signed by {} (issuer {}), bundle {}{}",
                                pinned(&v.reference, &v.digest),
                                if statement.is_some() { format!(" ({what})") } else { String::new() },
                                b.identity,
                                b.issuer,
                                b.bundle,
                                b.log_index.map(|i| format!(", Rekor log index {i}")).unwrap_or_default()
                            );
                        }
                    }
                    exit_for(&r)
                })?);
            };
            let pem = read_key(&cwd, &key)?;
            // With a trust root, each signature must have been logged in its
            // Rekor (unless told not to).
            let root = match (&trust.trusted_root, insecure_ignore_tlog) {
                (Some(p), false) => {
                    Some(catalyst_ops::sign::trust_root(&cwd.join(p)).map_err(|d| output::Usage::new(d.message))?)
                }
                _ => None,
            };
            let tlog = match &root {
                Some(root) => catalyst_ops::sign::Tlog::Required(root),
                None => catalyst_ops::sign::Tlog::Ignored,
            };
            let verified = match statement {
                Some(catalyst_ops::sign::Attestation::Sbom) => {
                    catalyst_ops::sign::verify_attestation(&reference, pem.expose(), &tlog, plain_http, timeouts)
                }
                Some(catalyst_ops::sign::Attestation::Provenance) => {
                    catalyst_ops::sign::verify_provenance(&reference, pem.expose(), &tlog, plain_http, timeouts)
                }
                None => catalyst_ops::sign::verify_logged(&reference, pem.expose(), &tlog, plain_http, timeouts),
            };
            verified.map(|(v, r)| {
                if json {
                    let verified = v.map(|v| json::Verified {
                        reference: v.reference,
                        digest: v.digest,
                        kind: what,
                        count: v.signatures,
                        bundles: Vec::new(),
                    });
                    output::print_doc(json::VerifiedDoc { verified }, &r.diagnostics);
                    return exit_for(&r);
                }
                print_diagnostics(&r.diagnostics, &r.sources, Format::Human, use_color);
                if let Some(v) = v {
                    println!(
                        "verified {} ({} valid {what}{})",
                        pinned(&v.reference, &v.digest),
                        v.signatures,
                        if v.signatures == 1 { "" } else { "s" }
                    );
                }
                exit_for(&r)
            })
        }
        Command::Attest { reference, key, rekor, plain_http } => {
            let pem = read_key(&cwd, &key)?;
            let rekor = rekor.rekor(&cwd)?;
            catalyst_ops::sign::password(false, &prompt)
                .and_then(|pw| {
                    let key = catalyst_ops::sign::KeyRef { pem: &pem, password: &pw, rekor: rekor.as_deref() };
                    catalyst_ops::sign::attest(&reference, &key, plain_http, timeouts)
                })
                .map(|(a, r)| {
                    if json {
                        output::print_doc(json::AttestedDoc { attested: a }, &r.diagnostics);
                        return exit_for(&r);
                    }
                    print_diagnostics(&r.diagnostics, &r.sources, Format::Human, use_color);
                    if let Some(a) = a {
                        println!(
                            "attested {} → {} (SBOM: {} files, {} images)",
                            pinned(&a.reference, &a.digest),
                            a.attestation_tag,
                            a.files,
                            a.images
                        );
                    }
                    exit_for(&r)
                })
        }
        Command::Release {
            names,
            since,
            all,
            to,
            key,
            keyless,
            sigstore,
            plain_http,
            mirrors,
            skip_smoke_render,
            format,
            dry_run,
        } => {
            use catalyst_ops::release::{Outcome, ReleaseOptions, Selection};
            let selection = match (since, all) {
                (Some(r), _) => Selection::Since(r),
                (None, true) => Selection::All,
                (None, false) if !names.is_empty() => Selection::Names(names),
                _ => return output::usage("say what to release: NAME..., --since REF or --all"),
            };
            let key_pem = match key.filter(|_| !keyless) {
                Some(key) => read_key(&cwd, &key)?,
                None => catalyst_secret::Secret::new(""),
            };
            let keyless_release = keyless;
            let sigstore = sigstore.options(&cwd);
            // A key release records its signatures in the Rekor configured
            // (--rekor-url, --signing-config), as `sign --key` does.
            let rekor = match keyless {
                false => catalyst_ops::sign::key_rekor(&sigstore).map_err(|d| output::Usage::new(d.message))?,
                true => None,
            };
            let keyless = keyless.then_some(sigstore);
            let run = |password: catalyst_secret::Secret| -> Result<_, OpsError> {
                let ws = ws()?;
                let opts = ReleaseOptions {
                    selection,
                    to,
                    key_pem: key_pem.clone(),
                    password,
                    keyless,
                    rekor,
                    plain_http,
                    timeouts,
                    mirrors,
                    skip_smoke_render,
                    jobs: cli.jobs.map(usize::from),
                    dry_run,
                };
                // Progress on a terminal; quiet in CI and when piped.
                let interactive = std::io::stderr().is_terminal() && std::env::var_os(catalyst_env::CI).is_none();
                let progress = |row: &catalyst_ops::release::Row, done: usize, total: usize| {
                    if interactive {
                        let what = match &row.outcome {
                            Outcome::Published => "published",
                            Outcome::Unchanged => "unchanged",
                            Outcome::Signed => "signed",
                            Outcome::WouldPublish => "would publish",
                            Outcome::WouldSign => "would sign",
                            Outcome::Failed(_) => "failed",
                        };
                        eprintln!("[{done}/{total}] {} {} {what}", row.name, row.version);
                    }
                };
                catalyst_ops::release::release(&ws, &opts, &progress)
            };
            let password = if keyless_release {
                Ok(catalyst_secret::Secret::default())
            } else {
                catalyst_ops::sign::password(false, &prompt)
            };
            password.and_then(run).map(|(rows, r)| {
                match format {
                    Format::Json => {
                        let released =
                            json::Released { released: rows.iter().map(json::ReleasedRow::from).collect(), dry_run };
                        println!("{}", json::Doc::errors_only(released, &r.diagnostics).pretty());
                    }
                    Format::Human => {
                        print_diagnostics(&r.diagnostics, &r.sources, format, use_color);
                        let w = rows.iter().map(|x| x.name.len()).max().unwrap_or(4).max(4);
                        let v = rows.iter().map(|x| x.version.len()).max().unwrap_or(7).max(7);
                        println!("{:w$}  {:v$}  {:71}  OUTCOME", "NAME", "VERSION", "DIGEST");
                        for x in &rows {
                            println!(
                                "{:w$}  {:v$}  {:71}  {}",
                                x.name,
                                x.version,
                                x.digest.as_deref().unwrap_or("-"),
                                x.outcome
                            );
                        }
                        if rows.is_empty() {
                            println!("(nothing to release)");
                        } else if dry_run {
                            println!("dry run: nothing was pushed, signed or attested, and no release record written");
                        } else if rows.iter().any(|x| x.record.is_some()) {
                            println!(
                                "release records: releases/<blueprint>/<version>.yaml in the catalog (commit them)"
                            );
                        }
                    }
                }
                exit_for(&r)
            })
        }
        Command::Publish { paths, repo: None, oci: Some(reference), key, plain_http, rekor, dry_run, .. } => {
            let [dir] = paths.as_slice() else {
                return output::usage("--oci publishes exactly one rendered cluster directory");
            };
            let key = key.unwrap_or_default();
            let pem = read_key(&cwd, &key)?;
            let rekor = rekor.rekor(&cwd)?;
            let dir = cwd.join(dir);
            catalyst_ops::sign::password(false, &prompt)
                .and_then(|pw| {
                    ws().and_then(|ws| {
                        let how = catalyst_ops::publish::OciOptions { plain_http, timeouts, dry_run, rekor };
                        catalyst_ops::publish::publish_oci(&ws, &dir, &reference, &pem, &pw, &how)
                    })
                })
                .map(|(p, r)| {
                    if json {
                        output::print_doc(json::PublishedOciDoc { dry_run, published: p }, &r.diagnostics);
                        return exit_for(&r);
                    }
                    print_diagnostics(&r.diagnostics, &r.sources, Format::Human, use_color);
                    match p {
                        Some(p) if !p.pushed => println!(
                            "would push {} as {} (content {}) and sign it; dry run, nothing was pushed",
                            p.fqdn, p.reference, p.digest
                        ),
                        Some(p) => println!("pushed {} as {}@{} (signed)", p.fqdn, p.reference, p.digest),
                        None => {}
                    }
                    exit_for(&r)
                })
        }
        Command::Publish { paths, repo, branch, path, author, branch_per_change, dry_run, .. } => {
            let repo = repo.unwrap_or_default();
            let opts = catalyst_ops::publish::PublishOptions {
                repo,
                branch,
                path,
                author,
                branch_per_change,
                lock: opts.lock,
                dry_run,
            };
            ws().and_then(|ws| catalyst_ops::publish::publish(&ws, &paths, &opts)).map(|(rows, r)| {
                if json {
                    let published = rows.into_iter().map(json::Published::from).collect();
                    output::print_doc(json::PublishedDoc { dry_run, published }, &r.diagnostics);
                    return exit_for(&r);
                }
                print_diagnostics(&r.diagnostics, &r.sources, Format::Human, use_color);
                for row in &rows {
                    match &row.outcome {
                        catalyst_publish::Outcome::Committed(c) if row.removed => {
                            println!("removed {} from {} ({c}): its spec is gone", row.fqdn, row.path)
                        }
                        catalyst_publish::Outcome::Committed(c) => println!(
                            "committed {} at {} ({c})",
                            row.fqdn,
                            if row.path.is_empty() { "." } else { &row.path }
                        ),
                        catalyst_publish::Outcome::Unchanged => println!("unchanged {}", row.fqdn),
                        catalyst_publish::Outcome::WouldCommit(c) if row.removed => println!(
                            "would remove {} from {} ({c}): its spec is gone; dry run, nothing was pushed",
                            row.fqdn, row.path
                        ),
                        catalyst_publish::Outcome::WouldCommit(c) => println!(
                            "would commit {} at {} ({c}); dry run, nothing was pushed",
                            row.fqdn,
                            if row.path.is_empty() { "." } else { &row.path }
                        ),
                    }
                    if let (Some(b), Some(u)) = (&row.branch, &row.compare_url) {
                        println!("  branch {b}\n  compare {u}");
                    }
                }
                exit_for(&r)
            })
        }
        Command::Validate { paths, format, rendered: true, .. } => {
            ws().and_then(|ws| catalyst_ops::validate_rendered(&ws, &paths, &opts)).map(|r| {
                print_diagnostics(&r.diagnostics, &r.sources, format, use_color);
                if format == Format::Human && !r.has_errors() {
                    println!("valid: every rendered object matches its schema");
                }
                exit_for(&r)
            })
        }
        Command::Validate { paths, format, rendered: false, shard } => {
            let opts = Options { shard, ..opts };
            ws().and_then(|ws| catalyst_ops::validate(&ws, &paths, &opts)).map(|r| {
                print_diagnostics(&r.diagnostics, &r.sources, format, use_color);
                if format == Format::Human && !r.has_errors() {
                    let n = r.sovereigns.len();
                    eprintln!("valid: catalog and {n} Sovereign spec{}", if n == 1 { "" } else { "s" });
                }
                exit_for(&r)
            })
        }
        Command::Graph { path, format } => {
            let f = match format {
                GraphFmt::Dot => GraphFormat::Dot,
                GraphFmt::Mermaid => GraphFormat::Mermaid,
                GraphFmt::Json => GraphFormat::Json,
            };
            ws().and_then(|ws| catalyst_ops::graph(&ws, path.as_deref(), f, &opts)).map(|(text, r)| {
                // The graph goes to stdout; diagnostics to stderr, as JSON
                // when the graph is JSON.
                if f == GraphFormat::Json {
                    if !r.diagnostics.is_empty() {
                        eprint!("{}", render_json(&r.diagnostics));
                    }
                } else {
                    print_diagnostics(&r.diagnostics, &r.sources, Format::Human, use_color);
                }
                if let Some(t) = text {
                    print!("{t}");
                }
                exit_for(&r)
            })
        }
    };
    Ok(result?)
}

/// Reads a key file named on the command line.
/// The key `--key` names: a file, or `env://VAR` (cosign's form: the PEM in
/// the environment variable VAR, so a CI job never writes the key to disk).
/// The PEM is held as a Secret: no message, log or `-v` cause prints it;
/// errors name the variable, never its value.
fn read_key(cwd: &std::path::Path, key: &std::path::Path) -> anyhow::Result<catalyst_secret::Secret> {
    if let Some(var) = key.to_str().and_then(|k| k.strip_prefix("env://")) {
        let hint = format!("export {var} with the key's PEM (cosign's env:// form), or pass --key FILE");
        if var.is_empty() {
            return Err(output::Usage::new("--key env:// names no environment variable")
                .hint("write --key env://VAR, VAR holding the key's PEM")
                .into());
        }
        return match std::env::var(var) {
            Ok(pem) if !pem.trim().is_empty() => Ok(catalyst_secret::Secret::new(pem)),
            Ok(_) => Err(output::Usage::new(format!("environment variable {var} (--key env://{var}) is empty"))
                .hint(hint)
                .into()),
            Err(std::env::VarError::NotPresent) => {
                Err(output::Usage::new(format!("environment variable {var} (--key env://{var}) is not set"))
                    .hint(hint)
                    .into())
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(output::Usage::new(format!("environment variable {var} (--key env://{var}) is not UTF-8 text"))
                    .hint(hint)
                    .into())
            }
        };
    }
    std::fs::read_to_string(cwd.join(key)).map(catalyst_secret::Secret::new).map_err(|e| {
        output::Usage::new(format!("cannot read {}: {e}", key.display()))
            .hint("--key names a cosign key file (`catalyst generate-key-pair` makes one) or env://VAR")
            .into()
    })
}

/// `reference@digest`, or the reference alone when it already names its
/// digest (`repo@sha256:…`): the digest is printed once.
fn pinned(reference: &str, digest: &str) -> String {
    if reference.ends_with(&format!("@{digest}")) { reference.to_string() } else { format!("{reference}@{digest}") }
}

/// Asks for a password on the terminal; `None` without one.
fn prompt(question: &str) -> Option<String> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    rpassword::prompt_password(question).ok()
}

/// `-v`: causes under diagnostics (set once, first thing in `run`).
static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn exit_for(r: &Report) -> ExitCode {
    output::exit_code(&r.diagnostics)
}

fn print_diagnostics(d: &Diagnostics, sources: &Sources, format: Format, color: bool) {
    match format {
        Format::Json => print!("{}", render_json(d)),
        Format::Human => {
            if d.is_empty() {
                return;
            }
            if VERBOSE.load(std::sync::atomic::Ordering::Relaxed) || d.iter().all(|x| x.causes.is_empty()) {
                eprint!("{}", render_human(d, sources, color));
            } else {
                // The causes only with -v: a plain run shows the message, the help and the innermost cause
                // (which the message quotes).
                let mut short = d.clone();
                for x in &mut short.0 {
                    x.causes.clear();
                }
                eprint!("{}", render_human(&short, sources, color));
                eprintln!("(-v shows the chain of causes)");
            }
        }
    }
}

/// `catalyst audit tethers`: every tether of each cluster directory, the
/// violations of cut-over Sovereigns, a summary.
fn print_audit(audit: &catalyst_ops::audit::Audit, format: Format, color: bool) -> ExitCode {
    use catalyst_audit::TetherKind;
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    match format {
        Format::Json => println!("{}", json::Doc::errors_only(audit.to_json(), &audit.diagnostics).pretty()),
        Format::Human => {
            print_diagnostics(&audit.diagnostics, &audit.sources, format, color);
            let mut out = String::new();
            for a in &audit.dirs {
                let (r, shown, prefix) = (&a.report, &a.shown, &a.prefix);
                let state = if r.cutover { "cut over" } else { "not cut over" };
                out.push_str(&format!("{}  {shown}  ({state})\n", r.fqdn));
                let loc = |t: &catalyst_audit::Tether| format!("{prefix}{}:{}:{}", t.file, t.line, t.column);
                let w = r.tethers.iter().map(|t| loc(t).len()).max().unwrap_or(0);
                let kw = r.tethers.iter().map(|t| t.kind.as_str().len()).max().unwrap_or(0);
                for t in &r.tethers {
                    let at = if t.object.is_empty() { t.field.clone() } else { format!("{} {}", t.object, t.field) };
                    out.push_str(&format!("  {:w$}  {:kw$}  {}  ({at})\n", loc(t), t.kind.as_str(), t.reference));
                    if let Some(why) = r.violation_of(t) {
                        out.push_str(&format!("      violation: {why}\n"));
                        out.push_str(&format!("      help: {}\n", catalyst_audit::remedy(t.kind, &r.fqdn)));
                    }
                }
                let by_kind: Vec<String> = TetherKind::ALL
                    .iter()
                    .map(|k| (k, r.tethers.iter().filter(|t| t.kind == *k).count()))
                    .filter(|(_, n)| *n > 0)
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect();
                let kinds = if by_kind.is_empty() { String::new() } else { format!(" ({})", by_kind.join(", ")) };
                let tail = if r.cutover {
                    plural(r.violations.len(), "violation", "violations")
                } else {
                    format!(
                        "{} after cutover (--cutover shows them)",
                        plural(a.would_violate, "would violate", "would violate")
                    )
                };
                out.push_str(&format!("  {}{kinds}; {tail}\n\n", plural(r.tethers.len(), "tether", "tethers")));
            }
            out.push_str(&format!(
                "audited {}: {}, {}{}\n",
                plural(audit.dirs.len(), "Sovereign", "Sovereigns"),
                plural(audit.tethers, "tether", "tethers"),
                plural(audit.violations, "violation", "violations"),
                if audit.diagnostics.has_errors() {
                    "; some files could not be read (above), the audit is incomplete"
                } else {
                    ""
                }
            ));
            print!("{out}");
        }
    }
    if audit.failed() { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// `render --check`: stale files are the diagnostics; nothing was written.
fn print_check(r: &Report, format: Format, quiet: bool, color: bool) -> ExitCode {
    match format {
        Format::Json => {
            println!("{}", json::Doc::errors_only(json::Checked::of(r), &r.diagnostics).pretty());
        }
        Format::Human => {
            // Stale files and orphans are summarized, a line per Sovereign,
            // when everything rendered (else nothing was compared).
            let summarized = |d: &&catalyst_diag::Diagnostic| catalyst_ops::CHECK_SUMMARIZED.contains(&d.code);
            let failed = r.diagnostics.iter().any(|d| d.is_error() && !summarized(&d));
            let shown = Diagnostics(r.diagnostics.iter().filter(|d| failed || !summarized(d)).cloned().collect());
            print_diagnostics(&shown, &r.sources, format, color);
            if !failed {
                let lines = catalyst_ops::check_summary(r);
                let up_to_date = !r.has_errors();
                for l in lines.iter().take(if quiet && up_to_date { 0 } else { lines.len() }) {
                    println!("{l}");
                }
            }
        }
    }
    exit_for(r)
}

/// `catalyst diff`: exit 0 without differences, 1 with, 2 when the render
/// failed (like `git diff --exit-code`).
fn print_diff(
    d: &catalyst_diff::FleetDiff,
    r: &Report,
    format: DiffFormat,
    stat: bool,
    color_err: bool,
    color_out: bool,
) -> ExitCode {
    match format {
        DiffFormat::Markdown | DiffFormat::Html => {
            // The document goes to stdout; problems (and warnings) to stderr.
            print_diagnostics(&r.diagnostics, &r.sources, Format::Human, color_err);
            if r.has_errors() {
                eprintln!("nothing was compared: the render failed");
            } else if format == DiffFormat::Html {
                print!("{}", catalyst_diff::html(d));
            } else {
                print!("{}", catalyst_diff::markdown(d));
            }
        }
        DiffFormat::Json => {
            let diff = json::Diff { diff: catalyst_diff::to_json(d) };
            println!("{}", json::Doc::errors_only(diff, &r.diagnostics).pretty());
        }
        DiffFormat::Human => {
            print_diagnostics(&r.diagnostics, &r.sources, Format::Human, color_err);
            if r.has_errors() {
                eprintln!("nothing was compared: the render failed");
            } else if stat {
                print!("{}", catalyst_diff::stat(d, color_out));
            } else {
                print!("{}", catalyst_diff::human(d, color_out));
            }
        }
    }
    if r.has_errors() {
        ExitCode::from(2)
    } else if d.differs() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_bumps(
    since: &str,
    changes: &[catalyst_ops::bumps::ChartChange],
    r: &Report,
    format: Format,
    color: bool,
) -> ExitCode {
    match format {
        Format::Json => {
            println!("{}", json::Doc::errors_only(json::Bumps::of(since, changes), &r.diagnostics).pretty());
        }
        Format::Human => {
            print_diagnostics(&r.diagnostics, &r.sources, format, color);
            let bad = changes.iter().filter(|c| !c.bumped).count();
            match (changes.len(), bad) {
                (0, _) => println!("no chart changed since {since}"),
                (n, 0) => println!("{n} chart(s) changed since {since}, each with a higher version"),
                (n, b) => println!("{n} chart(s) changed since {since}, {b} without a version bump"),
            }
        }
    }
    exit_for(r)
}

fn print_affected(a: &catalyst_ops::affected::Affected, format: ListFormat) {
    match format {
        ListFormat::Lines => {
            for s in &a.sovereigns {
                println!("{}", s.dir);
            }
        }
        ListFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&json::Affected::of(a)).unwrap_or_default());
        }
        ListFormat::Human => {
            if a.blueprints.is_empty() {
                println!("no Blueprint changed since {}", a.since);
            } else {
                println!("Blueprints changed since {} ({}):", a.since, a.blueprints.len());
                let w = a.blueprints.iter().map(|b| b.name.len()).max().unwrap_or(0);
                for b in &a.blueprints {
                    println!("  {:w$}  {}{}", b.name, b.dir, if b.removed { "  (removed)" } else { "" });
                }
            }
            println!("Sovereigns affected: {} of {}", a.sovereigns.len(), a.total);
            for s in &a.sovereigns {
                println!("  {}  ({})", s.dir, s.fqdn);
                for b in &s.because {
                    println!("      {b}");
                }
            }
            for r in &a.removed {
                println!("  {r}  (spec removed: `catalyst render --prune` removes its rendered output)");
            }
        }
    }
}

fn print_render(
    r: &Report,
    format: Format,
    quiet: bool,
    color: bool,
    elapsed: Option<std::time::Duration>,
) -> ExitCode {
    match format {
        Format::Json => {
            println!("{}", json::Doc::new(json::Rendered::of(r), &r.diagnostics).pretty());
        }
        Format::Human => {
            print_diagnostics(&r.diagnostics, &r.sources, format, color);
            // A prune refused after the Sovereigns were written is an
            // error, but not one that stopped the writing.
            if r.has_errors() && r.sovereigns.iter().all(|s| s.outcome.is_none()) {
                eprintln!("nothing was written");
            } else if !quiet {
                let skipped = r.sovereigns.iter().filter(|s| s.outcome == Some(Outcome::Skipped)).count();
                if skipped > 0 {
                    println!(
                        "up to date: {skipped} Sovereign{} whose inputs have not changed since {} (--force renders them)",
                        if skipped == 1 { "" } else { "s" },
                        if skipped == 1 { "its lock" } else { "their locks" }
                    );
                }
                for s in &r.sovereigns {
                    let (Some(out), Some(x)) = (&s.out, &s.rendered) else { continue };
                    let what = if s.outcome == Some(Outcome::Unchanged) { "unchanged" } else { "rendered " };
                    println!(
                        "{what} {out} ({} Blueprints on {} host clusters, {} files)",
                        x.resolution.order.len(),
                        x.placement.clusters.len(),
                        x.lock.outputs.len() + 1
                    );
                    for n in &x.notices {
                        println!("{n}");
                    }
                }
                for o in r.orphans.iter().filter(|o| o.pruned) {
                    println!("pruned    {} (its spec is gone)", o.shown);
                }
                println!("{}", output::render_summary(r, elapsed));
            }
        }
    }
    exit_for(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
