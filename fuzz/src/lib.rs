//! The bodies of the fuzz targets, one function per target. The targets in
//! `fuzz_targets/` call them under libFuzzer; the stable test
//! `compiler/catalyst-cli/tests/fuzz_corpus.rs` includes this file and runs
//! every seed and crash reproducer through the same functions. Each must
//! return normally on any input: a panic is a bug.

use std::path::{Path, PathBuf};

use catalyst_diag::{Diagnostics, Sources};

/// `catalyst_spec::parse` on arbitrary bytes, as the CLI reads a spec file:
/// UTF-8 decoding first, then the parser; diagnostics rendered as the CLI
/// prints them (human and JSON).
pub fn spec_parser(data: &[u8]) {
    let file = "clusters/fuzz.example.com/sovereign.yaml";
    let text = match catalyst_yaml::decode_utf8(data.to_vec(), file) {
        Ok(t) => t,
        Err(d) => {
            print(&Diagnostics(vec![d]), &Sources::new());
            return;
        }
    };
    let mut sources = Sources::new();
    sources.add(file, text.as_str());
    match catalyst_spec::parse(&text, file, &catalyst_yaml::Limits::default()) {
        Ok(catalyst_diag::Warned { output: sov, .. }) => {
            // What later stages read of a spec that parsed.
            let _ = (catalyst_spec::fqdn_problem(&sov.fqdn), sov.doc.to_json());
        }
        Err(diags) => print(&diags, &sources),
    }
}

fn print(diags: &Diagnostics, sources: &Sources) {
    let _ = catalyst_diag::render_human(diags, sources, false);
    let _ = catalyst_diag::render_json(diags);
}

/// Which file of a one-Blueprint catalog the input replaces (first byte);
/// the others keep valid contents.
const CATALOG_FILES: &[(&str, &str)] = &[
    (
        "platform/x/blueprint.yaml",
        "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: bp-x\nspec:\n  version: 1.0.0\n  card: {title: X, summary: x}\n  visibility: unlisted\n  depends: []\n  manifests:\n    chart: ./chart\n  values:\n    x: \"{{ sovereign.fqdn }}\"\n",
    ),
    (
        "platform/x/chart/Chart.yaml",
        "apiVersion: v2\nname: bp-x\nversion: 1.0.0\nannotations:\n  catalyst.openova.io/no-upstream: \"true\"\n",
    ),
    ("platform/x/chart/values.yaml", "catalystBlueprint:\n  upstream: {chart: x, version: 1.0.0}\n"),
    (
        "catalog.yaml",
        "apiVersion: catalyst.openova.io/v1alpha1\nkind: Catalog\nmetadata:\n  name: fuzz\nspec:\n  registry: oci://registry.example.com/charts\n  families:\n    - name: f\n      title: F\n      members:\n        - {blueprint: bp-x, tier: mandatory}\n",
    ),
    (
        "platform/x/chart/templates/xrd.yaml",
        "apiVersion: apiextensions.crossplane.io/v1\nkind: CompositeResourceDefinition\nmetadata:\n  name: xthings.example.org\nspec:\n  group: example.org\n  names: {kind: XThing}\n  versions:\n    - name: v1\n      served: true\n      referenceable: true\n      schema:\n        openAPIV3Schema: {type: object}\n",
    ),
    ("platform/x/chart/values.schema.json", "{\"type\": \"object\"}\n"),
];

/// A scratch catalog root for this thread (libFuzzer runs one thread; the
/// stable test may run several), in memory where /dev/shm exists; its
/// user removes it after each input.
pub(crate) fn scratch_root() -> PathBuf {
    thread_local! {
        static ROOT: PathBuf = {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let base = if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
            let n = N.fetch_add(1, Ordering::Relaxed);
            base.join(format!("catalyst-fuzz-{}-{n}", std::process::id()))
        };
    }
    ROOT.with(Clone::clone)
}

/// `catalyst_catalog::load` of a catalog with one Blueprint, the input as
/// one of its files (the first byte chooses which: blueprint.yaml,
/// Chart.yaml, values.yaml, catalog.yaml, a template, values.schema.json).
/// The catalog crate has no loader without I/O, so the files are written to
/// a scratch directory first.
pub fn blueprint_loader(data: &[u8]) {
    let Some((&which, content)) = data.split_first() else { return };
    let which = usize::from(which) % CATALOG_FILES.len();
    let root = scratch_root();
    for (i, (rel, fixed)) in CATALOG_FILES.iter().enumerate() {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("a folder")).expect("scratch folder");
        std::fs::write(&p, if i == which { content } else { fixed.as_bytes() }).expect("scratch file");
    }
    let cat = catalyst_catalog::load(&root, &catalyst_catalog::LoadOptions::default()).expect("the root exists");
    // Removed after every input: libFuzzer exits without running thread
    // destructors, so nothing else would clear it.
    let _ = std::fs::remove_dir_all(&root);
    print(&cat.diagnostics, &cat.sources.texts);
    for bp in cat.blueprints.values() {
        let _ = (bp.chart_version(), bp.slug(), bp.depend_names().count());
    }
}

/// `catalyst_package::read_archive` (what `push`, `verify` and the vendor
/// step read untrusted archives with), then what is done with an archive
/// that reads: its identity, the hollow-chart guard, the SBOM. Input that is
/// not gzip is compressed first, so that the fuzzer reaches the tar reader.
pub fn chart_archive(data: &[u8]) {
    let gz;
    let bytes = if data.starts_with(&[0x1f, 0x8b]) {
        data
    } else {
        use std::io::Write as _;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).expect("in memory");
        gz = e.finish().expect("in memory");
        &gz
    };
    let Ok(files) = catalyst_package::read_archive(bytes, "fuzz.tgz") else { return };
    if let Some((_, chart)) = files.iter().find(|(p, _)| p.matches('/').count() == 1 && p.ends_with("/Chart.yaml")) {
        let _ = catalyst_package::chart_identity(&String::from_utf8_lossy(chart), "fuzz.tgz");
    }
    let _ = catalyst_package::guards::archive_complete(&files, "fuzz.tgz", "as fuzzed");
    let _ = catalyst_package::sbom::spdx(&files, &catalyst_package::sha256_hex(bytes), "1970-01-01T00:00:00Z", "fuzz");
}

/// File names the two sides of a diff may have (the first byte chooses).
const DIFF_PATHS: &[&str] =
    &["hz-x/blueprints/bp-a.yaml", "hz-x/blueprints/bp-b.yaml", "catalyst.lock", "hz-x/kustomization.yaml"];

/// `catalyst_diff::diff_sovereign` of two one-file trees: the input after
/// its first byte, split at its first NUL byte (or in the middle), is the
/// old and the new file; then every output format.
pub fn diff(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    let cut = rest.iter().position(|&b| b == 0).unwrap_or(rest.len() / 2);
    let (old, new) = (&rest[..cut], &rest[(cut + 1).min(rest.len())..]);
    let old_path = DIFF_PATHS[usize::from(flags) % DIFF_PATHS.len()];
    let new_path = DIFF_PATHS[usize::from(flags >> 2) % DIFF_PATHS.len()];
    let mut a = catalyst_diff::Tree::new();
    a.insert(old_path.to_string(), old.to_vec());
    let mut b = catalyst_diff::Tree::new();
    b.insert(new_path.to_string(), new.to_vec());
    // Bit 4: the Sovereign is new (nothing before).
    if flags & 0x10 != 0 {
        a.clear();
    }
    let mut d = catalyst_diff::diff_sovereign("clusters/fuzz.example.com", "fuzz.example.com", &a, &b);
    // The same two texts as the manifests a HelmRelease installs.
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    d.entries.extend(catalyst_diff::diff_installed("hz-x", "HelmRelease/flux-system/bp-a", &text(old), &text(new)));
    // Twice, so that the fleet-wide grouping has something to fold.
    let fleet = catalyst_diff::FleetDiff { against: Some("HEAD".into()), sovereigns: vec![d.clone(), d] };
    let color = flags & 0x20 != 0;
    let _ = (catalyst_diff::human(&fleet, color), catalyst_diff::stat(&fleet, color), catalyst_diff::to_json(&fleet));
    let _ = (catalyst_diff::markdown(&fleet), catalyst_diff::html(&fleet));
}

/// `catalyst_yaml::parse`'s fast path against the full parser (yaml_rust2):
/// wherever the fast path takes the input, both must return the same
/// documents — nodes, scalar texts and kinds, positions — under the default
/// limits and under tight ones.
pub fn yaml_fast(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let tight = catalyst_yaml::Limits { max_bytes: 1 << 16, max_depth: 6, max_nodes: 200 };
    for limits in [catalyst_yaml::Limits::default(), tight] {
        if let Some(fast) = catalyst_yaml::parse_fast(text, &limits) {
            match catalyst_yaml::parse_slow(text, &limits) {
                Ok(slow) => assert!(fast == slow, "the fast path differs from the full parser on {text:?}"),
                Err(e) => panic!("the fast path took {text:?}, which the full parser refuses: {e}"),
            }
        }
    }
}
