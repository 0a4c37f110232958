//! Generation of `schemas/rendered/` from the CRDs of exact releases
//! (`../shared/crds/`, laid out as its README says) and the hand-written
//! CRD-shaped files beside the schemas. Run by
//! `schemas/rendered/regen.sh` (through the `crd_to_schema` example) and by
//! the test that checks the committed files are exactly its output.
//!
//! What is generated, for every release found:
//! - Flux (each release of `flux/versions.txt`): the kinds rendered or
//!   written by hand in cluster directories (GitRepository, OCIRepository,
//!   HelmRepository; Kustomization; HelmRelease; Alert, Provider,
//!   Receiver), every version the release serves;
//! - Crossplane (each folder of `crossplane/`): Provider, Function,
//!   DeploymentRuntimeConfig, Composition, CompositeResourceDefinition;
//! - provider-hcloud (each `<owner>+<name>@<tag>` folder): every CRD (the
//!   Compositions' composed resources are checked against them);
//! - the hand-written core and kustomize schemas and the external-dns
//!   DNSEndpoint excerpt, which belong to no release of ours.
//!
//! A schema identical (apart from its provenance) in several releases is
//! stored once, named after the first release that has it, and lists every
//! source. Besides the schemas, the output holds `SOURCES.md` and the Rust
//! index compiled into the binary (`src/rendered/index.rs`).
//!
//! [`read_inputs`] does the file reading; [`generate`] is pure.

use std::collections::BTreeMap;
use std::path::Path;

use catalyst_yaml::{Limits, parse};
use serde_json::Value;

use super::crd::{Upstream, crd_info, crd_to_schema, schema_path, served_versions, to_text, with_provenance};

/// Path of the generated index, relative to the repository's root.
pub const INDEX_RS: &str = "compiler/catalyst-schema/src/rendered/index.rs";
/// Where the schemas live, relative to the repository's root.
pub const RENDERED_DIR: &str = "schemas/rendered";

/// Flux kinds kept, per controller (every kind of the others).
const FLUX_SOURCE_KINDS: [&str; 3] = ["GitRepository", "OCIRepository", "HelmRepository"];
const CROSSPLANE_KINDS: [&str; 5] =
    ["Provider", "Function", "DeploymentRuntimeConfig", "Composition", "CompositeResourceDefinition"];

/// One input file: its path under the input root (`../shared/crds/` or
/// `schemas/rendered/`) and its text.
#[derive(Clone, Debug)]
pub struct InputFile {
    pub path: String,
    pub text: String,
}

/// Everything [`generate`] reads.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// Files of `../shared/crds/`, sorted by path.
    pub shared: Vec<InputFile>,
    /// `handwritten/*.yaml` and `excerpts/*.yaml` of `schemas/rendered/`.
    pub local: Vec<InputFile>,
}

/// Reads the inputs: every `.yaml` and `versions.txt` under `shared_crds`,
/// and the hand-written files and excerpts under `rendered_dir`.
pub fn read_inputs(shared_crds: &Path, rendered_dir: &Path) -> Result<Inputs, String> {
    fn walk(root: &Path, rel: &str, out: &mut Vec<InputFile>) -> Result<(), String> {
        let dir = root.join(rel);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        entries.sort();
        for name in entries {
            let rel = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            let path = root.join(&rel);
            if path.is_dir() {
                walk(root, &rel, out)?;
            } else if name.ends_with(".yaml") || name == "versions.txt" {
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                out.push(InputFile { path: rel, text });
            }
        }
        Ok(())
    }
    let mut inputs = Inputs::default();
    walk(shared_crds, "", &mut inputs.shared)?;
    for sub in ["handwritten", "excerpts"] {
        walk(rendered_dir, sub, &mut inputs.local)?;
    }
    Ok(inputs)
}

/// One converted schema before deduplication.
struct Made {
    controller: Option<String>,
    release: Option<String>,
    group: String,
    kind: String,
    version: String,
    storage: bool,
    schema: Value,
    upstream: Upstream,
    /// Suffix of the file name (`flux-2.4.0`), empty for release-free ones.
    tag: String,
}

/// One row of the index.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Row {
    pub controller: Option<String>,
    pub release: Option<String>,
    pub group: String,
    pub kind: String,
    pub version: String,
    pub storage: bool,
    pub file: String,
}

/// The generated files: path relative to the repository's root → text.
pub fn generate(inputs: &Inputs) -> Result<BTreeMap<String, String>, String> {
    let mut made = Vec::new();
    flux(inputs, &mut made)?;
    crossplane(inputs, &mut made)?;
    provider_hcloud(inputs, &mut made)?;
    local(inputs, &mut made)?;

    // Deduplicate by content (provenance aside): one file per distinct
    // schema, named after its first source.
    let mut files: BTreeMap<String, (Value, String, Vec<Upstream>)> = BTreeMap::new();
    let mut by_content: BTreeMap<String, String> = BTreeMap::new();
    let mut rows = Vec::new();
    for m in &made {
        let content = to_text(&m.schema);
        let file = match by_content.get(&content) {
            Some(f) => f.clone(),
            None => {
                let info = super::crd::CrdInfo { group: m.group.clone(), kind: m.kind.clone(), scope: String::new() };
                let base = schema_path(&info, &m.version);
                let file = match m.tag.as_str() {
                    "" => base,
                    t => format!("{}.{t}.json", base.trim_end_matches(".json")),
                };
                if files.contains_key(&file) {
                    return Err(format!("two different schemas would be written to {file}"));
                }
                by_content.insert(content, file.clone());
                files.insert(file.clone(), (m.schema.clone(), m.version.clone(), Vec::new()));
                file
            }
        };
        files.get_mut(&file).expect("inserted").2.push(m.upstream.clone());
        rows.push(Row {
            controller: m.controller.clone(),
            release: m.release.clone(),
            group: m.group.clone(),
            kind: m.kind.clone(),
            version: m.version.clone(),
            storage: m.storage,
            file,
        });
    }
    rows.sort_by_key(row_key);
    rows.dedup();

    let mut out = BTreeMap::new();
    for (file, (schema, version, sources)) in &files {
        let v = with_provenance(schema, file, version, sources);
        out.insert(format!("{RENDERED_DIR}/{file}"), to_text(&v));
    }
    out.insert(INDEX_RS.to_string(), index_rs(&rows, &files.keys().cloned().collect::<Vec<_>>()));
    out.insert(format!("{RENDERED_DIR}/SOURCES.md"), sources_md(&rows, &files));
    Ok(out)
}

/// Rows sorted by controller, release (as versions), group, kind, version.
fn row_key(r: &Row) -> (Option<String>, Vec<u64>, Option<String>, String, String, String) {
    (
        r.controller.clone(),
        r.release.as_deref().map(release_order).unwrap_or_default(),
        r.release.clone(),
        r.group.clone(),
        r.kind.clone(),
        r.version.clone(),
    )
}

/// `v1.20.11` → [1, 20, 11]: releases sorted as versions, not as text.
pub fn release_order(release: &str) -> Vec<u64> {
    release.trim_start_matches('v').split(['.', '-']).map(|p| p.parse().unwrap_or(0)).collect()
}

fn docs(file: &InputFile) -> Result<Vec<(Value, usize)>, String> {
    let docs = parse(&file.text, &Limits::default()).map_err(|e| format!("{}: {e}", file.path))?;
    Ok(docs.iter().map(|d| (d.to_json(), d.pos.line)).collect())
}

/// The `# source: <path>` line nearest above `line` (1-based).
fn source_comment(text: &str, line: usize) -> Option<String> {
    text.lines().take(line).filter_map(|l| l.strip_prefix("# source: ")).last().map(|s| s.trim().to_string())
}

#[allow(clippy::too_many_arguments)]
fn convert_all(
    crd: &Value,
    controller: Option<&str>,
    release: Option<&str>,
    repository: &str,
    reference: &str,
    path: &str,
    note: Option<&str>,
    made: &mut Vec<Made>,
) -> Result<(), String> {
    let info = crd_info(crd)?;
    let served = served_versions(crd);
    if served.is_empty() {
        return Err(format!("{path}: {} serves no version", info.kind));
    }
    let tag = match (controller, release) {
        (Some(c), Some(r)) => format!("{c}-{r}"),
        _ => String::new(),
    };
    for (version, storage) in served {
        let schema = crd_to_schema(crd, &version, note).map_err(|e| format!("{path} ({version}): {e}"))?;
        made.push(Made {
            controller: controller.map(str::to_string),
            release: release.map(str::to_string),
            group: info.group.clone(),
            kind: info.kind.clone(),
            version,
            storage,
            schema,
            upstream: Upstream {
                controller: controller.map(str::to_string),
                release: release.map(str::to_string),
                repository: repository.into(),
                reference: reference.into(),
                path: path.into(),
            },
            tag: tag.clone(),
        });
    }
    Ok(())
}

fn flux(inputs: &Inputs, made: &mut Vec<Made>) -> Result<(), String> {
    let versions =
        inputs.shared.iter().find(|f| f.path == "flux/versions.txt").ok_or("flux/versions.txt is missing")?;
    for line in versions.text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        let Some((release, controllers)) = line.split_once(':') else { continue };
        let release = release.trim();
        for pair in controllers.split_whitespace() {
            let (controller, tag) =
                pair.split_once('=').ok_or_else(|| format!("flux/versions.txt: `{pair}` is not controller=tag"))?;
            let path = format!("flux/{release}/{controller}.crds.yaml");
            let file = inputs.shared.iter().find(|f| f.path == path).ok_or_else(|| format!("{path} is missing"))?;
            for (crd, line) in docs(file)? {
                let Ok(info) = crd_info(&crd) else { continue };
                if controller == "source-controller" && !FLUX_SOURCE_KINDS.contains(&info.kind.as_str()) {
                    continue;
                }
                let upstream_path = source_comment(&file.text, line)
                    .ok_or_else(|| format!("{path}:{line}: no `# source:` line above the CRD"))?;
                convert_all(
                    &crd,
                    Some("flux"),
                    Some(release),
                    &format!("fluxcd/{controller}"),
                    tag,
                    &upstream_path,
                    None,
                    made,
                )?;
            }
        }
    }
    Ok(())
}

fn crossplane(inputs: &Inputs, made: &mut Vec<Made>) -> Result<(), String> {
    for f in inputs.shared.iter().filter(|f| f.path.starts_with("crossplane/")) {
        let rest = &f.path["crossplane/".len()..];
        let Some((release, name)) = rest.split_once('/') else { continue };
        for (crd, _) in docs(f)? {
            let Ok(info) = crd_info(&crd) else { continue };
            if !CROSSPLANE_KINDS.contains(&info.kind.as_str()) {
                continue;
            }
            convert_all(
                &crd,
                Some("crossplane"),
                Some(release),
                "crossplane/crossplane",
                &format!("v{release}"),
                &format!("cluster/crds/{name}"),
                None,
                made,
            )?;
        }
    }
    Ok(())
}

fn provider_hcloud(inputs: &Inputs, made: &mut Vec<Made>) -> Result<(), String> {
    for f in inputs.shared.iter().filter(|f| f.path.starts_with("provider-hcloud/")) {
        let rest = &f.path["provider-hcloud/".len()..];
        let Some((source, name)) = rest.split_once('/') else { continue };
        // `<owner>+<name>@<tag>`
        let (repo, tag) =
            source.split_once('@').ok_or_else(|| format!("provider-hcloud/{source}: expected <owner>+<name>@<tag>"))?;
        let repository = repo.replacen('+', "/", 1);
        for (crd, _) in docs(f)? {
            if crd_info(&crd).is_err() {
                continue;
            }
            convert_all(
                &crd,
                Some("provider-hcloud"),
                Some(tag),
                &repository,
                tag,
                &format!("package/crds/{name}"),
                None,
                made,
            )?;
        }
    }
    Ok(())
}

/// A hand-written schema or excerpt: (input, controller, repository,
/// reference, upstream path, note).
type Local = (&'static str, Option<&'static str>, &'static str, &'static str, &'static str, &'static str);

/// The hand-written schemas and the one excerpt, with their provenance.
const LOCAL: [Local; 4] = [
    (
        "handwritten/namespace.v1.yaml",
        None,
        "kubernetes/api",
        "Kubernetes API v1.31",
        "core/v1/types.go (Namespace, NamespaceSpec)",
        "Hand-written from the Kubernetes API reference: the converter's input is schemas/rendered/handwritten/namespace.v1.yaml.",
    ),
    (
        "handwritten/configmap.v1.yaml",
        None,
        "kubernetes/api",
        "Kubernetes API v1.31",
        "core/v1/types.go (ConfigMap)",
        "Hand-written from the Kubernetes API reference: the converter's input is schemas/rendered/handwritten/configmap.v1.yaml.",
    ),
    (
        "handwritten/kustomization.v1beta1.yaml",
        None,
        "kubernetes-sigs/kustomize",
        "kustomize v5 (hand-written field list)",
        "api/types/kustomization.go",
        "Hand-written, small: kustomize publishes no schema; the converter's input is schemas/rendered/handwritten/kustomization.v1beta1.yaml. secretGenerator is refused: rendered output never produces a Secret.",
    ),
    (
        "excerpts/dnsendpoints.externaldns.k8s.io.yaml",
        Some("external-dns"),
        "kubernetes-sigs/external-dns",
        "e5948dedcd34d43da0c671808b99f4e0af09f312",
        "config/crd/standard/dnsendpoints.externaldns.k8s.io.yaml",
        "Excerpt of a commit whose release is not known (no CRD of external-dns is in ../shared/crds): the converter's input is schemas/rendered/excerpts/dnsendpoints.externaldns.k8s.io.yaml; it applies whatever external-dns release a Sovereign runs.",
    ),
];

fn local(inputs: &Inputs, made: &mut Vec<Made>) -> Result<(), String> {
    for (input, controller, repository, reference, path, note) in LOCAL {
        let f = inputs.local.iter().find(|f| f.path == input).ok_or_else(|| format!("{input} is missing"))?;
        let crds: Vec<Value> = docs(f)?.into_iter().map(|(d, _)| d).filter(|d| crd_info(d).is_ok()).collect();
        let [crd] = crds.as_slice() else { return Err(format!("{input}: expected one CRD")) };
        // These describe one version each; a hand-written file need not
        // say `served`.
        let info = crd_info(crd)?;
        let versions = crd.pointer("/spec/versions").and_then(Value::as_array).ok_or("no versions")?;
        for v in versions {
            let version = v.get("name").and_then(Value::as_str).ok_or("a version without a name")?;
            let schema = crd_to_schema(crd, version, Some(note)).map_err(|e| format!("{input}: {e}"))?;
            made.push(Made {
                controller: controller.map(str::to_string),
                release: None,
                group: info.group.clone(),
                kind: info.kind.clone(),
                version: version.into(),
                storage: true,
                schema,
                upstream: Upstream {
                    controller: controller.map(str::to_string),
                    release: None,
                    repository: repository.into(),
                    reference: reference.into(),
                    path: path.into(),
                },
                tag: String::new(),
            });
        }
    }
    Ok(())
}

fn rust_str(s: &str) -> String {
    format!("{s:?}")
}

fn rust_opt(s: &Option<String>) -> String {
    match s {
        Some(s) => format!("Some({})", rust_str(s)),
        None => "None".into(),
    }
}

/// The Rust index: every schema file (embedded) and every row.
fn index_rs(rows: &[Row], files: &[String]) -> String {
    let mut s = String::from(
        "// Generated by schemas/rendered/regen.sh (catalyst_schema::rendered::generate); do not edit.\n\
         // The schemas of schemas/rendered/, embedded, and which release serves which of them.\n\n\
         use super::{IndexRow, SchemaFile};\n\n",
    );
    s.push_str(&format!("pub(super) const FILES_LEN: usize = {};\n\n", files.len()));
    s.push_str("pub(super) static FILES: [SchemaFile; FILES_LEN] = [\n");
    for f in files {
        s.push_str(&format!(
            "    SchemaFile {{ file: {}, text: include_str!(\"../../../../schemas/rendered/{f}\") }},\n",
            rust_str(f)
        ));
    }
    s.push_str("];\n\n");
    s.push_str(&format!("pub(super) static INDEX: [IndexRow; {}] = [\n", rows.len()));
    for r in rows {
        let file = files.iter().position(|f| *f == r.file).expect("every row's file is written");
        s.push_str(&format!(
            "    IndexRow {{ controller: {}, release: {}, group: {}, kind: {}, version: {}, storage: {}, file: {file} }},\n",
            rust_opt(&r.controller),
            rust_opt(&r.release),
            rust_str(&r.group),
            rust_str(&r.kind),
            rust_str(&r.version),
            r.storage,
        ));
    }
    s.push_str("];\n");
    s
}

fn sources_md(rows: &[Row], files: &BTreeMap<String, (Value, String, Vec<Upstream>)>) -> String {
    let mut s = String::from(SOURCES_HEAD);
    s.push_str("\n| Controller | Release | Kind | apiVersion | Storage | Repository | Tag | Path | Schema |\n");
    s.push_str("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for r in rows {
        let (_, _, sources) = &files[&r.file];
        let up = sources
            .iter()
            .find(|u| u.controller == r.controller && u.release == r.release)
            .expect("a row's file lists its source");
        let api_version = if r.group.is_empty() { r.version.clone() } else { format!("{}/{}", r.group, r.version) };
        s.push_str(&format!(
            "| {} | {} | {} | `{}` | {} | {} | `{}` | `{}` | `{}` |\n",
            r.controller.as_deref().unwrap_or("—"),
            r.release.as_deref().unwrap_or("any"),
            r.kind,
            api_version,
            if r.storage { "yes" } else { "" },
            up.repository,
            up.reference,
            up.path,
            r.file,
        ));
    }
    s.push_str(SOURCES_TAIL);
    s
}

const SOURCES_HEAD: &str = "# Sources of the rendered-object schemas

Generated by `schemas/rendered/regen.sh` with the rest of this folder; do not edit by hand.

The JSON Schemas in this folder describe the objects `catalyst render` writes into
`clusters/<fqdn>/` (and the kinds hand-written cluster directories use), in every version
that each release of each runtime controller serves. `compiler/catalyst-schema` embeds them
with an index (`src/rendered/index.rs`, generated too) and validates each object against the
schema of its `apiVersion` and kind **in the release the Sovereign runs**
(`catalyst_schema::rendered::Releases`), CEL rules (`x-kubernetes-validations`) included.

Each schema is the output of `compiler/catalyst-schema/src/rendered/crd.rs` run on one
served version of a CustomResourceDefinition, read from `../shared/crds/` (the CRDs of the
exact release tags, see its README; `SHARED_CRDS=` points elsewhere). Nothing is fetched. A
schema identical in several releases is stored once, named after the first release that has
it, and its `x-catalyst-upstream` lists every source (controller, release, repository, tag,
path, CRD version). `cargo test -p catalyst-schema` checks that this folder is exactly the
generator's output (under `CI=true` a missing `../shared` fails the test).

What the conversion keeps and changes is documented in `crd.rs`: structural rules, `default`
values and CEL rules are kept; descriptions and `status` are dropped; unknown fields are
refused where the API server would prune them silently.

Kinds kept: Flux (each release of `flux/versions.txt`) GitRepository, OCIRepository,
HelmRepository, Kustomization, HelmRelease, Alert, Provider, Receiver; Crossplane Provider,
Function, DeploymentRuntimeConfig, Composition, CompositeResourceDefinition; every CRD of
the hcloud provider (transacid/provider-hcloud, the provider the version matrix names).
";

const SOURCES_TAIL: &str = "
## Not from a release

- **Hand-written** (`handwritten/*.yaml`, converted by the same code): the core Namespace and
  ConfigMap after the Kubernetes API reference (v1.31), and a small schema of kustomize's
  `kustomization.yaml` (kustomize publishes none), which lists kustomize's top-level fields
  so that a misspelt one is refused, and refuses `secretGenerator`: rendered output never
  produces a Secret. A `v1` Secret is refused by `catalyst_schema::rendered` itself.
- **external-dns DNSEndpoint** (`excerpts/dnsendpoints.externaldns.k8s.io.yaml`): the
  structural part of version v1alpha1 of the CRD at kubernetes-sigs/external-dns commit
  `e5948ded`, whose release is not known; `../shared/crds` holds no external-dns CRD. It is
  used whatever external-dns release a Sovereign runs. Replace it with the CRD of the release
  the matrix names when that CRD is available.
- Crossplane claims (`compose.openova.io`) have no schema here: they are checked against the
  catalog's XRDs.
";
