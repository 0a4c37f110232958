//! `catalyst`: the command line. Parses arguments, dispatches to the
//! command's module (`commands/<verb>.rs`: its arguments, a call into
//! `catalyst-ops`, its output), and maps outcomes to exit codes: 0 success,
//! 1 invalid input, 2 usage or internal error, 3 a transient network
//! failure (see `output`).

mod commands;
mod output;

// Rendering a fleet allocates millions of small strings and nodes; glibc's
// allocator was a fifth of the render's time in profiles.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use catalyst_ops::Options;
use clap::{Parser, Subcommand, ValueEnum};
use commands::Format;

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
    Render(commands::render::Args),
    /// Show what a fresh render would change: per Sovereign, each resource (kind/namespace/name) added, changed,
    /// renamed or removed, with its lines; HelmRelease fields as YAML paths.
    ///
    /// Renders in memory and compares with the cluster directories in the working tree, or at --against REF (read
    /// from Git; nothing is checked out). PATH: Sovereign specs or cluster directories (default: all; a directory
    /// that no longer exists names a removed Sovereign). Exit 0 without differences, 1 with differences, 2 on errors.
    Diff(commands::diff::Args),
    /// List the Blueprints changed since a Git revision and the Sovereigns whose output that reaches.
    ///
    /// A changed Blueprint folder reaches every Sovereign whose resolved dependency graph holds it (selected, by
    /// family, or needed by another); a changed spec or cluster directory reaches its Sovereign; catalog.yaml,
    /// schemas/, infra/hetzner and the compiler reach all. `--format lines` prints one cluster directory per line
    /// (for a CI matrix or `xargs catalyst render --check`).
    Affected(commands::affected::Args),
    /// Refuse chart content changed without a version bump, as chart-testing does for pull requests.
    ///
    /// Every Blueprint whose chart files (what Helm packages: .helmignore applied) differ between REF and the
    /// working tree must have a higher chart version than at REF; a version published once never changes. Exit 0
    /// when every changed chart is bumped, 1 naming each Blueprint that is not.
    CheckBumps(commands::check_bumps::Args),
    /// Check the catalog, Sovereign specs and hand-written cluster directories, reporting every problem.
    ///
    /// A PATH that is a spec (or a directory holding sovereign.yaml; `-`: a spec on standard input) is checked on
    /// its own: the spec and what it would render, in memory, whether or not it has been rendered. Without PATH:
    /// the catalog and every clusters/*/sovereign.yaml, each rendered directory against a fresh render (a spec
    /// changed since is "not rendered yet", a file edited by hand is named), and rendered directories whose spec
    /// is gone. A PATH that is a directory without sovereign.yaml is read as a hand-written cluster directory and
    /// checked against the catalog (chart pins, dependsOn, placeholders).
    Validate(commands::validate::Args),
    /// Print the resolved dependency graph of a Sovereign, or of the whole catalog.
    Graph(commands::graph::Args),
    /// Package a Blueprint's chart (or a chart folder) into a reproducible <name>-<version>.tgz, behind the release guards.
    ///
    /// Guards: the Blueprint's versions, upstream pin and observability defaults agree; every upstream chart declared
    /// in Chart.yaml is vendored in charts/ and inside the archive (the opt-out is the Chart.yaml annotation
    /// catalyst.openova.io/no-upstream: "true"); `helm template` (HELM or helm on PATH) renders resources.
    Package(commands::package::Args),
    /// Push a chart to an OCI registry as a Helm chart artifact (PATH: a .tgz, or a chart or Blueprint folder, packaged
    /// behind the guards first). Prints the manifest digest.
    ///
    /// The chart goes to <TO>/<name>:<version> (`+` written `_`). Credentials come from the Docker config file
    /// ($DOCKER_CONFIG/config.json or ~/.docker/config.json) or CATALYST_REGISTRY_USERNAME / CATALYST_REGISTRY_PASSWORD
    /// and are never printed. Published versions are immutable: the same content again is a no-op, other content is
    /// refused. The pushed chart is pulled back and checked.
    Push(commands::push::Args),
    /// Create a cosign-compatible key pair: <PREFIX>.key (encrypted; password from COSIGN_PASSWORD or a prompt) and
    /// <PREFIX>.pub.
    GenerateKeyPair(commands::generate_key_pair::Args),
    /// Sign an artifact in an OCI registry, cosign-style: with --key, simple signing (ECDSA P-256, tag
    /// sha256-<hex>.sig); with --keyless, as cosign 3 does (an ephemeral key, a Fulcio certificate for the CI's
    /// OIDC identity, a Rekor entry; a Sigstore bundle attached through the OCI referrers API or its tag fallback).
    Sign(commands::sign::Args),
    /// Verify an artifact's signature: with --key, its cosign signature (.sig) by that public key; with
    /// --certificate-identity and --certificate-oidc-issuer, its Sigstore bundles (found through the OCI referrers API
    /// or its tag fallback) against --trusted-root. Fails on a wrong key or identity, changed content, or no signature.
    Verify(commands::verify::Args),
    /// Attach an SPDX 2.3 SBOM of a chart (files with digests, vendored upstream charts, images named in values) as a
    /// signed in-toto attestation (DSSE) under the tag sha256-<hex>.att.
    Attest(commands::attest::Args),
    /// Release Blueprints: package (vendor + guards) → push → pull-back guard → sign → attest, in parallel; one summary
    /// row each. Published versions are immutable: an unchanged Blueprint is a no-op.
    Release(commands::release::Args),
    /// Commit rendered cluster directories to a Git repository (the Sovereign's Gitea) and push, without force.
    ///
    /// PATH: rendered cluster directories (default: every clusters/<fqdn>/). The repository's subtree at the path
    /// becomes equal to the directory; one reproducible commit per changed Sovereign; no change, no commit. Without
    /// PATH and --path, a folder of the repository's clusters/ that catalyst wrote (it holds catalyst.lock) and whose
    /// spec is gone from the workspace is removed, one commit each. A push
    /// rejected because someone pushed first is retried on the new tip; one the remote declines (a hook, a protected
    /// branch) is not, and the remote's reason is shown. Credentials: CATALYST_GIT_USERNAME / CATALYST_GIT_PASSWORD,
    /// CATALYST_GIT_TOKEN, or a git credential helper; never printed.
    Publish(commands::publish::Args),
    /// Audit rendered cluster directories.
    Audit(commands::audit::Args),
    /// Print a shell completion script.
    Completions(commands::completions::Args),
    /// Print the man page (roff), or with --dir write it and one page per subcommand (catalyst-render.1, ...).
    Man(commands::man::Args),
    /// Print the version, the Git commit it was built from, the compiler and the target (`-o json` for tools).
    Version,
    /// Explain a diagnostic code: what it means and what to do about it (every code: docs/diagnostics.md).
    Explain(commands::explain::Args),
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum ColorChoice {
    Auto,
    Always,
    Never,
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
    Diff(&'a mut commands::diff::DiffFormat),
    List(&'a mut commands::affected::ListFormat),
    Graph(&'a mut commands::graph::GraphFmt),
}

impl FormatArg<'_> {
    fn is_json(&self) -> bool {
        match self {
            FormatArg::Main(f) => **f == Format::Json,
            FormatArg::Diff(f) => **f == commands::diff::DiffFormat::Json,
            FormatArg::List(f) => **f == commands::affected::ListFormat::Json,
            FormatArg::Graph(f) => **f == commands::graph::GraphFmt::Json,
        }
    }

    fn set_json(self) {
        match self {
            FormatArg::Main(f) => *f = Format::Json,
            FormatArg::Diff(f) => *f = commands::diff::DiffFormat::Json,
            FormatArg::List(f) => *f = commands::affected::ListFormat::Json,
            FormatArg::Graph(f) => *f = commands::graph::GraphFmt::Json,
        }
    }
}

/// The `--format` of the commands that have one: the one list both
/// `-o json` and JSON fatal errors read.
fn format_arg(command: &mut Command) -> Option<FormatArg<'_>> {
    match command {
        Command::Render(commands::render::Args { format, .. })
        | Command::Validate(commands::validate::Args { format, .. })
        | Command::Package(commands::package::Args { format, .. })
        | Command::Push(commands::push::Args { format, .. })
        | Command::Release(commands::release::Args { format, .. })
        | Command::CheckBumps(commands::check_bumps::Args { format, .. })
        | Command::Audit(commands::audit::Args { what: commands::audit::AuditCommand::Tethers { format, .. } }) => {
            Some(FormatArg::Main(format))
        }
        Command::Diff(commands::diff::Args { format, .. }) => Some(FormatArg::Diff(format)),
        Command::Affected(commands::affected::Args { format, .. }) => Some(FormatArg::List(format)),
        Command::Graph(commands::graph::Args { format, .. }) => Some(FormatArg::Graph(format)),
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

/// The global options applied (JSON everywhere, `-v`, `--ca-file`, the
/// operations' options), then the command's module.
fn run(mut cli: Cli) -> anyhow::Result<ExitCode> {
    let use_color = color(cli.color, std::io::stderr().is_terminal());
    let json = cli.output == Some(Format::Json);
    if json {
        json_everywhere(&mut cli.command);
    }
    commands::VERBOSE.store(cli.verbose, std::sync::atomic::Ordering::Relaxed);
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
    let cx = commands::Context {
        cwd,
        catalog: cli.catalog,
        opts,
        timeouts,
        json,
        use_color,
        color_out: color(cli.color, std::io::stdout().is_terminal()),
        jobs: cli.jobs,
    };
    match cli.command {
        Command::Completions(a) => commands::completions::run(a),
        Command::Man(a) => commands::man::run(a, json),
        Command::Version => commands::version::run(json),
        Command::Explain(a) => commands::explain::run(a, json),
        Command::Audit(a) => commands::audit::run(a, cx),
        Command::Render(a) => commands::render::run(a, cx),
        Command::Diff(a) => commands::diff::run(a, cx),
        Command::CheckBumps(a) => commands::check_bumps::run(a, cx),
        Command::Affected(a) => commands::affected::run(a, cx),
        Command::Validate(a) => commands::validate::run(a, cx),
        Command::Graph(a) => commands::graph::run(a, cx),
        Command::Package(a) => commands::package::run(a, cx),
        Command::Push(a) => commands::push::run(a, cx),
        Command::GenerateKeyPair(a) => commands::generate_key_pair::run(a, cx),
        Command::Sign(a) => commands::sign::run(a, cx),
        Command::Verify(a) => commands::verify::run(a, cx),
        Command::Attest(a) => commands::attest::run(a, cx),
        Command::Release(a) => commands::release::run(a, cx),
        Command::Publish(a) => commands::publish::run(a, cx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
