//! The check stage: what render built is held to what its consumers
//! accept before anything is written. Domain hygiene; every file's content
//! (well-formed YAML, each object valid against its kind's schema in the
//! releases the Sovereign runs, nothing secret-shaped: `built`); a
//! cut-over Sovereign's tethers (the audit's own policy); the closure of
//! each host cluster directory.

use std::collections::BTreeMap;
use std::sync::Arc;

use catalyst_diag::{Code, Diagnostic, Diagnostics, Location};
use catalyst_schema::rendered::Releases;
use sha2::Digest as _;

use crate::build::Built;
use crate::built::{self, Outputs};
use crate::memo::Memo;
use crate::{RenderInput, Report, closure, objects, reuse};
use serde_json::{Map, Value};

/// A Sovereign's files, checked: ready to be locked and written.
pub(crate) struct Verified {
    pub files: Outputs,
    /// Every output (taken over too) with its sha256, hex.
    pub outputs: BTreeMap<String, String>,
    pub units: BTreeMap<String, String>,
    pub taken: BTreeMap<String, [u8; 32]>,
    pub notices: Vec<String>,
}

/// Check: stops at the first kind of problem found (domain and content,
/// then tethers, then closure), reporting every instance of it.
pub(crate) fn check(
    input: &RenderInput<'_>,
    built: Built,
    memo: &Memo<'_>,
    report: &mut Report,
) -> Result<Verified, Diagnostics> {
    let (cat, sov) = (input.catalog, input.sovereign);
    let Built { files, units, taken, taken_data, api, data_digests, phase0_vars, notices } = built;
    report.problems.extend(domain_hygiene(&sov.fqdn, &files.bytes));
    // These depend on the bytes alone: bytes that passed in this run, or
    // in the previous render by this compiler, are not checked again.
    let digests: BTreeMap<&str, [u8; 32]> =
        files.bytes.iter().map(|(p, b)| (p.as_str(), sha2::Sha256::digest(b).into())).collect();
    let built::Found { malformed, mut invalid, passed, summaries } =
        built::check_outputs(&sov.fqdn, &files, &digests, cat.releases(), memo.verdicts(), memo.known_contents(cat));
    report.problems.extend(malformed);
    // A cut-over Sovereign: the one policy `audit tethers` applies, to the
    // files about to be written (taken-over files were checked under the
    // same policy: it is part of their unit key).
    if sov.cutover {
        invalid.extend(cutover_violations(&sov.fqdn, &files.bytes));
    }
    if report.problems.has_errors() {
        return Err(report.stop(Diagnostics::new()));
    }
    if invalid.has_errors() {
        invalid.sort();
        return Err(invalid);
    }

    let mut units = units;
    let taken_files = Taken {
        digests: &taken,
        data: &taken_data,
        own: objects::Sovereign { name: &sov.name, fqdn: &sov.fqdn, api: &api },
    };
    let read = Read { files: &files, digests: &digests, data: &data_digests };
    closure_of_clusters(input, memo, read, &taken_files, phase0_vars.as_ref(), summaries, &mut units)?;
    memo.add_passed(passed);
    let outputs = digests
        .into_iter()
        .chain(taken.iter().map(|(p, d)| (p.as_str(), *d)))
        .map(|(p, d)| (p.to_string(), hex::encode(d)))
        .collect();
    Ok(Verified { files, outputs, units, taken, notices })
}

/// What the closure check reads of the files built in this render: their
/// objects and bytes, each one's sha256, and each Blueprint file's data
/// digest ([`crate::build::Built::data_digests`]).
#[derive(Clone, Copy)]
struct Read<'a> {
    files: &'a Outputs,
    digests: &'a BTreeMap<&'a str, [u8; 32]>,
    data: &'a BTreeMap<String, [u8; 32]>,
}

/// The files taken over from the previous render: their digests, and
/// what builds their objects (but the values) when the closure check reads
/// them.
struct Taken<'a> {
    digests: &'a BTreeMap<String, [u8; 32]>,
    data: &'a BTreeMap<String, objects::BlueprintFile>,
    own: objects::Sovereign<'a>,
}

impl Taken<'_> {
    /// The objects of the taken-over files at the `paths` chosen.
    fn objects(&self, chosen: impl Fn(&str) -> bool) -> BTreeMap<String, Arc<objects::Objects>> {
        self.data
            .iter()
            .filter(|(p, _)| chosen(p))
            .map(|(p, data)| (p.clone(), Arc::new(objects::blueprint(data, &self.own, None))))
            .collect()
    }
}

/// The closure of each host cluster directory: what Flux applies there
/// converges there. A cluster whose closure the previous render checked
/// from the same inputs (the key locked as the `inputs` of its
/// `kustomization.yaml`: [`reuse::closure_key`]) passed then and is not
/// checked again; every debug build checks it anyway, and fails if it
/// would not pass. A Sovereign that fails is checked again on its text,
/// for the places of its problems.
fn closure_of_clusters(
    input: &RenderInput<'_>,
    memo: &Memo<'_>,
    read: Read<'_>,
    taken: &Taken<'_>,
    phase0_vars: Option<&Map<String, Value>>,
    summaries: reuse::Summaries,
    units: &mut BTreeMap<String, String>,
) -> Result<(), Diagnostics> {
    let (cat, sov) = (input.catalog, input.sovereign);
    let checked_before = checked_before(input, memo, read, taken, phase0_vars, units);
    let to_check = |path: &str| checked_before.get(cluster_of(path)) == Some(&false);
    let objects = summaries_to_check(read, taken, summaries, to_check);
    let bootstrap = input.tofu_module.and_then(|m| m.bootstrap.as_deref());
    let open = closure::check_sovereign(cat, bootstrap, phase0_vars, &sov.fqdn, &objects);
    if open.has_errors() {
        // Explained on the text of every cluster, as a render that takes
        // nothing as passed explains it: a cluster taken as passed adds no
        // error, but its warnings (`closure-latent-ref`) are part of the
        // report of a render that fails.
        let placed = closure::objects_with_positions(&read.files.bytes, &taken.objects(|_| true));
        let mut open = closure::check_sovereign(cat, bootstrap, phase0_vars, &sov.fqdn, &placed);
        open.sort();
        return Err(open);
    }
    if cfg!(debug_assertions) && checked_before.values().any(|b| *b) {
        // The oracle of every debug build (every test): a cluster taken as
        // checked before passes its closure check.
        let texts =
            read.files.bytes.iter().filter(|(p, _)| !to_check(p)).map(|(p, b)| (p.clone(), b.clone())).collect();
        let placed = closure::objects_with_positions(&texts, &taken.objects(|p| !to_check(p)));
        let again = closure::check_sovereign(cat, bootstrap, phase0_vars, &sov.fqdn, &placed);
        assert!(!again.has_errors(), "a closure taken as checked before fails: {again:?}");
    }
    Ok(())
}

/// Each host cluster's closure key, locked as the `inputs` of its
/// `kustomization.yaml` (added to `units`), and whether the previous render
/// checked the cluster's closure from the same key.
fn checked_before<'r>(
    input: &RenderInput<'_>,
    memo: &Memo<'_>,
    read: Read<'r>,
    taken: &Taken<'r>,
    phase0_vars: Option<&Map<String, Value>>,
    units: &mut BTreeMap<String, String>,
) -> BTreeMap<&'r str, bool> {
    let Read { digests, data, .. } = read;
    let vars = serde_json::to_string(&phase0_vars).expect("variables serialize");
    let mut by_cluster: BTreeMap<&str, Vec<(&str, reuse::ClosureInput<'_>)>> = BTreeMap::new();
    let every = digests.iter().map(|(p, d)| (*p, d)).chain(taken.digests.iter().map(|(p, d)| (p.as_str(), d)));
    for (path, d) in every.filter(|(p, _)| p.ends_with(".yaml")) {
        let input = match data.get(path) {
            Some(d) => reuse::ClosureInput::Blueprint(d),
            None => reuse::ClosureInput::Content(d),
        };
        match path.split_once('/') {
            Some(("tofu", _)) | None => {}
            Some((cluster, _)) => by_cluster.entry(cluster).or_default().push((path, input)),
        }
    }
    let mut before = BTreeMap::new();
    for (cluster, mut list) in by_cluster {
        list.sort_unstable();
        let key = reuse::closure_key(memo.checks_base(), input.extra_inputs, &taken.own, &vars, cluster, list);
        let root = format!("{cluster}/kustomization.yaml");
        before.insert(cluster, memo.closure_checked_before(&root, &key));
        units.insert(root, key);
    }
    before
}

/// The closure summaries of the YAML files `to_check` chooses: a file's
/// objects are read once per content in a render, off its trees (no
/// positions; a summary kept for the whole run would grow with the fleet,
/// for little: reading a tree costs little).
fn summaries_to_check(
    read: Read<'_>,
    taken: &Taken<'_>,
    mut summaries: reuse::Summaries,
    to_check: impl Fn(&str) -> bool,
) -> BTreeMap<String, Arc<Vec<catalyst_closure::Object>>> {
    let Read { files, digests, .. } = read;
    let mut objects: BTreeMap<String, Arc<Vec<catalyst_closure::Object>>> = BTreeMap::new();
    for (path, o) in taken.objects(&to_check) {
        objects.insert(path, Arc::new(catalyst_closure::extract(&o.docs)));
    }
    for (path, bytes) in files.bytes.iter().filter(|(p, _)| p.ends_with(".yaml") && to_check(p)) {
        let d = digests[path.as_str()];
        let objs = match summaries.get(&d).cloned() {
            Some(o) => o,
            // A content known to pass (in this run, or from the previous
            // render), not checked again: read off its trees.
            None => {
                let o = Arc::new(match files.tree(path) {
                    Some(objs) => catalyst_closure::extract(&objs.docs),
                    None => closure::objects_of(&crate::text(bytes), &catalyst_yaml::Limits::default()),
                });
                summaries.insert(d, o.clone());
                o
            }
        };
        objects.insert(path.clone(), objs);
    }
    objects
}

/// The host cluster of a path in the Sovereign's directory.
fn cluster_of(path: &str) -> &str {
    path.split_once('/').map_or("", |(c, _)| c)
}

/// No `admin.` host of the Sovereign, no plural pool TLD, whatever a
/// values override says.
fn domain_hygiene(fqdn: &str, files: &BTreeMap<String, Vec<u8>>) -> Diagnostics {
    let mut out = Diagnostics::new();
    let (admin, trades) = (memchr::memmem::Finder::new(b"admin."), memchr::memmem::Finder::new(b"omani.trades"));
    for (path, bytes) in files {
        // Only a file naming one of the two can hold a bad host.
        let lower = bytes.to_ascii_lowercase();
        if admin.find(&lower).is_none() && trades.find(&lower).is_none() {
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        for (i, line) in text.lines().enumerate() {
            let bad = catalyst_catalog::hosts_in(line).into_iter().find(|h| {
                let h = h.to_ascii_lowercase();
                h == format!("admin.{fqdn}") || h == "omani.trades" || h.ends_with(".omani.trades")
            });
            if let Some(h) = bad {
                out.push(
                    Diagnostic::error(Code::DomainHygiene, format!("rendered {fqdn}/{path} names `{h}`"))
                        .at(Some(Location::new(format!("{fqdn}/{path}"), i + 1, 1, 1)))
                        .help("there is no admin. host (billing lives in the console) and the pool TLD is omani.trade; fix the spec's values or the catalog"),
                );
            }
        }
    }
    out
}

/// What `audit tethers` would flag in the rendered files of the cut-over
/// Sovereign `fqdn` (paths relative to its directory): the audit's own
/// function on the same bytes, each violation an error with the audit's
/// message.
pub fn cutover_violations(fqdn: &str, files: &BTreeMap<String, Vec<u8>>) -> Diagnostics {
    let texts: Vec<(&str, std::borrow::Cow<'_, str>)> = files
        .iter()
        .filter(|(p, _)| catalyst_audit::is_audited(p))
        .map(|(p, b)| (p.as_str(), crate::text(b)))
        .collect();
    let policy = catalyst_audit::Policy { cutover: true, own_domain: fqdn.to_string() };
    catalyst_audit::audit_files(
        texts.iter().map(|(p, t)| (*p, t.as_ref())),
        &policy,
        &catalyst_yaml::Limits::default(),
        &format!("{fqdn}/"),
    )
    .violation_diagnostics(&format!("{fqdn}/"))
}

/// Every object of the rendered YAML files of Sovereign `fqdn` checked
/// against the schema of its kind in the controller releases it runs
/// (`schemas/rendered/`); errors name the file, line and field. Kinds
/// without a schema (claims) are skipped.
pub fn check_rendered(fqdn: &str, files: &BTreeMap<String, Vec<u8>>, releases: &Releases) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for (path, bytes) in files.iter().filter(|(p, _)| p.ends_with(".yaml")) {
        let shown = format!("{fqdn}/{path}");
        let Ok(docs) = catalyst_yaml::parse(&crate::text(bytes), &catalyst_yaml::Limits::default()) else {
            continue; // reported as internal-template above
        };
        diags.extend(check_docs(&shown, &docs, releases));
    }
    diags
}

pub(crate) fn check_docs(shown: &str, docs: &[catalyst_yaml::Node], releases: &Releases) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for d in docs {
        diags.extend(catalyst_schema::rendered::check_node(d, shown, releases).unwrap_or_default());
    }
    diags
}
