//! `catalyst audit tethers`: what rendered cluster directories reach outside themselves.

use std::path::PathBuf;
use std::process::ExitCode;

use catalyst_ops::json;
use clap::Subcommand;

use super::{Context, Format, print_diagnostics};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub what: AuditCommand,
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
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

pub fn run(args: Args, cx: Context) -> anyhow::Result<ExitCode> {
    let Args { what: AuditCommand::Tethers { paths, cutover, format } } = args;
    let audit = catalyst_ops::audit::tethers(&cx.cwd, cx.catalog.as_deref(), &paths, cutover, &cx.opts.limits)?;
    Ok(print_audit(&audit, format, cx.use_color))
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
