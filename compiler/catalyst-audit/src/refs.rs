//! Hosts of URLs and image references.

/// The host a URL or reference reaches, lower case, without user, port or
/// a trailing dot: `oci://ghcr.io/x` → `ghcr.io`,
/// `https://user@host:8443/path` → `host`, `ssh://git@host/org/repo` →
/// `host`, scp-like `git@host:org/repo` → `host`, an image reference with a
/// registry `localhost:5000/x:1` → `localhost`. `None` when there is none.
pub fn host_of(reference: &str) -> Option<String> {
    let s = reference.trim();
    let (rest, scheme) = match s.find("://") {
        Some(i) => (&s[i + 3..], Some(&s[..i])),
        None => (s, None),
    };
    if scheme.is_some_and(|sc| sc.eq_ignore_ascii_case("file")) {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    // User information ends at the last `@` of the authority.
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split_once(']').map_or(v6, |(h, _)| h)
    } else {
        // `host:port` with a scheme or as an image registry; `host:org/repo`
        // (scp-like) without one. Either way the host is before the colon.
        hostport.split_once(':').map_or(hostport, |(h, _)| h)
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() || !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')) {
        return None;
    }
    Some(host)
}

/// A container image reference that names its registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// The registry host, lower case, without port.
    pub host: String,
    /// `host[:port]/path`, without tag or digest.
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// The reference as written: name, `:tag`, `@digest`.
    pub fn reference(&self) -> String {
        let mut s = self.name.clone();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }
}

/// Parses `s` as an image reference (`registry/path[:tag][@digest]`, the
/// grammar of the distribution reference) whose first component is a
/// registry host: it has a dot or a port, or is `localhost`. Plain names
/// (`nginx:1.27`, `bitnami/redis`) name no registry and give `None`, as do
/// URLs, words and anything with spaces.
pub fn parse_image(s: &str) -> Option<ImageRef> {
    if s.is_empty() || s.len() > 512 || s.contains("://") || !s.is_ascii() {
        return None;
    }
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        let (algo, hex) = d.split_once(':')?;
        let algo_ok = !algo.is_empty()
            && algo
                .split(['+', '.', '_', '-'])
                .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        let hex_ok =
            hex.len() >= 32 && hex.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'=' | b'_' | b'-'));
        if !algo_ok || !hex_ok {
            return None;
        }
    }
    let (domain, path) = rest.split_once('/')?;
    let (path, tag) = match path.rsplit_once(':') {
        Some((p, t)) => (p, Some(t)),
        None => (path, None),
    };
    if let Some(t) = tag {
        let b = t.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 128
            && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
            && b.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
        if !ok {
            return None;
        }
    }
    let (host, port) = match domain.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (domain, None),
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit())) {
        return None;
    }
    let labels_ok = host.split('.').all(|l| {
        let b = l.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
    });
    if !labels_ok || !(host.contains('.') || port.is_some() || host == "localhost") {
        return None;
    }
    if !path.split('/').all(path_component_ok) {
        return None;
    }
    Some(ImageRef {
        host: host.to_ascii_lowercase(),
        name: format!("{domain}/{path}"),
        tag: tag.map(str::to_string),
        digest: digest.map(str::to_string),
    })
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn path_component_ok(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !alnum_lower(b[0]) || !alnum_lower(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum_lower(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum_lower(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-')) {
            return false;
        }
    }
    true
}

fn alnum_lower(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Whether `s` looks like a Kubernetes API version of a group
/// (`compose.openova.io/v1alpha1`), which the image grammar also accepts.
pub(crate) fn is_api_version(s: &str) -> bool {
    let Some((_, v)) = s.split_once('/') else { return false };
    let Some(rest) = v.strip_prefix('v') else { return false };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let rest = &rest[digits..];
    let level = rest.strip_prefix("alpha").or_else(|| rest.strip_prefix("beta"));
    match level {
        None => rest.is_empty(),
        Some(n) => !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()),
    }
}

/// Whether `host` is `domain` or a subdomain of it (`a.b.c` is under `b.c`;
/// `xb.c` is not).
pub fn is_under(host: &str, domain: &str) -> bool {
    let domain = domain.trim_end_matches('.');
    if domain.is_empty() {
        return false;
    }
    host.eq_ignore_ascii_case(domain)
        || (host.len() > domain.len()
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
            && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls() {
        let cases = [
            ("oci://ghcr.io/openova-io", "ghcr.io"),
            ("oci://ghcr.io", "ghcr.io"),
            ("https://github.com/openova-io/openova.git", "github.com"),
            ("https://user@gitea.example.com:8443/org/repo.git", "gitea.example.com"),
            ("https://user:pass@Gitea.Example.com/org/repo.git", "gitea.example.com"),
            ("ssh://git@github.com/openova-io/openova.git", "github.com"),
            ("ssh://git@github.com:22/openova-io/openova.git", "github.com"),
            ("git@github.com:openova-io/openova.git", "github.com"),
            ("github.com:openova-io/openova.git", "github.com"),
            ("http://localhost:5000/x", "localhost"),
            ("ghcr.io/corazawaf/coraza-spoa:0.4.0", "ghcr.io"),
            ("localhost:5000/x:1", "localhost"),
            ("https://github.com./x", "github.com"),
            ("https://[::1]:8080/x", "::1"),
            ("https://charts.example.com?x=1", "charts.example.com"),
        ];
        for (url, host) in cases {
            assert_eq!(host_of(url).as_deref(), Some(host), "{url}");
        }
        assert_eq!(host_of(""), None);
        assert_eq!(host_of("file:///srv/git/x"), None);
        assert_eq!(host_of("https://"), None);
        assert_eq!(host_of("https://a b/x"), None);
    }

    #[test]
    fn image_references() {
        let i = parse_image("ghcr.io/corazawaf/coraza-spoa:0.4.0").unwrap();
        assert_eq!(
            (i.host.as_str(), i.name.as_str(), i.tag.as_deref()),
            ("ghcr.io", "ghcr.io/corazawaf/coraza-spoa", Some("0.4.0"))
        );
        let i = parse_image("harbor.openova.io/library/nginx:1.27").unwrap();
        assert_eq!(i.host, "harbor.openova.io");
        assert_eq!(i.reference(), "harbor.openova.io/library/nginx:1.27");
        let i = parse_image("localhost:5000/team/app").unwrap();
        assert_eq!((i.host.as_str(), i.tag.as_deref()), ("localhost", None));
        let d = format!("registry.k8s.io/pause@sha256:{}", "a".repeat(64));
        let i = parse_image(&d).unwrap();
        assert_eq!(i.host, "registry.k8s.io");
        assert_eq!(i.reference(), d);
        let i = parse_image("Quay.io/jetstack/cert-manager-controller:v1.16.2").unwrap();
        assert_eq!(i.host, "quay.io");

        // No registry, not an image, or not a reference at all.
        for s in [
            "nginx:1.27",
            "bitnami/redis:7",
            "library/nginx",
            "https://ghcr.io/x/y",
            "oci://ghcr.io/x",
            "ghcr.io",
            "ghcr.io/",
            "ghcr.io/UPPER/case",
            "ghcr.io/x/y:",
            "ghcr.io/x/y:-bad",
            "ghcr.io/x/y@sha256:short",
            "a b.io/x",
            "IfNotPresent",
            "10.0.0.0/8 ",
            "-bad.io/x",
            "host.io:port/x",
        ] {
            assert_eq!(parse_image(s), None, "{s}");
        }
    }

    #[test]
    fn api_versions() {
        assert!(is_api_version("compose.openova.io/v1alpha1"));
        assert!(is_api_version("apps/v1"));
        assert!(is_api_version("helm.toolkit.fluxcd.io/v2beta2"));
        assert!(!is_api_version("ghcr.io/v1x"));
        assert!(!is_api_version("ghcr.io/valkey"));
        assert!(!is_api_version("ghcr.io/v1alpha"));
    }

    #[test]
    fn domains_are_exact() {
        assert!(is_under("github.com", "github.com"));
        assert!(is_under("api.github.com", "github.com"));
        assert!(is_under("API.GitHub.com", "github.com"));
        assert!(!is_under("raw.githubusercontent.com", "github.com"));
        assert!(!is_under("notgithub.com", "github.com"));
        assert!(!is_under("github.com.evil.example", "github.com"));
        assert!(is_under("harbor.omantel.omani.works", "omantel.omani.works"));
        assert!(!is_under("omani.works", "omantel.omani.works"));
        assert!(!is_under("anything", ""));
    }
}
