//! The lock file, `catalyst.lock`: which compiler rendered the directory,
//! from which inputs (sha256 of each), into which outputs (sha256 of each).
//! Paths are relative to their roots, so the lock does not depend on where
//! the repository is checked out or where the command ran.

use std::collections::{BTreeMap, HashMap};

use catalyst_catalog::{Blueprint, Catalog};
use catalyst_resolve::Resolution;
use catalyst_spec::Sovereign;
use serde_json::json;

use crate::COMPILER_VERSION;

pub const LOCK_FILE: &str = "catalyst.lock";

/// The folders of a host cluster's directory that hold what render writes,
/// one per Flux Kustomization layer.
pub const LAYER_FOLDERS: &[&str] = &["flux-system", "namespaces", "blueprints", "providers", "infrastructure", "dns"];

/// Whether `path` (relative, `/`-separated) has the shape of a file render
/// writes: `ns-records.txt`, `tofu/<module>.auto.tfvars.json`,
/// `<cluster>/kustomization.yaml`, `<cluster>/<layer>/<name>.yaml`. Only
/// such a file may be removed as an old output: a lock is a file in a pull
/// request, and whatever it lists elsewhere (a README, the spec, a folder
/// of one's own) is never catalyst's to delete.
pub fn is_output_path(path: &str) -> bool {
    let label = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let name = |s: &str, ext: &str| s.strip_suffix(ext).is_some_and(|n| n.split('.').all(label));
    match path.split('/').collect::<Vec<_>>().as_slice() {
        ["ns-records.txt"] => true,
        ["tofu", f] => name(f, ".auto.tfvars.json"),
        [cluster, "kustomization.yaml"] => label(cluster),
        [cluster, layer, f] => label(cluster) && LAYER_FOLDERS.contains(layer) && name(f, ".yaml"),
        _ => false,
    }
}

const LOCK_HEADER: &str =
    "# Written by catalyst render. Do not edit: it records what this directory was rendered from.\n";

#[derive(Debug, Clone, PartialEq)]
pub struct Lock {
    pub sovereign: String,
    pub fqdn: String,
    /// `sha256:<hex>` over the compiler version and every input digest.
    pub input_digest: String,
    /// Input name → sha256 hex. Names: `spec`, `catalog:<path>`,
    /// `builtin:<path>`.
    pub inputs: BTreeMap<String, String>,
    /// Output path → sha256 hex (the lock itself excluded).
    pub outputs: BTreeMap<String, String>,
    /// Output path → sha256 hex of everything that output was rendered
    /// or checked from (see `reuse`): for a Blueprint file, its inputs (a
    /// later render takes it over unchanged when they are today's); for a
    /// claims file, what its checks read besides the claims; for a host
    /// cluster's `kustomization.yaml`, what the closure check of its
    /// directory read. Written as `inputs:` of the output.
    pub units: BTreeMap<String, String>,
    /// Blueprint → the chart version installed, for each Blueprint the
    /// Sovereign runs: what the next render upgrades from (a Blueprint's
    /// `upgrades.from` and `upgrades.blocks` are held against it). Not an
    /// input: each follows from the Blueprint's files, which are.
    pub blueprints: BTreeMap<String, String>,
}

/// Digest over the compiler version and a sorted list of inputs.
pub fn input_digest(inputs: &BTreeMap<String, String>) -> String {
    let mut s = format!("catalyst {COMPILER_VERSION}\n");
    for (k, v) in inputs {
        s.push_str(k);
        s.push('\0');
        s.push_str(v);
        s.push('\n');
    }
    format!("sha256:{}", catalyst_catalog::sha256_hex(s.as_bytes()))
}

/// The inputs a render reads, by lock name: the Phase-0 module files
/// (`extra`), the spec, `catalog.yaml`, every file of the Blueprints in
/// `blueprints`, every chart file XRDs and Compositions were read from
/// (the claims' and the closure's checks read them, whichever Blueprints
/// the Sovereign runs), and the compiler's built-in schemas and templates.
fn inputs<'a>(
    spec_digest: String,
    cat: &Catalog,
    blueprints: impl IntoIterator<Item = &'a Blueprint>,
    extra: Option<&BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let mut inputs = BTreeMap::new();
    inputs.extend(extra.into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())));
    inputs.insert("spec".to_string(), spec_digest);
    let digests = cat.digests();
    if let Some(d) = digests.get("catalog.yaml") {
        inputs.insert("catalog:catalog.yaml".into(), d.clone());
    }
    let files = blueprints.into_iter().flat_map(|bp| &bp.files).chain(cat.crossplane_files());
    for f in files {
        let d = digests.get(f).cloned().unwrap_or_else(|| "unread".into());
        inputs.insert(format!("catalog:{f}"), d);
    }
    inputs.extend(builtin_digests().iter().map(|(k, v)| (k.clone(), v.clone())));
    inputs
}

/// Digests of the compiler's built-in schemas and of the code that shapes
/// rendered objects (computed once).
pub(crate) fn builtin_digests() -> &'static BTreeMap<String, String> {
    static DIGESTS: std::sync::OnceLock<BTreeMap<String, String>> = std::sync::OnceLock::new();
    DIGESTS.get_or_init(|| {
        let mut m = BTreeMap::new();
        for b in catalyst_schema::Builtin::ALL {
            m.insert(format!("builtin:schemas/{}", b.file_name()), catalyst_catalog::sha256_hex(b.text().as_bytes()));
        }
        // What shapes every object render builds (the templates of old).
        m.insert("builtin:render/objects.rs".into(), catalyst_catalog::sha256_hex(crate::objects::SOURCE.as_bytes()));
        // Rendered objects are checked against these: a new schema (a new
        // release's CRDs, a CEL rule) makes every output be checked again.
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        for f in catalyst_schema::rendered::files() {
            for part in [f.file.as_bytes(), f.text.as_bytes()] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part);
            }
        }
        m.insert("builtin:schemas/rendered".to_string(), hex::encode(h.finalize()));
        m
    })
}

/// The Blueprints whose files a render reads: those it renders, and those
/// resolution looked at and dropped (a change to one of them can bring it
/// back), with what they depend on.
pub(crate) fn read_blueprints<'c>(cat: &'c Catalog, res: &Resolution) -> Vec<&'c Blueprint> {
    let mut names: std::collections::BTreeSet<&str> = res.order.iter().map(String::as_str).collect();
    names.extend(res.considered.iter().map(String::as_str));
    names.into_iter().filter_map(|n| cat.get(n)).collect()
}

/// Decides, without rendering, whether a Sovereign's committed lock is
/// still current: the render would read the same inputs with the same
/// digests, so it would write the same outputs. Built once per catalog.
pub struct Freshness<'c> {
    cat: &'c Catalog,
    extra: Option<&'c BTreeMap<String, String>>,
    /// Catalog file (root-relative) → the Blueprint it belongs to.
    owner: HashMap<&'c str, &'c str>,
    /// The catalog has a problem that is no Blueprint's: every render
    /// must run to report it.
    broken: bool,
}

impl<'c> Freshness<'c> {
    pub fn new(cat: &'c Catalog, extra: Option<&'c BTreeMap<String, String>>) -> Self {
        let owner = cat
            .blueprints
            .values()
            .flat_map(|bp| bp.files.iter().map(move |f| (f.as_str(), bp.name.as_str())))
            .collect();
        let broken = cat.diagnostics.iter().any(|d| d.is_error() && d.blueprint.is_none());
        Freshness { cat, extra, owner, broken }
    }

    /// Whether `lock` records a render of the spec with digest
    /// `spec_digest` from exactly today's inputs. The Blueprints read are
    /// taken from the lock; their current files (a file added to one counts)
    /// and every other input are digested afresh and compared through the
    /// input digest, which also covers the compiler version.
    pub fn is_current(&self, lock: &Lock, spec_digest: &str) -> bool {
        if self.broken || lock.input_digest != input_digest(&lock.inputs) {
            // A lock edited by hand, or from another compiler version.
            return false;
        }
        let digests = self.cat.digests();
        let builtins = builtin_digests();
        let extra = |k: &str| self.extra.and_then(|e| e.get(k));
        let crossplane = self.cat.crossplane_files();
        // Each recorded input must have today's digest...
        let mut read = std::collections::BTreeSet::new();
        for (key, digest) in &lock.inputs {
            let now = match key.split_once(':') {
                None if key == "spec" => Some(spec_digest),
                Some(("catalog", "catalog.yaml")) => digests.get("catalog.yaml").map(String::as_str),
                Some(("catalog", file)) => {
                    // A file that is gone, or no longer any Blueprint's, is
                    // not current.
                    let Some(owner) = self.owner.get(file) else { return false };
                    // XRDs and Compositions are read from every Blueprint:
                    // recording one of their files says nothing of the rest
                    // of its Blueprint (a file that no longer holds any
                    // counts its Blueprint as read, and is not current).
                    if !crossplane.contains(file) {
                        read.insert(*owner);
                    }
                    digests.get(file).map(String::as_str)
                }
                Some(("builtin", _)) => builtins.get(key).map(String::as_str),
                _ => extra(key).map(String::as_str),
            };
            if now != Some(digest.as_str()) {
                return false;
            }
        }
        // ...and there must be no input it does not record: a file added to
        // a Blueprint it read, a new built-in or module file.
        // (Today's XRD and Composition files are inputs of every render,
        // once each: a new one makes every Sovereign render.)
        let of_read = read.iter().filter_map(|n| self.cat.get(n)).flat_map(|b| &b.files);
        let catalog_files: std::collections::BTreeSet<&String> = of_read.chain(crossplane).collect();
        let expected = self.extra.map_or(0, BTreeMap::len)
            + 1
            + usize::from(digests.contains_key("catalog.yaml"))
            + catalog_files.len()
            + builtins.len();
        expected == lock.inputs.len()
    }
}

impl Lock {
    pub fn build(
        sov: &Sovereign,
        spec_digest: String,
        cat: &Catalog,
        res: &Resolution,
        outputs: BTreeMap<String, String>,
        units: BTreeMap<String, String>,
        extra: Option<&BTreeMap<String, String>>,
    ) -> Lock {
        let inputs = inputs(spec_digest, cat, read_blueprints(cat, res), extra);
        let blueprints =
            res.order.iter().filter_map(|n| cat.get(n)).map(|bp| (bp.name.clone(), bp.chart_version())).collect();
        Lock {
            sovereign: sov.name.clone(),
            fqdn: sov.fqdn.clone(),
            input_digest: input_digest(&inputs),
            inputs,
            outputs,
            units,
            blueprints,
        }
    }

    pub fn to_yaml(&self) -> String {
        self.write_direct().unwrap_or_else(|| self.to_yaml_generic())
    }

    /// [`Lock::to_yaml`] written line by line (a fleet writes a lock per
    /// Sovereign, each listing every input and output); `None` when a name
    /// needs the block layout, left to the emitter.
    fn write_direct(&self) -> Option<String> {
        let mut out = String::with_capacity(128 * (self.inputs.len() + self.outputs.len()) + 512);
        out.push_str(LOCK_HEADER);
        out.push_str("apiVersion: catalyst.openova.io/v1alpha1\nkind: RenderLock\ncompiler:\n  version: ");
        catalyst_yaml::write_scalar(&mut out, COMPILER_VERSION)?;
        out.push_str("\nsovereign:\n  name: ");
        catalyst_yaml::write_scalar(&mut out, &self.sovereign)?;
        out.push_str("\n  fqdn: ");
        catalyst_yaml::write_scalar(&mut out, &self.fqdn)?;
        out.push_str("\ninputDigest: ");
        catalyst_yaml::write_scalar(&mut out, &self.input_digest)?;
        out.push('\n');
        if !self.blueprints.is_empty() {
            out.push_str("blueprints:\n");
            for (name, version) in &self.blueprints {
                out.push_str("  ");
                catalyst_yaml::write_scalar(&mut out, name)?;
                out.push_str(": ");
                catalyst_yaml::write_scalar(&mut out, version)?;
                out.push('\n');
            }
        }
        for (name, list) in [("inputs", &self.inputs), ("outputs", &self.outputs)] {
            if list.is_empty() {
                // The emitter's flow form; rare enough to leave to it.
                return None;
            }
            out.push_str(name);
            out.push_str(":\n");
            for (path, digest) in list {
                out.push_str("  - path: ");
                catalyst_yaml::write_scalar(&mut out, path)?;
                out.push_str("\n    sha256: ");
                write_digest(&mut out, digest)?;
                out.push('\n');
                if let Some(from) = self.units.get(path).filter(|_| name == "outputs") {
                    out.push_str("    inputs: ");
                    write_digest(&mut out, from)?;
                    out.push('\n');
                }
            }
        }
        Some(out)
    }

    fn to_yaml_generic(&self) -> String {
        let list = |m: &BTreeMap<String, String>, units: Option<&BTreeMap<String, String>>| -> Vec<serde_json::Value> {
            m.iter()
                .map(|(k, v)| match units.and_then(|u| u.get(k)) {
                    Some(from) => json!({"path": k, "sha256": v, "inputs": from}),
                    None => json!({"path": k, "sha256": v}),
                })
                .collect()
        };
        let doc = json!({
            "apiVersion": "catalyst.openova.io/v1alpha1",
            "kind": "RenderLock",
            "compiler": {"version": COMPILER_VERSION},
            "sovereign": {"name": self.sovereign, "fqdn": self.fqdn},
            "inputDigest": self.input_digest,
            "blueprints": self.blueprints,
            "inputs": list(&self.inputs, None),
            "outputs": list(&self.outputs, Some(&self.units)),
        });
        format!("{LOCK_HEADER}{}", catalyst_yaml::to_yaml(&doc))
    }

    /// Reads exactly the layout [`Lock::to_yaml`] writes, with plain or
    /// simply single-quoted scalars; `None` at the first line that is not
    /// that (the caller then parses it as YAML).
    fn parse_written(text: &str) -> Option<Lock> {
        fn scalar(v: &str) -> Option<&str> {
            let quoted = v.strip_prefix('\'').and_then(|r| r.strip_suffix('\''));
            match quoted {
                Some(inner) if !inner.contains('\'') => Some(inner),
                Some(_) => None,
                // Plain: what YAML reads as this very string.
                None if !v.is_empty()
                    && !v.starts_with([
                        '"', '\'', '&', '*', '!', '|', '>', '%', '@', '`', '{', '[', '#', '-', '?', ' ',
                    ])
                    && !v.contains(": ")
                    && !v.contains(" #")
                    && !v.ends_with([' ', ':'])
                    && !matches!(v, "~" | "null" | "Null" | "NULL") =>
                {
                    Some(v)
                }
                None => None,
            }
        }
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        let head = ["apiVersion: catalyst.openova.io/v1alpha1", "kind: RenderLock", "compiler:"];
        if lines.get(..3)? != head || lines.get(4) != Some(&"sovereign:") {
            return None;
        }
        let get = |i: usize, indent: &str, key: &str| -> Option<String> {
            let line = lines.get(i)?;
            Some(scalar(line.strip_prefix(indent)?.strip_prefix(key)?.strip_prefix(": ")?)?.to_string())
        };
        get(3, "  ", "version")?;
        let (sovereign, fqdn, input_digest) =
            (get(5, "  ", "name")?, get(6, "  ", "fqdn")?, get(7, "", "inputDigest")?);
        let mut i = 8;
        let mut blueprints = BTreeMap::new();
        if lines.get(i) == Some(&"blueprints:") {
            i += 1;
            while let Some(entry) = lines.get(i).and_then(|l| l.strip_prefix("  ")).filter(|l| !l.starts_with(' ')) {
                let (name, version) = entry.split_once(": ")?;
                if blueprints.insert(scalar(name)?.to_string(), scalar(version)?.to_string()).is_some() {
                    return None;
                }
                i += 1;
            }
        }
        let mut lists: [BTreeMap<String, String>; 2] = Default::default();
        let mut units = BTreeMap::new();
        for (list, header) in lists.iter_mut().zip(["inputs:", "outputs:"]) {
            (lines.get(i) == Some(&header)).then_some(())?;
            i += 1;
            while let Some(path) = lines.get(i).and_then(|l| l.strip_prefix("  - path: ")) {
                let path = scalar(path)?.to_string();
                let digest = lines.get(i + 1)?.strip_prefix("    sha256: ")?;
                i += 2;
                if header == "outputs:"
                    && let Some(from) = lines.get(i).and_then(|l| l.strip_prefix("    inputs: "))
                {
                    units.insert(path.clone(), scalar(from)?.to_string());
                    i += 1;
                }
                if list.insert(path, scalar(digest)?.to_string()).is_some() {
                    return None;
                }
            }
        }
        if i != lines.len() {
            return None;
        }
        let [inputs, outputs] = lists;
        Some(Lock { sovereign, fqdn, input_digest, inputs, outputs, units, blueprints })
    }

    /// [`Lock::parse`] through the YAML parser alone.
    fn parse_yaml(text: &str) -> Option<Lock> {
        let doc = catalyst_yaml::parse_one(text, &catalyst_yaml::Limits::default()).ok()??;
        // Scalars are read as written: a digest of decimal digits stays text.
        let map = |k: &str, field: &str| -> BTreeMap<String, String> {
            doc.get(k)
                .and_then(|l| l.as_seq())
                .into_iter()
                .flatten()
                .filter_map(|e| Some((e.get("path")?.as_text()?.to_string(), e.get(field)?.as_text()?.to_string())))
                .collect()
        };
        Some(Lock {
            sovereign: doc.path(&["sovereign", "name"])?.as_text()?.to_string(),
            fqdn: doc.path(&["sovereign", "fqdn"])?.as_text()?.to_string(),
            input_digest: doc.get("inputDigest")?.as_text()?.to_string(),
            inputs: map("inputs", "sha256"),
            outputs: map("outputs", "sha256"),
            units: map("outputs", "inputs"),
            blueprints: doc
                .get("blueprints")
                .and_then(|m| m.as_map())
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.as_text()?.to_string(), v.as_text()?.to_string())))
                .collect(),
        })
    }

    /// Reads a lock file back (for skipping unchanged Sovereigns and for
    /// checks); `None` when it is not a lock.
    pub fn parse(text: &str) -> Option<Lock> {
        // A fleet re-render reads a lock per Sovereign: the layout
        // `to_yaml` writes is read line by line; anything else (a lock
        // edited by hand, an older layout) goes through the YAML parser.
        Lock::parse_written(text).or_else(|| Lock::parse_yaml(text))
    }
}

/// A lock's digest (hex): written as it is when no YAML reader could take
/// it for anything but a string, else as the emitter decides (locks list
/// hundreds). Of YAML 1.1's and 1.2's number forms only `0b…` (1.1
/// binary) admits a letter other than `e` and no character outside hex;
/// no null or boolean word is hex.
fn write_digest(out: &mut String, digest: &str) -> Option<()> {
    let b = digest.as_bytes();
    let hex = !b.is_empty() && b.iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c));
    if hex && !digest.starts_with("0b") && b.iter().any(|c| matches!(c, b'a'..=b'd' | b'f')) {
        out.push_str(digest);
        return Some(());
    }
    catalyst_yaml::write_scalar(out, digest)
}

#[cfg(test)]
mod tests {
    /// Every output of every lock committed in the repository has the
    /// shape of an output; what a user adds beside does not.
    #[test]
    fn every_committed_output_has_the_shape_of_an_output() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut seen = 0;
        let mut stack = vec![root.join("clusters"), root.join("golden")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.file_name().is_some_and(|n| n == super::LOCK_FILE) {
                    let lock = super::Lock::parse(&std::fs::read_to_string(&p).unwrap()).unwrap();
                    for out in lock.outputs.keys() {
                        assert!(super::is_output_path(out), "{}: {out}", p.display());
                        seen += 1;
                    }
                }
            }
        }
        assert!(seen > 200, "{seen} outputs");
        for p in [
            "sovereign.yaml",
            "NOTES.md",
            "README.md",
            "extra/hand.yaml",
            "hz-fsn-mgt-prod/notes/x.yaml",
            "hz-fsn-mgt-prod/blueprints/x.yml",
            "hz-fsn-mgt-prod/blueprints/sub/x.yaml",
            "tofu/secrets.tfvars",
            "../x/kustomization.yaml",
            "Hz/kustomization.yaml",
            catalyst_lock(),
        ] {
            assert!(!super::is_output_path(p), "{p}");
        }
    }

    fn catalyst_lock() -> &'static str {
        super::LOCK_FILE
    }

    use super::*;

    /// A digest written directly is what the emitter writes for it.
    #[test]
    fn digests_are_written_as_the_emitter_would() {
        let digests: Vec<String> = (0..2000u32).map(|i| catalyst_catalog::sha256_hex(&i.to_le_bytes())).collect();
        let odd = ["0b1011", "0bad", "1e10", "123", "abc", "e", "", "0x1f", "deadbeef", "1f", "0b", "0"];
        for s in digests.iter().map(String::as_str).chain(odd) {
            let (mut direct, mut emitted) = (String::new(), String::new());
            write_digest(&mut direct, s).unwrap();
            catalyst_yaml::write_scalar(&mut emitted, s).unwrap();
            assert_eq!(direct, emitted, "{s:?}");
        }
    }

    fn lock(name: &str, paths: &[&str]) -> Lock {
        let m = |p: &[&str]| p.iter().enumerate().map(|(i, p)| (p.to_string(), format!("{i:064}"))).collect();
        let inputs = m(paths);
        Lock {
            sovereign: name.into(),
            fqdn: format!("{name}.example.org"),
            input_digest: input_digest(&inputs),
            inputs,
            outputs: m(&["a/b.yaml", "tofu/x.auto.tfvars.json"]),
            units: m(&["a/b.yaml"]),
            blueprints: [("bp-a", "1.0.0"), ("bp-b", "2.0.0-rc.1")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// The line reader and the YAML parser read every lock alike, whatever
    /// the emitter had to quote; the line reader gives up on what it does
    /// not know rather than read it differently.
    #[test]
    fn the_line_reader_agrees_with_the_yaml_parser() {
        let cases = [
            lock("plain", &["spec", "catalog:platform/a/blueprint.yaml", "builtin:templates/x.j2"]),
            lock("yes", &["spec", "catalog:odd: name/file.yaml", "catalog:hash #x", "catalog:'quoted'", "- dash"]),
            lock("0755", &["spec", "catalog:ünïcode/f.yaml", "catalog:tab\there", "null", "~"]),
            lock("x", &[]),
            lock("multi\nline", &["spec", "catalog:a\nb"]),
            lock("true", &["spec", "catalog:1e3", "catalog:0755", "catalog:on", "catalog:2001-12-14", "catalog:.inf"]),
        ];
        for l in cases {
            let text = l.to_yaml();
            assert_eq!(text, l.to_yaml_generic(), "the direct writer lays a lock out as the emitter does");
            assert_eq!(Lock::parse_yaml(&text).as_ref(), Some(&l), "{text}");
            if let Some(fast) = Lock::parse_written(&text) {
                assert_eq!(fast, l, "{text}");
            }
        }
        assert!(Lock::parse_written(&lock("plain", &["spec"]).to_yaml()).is_some(), "the usual layout is read fast");
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut seen = 0;
        for dir in ["clusters", "golden"] {
            for e in walk(&repo.join(dir)) {
                let text = std::fs::read_to_string(&e).unwrap();
                assert_eq!(Lock::parse_written(&text), Lock::parse_yaml(&text), "{}", e.display());
                assert!(Lock::parse_written(&text).is_some(), "{}", e.display());
                seen += 1;
            }
        }
        assert!(seen >= 2, "the repository's locks were read: {seen}");
        for bad in [
            "",
            "kind: RenderLock\n",
            "apiVersion: catalyst.openova.io/v1alpha1\nkind: RenderLock\ncompiler:\n  version: x\n",
        ] {
            assert_eq!(Lock::parse_written(bad), None);
        }
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else if p.file_name().is_some_and(|n| n == LOCK_FILE) {
                out.push(p);
            }
        }
        out
    }
}
