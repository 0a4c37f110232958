//! Finding tethers in parsed documents.

use catalyst_yaml::Node;

use crate::refs::{ImageRef, host_of, is_api_version, parse_image};
use crate::{Tether, TetherKind};

const FLUX_SOURCE: &str = "source.toolkit.fluxcd.io";
const FLUX_HELM: &str = "helm.toolkit.fluxcd.io";
const CROSSPLANE_PKG: &str = "pkg.crossplane.io";
const KUSTOMIZE: &str = "kustomize.config.k8s.io";

/// Crossplane's registry for packages that do not name one.
pub(crate) const CROSSPLANE_DEFAULT_REGISTRY: &str = "xpkg.crossplane.io";

struct Ctx<'a> {
    file: &'a str,
    object: String,
    out: &'a mut Vec<Tether>,
}

impl Ctx<'_> {
    fn push(&mut self, kind: TetherKind, reference: String, host: String, node: &Node, field: &str) {
        self.out.push(Tether {
            kind,
            reference,
            host,
            file: self.file.to_string(),
            line: node.pos.line,
            column: node.pos.col,
            object: self.object.clone(),
            field: field.to_string(),
        });
    }

    /// A URL field: reported whatever it points at (even a host that
    /// cannot be read out of it: that, too, is somewhere to go).
    fn url(&mut self, kind: TetherKind, node: Option<&Node>, field: &str) {
        let Some(n) = node else { return };
        let Some(url) = n.as_str().map(str::trim).filter(|u| !u.is_empty()) else { return };
        let host = host_of(url).unwrap_or_default();
        self.push(kind, url.to_string(), host, n, field);
    }
}

/// Tethers of the documents of one file.
pub(crate) fn scan_docs(file: &str, docs: &[Node], out: &mut Vec<Tether>) {
    for doc in docs {
        if doc.as_map().is_none() {
            continue;
        }
        let kind = doc.get("kind").and_then(Node::as_str);
        let Some(kind) = kind else {
            // Not a Kubernetes object: OpenTofu variables.
            let mut cx = Ctx { file, object: String::new(), out: &mut *out };
            cx.url(TetherKind::Git, doc.get("gitops_repo_url"), "gitops_repo_url");
            continue;
        };
        let api = doc.get("apiVersion").and_then(Node::as_str).unwrap_or("");
        let group = api.rsplit_once('/').map_or("", |(g, _)| g);
        let name = doc.path(&["metadata", "name"]).and_then(Node::as_text).unwrap_or("");
        let object = match doc.path(&["metadata", "namespace"]).and_then(Node::as_text) {
            Some(ns) => format!("{kind}/{ns}/{name}"),
            None => format!("{kind}/{name}"),
        };
        let mut cx = Ctx { file, object, out: &mut *out };
        let spec = doc.get("spec");
        let at = |k: &str| spec.and_then(|s| s.get(k));
        match (group, kind) {
            (FLUX_SOURCE, "GitRepository") => cx.url(TetherKind::Git, at("url"), "spec.url"),
            (FLUX_SOURCE, "OCIRepository" | "HelmRepository") => {
                cx.url(TetherKind::ChartRegistry, at("url"), "spec.url")
            }
            (FLUX_HELM, "HelmRelease") => {
                if let Some(values) = at("values") {
                    walk(&mut cx, values, &mut vec!["spec".into(), "values".into()], Mode::Values, false);
                }
            }
            (CROSSPLANE_PKG, "Provider" | "Function" | "Configuration") => {
                if let Some(n) = at("package")
                    && let Some(p) = n.as_str().map(str::trim).filter(|p| !p.is_empty())
                {
                    let host = match parse_image(p) {
                        Some(i) => i.host,
                        // `crossplane-contrib/provider-x:v1` names no registry:
                        // Crossplane's default one.
                        None if !p.contains("://") => CROSSPLANE_DEFAULT_REGISTRY.to_string(),
                        None => host_of(p).unwrap_or_default(),
                    };
                    cx.push(TetherKind::ProviderPackage, p.to_string(), host, n, "spec.package");
                }
            }
            (KUSTOMIZE, "Kustomization") => {
                // Remote bases: kustomize fetches them from Git.
                for key in ["resources", "components", "bases"] {
                    let Some(items) = doc.get(key).and_then(Node::as_seq) else { continue };
                    for (i, item) in items.iter().enumerate() {
                        let Some(s) = item.as_str() else { continue };
                        if is_remote_base(s) {
                            cx.url(TetherKind::Git, Some(item), &format!("{key}[{i}]"));
                        }
                    }
                }
            }
            _ => {}
        }
        // Images named anywhere else in the object (pod specs, Flux
        // ImageRepository, kustomize `images:`, Crossplane runtime configs),
        // but only under image keys: outside HelmRelease values a tagged
        // string elsewhere is not taken for an image.
        if let Some(m) = doc.as_map() {
            for (k, v) in m {
                let Some(key) = k.as_str() else { continue };
                if matches!(key, "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                walk(&mut cx, v, &mut vec![key.to_string()], Mode::Strict, is_image_key(key));
            }
        }
    }
}

/// How eagerly strings are taken for image references.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// HelmRelease values: any tagged reference with a registry host, and
    /// untagged ones under image keys.
    Values,
    /// Elsewhere: only under image keys.
    Strict,
}

/// Keys whose values are images: `image`, `images`, `initImage`,
/// `sidecarImages`, ... (not `imagePullSecrets`, `imageChartStorage`).
fn is_image_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with("image") || k.ends_with("images")
}

/// Keys whose scalar value is a registry host (`registry: docker.io`,
/// `imageRegistry: ghcr.io`).
fn is_registry_key(key: &str) -> bool {
    key == "registry" || key.ends_with("Registry")
}

/// A registry host, optionally with a path prefix (`harbor.x.io/proxy`).
fn registry_host(s: &str) -> Option<String> {
    if s.contains("://") {
        return None;
    }
    // Reuse the image grammar: `host/x` parses when `host` is a registry.
    let probe = if s.contains('/') { s.to_string() } else { format!("{s}/x") };
    let i = parse_image(&probe)?;
    (i.tag.is_none() && i.digest.is_none()).then_some(i.host)
}

fn is_remote_base(s: &str) -> bool {
    s.contains("://")
        || s.starts_with("git@")
        || ["github.com/", "gitlab.com/", "bitbucket.org/"].iter().any(|p| s.starts_with(p))
}

fn field(path: &[String]) -> String {
    let mut s = String::new();
    for p in path {
        if !p.starts_with('[') && !s.is_empty() {
            s.push('.');
        }
        s.push_str(p);
    }
    s
}

fn sibling<'n>(map: &'n [(Node, Node)], key: &str) -> Option<&'n Node> {
    map.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
}

fn walk(cx: &mut Ctx<'_>, node: &Node, path: &mut Vec<String>, mode: Mode, in_image: bool) {
    if let Some(map) = node.as_map() {
        for (k, v) in map {
            let Some(key) = k.as_str().or_else(|| k.as_text()) else { continue };
            path.push(key.to_string());
            let image_here = in_image || is_image_key(key);
            match v.as_str() {
                Some(s) => scalar(cx, map, key, v, s, path, mode, image_here),
                None => walk(cx, v, path, mode, image_here),
            }
            path.pop();
        }
    } else if let Some(items) = node.as_seq() {
        for (i, item) in items.iter().enumerate() {
            path.push(format!("[{i}]"));
            match item.as_str() {
                Some(s) => {
                    if let Some(img) = parse_image(s.trim())
                        && take_image(&img, s, mode, in_image)
                    {
                        cx.push(TetherKind::ImageRegistry, img.reference(), img.host, item, &field(path));
                    }
                }
                None => walk(cx, item, path, mode, in_image),
            }
            path.pop();
        }
    }
}

fn take_image(img: &ImageRef, s: &str, mode: Mode, in_image: bool) -> bool {
    let tagged = img.tag.is_some() || img.digest.is_some();
    (in_image || (mode == Mode::Values && tagged)) && (tagged || !is_api_version(s))
}

#[allow(clippy::too_many_arguments)]
fn scalar(
    cx: &mut Ctx<'_>,
    map: &[(Node, Node)],
    key: &str,
    node: &Node,
    s: &str,
    path: &[String],
    mode: Mode,
    in_image: bool,
) {
    let s = s.trim();
    if key == "apiVersion" {
        return;
    }
    let repository = sibling(map, "repository").and_then(Node::as_str).map(str::trim);
    let tag = sibling(map, "tag").or_else(|| sibling(map, "newTag")).and_then(Node::as_text);
    let digest = sibling(map, "digest").and_then(Node::as_str);
    if is_registry_key(key) {
        let Some(host) = registry_host(s) else { return };
        if mode == Mode::Strict && !in_image {
            return;
        }
        // `registry: docker.io` + `repository: bitnami/redis` (+ `tag`).
        let reference = match repository.filter(|r| !r.is_empty() && parse_image(r).is_none()) {
            Some(r) => {
                let mut x = format!("{}/{}", s.trim_end_matches('/'), r);
                if !r.contains(':')
                    && let Some(t) = tag
                {
                    x = format!("{x}:{t}");
                }
                if !r.contains('@')
                    && let Some(d) = digest
                {
                    x = format!("{x}@{d}");
                }
                x
            }
            None => s.to_string(),
        };
        cx.push(TetherKind::ImageRegistry, reference, host, node, &field(path));
        return;
    }
    let Some(mut img) = parse_image(s) else { return };
    // `repository: ghcr.io/x/y` beside `tag:` is an image whatever its parent.
    let image_ctx = in_image || ((key == "repository" || key == "newName") && (tag.is_some() || digest.is_some()));
    if matches!(key, "repository" | "newName" | "image") {
        if img.tag.is_none() && img.digest.is_none() {
            img.tag = tag.map(str::to_string);
        }
        if img.digest.is_none() {
            img.digest = digest.map(str::to_string);
        }
    }
    if take_image(&img, s, mode, image_ctx) {
        cx.push(TetherKind::ImageRegistry, img.reference(), img.host.clone(), node, &field(path));
    }
}
