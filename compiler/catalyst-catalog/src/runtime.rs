//! The version matrix (`catalog.yaml spec.runtime`): the exact release of
//! every runtime controller whose objects render writes, what installs it,
//! and the API groups its CRDs serve.
//!
//! Three places may name one controller's version: the matrix, the chart
//! pin of the Blueprint that installs it, and the Phase-0 module that
//! installs it before any Blueprint. The matrix is the one render follows;
//! the other two are checked against it here, so that they can never drift
//! apart silently: [`check_chart_pins`] when the catalog is loaded,
//! [`Catalog::check_phase0`] when the Phase-0 module is read beside it.

use catalyst_diag::{Code, Diagnostic, Diagnostics, Location};
use catalyst_yaml::Node;
use serde_json::Value;

use crate::{Catalog, SourceSet};

/// One runtime controller of the matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Controller {
    /// `flux`, `crossplane`, `provider-hcloud`, ...
    pub name: String,
    /// The exact release, as its project tags it (`2.9.0`, `v0.2.0`).
    pub version: String,
    /// Groups whose CRDs it installs; `*.x.io` matches every subgroup.
    pub api_groups: Vec<String>,
    pub installed_by: Vec<Installer>,
    /// Where the matrix states the version.
    pub location: Option<Location>,
}

/// What installs a controller on a host cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Installer {
    /// The Phase-0 module, from the `locals` entry `local`.
    Phase0 { module: String, local: String },
    /// A Blueprint whose chart depends on `chart` at `version`.
    Blueprint { name: String, chart: String, version: String },
    /// A Crossplane package installed by an object render writes.
    Package { kind: String, name: String, package: String },
}

impl Controller {
    /// Whether this controller's CRDs serve `group`.
    pub fn serves(&self, group: &str) -> bool {
        self.api_groups.iter().any(|g| match g.strip_prefix("*.") {
            Some(parent) => group.strip_suffix(parent).is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
            None => g == group,
        })
    }

    /// The Crossplane package of this controller, if render installs it.
    pub fn package(&self) -> Option<(&str, &str, &str)> {
        self.installed_by.iter().find_map(|i| match i {
            Installer::Package { kind, name, package } => Some((kind.as_str(), name.as_str(), package.as_str())),
            _ => None,
        })
    }

    /// The Blueprint that installs this controller, if one does.
    pub fn blueprint(&self) -> Option<(&str, &str, &str)> {
        self.installed_by.iter().find_map(|i| match i {
            Installer::Blueprint { name, chart, version } => Some((name.as_str(), chart.as_str(), version.as_str())),
            _ => None,
        })
    }

    fn phase0(&self) -> Option<(&str, &str)> {
        self.installed_by.iter().find_map(|i| match i {
            Installer::Phase0 { module, local } => Some((module.as_str(), local.as_str())),
            _ => None,
        })
    }
}

/// A `locals` entry of a Phase-0 module, as the module reader found it.
#[derive(Clone, Debug)]
pub struct Phase0Pin<'a> {
    /// The module folder, root-relative (`infra/hetzner`).
    pub module: &'a str,
    pub local: &'a str,
    pub value: &'a str,
    pub location: Location,
}

/// Reads `spec.runtime` of a schema-valid catalog.yaml.
pub(crate) fn read(
    doc: &Node,
    spec: &Value,
    sources: &SourceSet,
    rel: &str,
    diags: &mut Diagnostics,
) -> Vec<Controller> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let mut out: Vec<Controller> = Vec::new();
    for (i, c) in spec["runtime"].as_array().into_iter().flatten().enumerate() {
        let at = |field: &str| doc.pointer(&format!("/spec/runtime/{i}/{field}")).and_then(|n| sources.loc(rel, n));
        let mut installed_by = Vec::new();
        if c.get("phase0").is_some() {
            installed_by.push(Installer::Phase0 { module: s(&c["phase0"]["module"]), local: s(&c["phase0"]["local"]) });
        }
        if c.get("blueprint").is_some() {
            let b = &c["blueprint"];
            installed_by.push(Installer::Blueprint {
                name: s(&b["name"]),
                chart: s(&b["chart"]),
                version: s(&b["version"]),
            });
        }
        if c.get("package").is_some() {
            let p = &c["package"];
            // The tag is the matrix's version: a new release is one line.
            let package = format!("{}:{}", s(&p["image"]), s(&c["version"]));
            installed_by.push(Installer::Package { kind: s(&p["kind"]), name: s(&p["name"]), package });
        }
        let controller = Controller {
            name: s(&c["name"]),
            version: s(&c["version"]),
            api_groups: c["apiGroups"].as_array().into_iter().flatten().map(s).collect(),
            installed_by,
            location: at("version"),
        };
        if let Some(prev) = out.iter().find(|p| p.name == controller.name) {
            diags.push(
                Diagnostic::error(
                    Code::DuplicateController,
                    format!("`{}` is in the version matrix twice", controller.name),
                )
                .at(at("name"))
                .note("first listed here", prev.location.clone())
                .help("one entry per controller: the matrix names exactly one release of each"),
            );
            continue;
        }
        for g in &controller.api_groups {
            if let Some(other) = out.iter().find(|o| o.serves(g) || controller_group_overlap(o, g)) {
                diags.push(
                    Diagnostic::error(
                        Code::DuplicateApiGroup,
                        format!("API group `{g}` is served by both `{}` and `{}`", other.name, controller.name),
                    )
                    .at(at("apiGroups"))
                    .help("a group's CRDs come from one controller; remove it from one of the two entries"),
                );
            }
        }
        out.push(controller);
    }
    out
}

fn controller_group_overlap(other: &Controller, group: &str) -> bool {
    group
        .strip_prefix("*.")
        .is_some_and(|parent| other.api_groups.iter().any(|g| g == parent || g.ends_with(&format!(".{parent}"))))
}

/// Each matrix entry installed by a Blueprint: the Blueprint exists and
/// its chart depends on the matrix's chart at exactly the matrix's version.
pub(crate) fn check_chart_pins(cat: &Catalog, diags: &mut Diagnostics) {
    for c in &cat.runtime {
        let Some((bp_name, chart, version)) = c.blueprint() else { continue };
        let Some(bp) = cat.blueprints.get(bp_name) else {
            if !cat.broken.contains(bp_name) {
                diags.push(
                    Diagnostic::error(
                        Code::MatrixUnknownBlueprint,
                        format!(
                            "the version matrix installs `{}` with `{bp_name}`, which is not in the catalog",
                            c.name
                        ),
                    )
                    .at(c.location.clone())
                    .help("name the Blueprint whose chart installs this controller"),
                );
            }
            continue;
        };
        let dep = bp.chart.as_ref().and_then(|ch| ch.dependencies.iter().find(|d| d.name == chart));
        match dep {
            None => diags.push(
                Diagnostic::error(
                    Code::MatrixChartPin,
                    format!(
                        "the version matrix says {bp_name} installs `{}` {} with chart `{chart}`, but its Chart.yaml has no dependency `{chart}`",
                        c.name, c.version
                    ),
                )
                .at(c.location.clone())
                .for_blueprint(bp_name.to_string())
                .help(format!("add `{chart}` {version} to {}/chart/Chart.yaml, or correct the matrix", bp.dir)),
            ),
            Some(d) if d.version != version => diags.push(
                Diagnostic::error(
                    Code::MatrixChartPin,
                    format!(
                        "{bp_name} pins chart `{chart}` {}, but the version matrix runs `{}` {} from chart {chart} {version}",
                        d.version, c.name, c.version
                    ),
                )
                .at(d.location.clone())
                .for_blueprint(bp_name.to_string())
                .note(format!("the version matrix says {} {} (chart {version}) here", c.name, c.version), c.location.clone())
                .help("move both to the same release: the matrix is what render follows, the chart is what gets installed"),
            ),
            Some(_) => {}
        }
        // The chart series is not the controller's: what a vendored chart
        // says it runs (appVersion) is the proof the pin is the right one.
        let vendored = bp.chart.iter().flat_map(|ch| &ch.subcharts).find(|s| s.name == chart && s.version == version);
        if let Some(s) = vendored.filter(|s| !s.app_version.is_empty() && bare(&s.app_version) != bare(&c.version)) {
            diags.push(
                Diagnostic::error(
                    Code::MatrixAppVersion,
                    format!(
                        "the vendored chart {chart} {version} runs `{}` {}, but the version matrix says {}",
                        c.name, s.app_version, c.version
                    ),
                )
                .at(Some(Location::file(s.file.as_str())))
                .for_blueprint(bp_name.to_string())
                .note("the version matrix entry", c.location.clone())
                .help(format!("pin the {chart} chart whose appVersion is {}", c.version)),
            );
        }
    }
}

impl Catalog {
    /// The version matrix, in catalog order.
    pub fn runtime(&self) -> &[Controller] {
        &self.runtime
    }

    /// The controller whose CRDs serve `group`, if the matrix has one.
    pub fn controller_for_group(&self, group: &str) -> Option<&Controller> {
        self.runtime.iter().find(|c| c.serves(group))
    }

    /// The controller named `name`.
    pub fn controller(&self, name: &str) -> Option<&Controller> {
        self.runtime.iter().find(|c| c.name == name)
    }

    /// Controller name → release: what every rendered-object schema lookup
    /// takes, so objects are checked against exactly what the Sovereign runs.
    pub fn releases(&self) -> &catalyst_schema::rendered::Releases {
        self.releases.get_or_init(|| {
            catalyst_schema::rendered::Releases::new(self.runtime.iter().map(|c| (c.name.clone(), c.version.clone())))
        })
    }

    /// Each matrix entry Phase-0 installs against the module's own pin:
    /// the `locals` entry must hold the matrix's version (a leading `v` on
    /// either side is ignored). A disagreement names the matrix, the
    /// module and, where a Blueprint takes the controller over, its chart
    /// pin: all the places that must move together.
    pub fn check_phase0(&self, module: &str, pins: &[Phase0Pin<'_>]) -> Diagnostics {
        let mut diags = Diagnostics::new();
        for c in &self.runtime {
            let Some((m, local)) = c.phase0() else { continue };
            if m != module {
                continue;
            }
            let Some(pin) = pins.iter().find(|p| p.local == local) else {
                diags.push(
                    Diagnostic::error(
                        Code::MatrixPhase0Pin,
                        format!(
                            "the version matrix reads `{}` from local `{local}` of {m}, which has no such string local",
                            c.name
                        ),
                    )
                    .at(c.location.clone())
                    .help(format!("declare `{local} = \"{}\"` in a locals block of {m}", c.version)),
                );
                continue;
            };
            if bare(pin.value) == bare(&c.version) {
                continue;
            }
            let mut d = Diagnostic::error(
                Code::MatrixPhase0Pin,
                format!("Phase-0 installs `{}` {}, but the version matrix runs {}", c.name, pin.value, c.version),
            )
            .at(Some(pin.location.clone()))
            .note(format!("the version matrix says {} {} here", c.name, c.version), c.location.clone());
            if let Some((bp_name, chart, version)) = c.blueprint() {
                let dep = self
                    .blueprints
                    .get(bp_name)
                    .and_then(|bp| bp.chart.as_ref())
                    .and_then(|ch| ch.dependencies.iter().find(|d| d.name == chart));
                let pinned = dep.map_or_else(|| "no".to_string(), |d| d.version.clone());
                d = d.note(
                    format!("{bp_name} then takes it over with chart {chart} {pinned} (the matrix expects {version})"),
                    dep.and_then(|d| d.location.clone()),
                );
            }
            diags.push(d.help(format!(
                "move {} to one release in all these places: a controller that Phase-0 installs and a Blueprint then upgrades to another version is replaced under running workloads",
                c.name
            )));
        }
        // A version the module pins that no matrix entry reads would drift
        // unseen: every `*_version` local is some controller's. (A catalog
        // without a matrix is refused where it matters, when render has to
        // write an object of a controller it names no release of.)
        for pin in pins.iter().filter(|p| p.local.ends_with("_version") && !self.runtime.is_empty()) {
            let claimed = self.runtime.iter().any(|c| c.phase0() == Some((module, pin.local)));
            if !claimed {
                diags.push(
                    Diagnostic::error(
                        Code::MatrixPhase0Unlisted,
                        format!("Phase-0 pins `{}` = {}, which no entry of the version matrix reads", pin.local, pin.value),
                    )
                    .at(Some(pin.location.clone()))
                    .help(format!(
                        "add `phase0: {{module: {module}, local: {}}}` to the matrix entry of the controller it installs, so that its Blueprint's chart pin is held to the same release",
                        pin.local
                    )),
                );
            }
        }
        diags
    }
}

fn bare(v: &str) -> &str {
    v.strip_prefix('v').unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controller(groups: &[&str]) -> Controller {
        Controller {
            name: "x".into(),
            version: "1.0.0".into(),
            api_groups: groups.iter().map(|g| g.to_string()).collect(),
            installed_by: vec![],
            location: None,
        }
    }

    #[test]
    fn wildcard_groups_match_subgroups_only() {
        let c = controller(&["hcloud.crossplane.io", "*.hcloud.crossplane.io"]);
        assert!(c.serves("hcloud.crossplane.io"));
        assert!(c.serves("server.hcloud.crossplane.io"));
        assert!(!c.serves("xhcloud.crossplane.io"));
        assert!(!c.serves(".hcloud.crossplane.io"));
        assert!(!c.serves("crossplane.io"));
        let exact = controller(&["pkg.crossplane.io"]);
        assert!(exact.serves("pkg.crossplane.io"));
        assert!(!exact.serves("x.pkg.crossplane.io"));
    }
}
