//! Placement: which host clusters a Sovereign has, and which Blueprints
//! run on each.
//!
//! Every region has a DMZ (edge) cluster; the primary region (the first
//! listed) adds the management cluster, each secondary region a runtime
//! cluster (CONTEXT §6). Clusters are named
//! `{provider}-{region}-{building-block}-{env}`.
//!
//! A Blueprint runs in the regions its placement mode gives
//! (`single-region`: the primary; `active-active`: every region, or those
//! the spec lists; `active-hotstandby`: the first two, active then
//! standby), and there in the building blocks the catalog assigns it
//! (falling back to the region's inner cluster: mgt in the primary, rtz
//! elsewhere). Flux's `dependsOn` only reaches HelmReleases of the same
//! cluster, so a Blueprint's dependencies follow it into every cluster it
//! runs in; a dependency whose placementSchema forbids the regions that
//! brings is an error naming both.

use std::collections::{BTreeMap, BTreeSet};

use catalyst_catalog::{Blueprint, Catalog};
use catalyst_diag::{Code, Diagnostic, Diagnostics, Location};
use catalyst_resolve::Resolution;
use catalyst_spec::Sovereign;
use serde::Serialize;

/// One host cluster of a Sovereign.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct HostCluster {
    /// `{provider}-{region}-{building-block}-{env}`, e.g. `hz-fsn-mgt-prod`.
    pub name: String,
    /// Index into `spec.topology.regions`.
    #[serde(skip)]
    pub region_index: usize,
    /// The cloud region, e.g. `fsn1`.
    pub region: String,
    pub provider: String,
    /// `mgt`, `dmz` or `rtz`.
    pub block: String,
    /// Cilium cluster id (1..=255), unique within the Sovereign.
    pub id: usize,
    /// In the primary region.
    pub primary: bool,
}

/// Where one Blueprint runs.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Placed {
    pub mode: String,
    /// Cloud regions, the active one first.
    pub regions: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Placement {
    pub clusters: Vec<HostCluster>,
    /// Cluster name → Blueprints on it.
    pub members: BTreeMap<String, BTreeSet<String>>,
    /// Blueprint → mode and the regions it runs in (dependencies included).
    pub placed: BTreeMap<String, Placed>,
}

impl Placement {
    pub fn runs_on(&self, cluster: &str, bp: &str) -> bool {
        self.members.get(cluster).is_some_and(|m| m.contains(bp))
    }

    /// The first cluster (in cluster order) running `bp`.
    pub fn first_cluster_with(&self, bp: &str) -> Option<&HostCluster> {
        self.clusters.iter().find(|c| self.runs_on(&c.name, bp))
    }
}

/// The host clusters of a Sovereign, in order: primary mgt, primary dmz,
/// then dmz and rtz of each secondary region.
pub fn host_clusters(sov: &Sovereign) -> Vec<HostCluster> {
    let mut out = Vec::new();
    for (i, r) in sov.regions.iter().enumerate() {
        for block in if i == 0 { ["mgt", "dmz"] } else { ["dmz", "rtz"] } {
            out.push(HostCluster {
                name: format!("{}-{}-{block}-{}", r.provider_code(), r.region_code(), sov.environment),
                region_index: i,
                region: r.cloud_region.clone(),
                provider: r.provider.clone(),
                block: block.to_string(),
                id: out.len() + 1,
                primary: i == 0,
            });
        }
    }
    out
}

pub fn place(cat: &Catalog, sov: &Sovereign, res: &Resolution) -> Result<Placement, Diagnostics> {
    let mut diags = Diagnostics::new();
    let clusters = host_clusters(sov);
    let mut seen = BTreeMap::new();
    for c in &clusters {
        if let Some(other) = seen.insert(c.name.clone(), c.region.clone())
            && other != c.region
        {
            diags.push(
                Diagnostic::error(
                    Code::ClusterNameClash,
                    format!("regions `{other}` and `{}` both give the host cluster name `{}`", c.region, c.name),
                )
                .at(spec_loc(sov, "/spec/topology/regions"))
                .help("host clusters are named {provider}-{region}-{building-block}-{env}; use regions whose codes differ"),
            );
        }
    }
    // What follows keys host clusters by name: two regions under one name
    // would read as one cluster (a Blueprint "brought" to a region by
    // dependents it shares that name with).
    if diags.has_errors() {
        return Err(diags);
    }
    let region_names: Vec<&str> = sov.regions.iter().map(|r| r.cloud_region.as_str()).collect();
    let mut members: BTreeMap<String, BTreeSet<String>> =
        clusters.iter().map(|c| (c.name.clone(), BTreeSet::new())).collect();
    let mut placed = BTreeMap::new();

    for name in &res.order {
        let Some(bp) = cat.get(name) else { continue };
        let choice = crate::settings_for(sov, name).and_then(|s| s.placement.as_ref());
        let mode = choice.map_or(bp.placement.default.clone(), |c| c.mode.clone());
        let at = choice.and_then(|c| c.location.clone());
        if !bp.placement.modes.contains(&mode) {
            diags.push(
                Diagnostic::error(
                    Code::InvalidPlacement,
                    format!("`{name}` cannot run {mode}: its placementSchema allows {}", bp.placement.modes.join(", ")),
                )
                .at(at.clone().or_else(|| bp.placement_location.clone()))
                .note("placementSchema", bp.placement_location.clone())
                .help(format!("choose one of: {}", bp.placement.modes.join(", "))),
            );
            continue;
        }
        let mut idx: Vec<usize> = match (mode.as_str(), choice.and_then(|c| c.regions.as_ref())) {
            ("single-region", Some(_)) => {
                diags.push(
                    Diagnostic::error(
                        Code::InvalidPlacement,
                        format!("`{name}` runs single-region, in the primary region; it takes no `regions`"),
                    )
                    .at(at.clone())
                    .help("remove `regions`, or choose active-active or active-hotstandby"),
                );
                continue;
            }
            ("single-region", None) => vec![0],
            (_, Some(list)) => {
                let mut idx = Vec::new();
                for r in list {
                    match region_names.iter().position(|n| n == r) {
                        Some(i) => idx.push(i),
                        None => diags.push(
                            Diagnostic::error(
                                Code::UnknownRegion,
                                format!("`{name}` is placed in region `{r}`, which the Sovereign does not have"),
                            )
                            .at(at.clone())
                            .help(format!("the Sovereign's regions: {}", region_names.join(", "))),
                        ),
                    }
                }
                idx
            }
            ("active-hotstandby", None) => (0..sov.regions.len().min(2)).collect(),
            _ => (0..sov.regions.len()).collect(),
        };
        if mode == "active-hotstandby" && choice.and_then(|c| c.regions.as_ref()).is_some_and(|l| l.len() != 2) {
            diags.push(
                Diagnostic::error(
                    Code::InvalidPlacement,
                    format!("`{name}` runs active-hotstandby: list exactly two regions, the active one first"),
                )
                .at(at.clone()),
            );
        }
        if let Some(min) = bp.placement.min_regions {
            let min = min as usize;
            if sov.regions.len() < min {
                diags.push(
                    Diagnostic::error(
                        Code::TooFewRegions,
                        format!(
                            "`{name}` needs at least {min} regions (placementSchema.minRegions), but Sovereign `{}` ({}) has {}",
                            sov.name,
                            sov.fqdn,
                            sov.regions.len()
                        ),
                    )
                    .at(spec_loc(sov, "/spec/topology/regions"))
                    .note(format!("{name}'s placementSchema"), bp.placement_location.clone())
                    .help(format!("add regions to the Sovereign (a topology with {min} or more), or leave `{name}` out")),
                );
                continue;
            }
            if idx.len() < min {
                diags.push(
                    Diagnostic::error(
                        Code::TooFewRegions,
                        format!("`{name}` needs at least {min} regions (placementSchema.minRegions), but runs {mode} in {} of Sovereign `{}`", idx.len(), sov.name),
                    )
                    .at(at.clone().or_else(|| spec_loc(sov, "/spec/topology/regions")))
                    .note(format!("{name}'s placementSchema"), bp.placement_location.clone())
                    .help(format!("set spec.blueprints.{name}.placement to a mode and regions covering {min} regions")),
                );
            }
        }
        idx.dedup();
        for &i in &idx {
            for c in clusters_for(cat, bp, &clusters, i) {
                members.get_mut(&c).expect("cluster exists").insert(name.clone());
            }
        }
        placed
            .insert(name.clone(), Placed { mode, regions: idx.iter().map(|&i| region_names[i].to_string()).collect() });
    }

    // Dependencies follow their dependents into every cluster.
    for set in members.values_mut() {
        let mut stack: Vec<String> = set.iter().cloned().collect();
        while let Some(n) = stack.pop() {
            for d in res.edges.get(&n).into_iter().flatten() {
                if set.insert(d.clone()) {
                    stack.push(d.clone());
                }
            }
        }
    }
    // Regions each Blueprint ends up in; check them against its schema.
    let eff: BTreeMap<&String, Vec<usize>> = res
        .order
        .iter()
        .map(|n| {
            let mut r: Vec<usize> =
                clusters.iter().filter(|c| members[&c.name].contains(n)).map(|c| c.region_index).collect();
            r.dedup();
            (n, r)
        })
        .collect();
    for name in &res.order {
        let Some(bp) = cat.get(name) else { continue };
        let Some(chosen) = placed.get(name).map(|p| p.regions.clone()) else { continue };
        let mut names: Vec<String> = eff[name].iter().map(|&i| region_names[i].to_string()).collect();
        // The chosen (active) region first.
        names.sort_by_key(|r| chosen.iter().position(|x| x == r).unwrap_or(usize::MAX));
        if names.len() > 1 && bp.placement.modes.iter().all(|m| m == "single-region") {
            // The dependents that bring it to regions it was not placed in.
            let by: Vec<String> = res
                .order
                .iter()
                .filter(|d| res.edges.get(*d).is_some_and(|e| e.contains(name)))
                .filter(|d| eff[d].iter().any(|&i| !chosen.contains(&region_names[i].to_string())))
                .map(|d| format!("`{d}`"))
                .collect();
            diags.push(
                Diagnostic::error(
                    Code::PlacementConflict,
                    format!(
                        "`{name}` would run in regions {} because {} depend on it there, but its placementSchema allows single-region only",
                        names.join(", "),
                        by.join(", ")
                    ),
                )
                .at(bp.placement_location.clone())
                .help("allow active-active in its placementSchema, or place its dependents single-region"),
            );
        }
        if let Some(max) = bp.placement.max_regions
            && names.len() as u64 > max
        {
            diags.push(
                Diagnostic::error(
                    Code::TooManyRegions,
                    format!(
                        "`{name}` runs in {} regions of Sovereign `{}`, more than its placementSchema.maxRegions of {max}",
                        names.len(),
                        sov.name
                    ),
                )
                .at(crate::settings_for(sov, name).and_then(|s| s.location.clone())
                    .or_else(|| spec_loc(sov, "/spec/topology/regions")))
                .note(format!("{name}'s placementSchema"), bp.placement_location.clone())
                .help(format!("list at most {max} regions in spec.blueprints.{name}.placement.regions")),
            );
        }
        if let Some(p) = placed.get_mut(name) {
            p.regions = names;
        }
    }
    if diags.has_errors() {
        diags.sort();
        return Err(diags);
    }
    Ok(Placement { clusters, members, placed })
}

/// The clusters of region `i` a Blueprint runs in.
fn clusters_for(cat: &Catalog, bp: &Blueprint, clusters: &[HostCluster], i: usize) -> Vec<String> {
    let wanted = cat.building_blocks(&bp.name);
    let here: Vec<&HostCluster> = clusters.iter().filter(|c| c.region_index == i).collect();
    let hits: Vec<String> = here.iter().filter(|c| wanted.contains(&c.block)).map(|c| c.name.clone()).collect();
    if !hits.is_empty() {
        return hits;
    }
    // The region's inner cluster: mgt in the primary, rtz elsewhere.
    here.iter().filter(|c| c.block != "dmz").map(|c| c.name.clone()).collect()
}

fn spec_loc(sov: &Sovereign, ptr: &str) -> Option<Location> {
    sov.doc.pointer(ptr).map(|n| Location::new(sov.file.as_str(), n.pos.line, n.pos.col, n.width()))
}
