//! What a render reuses instead of recomputing, in one place beside the
//! stages, which ask it: the previous render of the Sovereign (files taken
//! over, contents and variables checked before), what this run has already
//! checked for other Sovereigns, and what one render computes once for
//! several host clusters. Every entry is keyed by everything its value
//! depends on (docs: the invariants "A skipped Sovereign is a current
//! one", "A taken-over file is the file a full render would write" and
//! "Each content is checked once, each problem everywhere").

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use catalyst_catalog::{Blueprint, Catalog};
use serde_json::Value;

use crate::objects::Objects;
use crate::reuse::{self, Checked, ContentKey, Previous};
use crate::{RenderInput, values};

pub(crate) struct Memo<'a> {
    /// The previous render of this Sovereign, when it may be reused.
    previous: Option<&'a Previous<'a>>,
    /// What this run has checked (shared by a fleet's renders).
    checked: Option<&'a Checked>,
    /// Blueprint files whose overlay reads nothing of the host cluster, by
    /// everything they are built from: built once per Sovereign and copied
    /// to its other clusters.
    /// (With whether its values passed their checks.)
    host_free: HashMap<String, (Vec<u8>, Arc<Objects>, bool)>,
    /// Whether each Blueprint's overlay reads the host cluster (walked once
    /// per render, not per cluster).
    reads_host: HashMap<String, bool>,
    /// Shapes of objects that passed their schema, when no run shares
    /// its own (a render of one Sovereign: its clusters' objects).
    verdicts: catalyst_schema::rendered::verdict::Remembered,
    /// What the Sovereign-wide checks read of the compiler and catalog.
    checks_base: reuse::ChecksBase,
    /// What the claims file is locked with ([`reuse::claims_key`]).
    claims_key: String,
}

impl<'a> Memo<'a> {
    pub fn new(input: &RenderInput<'a>) -> Memo<'a> {
        let base = match input.checked {
            Some(c) => c.checks_base(input.catalog),
            None => reuse::checks_base(input.catalog),
        };
        Memo {
            previous: input.previous.filter(|p| p.usable(input.sovereign)),
            checked: input.checked,
            host_free: HashMap::new(),
            reads_host: HashMap::new(),
            verdicts: Default::default(),
            checks_base: base,
            claims_key: reuse::claims_key(&base),
        }
    }

    /// What the Sovereign-wide checks read of the compiler and catalog
    /// ([`reuse::checks_base`]).
    pub fn checks_base(&self) -> &reuse::ChecksBase {
        &self.checks_base
    }

    /// Whether the previous render checked the closure of the host cluster
    /// whose root is `kustomization` from inputs with this key (recorded
    /// as that file's `inputs`): it passed then, and would again.
    pub fn closure_checked_before(&self, kustomization: &str, key: &str) -> bool {
        self.taken(kustomization, key).is_some()
    }

    /// The key the claims file is locked with: everything its checks read
    /// but the claims.
    pub fn claims_key(&self) -> &str {
        &self.claims_key
    }

    /// Whether the previous render wrote these very claims at `path` under
    /// today's [`Memo::claims_key`], and the file is still what it wrote:
    /// their checks against the XRDs and through the Compositions passed
    /// then, from the same inputs.
    pub fn claims_checked_before(&self, path: &str, claims: &Objects) -> bool {
        use sha2::Digest as _;
        self.taken(path, &self.claims_key)
            .is_some_and(|d| d == <[u8; 32]>::from(sha2::Sha256::digest(claims.emit().as_bytes())))
    }

    /// The digest of the file at `path` when the previous render wrote it
    /// from inputs with this unit key, and it is still that file.
    pub fn taken(&self, path: &str, key: &str) -> Option<[u8; 32]> {
        self.previous.and_then(|p| p.unit(path, key))
    }

    pub fn overlay_reads_host(&mut self, bp: &Blueprint) -> bool {
        *self.reads_host.entry(bp.name.clone()).or_insert_with(|| values::overlay_reads_host(&bp.values))
    }

    /// A Blueprint file built on another host cluster from the same inputs.
    pub fn host_free(&self, built_from: &str) -> Option<&(Vec<u8>, Arc<Objects>, bool)> {
        self.host_free.get(built_from)
    }

    pub fn add_host_free(&mut self, built_from: String, bytes: &[u8], objs: Arc<Objects>, values_checked: bool) {
        self.host_free.insert(built_from, (bytes.to_vec(), objs, values_checked));
    }

    /// Whether Blueprint `name`'s values passed their checks in this run.
    pub fn values_passed(&self, name: &str, values: &Value) -> bool {
        self.checked.is_some_and(|c| c.values_passed(&reuse::values_key(name, values)))
    }

    pub fn add_values_passed(&self, name: &str, values: &Value) {
        if let Some(c) = self.checked {
            c.add_values(reuse::values_key(name, values));
        }
    }

    /// Whether the previous render wrote the Phase-0 variables `text` from
    /// this very spec and these inputs, having checked them against the
    /// module.
    pub fn tfvars_checked_before(&self, input: &RenderInput<'_>, text: &str) -> bool {
        self.previous.is_some_and(|p| {
            let inputs = &p.lock.inputs;
            inputs.get("spec") == Some(&input.spec_digest)
                && input.extra_inputs.into_iter().flatten().all(|(k, v)| inputs.get(k) == Some(v))
                && p.lock
                    .outputs
                    .get(crate::tofu::TFVARS_FILE)
                    .is_some_and(|d| *d == catalyst_catalog::sha256_hex(text.as_bytes()))
        })
    }

    /// The contents known to pass the content checks: those this run
    /// checked, and those the previous render by this compiler wrote under
    /// the same version matrix (part of catalog.yaml; what passed under
    /// another is only known to pass under that one).
    pub fn known_contents(&self, cat: &Catalog) -> impl Fn(&str, &ContentKey) -> bool + use<'_, 'a> {
        let same_matrix = |p: &&Previous<'_>| p.lock.inputs.get("catalog.yaml") == cat.digests().get("catalog.yaml");
        let passed_before: HashSet<ContentKey> = self
            .previous
            .filter(same_matrix)
            .into_iter()
            .flat_map(|p| &p.lock.outputs)
            .filter_map(|(path, d)| Some((reuse::Class::of(path), <[u8; 32]>::try_from(hex::decode(d).ok()?).ok()?)))
            .collect();
        let checked = self.checked;
        move |_: &str, key: &ContentKey| passed_before.contains(key) || checked.is_some_and(|c| c.contains(key))
    }

    /// Shapes of objects known to pass their schema: the run's, else this
    /// render's.
    pub fn verdicts(&self) -> &dyn catalyst_schema::rendered::verdict::Verdicts {
        match self.checked {
            Some(c) => c.verdicts(),
            None => &self.verdicts,
        }
    }

    pub fn add_passed(&self, passed: HashSet<ContentKey>) {
        if let Some(c) = self.checked {
            c.extend(passed);
        }
    }
}
