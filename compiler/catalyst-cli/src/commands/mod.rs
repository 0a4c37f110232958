//! One module per command: each holds its clap arguments (`Args`) and a
//! short `run` that calls into `catalyst-ops` and hands the result to its
//! output. `main.rs` only parses, dispatches and maps errors to exit codes.
//! What several commands share is here: the run's context, the `--format`
//! of most commands, the Sigstore arguments, keys, printing diagnostics.

pub mod affected;
pub mod attest;
pub mod audit;
pub mod check_bumps;
pub mod completions;
pub mod diff;
pub mod explain;
pub mod generate_key_pair;
pub mod graph;
pub mod man;
pub mod package;
pub mod publish;
pub mod push;
pub mod release;
pub mod render;
pub mod sign;
pub mod validate;
pub mod verify;
pub mod version;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use catalyst_diag::{Diagnostics, Sources, render_human, render_json};
use catalyst_ops::{Options, Report};
use clap::ValueEnum;

use crate::output;

/// What every command may use, from the global options: where it runs,
/// the catalog, the operations' options, registry timeouts, whether the
/// output is JSON and whether standard error and output are coloured.
pub struct Context {
    pub cwd: PathBuf,
    pub catalog: Option<PathBuf>,
    pub opts: Options,
    pub timeouts: catalyst_oci::Timeouts,
    pub json: bool,
    /// Colour on standard error (diagnostics).
    pub use_color: bool,
    /// Colour on standard output (`diff`).
    pub color_out: bool,
    pub jobs: Option<u16>,
}

/// The `--format` of most commands (and `-o`).
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

/// A Sigstore's trust root: what keyless signatures are verified against.
#[derive(clap::Args, Debug)]
pub struct TrustArgs {
    /// The Sigstore's trust root: a trusted_root.json as Sigstore publishes it (Fulcio CAs, Rekor and CT-log keys).
    #[arg(long, env = catalyst_env::CATALYST_TRUSTED_ROOT, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
}

/// Where keyless signing gets its identity token and its Sigstore (nothing assumes the public instance).
#[derive(clap::Args, Debug)]
pub struct SigstoreArgs {
    /// The OIDC identity token (a JWT) in a file, or `-` for standard input (else SIGSTORE_ID_TOKEN, else the
    /// token service of GitHub, Gitea or Forgejo Actions: ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN).
    #[arg(long, value_name = "FILE|-", requires = "keyless")]
    pub identity_token: Option<PathBuf>,
    /// Fulcio's URL (overrides the signing config's).
    #[arg(long, env = catalyst_env::CATALYST_FULCIO_URL, value_name = "URL")]
    pub fulcio_url: Option<String>,
    /// Rekor's URL (v1 API; overrides the signing config's).
    #[arg(long, env = catalyst_env::CATALYST_REKOR_URL, value_name = "URL")]
    pub rekor_url: Option<String>,
    /// The Sigstore's signing_config.json (its Fulcio, Rekor and timestamp authority URLs).
    #[arg(long, env = catalyst_env::CATALYST_SIGNING_CONFIG, value_name = "FILE")]
    pub signing_config: Option<PathBuf>,
    /// When given, each new bundle is verified against it before it is attached.
    #[command(flatten)]
    pub trust: TrustArgs,
}

/// Where a key-based signature or attestation is recorded (`attest`,
/// `publish --oci`): the Rekor of --rekor-url or the signing config, as
/// `sign --key` does.
#[derive(clap::Args, Debug)]
pub struct RekorArgs {
    /// Rekor's URL (v1 API; overrides the signing config's): the signature is recorded there.
    #[arg(long = "rekor-url", env = catalyst_env::CATALYST_REKOR_URL, value_name = "URL")]
    pub rekor_url: Option<String>,
    /// The Sigstore's signing_config.json, for its Rekor.
    #[arg(long, env = catalyst_env::CATALYST_SIGNING_CONFIG, value_name = "FILE")]
    pub signing_config: Option<PathBuf>,
    /// Record the signature in that Rekor (as cosign's --tlog-upload); false signs without a log entry.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub tlog_upload: bool,
}

impl RekorArgs {
    /// The Rekor to record in, if any.
    pub fn rekor(self, cwd: &std::path::Path) -> Result<Option<String>, output::Usage> {
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
    pub fn options(self, cwd: &std::path::Path) -> catalyst_ops::sign::KeylessOptions {
        catalyst_ops::sign::KeylessOptions {
            identity_token: self.identity_token.map(|p| if p.as_os_str() == "-" { p } else { cwd.join(p) }),
            fulcio_url: self.fulcio_url,
            rekor_url: self.rekor_url,
            signing_config: self.signing_config.map(|p| cwd.join(p)),
            trusted_root: self.trust.trusted_root.map(|p| cwd.join(p)),
        }
    }
}

/// Reads a key file named on the command line.
/// The key `--key` names: a file, or `env://VAR` (cosign's form: the PEM in
/// the environment variable VAR, so a CI job never writes the key to disk).
/// The PEM is held as a Secret: no message, log or `-v` cause prints it;
/// errors name the variable, never its value.
pub fn read_key(cwd: &std::path::Path, key: &std::path::Path) -> anyhow::Result<catalyst_secret::Secret> {
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
pub fn pinned(reference: &str, digest: &str) -> String {
    if reference.ends_with(&format!("@{digest}")) { reference.to_string() } else { format!("{reference}@{digest}") }
}

/// Asks for a password on the terminal; `None` without one.
pub fn prompt(question: &str) -> Option<String> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    rpassword::prompt_password(question).ok()
}

/// `-v`: causes under diagnostics (set once, first thing in `run`).
pub static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn exit_for(r: &Report) -> ExitCode {
    output::exit_code(&r.diagnostics)
}

pub fn print_diagnostics(d: &Diagnostics, sources: &Sources, format: Format, color: bool) {
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
