//! Checking a hand-written cluster directory (one not rendered by catalyst,
//! such as the upstream `clusters/_template/`) against the catalog: chart
//! pins that differ from the Blueprint's version, `dependsOn` lists that
//! disagree with the Blueprint's declared `depends`, placeholders that
//! nothing substitutes, and the closure check (`catalyst-closure`).

use std::collections::BTreeSet;
use std::path::Path;

use catalyst_catalog::{Catalog, SourceSet};
use catalyst_diag::{Code, Diagnostic, Diagnostics, Location};
use catalyst_yaml::{Limits, Node, NodeKind};

/// One HelmRelease found in a hand-written directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundRelease {
    pub name: String,
    pub file: String,
    pub chart_version: Option<String>,
    pub depends_on: BTreeSet<String>,
}

/// What [`check_dir`] found in a hand-written directory: its problems
/// (findings, errors or not: the check itself does not fail), the
/// HelmReleases it holds, and the text of the files read (for printing
/// the problems).
#[derive(Debug)]
pub struct Drift {
    pub releases: Vec<FoundRelease>,
    pub diagnostics: Diagnostics,
    pub sources: SourceSet,
}

/// Checks every YAML file under `dir`. `display_prefix` names `dir` in
/// messages.
pub fn check_dir(
    cat: &Catalog,
    bootstrap: Option<&[catalyst_tofu::bootstrap::BootstrapEntry]>,
    dir: &Path,
    display_prefix: &str,
    limits: &Limits,
) -> Drift {
    let mut sources = SourceSet::new(display_prefix.to_string());
    let mut diags = Diagnostics::new();
    let mut releases = Vec::new();
    let mut objects = std::collections::BTreeMap::new();
    // Names only: each file is read below, within the limits.
    let mut files: Vec<String> = crate::write::list_files(dir).unwrap_or_default();
    files.retain(|f| f.ends_with(".yaml") || f.ends_with(".yml"));
    files.sort();
    for rel in files {
        let text = match sources.read(dir, &rel, limits) {
            Ok(t) => t,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        let shown = sources.display(&rel);
        let docs = match catalyst_yaml::parse(&text, limits) {
            Ok(d) => d,
            Err(e) => {
                diags.push(catalyst_yaml::error_diagnostic(&shown, &e));
                continue;
            }
        };
        catalyst_yaml::scan_comment_secrets(&text, &shown, &mut diags);
        objects.insert(rel.clone(), std::sync::Arc::new(catalyst_closure::extract(&docs)));
        for doc in &docs {
            placeholders(doc, &shown, &mut diags);
            catalyst_yaml::scan_secrets(doc, &shown, &mut diags);
            if doc.get("kind").and_then(Node::as_text) == Some("Secret") {
                let has_data = ["data", "stringData"]
                    .iter()
                    .any(|k| doc.get(k).and_then(Node::as_map).is_some_and(|m| !m.is_empty()));
                if has_data {
                    let at = doc
                        .get("data")
                        .or(doc.get("stringData"))
                        .map(|n| Location::new(shown.as_str(), n.pos.line, n.pos.col, 1));
                    diags.push(
                        Diagnostic::error(Code::PlaintextSecret, "a Secret with data is committed in plain text")
                            .at(at)
                            .help("no plaintext secrets in Git: use a SealedSecret or an ExternalSecret that references OpenBao"),
                    );
                }
            }
            if doc.get("kind").and_then(Node::as_text) != Some("HelmRelease") {
                continue;
            }
            let Some(name) = doc.path(&["metadata", "name"]).and_then(Node::as_text) else { continue };
            let version_node = doc.path(&["spec", "chart", "spec", "version"]);
            let deps_node = doc.path(&["spec", "dependsOn"]);
            let depends_on: BTreeSet<String> = deps_node
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter_map(|d| d.get("name").and_then(Node::as_text).map(str::to_string))
                .collect();
            let found = FoundRelease {
                name: name.to_string(),
                file: shown.clone(),
                chart_version: version_node.and_then(Node::as_text).map(str::to_string),
                depends_on: depends_on.clone(),
            };
            let at = |n: Option<&Node>| {
                n.or(doc.get("metadata")).map(|n| Location::new(shown.as_str(), n.pos.line, n.pos.col, n.width()))
            };
            let chart_name = doc.path(&["spec", "chart", "spec", "chart"]).and_then(Node::as_text).unwrap_or(name);
            let bp = cat.get(name).or_else(|| cat.get(chart_name));
            let Some(bp) = bp else {
                diags.push(
                    Diagnostic::warning(
                        Code::UnknownRelease,
                        format!("HelmRelease `{name}` matches no Blueprint in the catalog"),
                    )
                    .at(at(doc.path(&["metadata", "name"]))),
                );
                releases.push(found);
                continue;
            };
            if let Some(v) = &found.chart_version
                && *v != bp.chart_version()
            {
                diags.push(
                    Diagnostic::error(
                        Code::PinMismatch,
                        format!("HelmRelease `{name}` pins chart version {v}, the catalog has {}", bp.chart_version()),
                    )
                    .at(at(version_node))
                    .note(format!("Blueprint folder: {}", bp.dir), None)
                    .for_blueprint(bp.name.clone()),
                );
            }
            if let Some(declared) = &bp.depends {
                let declared: BTreeSet<String> = declared.iter().map(|d| d.blueprint.clone()).collect();
                if declared != depends_on {
                    let missing: Vec<&String> = declared.difference(&depends_on).collect();
                    let extra: Vec<&String> = depends_on.difference(&declared).collect();
                    let mut parts = Vec::new();
                    if !missing.is_empty() {
                        parts.push(format!("missing {}", join(&missing)));
                    }
                    if !extra.is_empty() {
                        parts.push(format!("not declared by the Blueprint: {}", join(&extra)));
                    }
                    diags.push(
                        Diagnostic::error(
                            Code::DependsMismatch,
                            format!("HelmRelease `{name}` dependsOn disagrees with {}'s declared depends: {}", bp.name, parts.join("; ")),
                        )
                        .at(at(deps_node))
                        .note(format!("declared in {}/blueprint.yaml: [{}]", bp.dir, join(&declared.iter().collect::<Vec<_>>())), None)
                        .for_blueprint(bp.name.clone())
                        .help("keep the edges in one place: declare them in blueprint.yaml and let catalyst render write dependsOn"),
                    );
                }
            }
            releases.push(found);
        }
    }
    // The same closure check as a rendered directory's: a hand-written
    // directory is one host cluster's, with no Phase-0 variables (only
    // bootstrap objects of fixed names count).
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    diags.extend(catalyst_render::closure::check_cluster(cat, bootstrap, None, &name, display_prefix, &objects));
    if releases.is_empty() {
        let shown =
            if display_prefix.is_empty() { ".".to_string() } else { display_prefix.trim_end_matches('/').to_string() };
        diags.push(
            Diagnostic::warning(
                Code::NothingChecked,
                format!("{shown} holds no HelmRelease to check against the catalog"),
            )
            .at(Some(Location::file(shown.as_str())))
            .help("pass a cluster directory, or a Sovereign spec (a file, or a directory holding sovereign.yaml)"),
        );
    }
    diags.sort();
    Drift { releases, diagnostics: diags, sources }
}

fn join(v: &[&String]) -> String {
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

fn placeholders(node: &Node, file: &str, diags: &mut Diagnostics) {
    match &node.kind {
        NodeKind::Scalar(t, _) => {
            let loc = Some(Location::new(file, node.pos.line, node.pos.col, node.width()));
            if let Some(tok) = t
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .find(|w| w.ends_with("_PLACEHOLDER") || *w == "PLACEHOLDER")
            {
                diags.push(
                    Diagnostic::error(Code::Placeholder, format!("`{tok}` is a placeholder that nothing substitutes"))
                        .at(loc)
                        .help("write the real value; catalyst render fills every value from the Sovereign spec"),
                );
            } else if t.contains("${") {
                diags.push(
                    Diagnostic::warning(Code::Substitution, "value relies on Flux post-build substitution (`${...}`)")
                        .at(loc)
                        .help("a rendered cluster directory holds real values; nothing in Git shows what this resolves to"),
                );
            }
        }
        NodeKind::Seq(items) => items.iter().for_each(|n| placeholders(n, file, diags)),
        NodeKind::Map(m) => m.iter().for_each(|(_, v)| placeholders(v, file, diags)),
    }
}
