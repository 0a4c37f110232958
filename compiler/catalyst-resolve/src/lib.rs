//! Dependency resolution.
//!
//! [`resolve`] turns a Sovereign's selection (families, included and
//! excluded Blueprints) into the set of Blueprints to install:
//!
//! 1. mandatory members of required families, of selected families, and of
//!    the family of every individually selected Blueprint — and everything
//!    they depend on, which is mandatory too;
//! 2. recommended members of selected families, and included Blueprints;
//! 3. minus exclusions: a root that needs an excluded Blueprint goes too,
//!    unless it was asked for explicitly or is mandatory (then it is an
//!    error);
//! 4. plus transitive dependencies (conditional ones when their `when`
//!    holds), each checked against its version range.
//!
//! Cycles are reported with the full path. [`Resolution::order`] is a
//! topological order (dependencies first) that breaks ties by name, so it
//! never depends on hash or file-system order.

mod graph;

use std::collections::{BTreeMap, BTreeSet};

use catalyst_catalog::{Blueprint, Catalog, Depend, Tier};
use catalyst_diag::{Code, DiagResult, Diagnostic, Diagnostics, Warned};
use catalyst_spec::NameRef;

pub use graph::{Edge as GraphEdge, Graph, GraphFormat, Node as GraphNode, render_graph};

/// Why a Blueprint is in the set.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// A mandatory member of a family.
    Mandatory { family: String },
    /// A recommended member of a selected family.
    Family { family: String },
    /// Named in `components.include`.
    Selected,
    /// Needed by another Blueprint in the set.
    DependencyOf(String),
    /// Part of a whole-catalog graph.
    Catalog,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Mandatory { family } => write!(f, "mandatory ({family})"),
            Reason::Family { family } => write!(f, "family {family}"),
            Reason::Selected => f.write_str("selected"),
            Reason::DependencyOf(b) => write!(f, "dependency of {b}"),
            Reason::Catalog => f.write_str("catalog"),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Resolution {
    /// Install order: every Blueprint after all it depends on.
    pub order: Vec<String>,
    /// Each Blueprint's dependencies within the set, sorted.
    pub edges: BTreeMap<String, Vec<String>>,
    pub reasons: BTreeMap<String, Reason>,
    /// Blueprints that cannot be left out.
    pub mandatory: BTreeSet<String>,
    /// Blueprints dropped because they need an excluded one.
    pub dropped: BTreeMap<String, String>,
    /// Blueprints resolution read but left out (the dropped ones and what
    /// they reach): a change to one of them can change the resolution.
    pub considered: BTreeSet<String>,
}

impl Resolution {
    pub fn contains(&self, name: &str) -> bool {
        self.edges.contains_key(name)
    }
}

/// What the Sovereign asked for.
#[derive(Clone, Copy, Debug)]
pub struct Selection<'a> {
    pub families: &'a [NameRef],
    pub include: &'a [NameRef],
    pub exclude: &'a [NameRef],
}

/// Decides whether a conditional dependency applies (evaluates `when`).
pub type WhenFn<'a> = dyn Fn(&Blueprint, &Depend) -> Result<bool, Diagnostic> + 'a;

/// Resolves a selection against the catalog; the warnings are the
/// selections that had no effect.
pub fn resolve(cat: &Catalog, sel: Selection<'_>, when: &WhenFn<'_>) -> DiagResult<Warned<Resolution>> {
    let mut diags = Diagnostics::new();
    let mut warnings = Diagnostics::new();
    let mut res = Resolution::default();

    // Names the user wrote must exist.
    let known = |r: &NameRef, diags: &mut Diagnostics| -> Option<String> {
        let n = Catalog::canonical_name(&r.name);
        if cat.get(&n).is_some() {
            return Some(n);
        }
        let mut d =
            Diagnostic::error(Code::UnknownBlueprint, format!("`{}` is not a Blueprint in the catalog", r.name))
                .at(r.location.clone());
        d = match cat.suggest(&r.name) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help("`catalyst graph --catalog` lists every Blueprint"),
        };
        diags.push(d);
        None
    };
    let include: Vec<String> = sel.include.iter().filter_map(|r| known(r, &mut diags)).collect();
    let exclude: BTreeMap<String, &NameRef> =
        sel.exclude.iter().filter_map(|r| known(r, &mut diags).map(|n| (n, r))).collect();
    let mut families: Vec<&catalyst_catalog::Family> = Vec::new();
    for r in sel.families {
        match cat.families.iter().find(|f| f.name == r.name) {
            Some(f) => families.push(f),
            None => {
                let mut d = Diagnostic::error(Code::UnknownFamily, format!("`{}` is not a product family", r.name))
                    .at(r.location.clone());
                let names: Vec<&str> = cat.families.iter().map(|f| f.name.as_str()).collect();
                d = match catalyst_diag::suggest(&r.name, names.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help(format!("families: {}", names.join(", "))),
                };
                diags.push(d);
            }
        }
    }

    // 1. Mandatory roots.
    let mut roots: BTreeMap<String, Reason> = BTreeMap::new();
    let mut mandatory_families: Vec<&catalyst_catalog::Family> = cat.families.iter().filter(|f| f.required).collect();
    mandatory_families.extend(families.iter().copied());
    for n in &include {
        if let Some((f, _)) = cat.family_of(n) {
            mandatory_families.push(f);
        }
    }
    for f in &mandatory_families {
        for (m, t) in &f.members {
            if *t == Tier::Mandatory && cat.get(m).is_some() {
                roots.entry(m.clone()).or_insert(Reason::Mandatory { family: f.name.clone() });
            }
        }
    }
    let mandatory_roots: Vec<String> = roots.keys().cloned().collect();
    for m in &mandatory_roots {
        for dep in closure(cat, m, when, &mut diags) {
            res.mandatory.insert(dep);
        }
    }

    // 2. Recommended members and explicit picks.
    for f in &families {
        for (m, t) in &f.members {
            if *t == Tier::Recommended && cat.get(m).is_some() {
                roots.entry(m.clone()).or_insert(Reason::Family { family: f.name.clone() });
            }
        }
    }
    for n in &include {
        roots.entry(n.clone()).or_insert(Reason::Selected);
    }

    // 3. Exclusions.
    for (n, r) in &exclude {
        if res.mandatory.contains(n) {
            let why = match roots.get(n) {
                Some(Reason::Mandatory { family }) => {
                    format!("it is a mandatory member of `{family}`")
                }
                _ => {
                    let by = res
                        .mandatory
                        .iter()
                        .find(|m| closure(cat, m, when, &mut Diagnostics::new()).contains(n) && *m != n);
                    format!("mandatory `{}` needs it", by.map_or("?", String::as_str))
                }
            };
            diags.push(
                Diagnostic::error(Code::CannotExclude, format!("`{n}` cannot be excluded: {why}"))
                    .at(r.location.clone())
                    .help("remove it from components.exclude"),
            );
        } else if include.contains(n) {
            diags.push(
                Diagnostic::error(Code::ContradictorySelection, format!("`{n}` is both included and excluded"))
                    .at(r.location.clone())
                    .help("keep it in one of components.include and components.exclude"),
            );
        }
    }
    let mut kept: BTreeMap<String, Reason> = BTreeMap::new();
    for (root, reason) in &roots {
        if exclude.contains_key(root) {
            continue;
        }
        let reach = closure(cat, root, when, &mut Diagnostics::new());
        match reach.iter().find(|x| exclude.contains_key(*x)) {
            Some(ex) if ex != root => {
                if *reason == Reason::Selected {
                    let at = sel
                        .include
                        .iter()
                        .find(|r| Catalog::canonical_name(&r.name) == *root)
                        .and_then(|r| r.location.clone());
                    diags.push(
                        Diagnostic::error(
                            Code::ExcludedDependency,
                            format!("`{root}` is selected but needs `{ex}`, which is excluded"),
                        )
                        .at(at)
                        .help(format!("drop `{ex}` from components.exclude, or `{root}` from components.include")),
                    );
                } else {
                    res.dropped.insert(root.clone(), ex.clone());
                    res.considered.extend(reach.iter().cloned());
                }
            }
            _ => {
                kept.insert(root.clone(), reason.clone());
            }
        }
    }

    // 4. Transitive closure of what is kept.
    let mut stack: Vec<String> = kept.keys().rev().cloned().collect();
    res.reasons = kept;
    while let Some(n) = stack.pop() {
        if res.edges.contains_key(&n) {
            continue;
        }
        let bp = cat.get(&n).expect("only known names are pushed");
        let mut deps = Vec::new();
        for d in active_depends(bp, when, &mut diags) {
            match cat.get(&d.blueprint) {
                // A missing target, or a version outside the range, is a
                // problem of the catalog: it reports it once, attached to
                // this Blueprint, and that stops the render.
                None => {}
                Some(target) => {
                    deps.push(target.name.clone());
                    res.reasons.entry(target.name.clone()).or_insert_with(|| Reason::DependencyOf(n.clone()));
                    stack.push(target.name.clone());
                }
            }
        }
        deps.sort();
        deps.dedup();
        res.edges.insert(n, deps);
    }
    res.mandatory.retain(|m| res.edges.contains_key(m));
    for (n, r) in &exclude {
        if !roots.contains_key(n) && !res.edges.contains_key(n) && !res.dropped.values().any(|v| v == n) {
            warnings.push(
                Diagnostic::warning(Code::NoEffect, format!("`{n}` is excluded but nothing selects it"))
                    .at(r.location.clone())
                    .help("remove it from components.exclude"),
            );
        }
    }

    finish(cat, res, diags).map(|output| Warned { output, warnings })
}

/// The whole catalog as one graph (every Blueprint, every declared edge to
/// a Blueprint that exists). Fails only on cycles.
pub fn resolve_catalog(cat: &Catalog) -> Result<Resolution, Diagnostics> {
    let mut res = Resolution { edges: catalog_edges(cat, |_| true), ..Default::default() };
    let diags = Diagnostics::new();
    for name in res.edges.keys() {
        res.reasons.insert(name.clone(), Reason::Catalog);
    }
    for f in &cat.families {
        for (m, t) in &f.members {
            if *t == Tier::Mandatory && f.required && res.edges.contains_key(m) {
                res.mandatory.insert(m.clone());
            }
        }
    }
    // Edges to missing Blueprints are left out here; `validate` reports them.
    finish(cat, res, diags)
}

/// Cycles among the catalog's unconditional dependencies (those without
/// `when:`): any Sovereign selecting one of their Blueprints gets all of
/// them and fails, so the catalog alone is wrong. A cycle through a
/// conditional dependency depends on a Sovereign's configuration and is
/// reported when a render meets it.
pub fn catalog_cycles(cat: &Catalog) -> Diagnostics {
    let edges = catalog_edges(cat, |d| d.when.is_none());
    let mut diags = Diagnostics::new();
    for cycle in find_cycles(&edges) {
        diags.push(cycle_diagnostic(cat, &cycle));
    }
    diags
}

/// Every Blueprint of the catalog with the Blueprints it depends on through
/// the dependencies `keep` accepts (sorted, once each; edges to Blueprints
/// that do not exist are left out: `validate` reports them).
fn catalog_edges(cat: &Catalog, keep: impl Fn(&Depend) -> bool) -> BTreeMap<String, Vec<String>> {
    let mut edges = BTreeMap::new();
    for bp in cat.blueprints.values() {
        let mut deps: Vec<String> = bp
            .depends
            .iter()
            .flatten()
            .filter(|d| keep(d) && cat.get(&d.blueprint).is_some())
            .map(|d| d.blueprint.clone())
            .collect();
        deps.sort();
        deps.dedup();
        edges.insert(bp.name.clone(), deps);
    }
    edges
}

fn finish(cat: &Catalog, mut res: Resolution, mut diags: Diagnostics) -> Result<Resolution, Diagnostics> {
    for cycle in find_cycles(&res.edges) {
        diags.push(cycle_diagnostic(cat, &cycle));
    }
    if diags.has_errors() {
        diags.sort();
        return Err(diags);
    }
    res.order = topological_order(&res.edges);
    Ok(res)
}

fn active_depends<'b>(bp: &'b Blueprint, when: &WhenFn<'_>, diags: &mut Diagnostics) -> Vec<&'b Depend> {
    let mut out = Vec::new();
    for d in bp.depends.iter().flatten() {
        if d.when.is_none() {
            out.push(d);
            continue;
        }
        match when(bp, d) {
            Ok(true) => out.push(d),
            Ok(false) => {}
            Err(e) => diags.push(e.for_blueprint(bp.name.clone())),
        }
    }
    out
}

/// Everything `start` reaches through active dependencies, itself included.
fn closure(cat: &Catalog, start: &str, when: &WhenFn<'_>, diags: &mut Diagnostics) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![start.to_string()];
    while let Some(n) = stack.pop() {
        if !seen.insert(n.clone()) {
            continue;
        }
        if let Some(bp) = cat.get(&n) {
            for d in active_depends(bp, when, diags) {
                if cat.get(&d.blueprint).is_some() {
                    stack.push(d.blueprint.clone());
                }
            }
        }
    }
    seen
}

/// Every elementary cycle found by depth-first search, reported once each
/// with its full path, starting at its smallest name.
fn find_cycles(edges: &BTreeMap<String, Vec<String>>) -> Vec<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut mark: BTreeMap<&str, Mark> = edges.keys().map(|k| (k.as_str(), Mark::New)).collect();
    let mut found: BTreeSet<Vec<String>> = BTreeSet::new();
    for start in edges.keys() {
        if mark[start.as_str()] != Mark::New {
            continue;
        }
        // Iterative DFS keeping the current path.
        let mut path: Vec<&str> = vec![start];
        let mut iters: Vec<std::slice::Iter<'_, String>> = vec![edges[start].iter()];
        mark.insert(start, Mark::Active);
        while let Some(it) = iters.last_mut() {
            match it.next() {
                Some(next) => match mark.get(next.as_str()).copied() {
                    Some(Mark::New) => {
                        mark.insert(next, Mark::Active);
                        path.push(next);
                        iters.push(edges[next].iter());
                    }
                    Some(Mark::Active) => {
                        let i = path.iter().position(|p| p == next).expect("active nodes are on the path");
                        let mut cyc: Vec<String> = path[i..].iter().map(|s| s.to_string()).collect();
                        let min = cyc.iter().enumerate().min_by_key(|(_, s)| s.as_str()).map_or(0, |(i, _)| i);
                        cyc.rotate_left(min);
                        found.insert(cyc);
                    }
                    _ => {}
                },
                None => {
                    iters.pop();
                    if let Some(done) = path.pop() {
                        mark.insert(done, Mark::Done);
                    }
                }
            }
        }
    }
    found.into_iter().collect()
}

/// A cycle, at the `depends` entry that closes it from its first member,
/// with a note at every other edge.
fn cycle_diagnostic(cat: &Catalog, cycle: &[String]) -> Diagnostic {
    let mut path = cycle.to_vec();
    path.push(cycle[0].clone());
    let edge = |from: &str, to: &str| {
        cat.get(from)
            .and_then(|b| b.depends.iter().flatten().find(|d| d.blueprint == to))
            .and_then(|d| d.location.clone())
    };
    let mut d = Diagnostic::error(Code::DependencyCycle, format!("dependency cycle: {}", path.join(" → ")))
        .at(edge(&path[0], &path[1]))
        .for_blueprint(cycle[0].clone())
        .help("Flux cannot order a cycle; remove one of these dependencies (split a Blueprint if a CRD and its CRs need each other)");
    for w in path.windows(2).skip(1) {
        d = d.note(format!("{} depends on {}", w[0], w[1]), edge(&w[0], &w[1]));
    }
    d
}

/// Kahn's algorithm with the ready set kept sorted by name.
pub fn topological_order(edges: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut indeg: BTreeMap<&str, usize> = edges.keys().map(|k| (k.as_str(), 0)).collect();
    let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (n, deps) in edges {
        for d in deps {
            if indeg.contains_key(d.as_str()) {
                *indeg.get_mut(n.as_str()).expect("present") += 1;
                dependents.entry(d).or_default().push(n);
            }
        }
    }
    let mut ready: BTreeSet<&str> = indeg.iter().filter(|(_, d)| **d == 0).map(|(n, _)| *n).collect();
    let mut order = Vec::with_capacity(edges.len());
    while let Some(n) = ready.pop_first() {
        order.push(n.to_string());
        for m in dependents.get(n).into_iter().flatten() {
            let e = indeg.get_mut(m).expect("present");
            *e -= 1;
            if *e == 0 {
                ready.insert(m);
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(list: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        list.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect()
    }

    #[test]
    fn order_puts_dependencies_first_and_breaks_ties_by_name() {
        let e = edges(&[("c", &["a"]), ("b", &["a"]), ("a", &[]), ("d", &["c", "b"])]);
        assert_eq!(topological_order(&e), vec!["a", "b", "c", "d"]);
    }

    #[test]
    fn cycles_are_reported_with_their_full_path_once() {
        let e = edges(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &["d"]), ("e", &["a"])]);
        let c = find_cycles(&e);
        assert_eq!(c, vec![vec!["a", "b", "c"], vec!["d"]]);
    }
}
