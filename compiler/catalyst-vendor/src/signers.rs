//! Who signs an upstream chart: `signers:` in a mirrors file and
//! `spec.upstreamSigners` in catalog.yaml.
//!
//! Each entry names an upstream by its repository URL as Chart.yaml writes
//! it (before any mirror rewrites it: the declaration is about the
//! upstream, and a mirror must carry the same signatures), optionally one
//! chart of it, and the signer: a cosign public key or a keyless (Sigstore)
//! identity. Pure: reading the key and verifying is the caller's
//! ([`crate::UpstreamCheck`]).

use std::path::{Component, Path, PathBuf};

use catalyst_diag::{Code, Diagnostic, Location};
use serde_json::Value;

/// One side of a keyless identity: an exact value or a regular expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdMatch {
    Exact(String),
    Regexp(String),
}

impl std::fmt::Display for IdMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdMatch::Exact(s) => write!(f, "{s}"),
            IdMatch::Regexp(r) => write!(f, "/{r}/"),
        }
    }
}

/// Where a public key is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A file (`path` resolved against the declaring file's folder;
    /// `written` as the declaration writes it, for messages). `root`: the
    /// folder it must stay inside once links are followed (the catalog root
    /// for catalog.yaml), if any.
    File { path: PathBuf, written: String, root: Option<PathBuf> },
    /// `env://VAR`: the PEM in an environment variable.
    Env(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    Key(KeySource),
    Keyless { issuer: IdMatch, subject: IdMatch },
}

impl std::fmt::Display for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signer::Key(KeySource::File { written, .. }) => write!(f, "the key {written}"),
            Signer::Key(KeySource::Env(v)) => write!(f, "the key env://{v}"),
            Signer::Keyless { issuer, subject } => write!(f, "the keyless identity {subject} of issuer {issuer}"),
        }
    }
}

/// One declaration: the upstream it covers and who signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamSigner {
    /// Repository URL prefix, as written in Chart.yaml (no trailing `/`).
    pub repository: String,
    /// Only this chart of the repository, when given.
    pub chart: Option<String>,
    pub signer: Signer,
    /// Where it is declared, for messages: `mirrors.yaml signers[0]`.
    pub declared: String,
}

impl UpstreamSigner {
    /// Whether this entry covers `chart` from `repository` (as Chart.yaml
    /// writes it): the repository equals the prefix or continues it after
    /// a `/`, and the chart is the one named, if one is.
    pub fn covers(&self, repository: &str, chart: &str) -> bool {
        let (u, declared) = (normalized(repository), normalized(&self.repository));
        let prefix = u == declared || u.starts_with(&format!("{declared}/"));
        prefix && self.chart.as_deref().is_none_or(|c| c == chart)
    }
}

/// A repository URL as a registry sees it: the scheme and host in lower
/// case, a default port (`:443` for oci:// and https://, `:80` for
/// http://) dropped, no trailing `/`. `oci://GHCR.IO:443/x` and
/// `oci://ghcr.io/x` are one repository: spelling the host otherwise must
/// not pass a declaration by.
fn normalized(url: &str) -> String {
    let url = url.trim_end_matches('/');
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let scheme = scheme.to_ascii_lowercase();
    let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
    let mut host = host.to_ascii_lowercase();
    let default = if scheme == "http" { ":80" } else { ":443" };
    if let Some(h) = host.strip_suffix(default) {
        host = h.to_string();
    }
    if path.is_empty() { format!("{scheme}://{host}") } else { format!("{scheme}://{host}/{path}") }
}

/// The declarations of one file, in the order written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signers(pub Vec<UpstreamSigner>);

impl Signers {
    /// The entry that decides for `chart` from `repository`: of those that
    /// cover it, one naming the chart beats one that does not, then the
    /// longest repository prefix, then the first written.
    pub fn find(&self, repository: &str, chart: &str) -> Option<&UpstreamSigner> {
        let mut best: Option<&UpstreamSigner> = None;
        for s in self.0.iter().filter(|s| s.covers(repository, chart)) {
            let rank = |s: &UpstreamSigner| (s.chart.is_some(), s.repository.len());
            if best.is_none_or(|b| rank(s) > rank(b)) {
                best = Some(s);
            }
        }
        best
    }

    /// Reads a `signers` list (`list`, the JSON of the YAML node) of the
    /// file `shown`. Key paths are relative to `base`; with `confine`,
    /// they must stay inside `base` (catalog.yaml: no key from outside the
    /// catalog). `at(i)` locates entry `i`.
    pub fn read(
        list: &Value,
        what: &str,
        base: &Path,
        confine: bool,
        at: &dyn Fn(usize) -> Option<Location>,
    ) -> Result<Signers, Diagnostic> {
        let bad = |i: usize, msg: String| {
            Diagnostic::error(Code::InvalidUpstreamSigners, format!("{what}[{i}]: {msg}")).at(at(i)).help(
                "write {repository: oci://registry/path, chart: name (optional), key: cosign.pub | env://VAR} or \
                 {repository: ..., keyless: {issuer | issuerRegexp, subject | subjectRegexp}}",
            )
        };
        let Some(items) = list.as_array() else {
            if list.is_null() {
                return Ok(Signers::default());
            }
            return Err(Diagnostic::error(Code::InvalidUpstreamSigners, format!("{what} is not a list")).at(at(0)));
        };
        let mut out = Vec::new();
        for (i, e) in items.iter().enumerate() {
            let Some(obj) = e.as_object() else { return Err(bad(i, "not a mapping".into())) };
            if let Some(k) = obj.keys().find(|k| !["repository", "chart", "key", "keyless"].contains(&k.as_str())) {
                return Err(bad(i, format!("unknown field `{k}`")));
            }
            let repository = match e["repository"].as_str() {
                Some(r) if r.contains("://") && !r.trim_end_matches('/').ends_with("://") => {
                    r.trim_end_matches('/').to_string()
                }
                _ => return Err(bad(i, "`repository` must be a repository URL (oci://, https://, ...)".into())),
            };
            let chart = match &e["chart"] {
                Value::Null => None,
                Value::String(c) if !c.is_empty() => Some(c.clone()),
                _ => return Err(bad(i, "`chart` must be a chart name".into())),
            };
            let signer = match (&e["key"], &e["keyless"]) {
                (Value::String(k), Value::Null) => Signer::Key(key_source(k, base, confine).map_err(|m| bad(i, m))?),
                (Value::Null, Value::Object(k)) => {
                    let side = |exact: &str, re: &str| match (&k.get(exact), &k.get(re)) {
                        (Some(Value::String(s)), None) if !s.is_empty() => Ok(IdMatch::Exact(s.clone())),
                        (None, Some(Value::String(r))) if !r.is_empty() => Ok(IdMatch::Regexp(r.clone())),
                        _ => Err(bad(i, format!("`keyless` needs exactly one of `{exact}` and `{re}`, a string"))),
                    };
                    if let Some(f) =
                        k.keys().find(|f| !["issuer", "issuerRegexp", "subject", "subjectRegexp"].contains(&f.as_str()))
                    {
                        return Err(bad(i, format!("unknown field `keyless.{f}`")));
                    }
                    Signer::Keyless {
                        issuer: side("issuer", "issuerRegexp")?,
                        subject: side("subject", "subjectRegexp")?,
                    }
                }
                _ => return Err(bad(i, "give exactly one signer: `key` (a string) or `keyless` (a mapping)".into())),
            };
            out.push(UpstreamSigner { repository, chart, signer, declared: format!("{what}[{i}]") });
        }
        Ok(Signers(out))
    }
}

/// `env://VAR`, or a path relative to `base` (with `confine`: neither
/// absolute nor climbing out with `..`).
fn key_source(k: &str, base: &Path, confine: bool) -> Result<KeySource, String> {
    if let Some(var) = k.strip_prefix("env://") {
        return if var.is_empty() || var.contains('=') {
            Err("`key: env://VAR` names no environment variable".into())
        } else {
            Ok(KeySource::Env(var.to_string()))
        };
    }
    if k.is_empty() {
        return Err("`key` is empty".into());
    }
    let p = Path::new(k);
    if confine && p.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(format!("the key `{k}` must be a path inside the catalog (relative, no `..`)"));
    }
    Ok(KeySource::File { path: base.join(p), written: k.to_string(), root: confine.then(|| base.to_path_buf()) })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_declaration_covers_its_repository_however_the_host_is_spelled() {
        let s = entry("oci://ghcr.io/cilium/charts", None, 0);
        for spelled in
            ["oci://GHCR.IO/cilium/charts", "oci://ghcr.io:443/cilium/charts", "OCI://ghcr.io/cilium/charts/"]
        {
            assert!(s.covers(spelled, "cilium"), "{spelled}");
        }
        assert!(!s.covers("oci://ghcr.io:5000/cilium/charts", "cilium"), "another port is another registry");
        assert!(!s.covers("oci://ghcr.io/Cilium/charts", "cilium"), "paths stay case-sensitive");
    }

    use super::*;

    fn entry(repo: &str, chart: Option<&str>, n: usize) -> UpstreamSigner {
        UpstreamSigner {
            repository: repo.into(),
            chart: chart.map(str::to_string),
            signer: Signer::Key(KeySource::Env(format!("K{n}"))),
            declared: format!("signers[{n}]"),
        }
    }

    #[test]
    fn a_prefix_covers_the_repository_and_below_it_only() {
        let s = entry("oci://r.example/charts", None, 0);
        assert!(s.covers("oci://r.example/charts", "a"));
        assert!(s.covers("oci://r.example/charts/", "a"));
        assert!(s.covers("oci://r.example/charts/stable", "a"));
        assert!(!s.covers("oci://r.example/chartsx", "a"));
        assert!(!s.covers("oci://r.example", "a"));
        let named = entry("oci://r.example/charts", Some("cilium"), 1);
        assert!(named.covers("oci://r.example/charts", "cilium"));
        assert!(!named.covers("oci://r.example/charts", "cert-manager"));
    }

    #[test]
    fn the_chart_name_then_the_longest_prefix_then_the_first_decides() {
        let s = Signers(vec![
            entry("oci://r.example", None, 0),
            entry("oci://r.example/charts", None, 1),
            entry("oci://r.example/charts", None, 2),
            entry("oci://r.example", Some("cilium"), 3),
        ]);
        let pick = |repo: &str, chart: &str| s.find(repo, chart).map(|e| e.declared.clone());
        // A named chart beats a longer prefix.
        assert_eq!(pick("oci://r.example/charts", "cilium").as_deref(), Some("signers[3]"));
        // The longest prefix; of two equal ones, the first written.
        assert_eq!(pick("oci://r.example/charts/x", "flux").as_deref(), Some("signers[1]"));
        assert_eq!(pick("oci://r.example/other", "flux").as_deref(), Some("signers[0]"));
        assert_eq!(pick("oci://elsewhere.example/charts", "flux"), None);
    }

    #[test]
    fn entries_are_read_and_bad_ones_refused() {
        let yaml = serde_json::json!([
            {"repository": "oci://r.example/charts/", "chart": "cilium", "key": "keys/c.pub"},
            {"repository": "oci://r.example/x", "key": "env://UPSTREAM_KEY"},
            {"repository": "oci://r.example/y", "keyless": {"issuer": "https://i", "subjectRegexp": "^https://g/"}},
        ]);
        let s = Signers::read(&yaml, "signers", Path::new("/cat"), true, &|_| None).unwrap();
        assert_eq!(s.0[0].repository, "oci://r.example/charts");
        assert_eq!(
            s.0[0].signer,
            Signer::Key(KeySource::File {
                path: "/cat/keys/c.pub".into(),
                written: "keys/c.pub".into(),
                root: Some("/cat".into())
            })
        );
        assert_eq!(s.0[1].signer, Signer::Key(KeySource::Env("UPSTREAM_KEY".into())));
        assert_eq!(
            s.0[2].signer,
            Signer::Keyless {
                issuer: IdMatch::Exact("https://i".into()),
                subject: IdMatch::Regexp("^https://g/".into())
            }
        );
        for (bad, why) in [
            (serde_json::json!([{"repository": "oci://r/x", "key": "../k.pub"}]), "inside the catalog"),
            (serde_json::json!([{"repository": "oci://r/x", "key": "/etc/k.pub"}]), "inside the catalog"),
            (serde_json::json!([{"repository": "oci://r/x"}]), "exactly one signer"),
            (serde_json::json!([{"repository": "oci://r/x", "key": "k", "keyless": {}}]), "exactly one signer"),
            (serde_json::json!([{"repository": "r/x", "key": "k"}]), "repository URL"),
            (serde_json::json!([{"repository": "oci://r/x", "keyless": {"issuer": "i"}}]), "`subject`"),
            (
                serde_json::json!([{"repository": "oci://r/x", "keyless": {"issuer": "i", "issuerRegexp": "i", "subject": "s"}}]),
                "`issuer`",
            ),
            (serde_json::json!([{"repository": "oci://r/x", "key": "env://"}]), "no environment variable"),
            (serde_json::json!([{"repository": "oci://r/x", "key": "k", "typo": 1}]), "unknown field `typo`"),
        ] {
            let d = Signers::read(&bad, "signers", Path::new("/cat"), true, &|_| None).unwrap_err();
            assert_eq!(d.code, Code::InvalidUpstreamSigners);
            assert!(d.message.contains(why), "{why}: {}", d.message);
        }
        // Outside the catalog (a mirrors file), a key may be anywhere.
        let s = Signers::read(
            &serde_json::json!([{"repository": "oci://r/x", "key": "../k.pub"}]),
            "signers",
            Path::new("/ops"),
            false,
            &|_| None,
        )
        .unwrap();
        assert_eq!(
            s.0[0].signer,
            Signer::Key(KeySource::File { path: "/ops/../k.pub".into(), written: "../k.pub".into(), root: None })
        );
    }
}
