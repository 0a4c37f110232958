//! Printing a resolved graph as DOT, Mermaid or JSON.

use catalyst_catalog::Catalog;

use crate::Resolution;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}

/// Renders the graph; edges point from a Blueprint to what it depends on.
pub fn render_graph(res: &Resolution, cat: &Catalog, title: &str, format: GraphFormat) -> String {
    let version = |n: &str| cat.get(n).map_or_else(String::new, |b| b.chart_version());
    match format {
        GraphFormat::Dot => {
            let mut s = format!(
                "digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n",
                title.replace('"', "'")
            );
            for n in &res.order {
                let style = if res.mandatory.contains(n) { ", style=bold" } else { "" };
                s.push_str(&format!("  \"{n}\" [label=\"{n}\\n{}\"{style}];\n", version(n)));
            }
            for n in &res.order {
                for d in &res.edges[n] {
                    s.push_str(&format!("  \"{n}\" -> \"{d}\";\n"));
                }
            }
            s.push_str("}\n");
            s
        }
        GraphFormat::Mermaid => {
            let id = |n: &str| n.replace('-', "_");
            let mut s = format!("---\ntitle: {title}\n---\ngraph LR\n");
            for n in &res.order {
                s.push_str(&format!("  {}[\"{n} {}\"]\n", id(n), version(n)));
            }
            for n in &res.order {
                for d in &res.edges[n] {
                    s.push_str(&format!("  {} --> {}\n", id(n), id(d)));
                }
            }
            s
        }
        GraphFormat::Json => {
            let nodes = res
                .order
                .iter()
                .map(|n| Node {
                    name: n.clone(),
                    version: version(n),
                    family: cat.family_of(n).map(|(f, _)| f.name.clone()),
                    mandatory: res.mandatory.contains(n),
                    reason: res.reasons.get(n).map(|r| r.to_string()),
                    depends_on: res.edges[n].clone(),
                })
                .collect();
            let edges = res
                .order
                .iter()
                .flat_map(|n| res.edges[n].iter().map(move |d| Edge { from: n.clone(), to: d.clone() }))
                .collect();
            let doc = Graph {
                title: title.to_string(),
                order: res.order.clone(),
                nodes,
                edges,
                dropped: res.dropped.clone(),
            };
            serde_json::to_string_pretty(&doc).expect("serializes") + "\n"
        }
    }
}

/// `graph --format json`: the resolved graph for tools.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Graph {
    pub title: String,
    /// The install order.
    pub order: Vec<String>,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Blueprints left out, each with why.
    pub dropped: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    pub name: String,
    /// The chart version (empty when unknown).
    pub version: String,
    pub family: Option<String>,
    pub mandatory: bool,
    /// Why it is installed.
    pub reason: Option<String>,
    pub depends_on: Vec<String>,
}

/// `from` depends on `to`.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Edge {
    pub from: String,
    pub to: String,
}
