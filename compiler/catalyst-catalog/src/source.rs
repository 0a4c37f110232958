//! Reading input files: bounded, UTF-8 checked, hashed, and remembered for
//! diagnostics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use catalyst_diag::{Diagnostic, Location, Sources};
use catalyst_yaml::{Limits, Node};
use sha2::{Digest, Sha256};

/// The text of every file read, its digest, and how to name it in
/// messages.
#[derive(Debug, Default, Clone)]
pub struct SourceSet {
    /// Prefix shown before root-relative paths in diagnostics (how the user
    /// named the root, e.g. `../shared/openova-snapshot/`; empty for cwd).
    pub display_prefix: String,
    /// sha256 (hex) of each file read, by root-relative path with `/`.
    pub digests: BTreeMap<String, String>,
    pub texts: Sources,
    /// Secret-shaped values found in the YAML files read.
    pub secrets: Vec<Diagnostic>,
}

/// An input that was not read, as a diagnostic at its file.
pub fn input_diagnostic(e: &catalyst_fs::InputError, shown: &str) -> Diagnostic {
    Diagnostic::error(e.code(), e.to_string()).at(Some(Location::file(shown))).help(e.help())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl SourceSet {
    pub fn new(display_prefix: impl Into<String>) -> Self {
        SourceSet { display_prefix: display_prefix.into(), ..Default::default() }
    }

    pub fn display(&self, rel: &str) -> String {
        format!("{}{rel}", self.display_prefix)
    }

    /// Reads `root/rel` as UTF-8 text within `limits`. Problems become a
    /// diagnostic naming the file.
    pub fn read(&mut self, root: &Path, rel: &str, limits: &Limits) -> Result<String, Diagnostic> {
        let path: PathBuf = root.join(rel);
        let shown = self.display(rel);
        let bytes = catalyst_fs::read_confined(root, &path, &shown, limits.max_bytes as u64)
            .map_err(|e| input_diagnostic(&e, &shown))?;
        self.digests.insert(rel.to_string(), sha256_hex(&bytes));
        let text = catalyst_yaml::decode_utf8(bytes, &shown)?;
        self.texts.add(shown, text.clone());
        Ok(text)
    }

    /// Records the digest of `root/rel` without keeping its text: a file of
    /// a Blueprint that nothing parses (a Helm helper `.tpl`, a README) is
    /// still an input of every render that reads the Blueprint, and a lock
    /// must see it change. A file that cannot be read (a link out, a FIFO,
    /// too large) keeps no digest: the lock then says `unread`, and a
    /// render is never skipped on its account.
    pub fn digest_only(&mut self, root: &Path, rel: &str, max_bytes: u64) {
        if self.digests.contains_key(rel) {
            return;
        }
        let shown = self.display(rel);
        if let Ok(bytes) = catalyst_fs::read_confined(root, &root.join(rel), &shown, max_bytes) {
            self.digests.insert(rel.to_string(), sha256_hex(&bytes));
        }
    }

    /// Reads and parses a single-document YAML file.
    pub fn read_yaml(&mut self, root: &Path, rel: &str, limits: &Limits) -> Result<Option<Node>, Diagnostic> {
        let text = self.read(root, rel, limits)?;
        let shown = self.display(rel);
        let doc = catalyst_yaml::parse_one(&text, limits).map_err(|e| catalyst_yaml::error_diagnostic(&shown, &e))?;
        let mut found = catalyst_diag::Diagnostics::new();
        if let Some(d) = &doc {
            catalyst_yaml::scan_secrets(d, &shown, &mut found);
        }
        catalyst_yaml::scan_comment_secrets(&text, &shown, &mut found);
        // The Blueprint a file belongs to: `platform/<x>/...` → `bp-<x>`.
        let owner = rel.split('/').nth(1).filter(|_| rel.starts_with("platform/") || rel.starts_with("products/"));
        self.secrets.extend(found.into_iter().map(|d| match owner {
            Some(o) => d.for_blueprint(format!("bp-{o}")),
            None => d,
        }));
        Ok(doc)
    }

    pub fn loc(&self, rel: &str, node: &Node) -> Option<Location> {
        Some(Location::new(self.display(rel), node.pos.line, node.pos.col, node.width()))
    }
}
