//! What a render may take over instead of computing it again.
//!
//! Two things are reused, both only on evidence that the result would be
//! byte-identical:
//!
//! - **Blueprint files from the previous render.** Each
//!   `<cluster>/blueprints/<bp>.yaml` is a pure function of what its
//!   Blueprint's files, the Sovereign's context, the host cluster, the
//!   placement and the compiler's built-in templates hold. The lock records
//!   a digest of exactly those values per file ([`UnitKey`]); when today's
//!   digest is the same and the file on disk still has the digest the lock
//!   gives it, the file is taken over as it is (the write keeps it, a hard
//!   link), without evaluating the overlay, filling the template, checking
//!   the result again or even holding its bytes.
//! - **Content checks.** Parsing a rendered file back, checking its objects
//!   against their schemas and scanning it for secrets depend on its bytes
//!   (and the compiler) alone. Bytes that passed once are not checked
//!   again: not when another cluster of the same Sovereign, or another
//!   Sovereign of the fleet, renders the same file ([`Checked`]), nor when
//!   the previous render by this compiler already wrote them.
//! - **Sovereign-wide checks.** The claims' checks (their XRDs, their
//!   Compositions, the composed resources' CRDs) and each host cluster's
//!   closure check read more than one file. The lock records the key of
//!   what each read ([`claims_key`], [`closure_key`]); a render that may
//!   take files over takes such a check as passed when the previous render
//!   recorded today's key (and, for the claims, wrote today's bytes).
//! - **Values checks.** A Blueprint's rendered values are checked (secret
//!   scan, the chart's values schema, Cilium's clustermesh rule) and
//!   emitted as YAML; all of that depends on the Blueprint and the values
//!   alone. Across a fleet most Blueprints render the same values for many
//!   Sovereigns (15,000 distinct among 104,000 Blueprint files at 1,000
//!   Sovereigns): values that passed are not checked again in the run, and
//!   their YAML is reused ([`Checked`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use catalyst_catalog::{Blueprint, Catalog};
use catalyst_schema::rendered::verdict::Remembered;
use catalyst_spec::Sovereign;
use sha2::{Digest, Sha256};

use crate::lock::{Lock, builtin_digests, input_digest};

/// A previous render of the same Sovereign: its lock and what the
/// directory holds now (each file's sha256, read from the file itself).
pub struct Previous<'a> {
    pub lock: &'a Lock,
    pub current: &'a BTreeMap<String, [u8; 32]>,
}

impl Previous<'_> {
    /// Whether this render may trust the previous one: its lock is
    /// consistent (not edited by hand, from this compiler version), for
    /// this Sovereign, and it read the same built-in schemas and templates.
    pub(crate) fn usable(&self, sov: &Sovereign) -> bool {
        let lock = self.lock;
        lock.fqdn == sov.fqdn
            && lock.input_digest == input_digest(&lock.inputs)
            && builtin_digests().iter().all(|(k, v)| lock.inputs.get(k) == Some(v))
    }

    /// The digest of `path` as it is in the directory, when the lock
    /// records `key` as what it was rendered from and the file still has
    /// the digest the lock gives it: the file is then taken over as it is.
    pub(crate) fn unit(&self, path: &str, key: &str) -> Option<[u8; 32]> {
        if self.lock.units.get(path).map(String::as_str) != Some(key) {
            return None;
        }
        let digest = *self.current.get(path)?;
        (self.lock.outputs.get(path).map(String::as_str) == Some(hex::encode(digest).as_str())).then_some(digest)
    }
}

/// How a file's content is checked, which its name decides.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Class {
    Yaml,
    Json,
    Other,
}

impl Class {
    pub(crate) fn of(path: &str) -> Class {
        if path.ends_with(".yaml") {
            Class::Yaml
        } else if path.ends_with(".json") {
            Class::Json
        } else {
            Class::Other
        }
    }
}

pub(crate) type ContentKey = (Class, [u8; 32]);

/// Contents that passed every content check, and Blueprint values that
/// passed every values check, shared by the Sovereigns
/// of one run over one catalog. Only passes are recorded: anything with a
/// problem, or a warning, is checked, and reported, wherever it appears.
#[derive(Default)]
pub struct Checked {
    contents: RwLock<HashSet<ContentKey>>,
    values: RwLock<HashSet<ValuesKey>>,
    /// Objects that passed their schema, by what the verdict reads of
    /// them (module `catalyst_schema::rendered::verdict`): every
    /// Sovereign's HelmRelease of a Blueprint is one shape.
    verdicts: Remembered,
    /// [`checks_base`] of the run's catalog, digested once.
    checks_base: std::sync::OnceLock<ChecksBase>,
}

/// Closure summaries of YAML contents, by sha256.
pub(crate) type Summaries = HashMap<[u8; 32], Arc<Vec<catalyst_closure::Object>>>;

/// A Blueprint's name and its rendered values (their JSON, in order), as
/// one digest.
pub(crate) type ValuesKey = [u8; 32];

pub(crate) fn values_key(bp: &str, vals: &serde_json::Value) -> ValuesKey {
    let mut h = Sha256::new();
    field(&mut h, b"catalyst values v1");
    field(&mut h, bp.as_bytes());
    field(&mut h, json(vals).as_bytes());
    h.finalize().into()
}

impl Checked {
    pub(crate) fn contains(&self, key: &ContentKey) -> bool {
        self.contents.read().is_ok_and(|s| s.contains(key))
    }

    pub(crate) fn extend(&self, keys: impl IntoIterator<Item = ContentKey>) {
        if let Ok(mut s) = self.contents.write() {
            s.extend(keys);
        }
    }

    /// Whether these values passed their checks in this run.
    pub(crate) fn values_passed(&self, key: &ValuesKey) -> bool {
        self.values.read().is_ok_and(|s| s.contains(key))
    }

    pub(crate) fn verdicts(&self) -> &Remembered {
        &self.verdicts
    }

    pub(crate) fn checks_base(&self, cat: &Catalog) -> ChecksBase {
        *self.checks_base.get_or_init(|| checks_base(cat))
    }

    pub(crate) fn add_values(&self, key: ValuesKey) {
        if let Ok(mut m) = self.values.write() {
            m.insert(key);
        }
    }
}

/// Digests what a Blueprint file of one Sovereign is rendered from. Built
/// once per render with what all its Blueprint files share; [`UnitKey::of`]
/// adds what is the Blueprint's own.
pub(crate) struct UnitKey(Sha256);

impl UnitKey {
    /// `context` is everything the templates see as `sovereign`,
    /// `blueprints`, `outputs` and `sources`.
    pub(crate) fn new(cat: &Catalog, context: &crate::SovereignContext) -> UnitKey {
        let mut h = Sha256::new();
        field(&mut h, b"catalyst unit v1");
        compiler_and_matrix(&mut h, cat);
        field(&mut h, json(context).as_bytes());
        field(&mut h, json(&context.blueprints).as_bytes());
        field(&mut h, json(&context.outputs).as_bytes());
        field(&mut h, json(&context.sources).as_bytes());
        field(&mut h, json(&context.api).as_bytes());
        // A file taken over is not checked again: it must have been checked
        // under the same cutover policy. Only hashed when cut over, so the
        // keys of every other Sovereign stay what they were.
        if context.cutover {
            field(&mut h, b"cutover");
        }
        UnitKey(h)
    }

    /// The key of Blueprint `bp`'s file: its files' digests and every value
    /// its overlay and its objects are built from.
    /// `given` are those values as JSON text; `data` is the JSON text of
    /// what its objects are built from but the values.
    pub(crate) fn of(&self, cat: &Catalog, bp: &Blueprint, given: &[&str], data: &str) -> String {
        let mut h = self.0.clone();
        let digests = cat.digests();
        for f in &bp.files {
            field(&mut h, f.as_bytes());
            field(&mut h, digests.get(f).map_or(&b"unread"[..], |d| d.as_bytes()));
        }
        for v in given {
            field(&mut h, v.as_bytes());
        }
        field(&mut h, data.as_bytes());
        hex::encode(h.finalize())
    }
}

/// What the Sovereign-wide checks read of the compiler and the catalog
/// besides the rendered files, as one digest: the compiler and its
/// built-in schemas (the CRDs of every release), `catalog.yaml` (the
/// version matrix: which release serves what, and what installs it), and
/// every file of any Blueprint's chart that the catalog reads XRDs and
/// Compositions from, with the Blueprint's name. Claims are checked
/// against their XRDs and run through their Compositions; the closure
/// check knows what the matrix and the XRDs serve.
pub(crate) type ChecksBase = [u8; 32];

pub(crate) fn checks_base(cat: &Catalog) -> ChecksBase {
    let mut h = Sha256::new();
    field(&mut h, b"catalyst checks v1");
    compiler_and_matrix(&mut h, cat);
    let digests = cat.digests();
    // With each chart its Blueprint's name: what the XRDs found there are
    // installed by. Lists are counted, so that no two lists of fields hash
    // alike.
    let charts: Vec<_> = cat.blueprints.values().filter_map(|bp| Some((bp, bp.chart.as_ref()?))).collect();
    count(&mut h, charts.len());
    for (bp, chart) in charts {
        field(&mut h, bp.name.as_bytes());
        count(&mut h, chart.manifest_files().count());
        for f in chart.manifest_files() {
            field(&mut h, f.as_bytes());
            field(&mut h, digests.get(f).map_or(&b"unread"[..], |d| d.as_bytes()));
        }
    }
    h.finalize().into()
}

/// The key a claims file is locked with: everything its checks read but
/// the claims. Claims whose bytes the previous render wrote under this key
/// passed those checks then, and would pass them again.
pub(crate) fn claims_key(base: &ChecksBase) -> String {
    let mut h = Sha256::new();
    field(&mut h, b"catalyst claims v1");
    field(&mut h, base);
    hex::encode(h.finalize())
}

/// What the closure check reads of one YAML file: its content, or for a
/// Blueprint file what its objects are built from but the values (a
/// closure summary never reads a HelmRelease's values: a values change
/// leaves the closure as it was).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ClosureInput<'a> {
    /// The sha256 of the file's bytes.
    Content(&'a [u8; 32]),
    /// The sha256 of the JSON text of the Blueprint file's data
    /// (`objects::BlueprintFile`), built for the Sovereign `own`.
    Blueprint(&'a [u8; 32]),
}

/// The key a host cluster's closure check is locked with (as the `inputs`
/// of its `kustomization.yaml`): the catalog's part, the Phase-0 module
/// (what it creates there) and variables (the names it gives them), the
/// Sovereign's names and API versions (Blueprint files are built with
/// them), and what the check reads of each YAML file of the cluster's
/// directory, by path.
pub(crate) fn closure_key<'f>(
    base: &ChecksBase,
    extra: Option<&BTreeMap<String, String>>,
    own: &crate::objects::Sovereign<'_>,
    phase0_vars: &str,
    cluster: &str,
    files: impl IntoIterator<Item = (&'f str, ClosureInput<'f>)>,
) -> String {
    let mut h = Sha256::new();
    field(&mut h, b"catalyst closure v1");
    field(&mut h, base);
    count(&mut h, extra.map_or(0, BTreeMap::len));
    for (k, v) in extra.into_iter().flatten() {
        field(&mut h, k.as_bytes());
        field(&mut h, v.as_bytes());
    }
    field(&mut h, own.name.as_bytes());
    field(&mut h, own.fqdn.as_bytes());
    field(&mut h, json(own.api).as_bytes());
    field(&mut h, phase0_vars.as_bytes());
    field(&mut h, cluster.as_bytes());
    let files: Vec<_> = files.into_iter().collect();
    count(&mut h, files.len());
    for (path, input) in files {
        field(&mut h, path.as_bytes());
        match input {
            ClosureInput::Content(d) => (field(&mut h, b"content"), field(&mut h, d)),
            ClosureInput::Blueprint(d) => (field(&mut h, b"blueprint"), field(&mut h, d)),
        };
    }
    hex::encode(h.finalize())
}

/// What every key starts with: the compiler (its version, its built-in
/// schemas and the code that shapes objects) and `catalog.yaml` (the
/// version matrix).
fn compiler_and_matrix(h: &mut Sha256, cat: &Catalog) {
    field(h, crate::COMPILER_VERSION.as_bytes());
    for (k, v) in builtin_digests() {
        field(h, k.as_bytes());
        field(h, v.as_bytes());
    }
    field(h, cat.digests().get("catalog.yaml").map_or(&b""[..], |d| d.as_bytes()));
}

/// The length of a list of fields, before them.
fn count(h: &mut Sha256, n: usize) {
    h.update((n as u64).to_le_bytes());
}

/// Length-prefixed, so that no two sequences of fields hash alike.
fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("render contexts serialize")
}
