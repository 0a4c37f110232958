//! One change across a fleet: the same object changed the same way in many
//! Sovereigns is one [`Group`] with the Sovereigns it reaches, so a
//! catalog change that reaches 808 Sovereigns reads once ("identical in
//! 790 Sovereigns; 18 differ: …"), not 808 times.
//!
//! An entry's place in a group is what it is without its host cluster
//! (the same HelmRelease on `hz-fsn-…` and `hz-nbg-…`), and its variant is
//! what changed in it: the change, its fields (or the lock's inputs, or,
//! for text without fields, its changed lines without their numbers).

use std::collections::{BTreeMap, BTreeSet};

use crate::{Entry, FleetDiff, LineTag, Status, UnitId};

/// One entry: `sovereigns[sovereign].entries[entry]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Place {
    pub sovereign: usize,
    pub entry: usize,
}

/// The places where one thing changed in exactly the same way.
#[derive(Clone, Debug)]
pub struct Variant {
    pub places: Vec<Place>,
    /// The Sovereigns of the places (indices, ascending, once each).
    pub sovereigns: Vec<usize>,
}

/// Every change of one thing (an object by kind, namespace and name, or a
/// file, each without its host cluster) across the fleet.
#[derive(Clone, Debug)]
pub struct Group {
    /// The thing, as people read it (`HelmRelease/flux-system/bp-db`,
    /// `Deployment/db/db via HelmRelease/flux-system/bp-db`).
    pub title: String,
    /// The variants, the one reaching the most Sovereigns first.
    pub variants: Vec<Variant>,
}

impl Group {
    /// Every Sovereign the thing changed in.
    pub fn reach(&self) -> usize {
        self.variants.iter().flat_map(|v| &v.sovereigns).collect::<BTreeSet<_>>().len()
    }

    /// Whether some variant is the same in two Sovereigns or more (it is
    /// then shown once, not per Sovereign).
    pub fn is_shared(&self) -> bool {
        self.variants.first().is_some_and(|v| v.sovereigns.len() > 1)
    }
}

/// A path without its first component (the host cluster), for files.
fn without_cluster(path: &str) -> &str {
    path.split_once('/').map_or(path, |(_, rest)| rest)
}

/// What an entry is, without its host cluster.
pub(crate) fn title(e: &Entry) -> String {
    let name = |id: &UnitId| match id {
        UnitId::Object(o) => o.to_string(),
        UnitId::File(p) => without_cluster(p).to_string(),
    };
    let what = match &e.old_id {
        Some(old) => format!("{} → {}", name(old), name(&e.id)),
        None => name(&e.id),
    };
    match &e.via {
        Some(via) => format!("{what} via {via}"),
        None => what,
    }
}

/// What an entry is, without its host cluster, as a key: its title and,
/// since two kinds of one name in different API groups are two things, its
/// API group.
fn thing_key(e: &Entry) -> String {
    let api = match &e.id {
        UnitId::Object(o) => o.group.as_str(),
        UnitId::File(_) => "",
    };
    format!("{}\u{0}{api}", title(e))
}

/// What changed in an entry, as a key: equal keys are the same change.
fn variant_key(e: &Entry) -> String {
    let mut k = format!("{}\n", e.change.as_str());
    if let Some(old) = &e.old_path {
        // A move is the same move wherever the files are named alike.
        k.push_str(&format!("from {}\n", without_cluster(old)));
    }
    if let Some(l) = &e.lock {
        k.push_str(&format!("{l:?}\n"));
    } else if !e.fields.is_empty() {
        for f in &e.fields {
            k.push_str(&format!("{}\t{:?}\t{:?}\n", f.path, f.old, f.new));
        }
    } else {
        for h in &e.hunks {
            for (tag, line) in h.lines.iter().filter(|(t, _)| *t != LineTag::Context) {
                k.push_str(if *tag == LineTag::Added { "+" } else { "-" });
                k.push_str(line);
                k.push('\n');
            }
        }
    }
    k
}

/// The entries of Sovereigns that changed (not whole ones added or
/// removed), grouped; groups in the order their first entry appears.
pub fn groups(d: &FleetDiff) -> Vec<Group> {
    // title → variant key → places; titles in first-seen order.
    let mut order: Vec<String> = Vec::new();
    let mut by_title: BTreeMap<String, BTreeMap<String, Vec<Place>>> = BTreeMap::new();
    for (si, s) in d.sovereigns.iter().enumerate() {
        if s.status != Status::Changed {
            continue;
        }
        for (ei, e) in s.entries.iter().enumerate() {
            let t = thing_key(e);
            let variants = by_title.entry(t.clone()).or_insert_with(|| {
                order.push(t);
                BTreeMap::new()
            });
            variants.entry(variant_key(e)).or_default().push(Place { sovereign: si, entry: ei });
        }
    }
    order
        .into_iter()
        .map(|t| {
            let mut variants: Vec<Variant> = by_title
                .remove(&t)
                .unwrap_or_default()
                .into_values()
                .map(|places| {
                    let sovereigns: BTreeSet<usize> = places.iter().map(|p| p.sovereign).collect();
                    Variant { places, sovereigns: sovereigns.into_iter().collect() }
                })
                .collect();
            // Most Sovereigns first; then by where they first appear.
            variants.sort_by(|a, b| b.sovereigns.len().cmp(&a.sovereigns.len()).then(a.places[0].cmp(&b.places[0])));
            let title = t.split('\u{0}').next().unwrap_or_default().to_string();
            Group { title, variants }
        })
        .collect()
}

/// The places shown once in a fleet-wide section: every variant of a
/// group that reaches two Sovereigns or more.
pub(crate) fn shared_places(groups: &[Group]) -> BTreeSet<Place> {
    groups
        .iter()
        .flat_map(|g| &g.variants)
        .filter(|v| v.sovereigns.len() > 1)
        .flat_map(|v| v.places.iter().copied())
        .collect()
}

/// `a, b, c and 5 more`: at most `max` names.
pub(crate) fn name_list(names: &[&str], max: usize) -> String {
    if names.len() <= max {
        return names.join(", ");
    }
    format!("{} and {} more", names[..max].join(", "), names.len() - max)
}

/// The Sovereigns (their FQDNs) of a variant.
pub(crate) fn fqdns<'a>(d: &'a FleetDiff, sovereigns: &[usize]) -> Vec<&'a str> {
    sovereigns.iter().map(|&i| d.sovereigns[i].fqdn.as_str()).collect()
}

/// The Sovereigns of a group outside one variant (those where it differs).
pub(crate) fn others(g: &Group, v: &Variant) -> Vec<usize> {
    let mine: BTreeSet<usize> = v.sovereigns.iter().copied().collect();
    g.variants
        .iter()
        .flat_map(|x| &x.sovereigns)
        .filter(|s| !mine.contains(s))
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// `identical in 790 Sovereigns; 18 differ: a, b, …` for one variant.
pub(crate) fn reach_line(d: &FleetDiff, g: &Group, v: &Variant, max: usize) -> String {
    let n = v.sovereigns.len();
    let mut s = format!("identical in {n} Sovereign{}", if n == 1 { "" } else { "s" });
    let rest = others(g, v);
    if !rest.is_empty() {
        s.push_str(&format!("; {} differ: {}", rest.len(), name_list(&fqdns(d, &rest), max)));
    }
    s
}

/// The host clusters of a variant's places in one Sovereign.
pub(crate) fn clusters_of(d: &FleetDiff, v: &Variant, sovereign: usize) -> Vec<String> {
    let mut out: Vec<String> = v
        .places
        .iter()
        .filter(|p| p.sovereign == sovereign)
        .filter_map(|p| match &d.sovereigns[p.sovereign].entries[p.entry].id {
            UnitId::Object(o) if !o.cluster.is_empty() => Some(o.cluster.clone()),
            UnitId::File(f) => f.split_once('/').map(|(c, _)| c.to_string()),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The variants shown once for the fleet, each with its group and the
/// entry of its first place (which stands for all of them).
pub(crate) fn shared_variants<'a>(
    d: &'a FleetDiff,
    groups: &'a [Group],
) -> impl Iterator<Item = (&'a Group, &'a Variant, &'a Entry)> + 'a {
    groups.iter().flat_map(move |g| {
        g.variants
            .iter()
            .filter(|v| v.sovereigns.len() > 1)
            .map(move |v| (g, v, &d.sovereigns[v.places[0].sovereign].entries[v.places[0].entry]))
    })
}

/// The entries of Sovereign `si` that are not shown once for the fleet.
pub(crate) fn own_entries<'a>(d: &'a FleetDiff, si: usize, shared: &BTreeSet<Place>) -> Vec<&'a Entry> {
    d.sovereigns[si]
        .entries
        .iter()
        .enumerate()
        .filter(|(ei, _)| !shared.contains(&Place { sovereign: si, entry: *ei }))
        .map(|(_, e)| e)
        .collect()
}

/// A Sovereign's own entries with the same change on several of its host
/// clusters (a values change reaches a Blueprint wherever it runs) folded
/// into the first, with the clusters it is on when more than one.
pub(crate) fn fold_clusters(own: Vec<&Entry>) -> Vec<(&Entry, Vec<String>)> {
    let mut out: Vec<(&Entry, Vec<String>)> = Vec::new();
    let mut at: BTreeMap<(String, String), usize> = BTreeMap::new();
    for e in own {
        let cluster = match &e.id {
            UnitId::Object(o) => o.cluster.clone(),
            UnitId::File(p) => p.split_once('/').map(|(c, _)| c.to_string()).unwrap_or_default(),
        };
        // Only entries in a host cluster fold; a moved one names its files.
        if cluster.is_empty() || e.old_path.is_some() {
            out.push((e, Vec::new()));
            continue;
        }
        match at.get(&(thing_key(e), variant_key(e))) {
            Some(&i) => out[i].1.push(cluster),
            None => {
                at.insert((thing_key(e), variant_key(e)), out.len());
                out.push((e, vec![cluster]));
            }
        }
    }
    for (_, clusters) in &mut out {
        if clusters.len() < 2 {
            clusters.clear();
        }
    }
    out
}
