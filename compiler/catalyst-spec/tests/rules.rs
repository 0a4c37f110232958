//! The spec's rules, data-driven: a spec in, its diagnostics (severity,
//! code, line:col, message, the line it points at) or a summary of the
//! Sovereign it parses to out. A case states only the sections of `spec`
//! it changes from [`BASE`]. `UPDATE_EXPECT=1 cargo test -p catalyst-spec
//! --test rules` rewrites the expectations; read the diff before
//! committing it.

use std::fmt::Write;

use catalyst_diag::Code;
use catalyst_spec::{Domain, Pattern, Sovereign, parse_partial};
use catalyst_yaml::Limits;
use expect_test::{Expect, expect};

/// A valid solo Sovereign, one section of `spec` a line: lines 5 to 9
/// of the spec file, after `apiVersion`, `kind`, `metadata` and `spec:`.
const BASE: [(&str, &str); 5] = [
    ("org", "{name: Omantel, email: ops@omantel.om}"),
    (
        "topology",
        "{shape: solo, regions: [{provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}]}",
    ),
    (
        "credentials",
        "{hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}",
    ),
    ("domain", "{mode: pool, pool: omani.works, subdomain: omantel}"),
    ("gitops", "{url: https://gitea.example.org/omantel/cluster.git}"),
];

/// [`BASE`] with `changes`: a section of it replaced, or another added
/// after them (in the order given). A value that starts with a newline
/// is a block, indented under its key.
fn spec(changes: &[(&str, &str)]) -> String {
    let mut text =
        "apiVersion: catalyst.openova.io/v1alpha1\nkind: Sovereign\nmetadata: {name: omantel}\nspec:\n".to_string();
    let changed = |k: &str| changes.iter().find(|(c, _)| *c == k).map(|(_, v)| *v);
    let added = changes.iter().filter(|(k, _)| BASE.iter().all(|(b, _)| b != k)).copied();
    for (k, v) in BASE.iter().map(|&(k, v)| (k, changed(k).unwrap_or(v))).chain(added) {
        match v.strip_prefix('\n') {
            Some(block) => {
                writeln!(text, "  {k}:").unwrap();
                block.lines().for_each(|l| writeln!(text, "    {l}").unwrap());
            }
            None => writeln!(text, "  {k}: {v}").unwrap(),
        }
    }
    text
}

#[track_caller]
fn check(changes: &[(&str, &str)], expect: Expect) {
    check_text(&spec(changes), expect);
}

#[track_caller]
fn check_text(text: &str, expect: Expect) {
    let (sov, diags) = match parse_partial(text, "s.yaml", &Limits::default()) {
        Ok(w) => {
            assert!(!w.warnings.has_errors(), "a Warned holds no error: {:?}", w.warnings);
            (Some(w.output), w.warnings)
        }
        Err(p) => {
            assert!(p.diagnostics.has_errors(), "a Partial holds an error: {:?}", p.diagnostics);
            (None, p.diagnostics)
        }
    };
    let mut out = String::new();
    // The line a diagnostic points at is shown, but not one that holds a
    // pasted secret: the messages are what must not repeat it.
    let secret_lines: Vec<usize> = diags
        .iter()
        .filter(|d| d.code == Code::SecretValue)
        .filter_map(|d| d.location.as_ref().map(|l| l.line))
        .collect();
    for d in diags.iter() {
        let at = d.location.as_ref().map_or("-".to_string(), |l| format!("{}:{}", l.line, l.column));
        writeln!(out, "{} {} {at} {}", d.severity.as_str(), d.code, d.message).unwrap();
        if let Some(l) = d.location.as_ref().filter(|l| l.line > 0 && !secret_lines.contains(&l.line)) {
            let line = text.lines().nth(l.line - 1).unwrap_or_default();
            writeln!(out, "  | {line}\n  | {}^", " ".repeat(l.column - 1)).unwrap();
        }
    }
    if let Some(s) = sov {
        out.push_str(&summary(&s));
    }
    expect.assert_eq(&out);
}

/// What render reads of a Sovereign, one fact a line.
fn summary(s: &Sovereign) -> String {
    let mut out = String::new();
    let domain = match &s.domain {
        Domain::Pool { pool, subdomain } => format!("pool {subdomain} in {pool}"),
        Domain::ByoManual { fqdn } => format!("byo-manual {fqdn}"),
        Domain::ByoApi { fqdn, registrar, token } => {
            format!("byo-api {fqdn} via {registrar}, token {}/{}", token.name, token.key)
        }
    };
    writeln!(out, "{} = {} ({domain})", s.name, s.fqdn).unwrap();
    let airgap = if s.airgap { " airgap" } else { "" };
    writeln!(out, "topology {}{airgap} {}", s.shape, s.environment).unwrap();
    for r in &s.regions {
        writeln!(
            out,
            "  {}-{} {}/{}: control plane {}{}, {} × {}",
            r.provider_code(),
            r.region_code(),
            r.provider,
            r.cloud_region,
            r.control_plane_sku,
            if r.ha { " (ha)" } else { "" },
            r.worker_count,
            r.worker_sku
        )
        .unwrap();
    }
    match &s.oci_source {
        Some(o) => writeln!(out, "flux oci {}:{} secret={:?} verify={:?}", o.url, o.tag, o.secret, o.verify_secret),
        None => writeln!(out, "flux git {} {} secret={:?}", s.git_url, s.git_branch, s.git_secret),
    }
    .unwrap();
    writeln!(out, "path {}", s.git_path).unwrap();
    let opt = |o: &Option<String>| o.as_deref().unwrap_or("-").to_string();
    writeln!(out, "sources registry={} mirror={} pull={}", opt(&s.registry), opt(&s.mirror), opt(&s.pull_secret))
        .unwrap();
    if let Some(k) = &s.verify_keyless {
        let p = |p: &Pattern| match p {
            Pattern::Exact(s) => format!("= {s}"),
            Pattern::Regexp(r) => format!("~ {r}"),
        };
        let root = if k.trusted_root.is_some() { ", own trusted root" } else { "" };
        writeln!(out, "verify keyless issuer {} subject {}{root}", p(&k.issuer), p(&k.subject)).unwrap();
    } else if let Some(v) = &s.verify_secret {
        writeln!(out, "verify key {v}").unwrap();
    }
    if s.cutover {
        out.push_str("cut over\n");
    }
    let names = |l: &[catalyst_spec::NameRef]| l.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(" ");
    if !(s.families.is_empty() && s.include.is_empty() && s.exclude.is_empty()) {
        writeln!(
            out,
            "components families [{}] include [{}] exclude [{}]",
            names(&s.families),
            names(&s.include),
            names(&s.exclude)
        )
        .unwrap();
    }
    for (name, b) in &s.blueprints {
        let placement = b.placement.as_ref().map_or("-".to_string(), |p| match &p.regions {
            Some(r) => format!("{} {}", p.mode, r.join(",")),
            None => p.mode.clone(),
        });
        writeln!(out, "blueprint {name} config={} values={} placement={placement}", b.config, b.values).unwrap();
    }
    out
}

#[test]
fn a_solo_pool_spec_reads_with_the_schemas_defaults() {
    check(
        &[],
        expect![[r#"
            omantel = omantel.omani.works (pool omantel in omani.works)
            topology solo prod
              hz-fsn hetzner/fsn1: control plane cpx32, 3 × cpx32
            flux git https://gitea.example.org/omantel/cluster.git main secret=None
            path clusters/omantel.omani.works
            sources registry=- mirror=- pull=-
        "#]],
    );
}

#[test]
fn byo_api_through_cloudflare_with_an_oci_source_verified_keyless() {
    check(
        &[
            (
                "topology",
                "
shape: compact
environment: stg
regions:
  - {provider: hetzner, cloudRegion: nbg1, controlPlane: {sku: cpx32, ha: true}, workers: {sku: cpx32, count: 2}}
  - {provider: hetzner, cloudRegion: hel1, controlPlane: {sku: cpx32}, workers: {sku: cax21, count: 0}}",
            ),
            (
                "domain",
                "{mode: byo-api, fqdn: cloud.acme.example, registrar: cloudflare, token: {secretRef: {name: cf, key: api-token}}}",
            ),
            (
                "gitops",
                "{oci: {url: oci://harbor.cloud.acme.example/fleet/acme, tag: v1, verify: {secretRef: cosign-pub}}}",
            ),
            (
                "sources",
                r"
registry: oci://harbor.cloud.acme.example/catalyst
mirror: harbor.cloud.acme.example/proxy
verify: {keyless: {issuer: https://gitea.cloud.acme.example, subjectRegexp: '^https://gitea\.cloud\.acme\.example/.*$'}}
cutover: true",
            ),
        ],
        expect![[r#"
            omantel = cloud.acme.example (byo-api cloud.acme.example via cloudflare, token cf/api-token)
            topology compact stg
              hz-nbg hetzner/nbg1: control plane cpx32 (ha), 2 × cpx32
              hz-hel hetzner/hel1: control plane cpx32, 0 × cax21
            flux oci oci://harbor.cloud.acme.example/fleet/acme:v1 secret=None verify=Some("cosign-pub")
            path clusters/cloud.acme.example
            sources registry=oci://harbor.cloud.acme.example/catalyst mirror=harbor.cloud.acme.example/proxy pull=-
            verify keyless issuer = https://gitea.cloud.acme.example subject ~ ^https://gitea\.cloud\.acme\.example/.*$
            cut over
        "#]],
    );
}

#[test]
fn components_and_blueprint_entries_with_their_placement() {
    check(
        &[
            (
                "topology",
                "
shape: solo
airgap: true
regions:
  - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  - {provider: hetzner, cloudRegion: nbg1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 1}}",
            ),
            ("domain", "{mode: byo-manual, fqdn: cloud.omantel.om}"),
            (
                "gitops",
                "{url: https://gitea.example.org/omantel/cluster.git, branch: live, path: fleet/omantel, secretRef: git-auth}",
            ),
            ("components", "{families: [spine], include: [bp-gitea, harbor], exclude: [bp-falco]}"),
            (
                "blueprints",
                "
gitea: {config: {replicas: 2}}
bp-harbor: {values: {core: {replicas: 1}}, placement: {mode: active-active, regions: [fsn1, nbg1]}}",
            ),
        ],
        expect![[r#"
            omantel = cloud.omantel.om (byo-manual cloud.omantel.om)
            topology solo airgap prod
              hz-fsn hetzner/fsn1: control plane cpx32, 3 × cpx32
              hz-nbg hetzner/nbg1: control plane cpx32, 1 × cpx32
            flux git https://gitea.example.org/omantel/cluster.git live secret=Some("git-auth")
            path fleet/omantel
            sources registry=- mirror=- pull=-
            components families [spine] include [bp-gitea harbor] exclude [bp-falco]
            blueprint bp-harbor config={} values={"core":{"replicas":1}} placement=active-active fsn1,nbg1
            blueprint gitea config={"replicas":2} values={} placement=-
        "#]],
    );
}

const ONE_REGION: &str =
    "[{provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}]";

#[test]
fn each_shape_has_its_number_of_regions() {
    check(
        &[("topology", &format!("{{shape: triangle, regions: {ONE_REGION}}}"))],
        expect![[r#"
            error region-count 6:40 topology `triangle` needs 3 region(s), but 1 are listed
              |   topology: {shape: triangle, regions: [{provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}]}
              |                                        ^
        "#]],
    );
}

#[test]
fn airgap_adds_a_region() {
    check(
        &[("topology", &format!("{{shape: solo, airgap: true, regions: {ONE_REGION}}}"))],
        expect![[r#"
            error region-count 6:50 topology `solo` with airgap needs 2 region(s), but 1 are listed
              |   topology: {shape: solo, airgap: true, regions: [{provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}]}
              |                                                  ^
        "#]],
    );
}

#[test]
fn a_region_is_listed_once() {
    let fsn1 = "{provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}";
    check(
        &[("topology", &format!("{{shape: dual, regions: [{fsn1}, {fsn1}]}}"))],
        expect![[r#"
            error duplicate-region 6:171 region hetzner/fsn1 is listed twice (entries 0 and 1)
              |   topology: {shape: dual, regions: [{provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}, {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}]}
              |                                                                                                                                                                           ^
        "#]],
    );
}

#[test]
fn a_reserved_subdomain_is_refused() {
    check(
        &[("domain", "{mode: pool, pool: omani.works, subdomain: harbor}")],
        expect![[r#"
            error reserved-subdomain 8:54 subdomain `harbor` is reserved
              |   domain: {mode: pool, pool: omani.works, subdomain: harbor}
              |                                                      ^
        "#]],
    );
}

#[test]
fn a_domain_takes_the_fields_of_its_mode_and_no_others() {
    check(
        &[("domain", "{mode: byo-manual, pool: omani.works, subdomain: omantel}")],
        expect![[r#"
            error missing-field 8:11 missing field `fqdn` in `spec.domain` (needed by mode `byo-manual`)
              |   domain: {mode: byo-manual, pool: omani.works, subdomain: omantel}
              |           ^
            error field-not-for-mode 8:30 `spec.domain.pool` is not used with domain mode `byo-manual`
              |   domain: {mode: byo-manual, pool: omani.works, subdomain: omantel}
              |                              ^
            error field-not-for-mode 8:49 `spec.domain.subdomain` is not used with domain mode `byo-manual`
              |   domain: {mode: byo-manual, pool: omani.works, subdomain: omantel}
              |                                                 ^
        "#]],
    );
}

#[test]
fn byo_api_needs_a_registrar_that_serves_it() {
    check(
        &[(
            "domain",
            "{mode: byo-api, fqdn: cloud.omantel.om, registrar: ovh, token: {secretRef: {name: ovh, key: key}}}",
        )],
        expect![[r#"
            error unsupported-registrar 8:62 domain mode byo-api cannot delegate through registrar `ovh`: external-dns's `ovh` provider signs with three credentials (application key, application secret, consumer key), and `domain.token` and the Phase-0 Secret carry one
              |   domain: {mode: byo-api, fqdn: cloud.omantel.om, registrar: ovh, token: {secretRef: {name: ovh, key: key}}}
              |                                                              ^
        "#]],
    );
}

#[test]
fn byo_api_cannot_delegate_an_apex() {
    check(
        &[(
            "domain",
            "{mode: byo-api, fqdn: omantel.om, registrar: cloudflare, token: {secretRef: {name: cf, key: token}}}",
        )],
        expect![[r#"
            error byo-api-apex 8:33 domain mode byo-api delegates `omantel.om` from its parent zone at the registrar, and `omantel.om` has none there
              |   domain: {mode: byo-api, fqdn: omantel.om, registrar: cloudflare, token: {secretRef: {name: cf, key: token}}}
              |                                 ^
        "#]],
    );
}

#[test]
fn a_pool_fqdn_must_be_a_plain_ascii_name() {
    check(
        &[("domain", "{mode: pool, pool: omani.works, subdomain: xn--mntel-2ve}")],
        expect![[r#"
            error invalid-fqdn 8:54 the Sovereign's FQDN `xn--mntel-2ve.omani.works` is not valid: label `xn--mntel-2ve` is punycode (`??--` labels are reserved for encoded internationalized names, where look-alike characters hide); only plain ASCII names are accepted
              |   domain: {mode: pool, pool: omani.works, subdomain: xn--mntel-2ve}
              |                                                      ^
        "#]],
    );
}

#[test]
fn the_pool_tld_is_omani_trade() {
    check(
        &[("domain", "{mode: pool, pool: omani.trades, subdomain: omantel}")],
        expect![[r#"
            error invalid-fqdn 8:55 the Sovereign's FQDN `omantel.omani.trades` is not valid: `omani.trades` is not a pool: the pool TLD is `omani.trade`
              |   domain: {mode: pool, pool: omani.trades, subdomain: omantel}
              |                                                       ^
        "#]],
    );
}

#[test]
fn an_fqdn_too_long_for_hetzner_server_names() {
    check(
        &[("domain", "{mode: byo-manual, fqdn: sovereign-cloud.ministry-of-digital-economy.om}")],
        expect![[r#"
            error fqdn-too-long 8:36 the Sovereign's FQDN is 46 characters; on Hetzner at most 45 fit, as server names catalyst-<fqdn-dashed>-<region>-w<N> are limited to 63
              |   domain: {mode: byo-manual, fqdn: sovereign-cloud.ministry-of-digital-economy.om}
              |                                    ^
        "#]],
    );
}

#[test]
fn every_provider_in_use_needs_its_credentials() {
    check(
        &[(
            "topology",
            "
shape: compact
regions:
  - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  - {provider: aws, cloudRegion: eu-central-1, controlPlane: {sku: m6i.large}, workers: {sku: m6i.large, count: 3}}",
        )],
        expect![[r#"
            error missing-credentials 11:16 regions use provider `aws` but `spec.credentials.aws` is missing
              |   credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
              |                ^
        "#]],
    );
}

#[test]
fn flux_reads_from_git_or_oci_not_both() {
    check(
        &[(
            "gitops",
            "{url: https://gitea.example.org/omantel/cluster.git, oci: {url: oci://harbor.example.org/fleet/omantel}}",
        )],
        expect![[r#"
            error invalid-value 9:11 `spec.gitops` has both `url` and `oci`
              |   gitops: {url: https://gitea.example.org/omantel/cluster.git, oci: {url: oci://harbor.example.org/fleet/omantel}}
              |           ^
        "#]],
    );
}

#[test]
fn flux_needs_a_source() {
    check(
        &[("gitops", "{branch: main}")],
        expect![[r#"
            error invalid-value 9:11 `spec.gitops` needs `url` (Git) or `oci` (a Flux OCI artifact)
              |   gitops: {branch: main}
              |           ^
        "#]],
    );
}

/// A password in a URL is a pasted secret: the scan refuses the spec,
/// so only what the schema says of it is reported.
#[test]
fn a_url_carries_no_password() {
    check(
        &[("gitops", "{url: https://ops:hunter2@gitea.example.org/omantel/cluster.git}")],
        expect![[r#"
            error secret-value 9:17 `spec.gitops.url` holds what looks like a URL with a password or token in its userinfo (`user:password@`)
            error secret-value 9:17 `spec.gitops.url` breaks a rule: a URL carries no password or token (`user:secret@`): reference a Secret instead (gitops.secretRef, sources.pullSecret)
        "#]],
    );
}

#[test]
fn the_git_path_stays_inside_the_repository() {
    check(
        &[("gitops", "{url: https://gitea.example.org/omantel/cluster.git, path: clusters/../../etc}")],
        expect![[r#"
            error invalid-value 9:70 `spec.gitops.path` must stay inside the repository
              |   gitops: {url: https://gitea.example.org/omantel/cluster.git, path: clusters/../../etc}
              |                                                                      ^
        "#]],
    );
}

#[test]
fn a_cut_over_sovereign_reads_only_from_its_own_hosts() {
    check(
        &[
            ("gitops", "{url: https://gitea.omantel.omani.works/omantel/cluster.git}"),
            ("sources", "{registry: oci://harbor.openova.io/catalyst, cutover: true}"),
        ],
        expect![[r#"
            error tethered-source 10:12 the Sovereign is cut over, but `spec.sources.mirror` is not set, so the image and package mirror would be the mothership's
              |   sources: {registry: oci://harbor.openova.io/catalyst, cutover: true}
              |            ^
            error tethered-source 10:23 the Sovereign is cut over, but the chart registry is `harbor.openova.io`, outside omantel.omani.works
              |   sources: {registry: oci://harbor.openova.io/catalyst, cutover: true}
              |                       ^
        "#]],
    );
}

#[test]
fn a_pasted_token_is_refused_without_being_repeated() {
    check(
        &[(
            "credentials",
            "{hetzner: {token: {secretRef: {name: hcloud, key: token}}, projectId: ghp_0123456789abcdefghijABCDEFGHIJ0123456789}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}",
        )],
        expect![[r#"
            error secret-value 7:86 `spec.credentials.hetzner.projectId` holds what looks like a GitHub token
            error invalid-value 7:86 `spec.credentials.hetzner.projectId` is not valid
        "#]],
    );
}

#[test]
fn a_blueprint_is_configured_once_and_a_name_listed_once() {
    check(
        &[
            ("components", "{include: [gitea, bp-gitea], families: [spine, spine]}"),
            ("blueprints", "{gitea: {}, bp-gitea: {}}"),
        ],
        expect![[r#"
            error duplicate-entry 10:33 `spec.components.include` lists `bp-gitea` twice
              |   components: {include: [gitea, bp-gitea], families: [spine, spine]}
              |                                 ^
            error duplicate-entry 10:62 `spec.components.families` lists `spine` twice
              |   components: {include: [gitea, bp-gitea], families: [spine, spine]}
              |                                                              ^
            error duplicate-entry 11:16 `spec.blueprints` configures `bp-gitea` twice, as `bp-gitea` and `gitea`
              |   blueprints: {gitea: {}, bp-gitea: {}}
              |                ^
        "#]],
    );
}

#[test]
fn a_worker_count_is_a_whole_number() {
    let regions =
        "[{provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3.0}}]";
    check(
        &[("topology", &format!("{{shape: solo, regions: {regions}}}"))],
        expect![[r#"
            error wrong-type 6:133 `spec.topology.regions[0].workers.count` must be an integer, found a number written with a fraction or an exponent
              |   topology: {shape: solo, regions: [{provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3.0}}]}
              |                                                                                                                                     ^
        "#]],
    );
}

/// The schema's own errors (type, unknown field): only they are
/// reported, not what the rules here would find too; and the spec is
/// still read for the catalog's checks.
#[test]
fn a_spec_the_schema_refuses_reports_the_schemas_errors_only() {
    let regions =
        "[{provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: many}}]";
    check(
        &[
            ("topology", &format!("{{shape: solo, regions: {regions}}}")),
            ("domain", "{mode: pool, pool: omani.works, subdomain: admin}"),
            ("gitops", "{url: https://gitea.example.org/omantel/cluster.git, brnach: main}"),
        ],
        expect![[r#"
            error wrong-type 6:133 `spec.topology.regions[0].workers.count` must be an integer, found a string
              |   topology: {shape: solo, regions: [{provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: many}}]}
              |                                                                                                                                     ^
            error reserved-subdomain 8:54 `spec.domain.subdomain` breaks a rule: reserved subdomains collide with operator hosts: admin, api, auth, catalyst, console, dns, docs, ftp, git, gitea, grafana, harbor, keycloak, localhost, mail, marketplace, mothership, ns, ns1, ns2, openbao, openova, registry, root, smtp, status, support, www
              |   domain: {mode: pool, pool: omani.works, subdomain: admin}
              |                                                      ^
            error unknown-field 9:64 unknown field `brnach` in `spec.gitops`
              |   gitops: {url: https://gitea.example.org/omantel/cluster.git, brnach: main}
              |                                                                ^
        "#]],
    );
    // Not a Sovereign's types at all (a number for a name, a placement
    // without a mode): the entries' configuration is still read, for the
    // catalog's checks to report with the schema's errors.
    let refused = "apiVersion: catalyst.openova.io/v1alpha1\nkind: Sovereign\nmetadata: {name: 7}\nspec:\n  blueprints: {gitea: {config: {replicas: 2}, placement: {regions: fsn1}}, harbor: 5}\n";
    let sov = parse_partial(refused, "s.yaml", &Limits::default())
        .expect_err("the spec is refused")
        .partial
        .expect("a refused spec is still read");
    let entries: Vec<String> = sov
        .blueprints
        .iter()
        .map(|(name, b)| format!("{name} config={} placement={:?}", b.config, b.placement.as_ref().map(|p| &p.mode)))
        .collect();
    expect![[r#"
        gitea config={"replicas":2} placement=None
        harbor config={} placement=None"#]]
    .assert_eq(&entries.join("\n"));
}

#[test]
fn an_empty_file_is_no_spec() {
    check_text(
        "# nothing here\n",
        expect![[r#"
            error empty-file 0:0 s.yaml is empty
        "#]],
    );
}
