//! SLSA provenance v1 (`https://slsa.dev/provenance/v1`) of what catalyst
//! builds: a released Blueprint chart, a cluster directory published as an
//! OCI artifact. Pure: the caller reads Git, the environment and the
//! registry; this turns what it read into the predicate.
//!
//! What a reader can check with it: which source revision the artifact was
//! built from (`resolvedDependencies[0]`, a `gitCommit` digest), every
//! other input by digest (a release: each vendored upstream chart archive
//! and the `Chart.lock` inside the chart; a published directory: every input
//! its `catalyst.lock` records), and who built it (`runDetails.builder.id`:
//! the CI workflow, or a local run).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::sbom::vendored_charts;

pub const SLSA_PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// `catalyst release`: a Blueprint's chart, packaged with its vendored charts.
pub const RELEASE_BUILD_TYPE: &str = "https://catalyst.openova.io/buildtypes/release/v1";
/// `catalyst publish --oci`: a rendered cluster directory as a Flux artifact.
pub const PUBLISH_BUILD_TYPE: &str = "https://catalyst.openova.io/buildtypes/publish-oci/v1";
/// The builder of a run outside any CI that names itself.
pub const LOCAL_BUILDER: &str = "https://catalyst.openova.io/builders/local";

/// The predicate (SLSA v1 field names).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    pub build_definition: BuildDefinition,
    pub run_details: RunDetails,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    pub build_type: String,
    pub external_parameters: BTreeMap<String, serde_json::Value>,
    pub internal_parameters: BTreeMap<String, serde_json::Value>,
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// An in-toto resource descriptor.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDescriptor {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    pub digest: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDetails {
    pub builder: Builder,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Builder {
    pub id: String,
    pub version: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub invocation_id: String,
}

/// The Git source an artifact was built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The repository's URL, without credentials.
    pub uri: String,
    /// The ref checked out (`refs/heads/main`), where HEAD is on one.
    pub git_ref: Option<String>,
    /// HEAD's commit, 40 hex digits; `None` outside Git (the provenance
    /// then names no revision, and the caller warns).
    pub commit: Option<String>,
    /// The built folder, relative to the repository root (`platform/cilium`).
    pub path: String,
}

impl Source {
    /// `git+<uri>@<ref>`, as SLSA's own examples name a Git source.
    fn descriptor(&self) -> ResourceDescriptor {
        let uri = match &self.git_ref {
            Some(r) => format!("git+{}@{r}", self.uri),
            None => format!("git+{}", self.uri),
        };
        ResourceDescriptor {
            name: None,
            uri: Some(uri),
            digest: self.commit.iter().map(|c| ("gitCommit".to_string(), c.clone())).collect(),
            annotations: BTreeMap::new(),
        }
    }

    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({"repository": self.uri, "ref": self.git_ref, "path": self.path})
    }
}

/// Who ran the build: the CI workflow where the environment names one
/// (GitHub Actions, and Gitea and Forgejo Actions, which set the same
/// `GITHUB_*` variables), else a local run.
pub fn builder(env: &dyn Fn(&str) -> Option<String>, catalyst_version: &str) -> (Builder, Option<Metadata>) {
    let version = BTreeMap::from([("catalyst".to_string(), catalyst_version.to_string())]);
    let server = env(catalyst_env::GITHUB_SERVER_URL).filter(|s| s.starts_with("https://") || s.starts_with("http://"));
    let (Some(server), Some(workflow)) = (server, env(catalyst_env::GITHUB_WORKFLOW_REF).filter(|w| !w.is_empty()))
    else {
        return (Builder { id: LOCAL_BUILDER.to_string(), version }, None);
    };
    let server = server.trim_end_matches('/');
    let metadata = match (env(catalyst_env::GITHUB_REPOSITORY), env(catalyst_env::GITHUB_RUN_ID)) {
        (Some(repo), Some(run)) => Some(Metadata {
            invocation_id: format!(
                "{server}/{repo}/actions/runs/{run}/attempts/{}",
                env(catalyst_env::GITHUB_RUN_ATTEMPT).unwrap_or_else(|| "1".into())
            ),
        }),
        _ => None,
    };
    (Builder { id: format!("{server}/{workflow}"), version }, metadata)
}

/// The provenance of a released chart archive (`files` as read by
/// `read_archive`): its source, and each vendored chart and the chart's
/// `Chart.lock` by digest.
pub fn release(files: &BTreeMap<String, Vec<u8>>, source: &Source, builder: (Builder, Option<Metadata>)) -> Provenance {
    let top = files.keys().next().and_then(|k| k.split('/').next()).unwrap_or("chart").to_string();
    let chart_yaml = files.get(&format!("{top}/Chart.yaml")).map(|b| String::from_utf8_lossy(b).into_owned());
    let (name, version) = chart_yaml
        .as_deref()
        .and_then(|c| crate::chart_identity(c, "Chart.yaml").ok())
        .unwrap_or_else(|| (top.clone(), "0.0.0".into()));
    let repositories = dependency_repositories(chart_yaml.as_deref().unwrap_or_default());
    let mut deps = vec![source.descriptor()];
    if let Some(lock) = files.get(&format!("{top}/Chart.lock")) {
        deps.push(ResourceDescriptor {
            name: Some("Chart.lock".into()),
            uri: None,
            digest: BTreeMap::from([("sha256".to_string(), crate::sha256_hex(lock))]),
            annotations: BTreeMap::new(),
        });
    }
    for v in vendored_charts(files) {
        let uri = repositories.get(&v.name).map(|r| chart_uri(r, &v.name, &v.version));
        deps.push(ResourceDescriptor {
            name: Some(v.path.strip_prefix(&format!("{top}/")).unwrap_or(&v.path).to_string()),
            uri,
            digest: BTreeMap::from([("sha256".to_string(), v.sha256)]),
            annotations: BTreeMap::from([("chart".to_string(), v.name), ("version".to_string(), v.version)]),
        });
    }
    let external = BTreeMap::from([
        ("chart".to_string(), serde_json::json!({"name": name, "version": version})),
        ("source".to_string(), source.parameters()),
    ]);
    provenance(RELEASE_BUILD_TYPE, external, deps, builder)
}

/// The provenance of a cluster directory published as an OCI artifact: its
/// source, and every input its `catalyst.lock` records (`inputs`: name →
/// sha256 hex) by digest.
pub fn publish(
    fqdn: &str,
    inputs: &BTreeMap<String, String>,
    source: &Source,
    builder: (Builder, Option<Metadata>),
) -> Provenance {
    let mut deps = vec![source.descriptor()];
    deps.extend(inputs.iter().map(|(name, sha)| ResourceDescriptor {
        name: Some(name.clone()),
        uri: None,
        digest: BTreeMap::from([("sha256".to_string(), sha.clone())]),
        annotations: BTreeMap::new(),
    }));
    let external = BTreeMap::from([
        ("sovereign".to_string(), serde_json::json!({"fqdn": fqdn})),
        ("source".to_string(), source.parameters()),
    ]);
    provenance(PUBLISH_BUILD_TYPE, external, deps, builder)
}

fn provenance(
    build_type: &str,
    external_parameters: BTreeMap<String, serde_json::Value>,
    resolved_dependencies: Vec<ResourceDescriptor>,
    (builder, metadata): (Builder, Option<Metadata>),
) -> Provenance {
    Provenance {
        build_definition: BuildDefinition {
            build_type: build_type.to_string(),
            external_parameters,
            internal_parameters: BTreeMap::new(),
            resolved_dependencies,
        },
        run_details: RunDetails { builder, metadata },
    }
}

/// Chart name → repository, from Chart.yaml's `dependencies`.
fn dependency_repositories(chart_yaml: &str) -> BTreeMap<String, String> {
    let Ok(Some(doc)) = catalyst_yaml::parse_one(chart_yaml, &Default::default()) else { return BTreeMap::new() };
    let Some(deps) = doc.get("dependencies").and_then(catalyst_yaml::Node::as_seq) else { return BTreeMap::new() };
    deps.iter()
        .filter_map(|d| {
            let name = d.get("name")?.as_text()?.to_string();
            let repo = d.get("repository")?.as_text()?.to_string();
            Some((name, repo))
        })
        .collect()
}

/// Where a vendored chart came from: `oci://…/name:version` for an OCI
/// repository, `<repo>#name-version` for a chart repository (its index
/// names the archive).
fn chart_uri(repository: &str, name: &str, version: &str) -> String {
    let repository = repository.trim_end_matches('/');
    if repository.starts_with("oci://") {
        format!("{repository}/{name}:{version}")
    } else {
        format!("{repository}#{name}-{version}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn the_builder_is_the_ci_workflow_or_a_local_run() {
        let (b, m) = builder(
            &env(&[
                ("GITHUB_SERVER_URL", "https://github.com"),
                ("GITHUB_WORKFLOW_REF", "openova-io/catalog/.github/workflows/release.yaml@refs/heads/main"),
                ("GITHUB_REPOSITORY", "openova-io/catalog"),
                ("GITHUB_RUN_ID", "42"),
            ]),
            "0.1.0",
        );
        assert_eq!(b.id, "https://github.com/openova-io/catalog/.github/workflows/release.yaml@refs/heads/main");
        assert_eq!(m.unwrap().invocation_id, "https://github.com/openova-io/catalog/actions/runs/42/attempts/1");
        let (b, m) = builder(&env(&[]), "0.1.0");
        assert_eq!((b.id.as_str(), m), (LOCAL_BUILDER, None));
        assert_eq!(b.version["catalyst"], "0.1.0");
    }

    #[test]
    fn a_published_directory_lists_its_lock_inputs_by_digest() {
        let source = Source {
            uri: "https://git.example/fleet.git".into(),
            git_ref: Some("refs/heads/main".into()),
            commit: Some("a".repeat(40)),
            path: "clusters/x.example".into(),
        };
        let inputs = BTreeMap::from([("spec".to_string(), "b".repeat(64))]);
        let p = serde_json::to_value(publish("x.example", &inputs, &source, builder(&env(&[]), "0.1.0"))).unwrap();
        let deps = &p["buildDefinition"]["resolvedDependencies"];
        assert_eq!(deps[0]["uri"], "git+https://git.example/fleet.git@refs/heads/main");
        assert_eq!(deps[0]["digest"]["gitCommit"], "a".repeat(40));
        assert_eq!(deps[1]["name"], "spec");
        assert_eq!(deps[1]["digest"]["sha256"], "b".repeat(64));
        assert_eq!(p["buildDefinition"]["buildType"], PUBLISH_BUILD_TYPE);
        assert_eq!(p["runDetails"]["builder"]["id"], LOCAL_BUILDER);
    }

    #[test]
    fn chart_uris_name_where_a_vendored_chart_came_from() {
        assert_eq!(chart_uri("oci://ghcr.io/x/charts/", "a", "1.0.0"), "oci://ghcr.io/x/charts/a:1.0.0");
        assert_eq!(chart_uri("https://helm.cilium.io", "cilium", "1.16.5"), "https://helm.cilium.io#cilium-1.16.5");
    }
}
