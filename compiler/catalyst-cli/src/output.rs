//! What the command line prints besides each command's own output: the
//! build (`catalyst version`), fatal errors (human, with `-v` their causes
//! and a `hint:`; with `-o json` one JSON document on standard output),
//! exit codes, render's summary line and progress bar, and the JSON
//! documents of the commands that talk to registries and Git.
//!
//! Exit codes: 0 success, 1 invalid input (or, for `diff`, differences),
//! 2 usage or internal error, 3 a transient network failure (every error of
//! the run is a server that could not be reached or did not answer in time:
//! trying again, unchanged, may work).

use std::io::IsTerminal;
use std::process::ExitCode;

use catalyst_diag::{Code, Diagnostic, Diagnostics, render_json};
use catalyst_ops::OpsError;
use serde::Serialize;

/// The exit code of a transient network failure.
pub const EXIT_NETWORK: u8 = 3;

/// Summary errors that only repeat others (they do not make a network
/// failure look like invalid input).
const SUMMARY_CODES: &[Code] = &[Code::ReleaseFailed];

/// The exit code for a run's diagnostics: 0 without errors, 3 when every
/// error is a transient network failure, else 1.
pub fn exit_code(d: &Diagnostics) -> ExitCode {
    if d.only_transient_errors(SUMMARY_CODES) {
        ExitCode::from(EXIT_NETWORK)
    } else if d.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `catalyst explain`: a code's entry of the reference (docs/diagnostics.md),
/// for people (wrapped) or tools.
pub fn explain(name: &str, json: bool) -> anyhow::Result<String> {
    let Some(code) = Code::parse(name) else {
        let hint = match catalyst_diag::suggest(name, Code::ALL.iter().map(|c| c.as_str())) {
            Some(s) => format!("did you mean `{s}`? docs/diagnostics.md lists every code"),
            None => "docs/diagnostics.md lists every code".to_string(),
        };
        return Err(Usage::new(format!("`{name}` is not a diagnostic code")).hint(hint).into());
    };
    let group = code.group().title;
    if json {
        return Ok(serde_json::to_string_pretty(&catalyst_ops::json::Explained::of(code))? + "\n");
    }
    let severity = code.severity().map_or("error or warning", |s| s.as_str());
    let transient = if code.is_transient() { ", transient" } else { "" };
    Ok(format!("{code}: {severity}{transient} ({group})\n\n{}", wrap(code.explanation(), 79)))
}

/// `text` broken into lines of at most `width` characters at spaces (a
/// longer word stands on a line of its own).
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split(' ') {
        let n = word.chars().count();
        if line > 0 && line + 1 + n > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += n;
    }
    out + "\n"
}

/// What this binary is, for `catalyst version`.
pub fn version() -> catalyst_ops::json::Version {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    catalyst_ops::json::Version {
        version: env!("CARGO_PKG_VERSION").to_string(),
        commit: some(env!("CATALYST_BUILD_COMMIT")),
        rustc: env!("CATALYST_BUILD_RUSTC").to_string(),
        target: env!("CATALYST_BUILD_TARGET").to_string(),
    }
}

/// `catalyst version` for people.
pub fn version_human(v: &catalyst_ops::json::Version) -> String {
    format!(
        "catalyst {}\ncommit: {}\nrustc: {}\ntarget: {}\n",
        v.version,
        v.commit.as_deref().unwrap_or("unknown (not built from a Git checkout)"),
        if v.rustc.is_empty() { "unknown" } else { &v.rustc },
        v.target
    )
}

/// An error that ends the run before (or instead of) a report: bad usage,
/// and what to do about it when there is more to say than the message.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Usage {
    pub message: String,
    pub hint: Option<String>,
}

impl Usage {
    pub fn new(message: impl Into<String>) -> Usage {
        Usage { message: message.into(), hint: None }
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Usage {
        self.hint = Some(hint.into());
        self
    }
}

/// `Err` of a usage error, for `run`.
pub fn usage<T>(msg: impl Into<String>) -> anyhow::Result<T> {
    Err(Usage::new(msg).into())
}

/// A fatal error as a diagnostic: a stable code, the message, the causes
/// below it, and a hint.
fn fatal_diagnostic(e: &anyhow::Error) -> Diagnostic {
    let (code, hint): (Code, Option<String>) = if let Some(u) = e.downcast_ref::<Usage>() {
        (Code::Usage, u.hint.clone())
    } else {
        match e.downcast_ref::<OpsError>() {
            Some(OpsError::Usage(_)) => (Code::Usage, None),
            Some(OpsError::Locked(_)) => (
                Code::Locked,
                Some("another catalyst run holds the repository: wait for it, or raise --lock-timeout".into()),
            ),
            Some(OpsError::Io { .. }) => (Code::IoError, None),
            // An audited directory that cannot be read.
            Some(OpsError::Audit(_)) => (Code::Internal, None),
            Some(OpsError::Write(_)) => (Code::WriteError, None),
            None if e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some()) => (Code::IoError, None),
            None => (Code::Internal, None),
        }
    };
    let top = e.to_string();
    // The layers below the message, without those it already says.
    let mut causes: Vec<String> = Vec::new();
    let mut shown = top.clone();
    for c in e.chain().skip(1) {
        let t = c.to_string();
        if !shown.contains(&t) {
            shown = t.clone();
            causes.push(t);
        }
    }
    let mut d = Diagnostic::error(code, top).caused_by(causes);
    if let Some(h) = hint {
        d = d.help(h);
    }
    d
}

/// Prints a fatal error and returns exit code 2. Human: `error: ...`, with
/// `-v` a `Caused by:` line per layer below, then `hint: ...`. JSON: the
/// diagnostics document (`{"errors": 1, "warnings": 0, "diagnostics":
/// [...]}`) on standard output, as every `-o json` run prints exactly one
/// document there.
pub fn fatal(e: &anyhow::Error, json: bool, verbose: bool) -> ExitCode {
    let d = fatal_diagnostic(e);
    if json {
        print!("{}", render_json(&Diagnostics(vec![d])));
    } else {
        let mut out = format!("error: {}\n", catalyst_diag::visible(&d.message));
        if verbose && !d.causes.is_empty() {
            out.push_str("Caused by:\n");
            for c in &d.causes {
                out.push_str(&format!("    {}\n", catalyst_diag::visible(c)));
            }
        } else if !d.causes.is_empty() {
            out.push_str("(-v shows the causes)\n");
        }
        if let Some(h) = &d.help {
            out.push_str(&format!("hint: {h}\n"));
        }
        eprint!("{out}");
    }
    ExitCode::from(2)
}

/// A command-line parse error. `--help` and `--version` print as usual;
/// other errors, with `-o json` on the command line, are one JSON document
/// on standard output.
pub fn clap_error(e: clap::Error, json: bool) -> ExitCode {
    use clap::error::ErrorKind;
    if json && !matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let text = e.render().to_string();
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let message = lines.next().unwrap_or_default().trim_start_matches("error: ").to_string();
        let rest: Vec<String> = lines.map(|l| l.trim().to_string()).collect();
        let mut d =
            Diagnostic::error(Code::Usage, message).help("`catalyst help` lists the commands and their options");
        for l in rest {
            d = d.note(l, None);
        }
        print!("{}", render_json(&Diagnostics(vec![d])));
        return ExitCode::from(2);
    }
    let code = if e.use_stderr() { 2 } else { 0 };
    let _ = e.print();
    ExitCode::from(code)
}

/// Whether the raw command line asks for JSON output (`-o json`,
/// `-ojson`, `--output json`, `--output=json`, or a command's own
/// `--format json`): read before clap, so that a parse error can be JSON
/// too. Nothing after `--` is an option.
pub fn json_requested(args: &[std::ffi::OsString]) -> bool {
    let args: Vec<&str> = args.iter().filter_map(|a| a.to_str()).take_while(|a| *a != "--").collect();
    args.iter().enumerate().any(|(i, a)| {
        matches!(*a, "-ojson" | "--output=json" | "--format=json")
            || (matches!(*a, "-o" | "--output" | "--format") && args.get(i + 1) == Some(&"json"))
    })
}

/// Prints a command's document on standard output: its own fields, then
/// the diagnostics'.
pub fn print_doc<T: Serialize>(body: T, d: &Diagnostics) {
    println!("{}", catalyst_ops::json::Doc::new(body, d).pretty());
}

/// A render's progress: a bar on standard error where a person watches (a
/// terminal, not CI, not `-q`, not JSON), drawn only once the run has taken
/// a second, and the time it took.
/// Seconds a render runs before its progress bar appears (default 1).
pub const PROGRESS_AFTER: &str = catalyst_env::CATALYST_PROGRESS_AFTER;

pub struct RenderProgress {
    started: std::time::Instant,
    bar: Option<indicatif::ProgressBar>,
}

impl RenderProgress {
    pub fn start(wanted: bool) -> RenderProgress {
        let ci = std::env::var_os(catalyst_env::CI).is_some_and(|v| !v.is_empty() && v != "false");
        let bar = (wanted && !ci && std::io::stderr().is_terminal()).then(|| {
            // Cleared however the run ends (an error drops it unfinished).
            let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr_with_hz(4))
                .with_finish(indicatif::ProgressFinish::AndClear);
            let style =
                indicatif::ProgressStyle::with_template("rendering {bar:30} {pos}/{len} Sovereigns ({elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        RenderProgress { started: std::time::Instant::now(), bar }
    }

    /// What render calls as each Sovereign is done.
    pub fn callback(&self) -> Option<catalyst_ops::Progress> {
        let (bar, started) = (self.bar.clone()?, self.started);
        // A short run shows no bar: it appears after a second, or after
        // CATALYST_PROGRESS_AFTER seconds (0: at once).
        let after = std::env::var(PROGRESS_AFTER)
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map_or(std::time::Duration::from_secs(1), std::time::Duration::from_secs_f64);
        Some(catalyst_ops::Progress(std::sync::Arc::new(move |_: &catalyst_ops::SovereignReport, done, total| {
            if started.elapsed() >= after {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
        })))
    }

    /// Clears the bar; the time taken, only for a person at a terminal
    /// (logs and tests stay deterministic).
    pub fn finish(&self) -> Option<std::time::Duration> {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        std::io::stdout().is_terminal().then(|| self.started.elapsed())
    }
}

/// `rendered 2 Sovereigns, 143 files (12 changed)[, 3 up to date][ in 1.2s]`.
pub fn render_summary(r: &catalyst_ops::Report, elapsed: Option<std::time::Duration>) -> String {
    let rendered: Vec<_> = r.sovereigns.iter().filter_map(catalyst_ops::SovereignReport::rendered).collect();
    let skipped = r.sovereigns.iter().filter(|s| matches!(s.state, catalyst_ops::State::Skipped(_))).count();
    let files: usize = rendered.iter().map(|x| x.rendered.lock.outputs.len() + 1).sum();
    let changed: usize = rendered
        .iter()
        .filter_map(|x| match &x.fate {
            catalyst_ops::Fate::Write(w) => w.changed(),
            _ => None,
        })
        .sum();
    let n = rendered.len();
    let mut line = format!(
        "rendered {n} Sovereign{}, {files} file{} ({changed} changed)",
        if n == 1 { "" } else { "s" },
        if files == 1 { "" } else { "s" }
    );
    if skipped > 0 {
        line.push_str(&format!(", {skipped} up to date"));
    }
    if let Some(t) = elapsed {
        line.push_str(&format!(" in {:.1}s", t.as_secs_f64()));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_seen_before_parsing() {
        let a = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert!(json_requested(&a(&["catalyst", "-o", "json", "x"])));
        assert!(json_requested(&a(&["catalyst", "sign", "--output=json"])));
        assert!(json_requested(&a(&["catalyst", "-ojson"])));
        assert!(!json_requested(&a(&["catalyst", "-o", "human"])));
        assert!(!json_requested(&a(&["catalyst", "render", "json"])));
        assert!(json_requested(&a(&["catalyst", "diff", "--format", "json", "--bogus"])));
        assert!(json_requested(&a(&["catalyst", "graph", "--format=json"])));
        assert!(!json_requested(&a(&["catalyst", "render", "--", "-o", "json"])));
    }
}
