//! The spec's rules, data-driven: a spec in, its diagnostics (severity,
//! code, line:col, message) or a summary of the Sovereign it parses to
//! out. `UPDATE_EXPECT=1 cargo test -p catalyst-spec --test rules`
//! rewrites the expectations; read the diff before committing it.

use std::fmt::Write;

use catalyst_spec::{Domain, Pattern, Sovereign, parse_partial};
use catalyst_yaml::Limits;
use expect_test::{Expect, expect};

#[track_caller]
fn check(spec: &str, expect: Expect) {
    let spec = spec.strip_prefix('\n').unwrap_or(spec);
    let (sov, diags) = parse_partial(spec, "s.yaml", &Limits::default());
    let mut out = String::new();
    for d in diags.iter() {
        let at = d.location.as_ref().map_or("-".to_string(), |l| format!("{}:{}", l.line, l.column));
        writeln!(out, "{} {} {at} {}", d.severity.as_str(), d.code, d.message).unwrap();
    }
    match sov {
        Some(s) if !diags.has_errors() => out.push_str(&summary(&s)),
        _ => {}
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
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: solo
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx22, count: 3}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain: {mode: pool, pool: omani.works, subdomain: omantel}
  gitops: {url: https://gitea.example.org/omantel/cluster.git}
"#,
        expect![[r#"
            omantel = omantel.omani.works (pool omantel in omani.works)
            topology solo prod
              hz-fsn hetzner/fsn1: control plane cpx32, 3 × cpx22
            flux git https://gitea.example.org/omantel/cluster.git main secret=None
            path clusters/omantel.omani.works
            sources registry=- mirror=- pull=-
        "#]],
    );
}

#[test]
fn byo_api_through_cloudflare_with_an_oci_source_verified_keyless() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: acme}
spec:
  org: {name: Acme, email: ops@acme.example}
  topology:
    shape: compact
    environment: stg
    regions:
      - {provider: hetzner, cloudRegion: nbg1, controlPlane: {sku: cpx32, ha: true}, workers: {sku: cpx32, count: 2}}
      - {provider: hetzner, cloudRegion: hel1, controlPlane: {sku: cpx32}, workers: {sku: cax21, count: 0}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain: {mode: byo-api, fqdn: cloud.acme.example, registrar: cloudflare, token: {secretRef: {name: cf, key: api-token}}}
  gitops: {oci: {url: oci://harbor.cloud.acme.example/fleet/acme, tag: v1, verify: {secretRef: cosign-pub}}}
  sources:
    registry: oci://harbor.cloud.acme.example/catalyst
    mirror: harbor.cloud.acme.example/proxy
    verify: {keyless: {issuer: https://gitea.cloud.acme.example, subjectRegexp: '^https://gitea\.cloud\.acme\.example/.*$'}}
    cutover: true
"#,
        expect![[r#"
            acme = cloud.acme.example (byo-api cloud.acme.example via cloudflare, token cf/api-token)
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
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: solo
    airgap: true
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
      - {provider: hetzner, cloudRegion: nbg1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 1}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  components: {families: [spine], include: [bp-gitea, harbor], exclude: [bp-falco]}
  domain: {mode: byo-manual, fqdn: cloud.omantel.om}
  gitops: {url: https://gitea.example.org/omantel/cluster.git, branch: live, path: fleet/omantel, secretRef: git-auth}
  blueprints:
    gitea: {config: {replicas: 2}}
    bp-harbor: {values: {core: {replicas: 1}}, placement: {mode: active-active, regions: [fsn1, nbg1]}}
"#,
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

#[test]
fn each_shape_has_its_number_of_regions() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: triangle
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain: {mode: pool, pool: omani.works, subdomain: omantel}
  gitops: {url: https://gitea.example.org/omantel/cluster.git}
"#,
        expect![[r#"
            error region-count 9:7 topology `triangle` needs 3 region(s), but 1 are listed
        "#]],
    );
}

#[test]
fn airgap_adds_a_region() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: solo
    airgap: true
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain: {mode: pool, pool: omani.works, subdomain: omantel}
  gitops: {url: https://gitea.example.org/omantel/cluster.git}
"#,
        expect![[r#"
            error region-count 10:7 topology `solo` with airgap needs 2 region(s), but 1 are listed
        "#]],
    );
}

#[test]
fn a_region_is_listed_once() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: dual
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain: {mode: pool, pool: omani.works, subdomain: omantel}
  gitops: {url: https://gitea.example.org/omantel/cluster.git}
"#,
        expect![[r#"
            error duplicate-region 10:42 region hetzner/fsn1 is listed twice (entries 0 and 1)
        "#]],
    );
}

#[test]
fn a_reserved_subdomain_is_refused() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: solo
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain:
    mode: pool
    pool: omani.works
    subdomain: harbor
  gitops: {url: https://gitea.example.org/omantel/cluster.git}
"#,
        expect![[r#"
            error reserved-subdomain 14:16 subdomain `harbor` is reserved
        "#]],
    );
}

#[test]
fn a_domain_takes_the_fields_of_its_mode_and_no_others() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: solo
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain:
    mode: byo-manual
    pool: omani.works
    subdomain: omantel
  gitops: {url: https://gitea.example.org/omantel/cluster.git}
"#,
        expect![[r#"
            error missing-field 12:5 missing field `fqdn` in `spec.domain` (needed by mode `byo-manual`)
            error field-not-for-mode 13:5 `spec.domain.pool` is not used with domain mode `byo-manual`
            error field-not-for-mode 14:5 `spec.domain.subdomain` is not used with domain mode `byo-manual`
        "#]],
    );
}

#[test]
fn byo_api_needs_a_registrar_that_serves_it() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: solo
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain:
    mode: byo-api
    fqdn: cloud.omantel.om
    registrar: ovh
    token: {secretRef: {name: ovh, key: key}}
  gitops: {url: https://gitea.example.org/omantel/cluster.git}
"#,
        expect![[r#"
            error unsupported-registrar 14:16 domain mode byo-api cannot delegate through registrar `ovh`: external-dns's `ovh` provider signs with three credentials (application key, application secret, consumer key), and `domain.token` and the Phase-0 Secret carry one
        "#]],
    );
}

#[test]
fn byo_api_cannot_delegate_an_apex() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: solo
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain:
    mode: byo-api
    fqdn: omantel.om
    registrar: cloudflare
    token: {secretRef: {name: cf, key: token}}
  gitops: {url: https://gitea.example.org/omantel/cluster.git}
"#,
        expect![[r#"
            error byo-api-apex 13:11 domain mode byo-api delegates `omantel.om` from its parent zone at the registrar, and `omantel.om` has none there
        "#]],
    );
}

#[test]
fn a_pool_fqdn_must_be_a_plain_ascii_name() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: solo
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain:
    mode: pool
    pool: omani.works
    subdomain: xn--mntel-2ve
  gitops: {url: https://gitea.example.org/omantel/cluster.git}
"#,
        expect![[r#"
            error invalid-fqdn 14:16 the Sovereign's FQDN `xn--mntel-2ve.omani.works` is not valid: label `xn--mntel-2ve` is punycode (`??--` labels are reserved for encoded internationalized names, where look-alike characters hide); only plain ASCII names are accepted
        "#]],
    );
}

#[test]
fn the_pool_tld_is_omani_trade() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: solo
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain:
    mode: pool
    pool: omani.trades
    subdomain: omantel
  gitops: {url: https://gitea.example.org/omantel/cluster.git}
"#,
        expect![[r#"
            error invalid-fqdn 14:16 the Sovereign's FQDN `omantel.omani.trades` is not valid: `omani.trades` is not a pool: the pool TLD is `omani.trade`
        "#]],
    );
}

#[test]
fn an_fqdn_too_long_for_hetzner_server_names() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: solo
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain:
    mode: byo-manual
    fqdn: sovereign-cloud.ministry-of-digital-economy.om
  gitops: {url: https://gitea.example.org/omantel/cluster.git}
"#,
        expect![[r#"
            error fqdn-too-long 13:11 the Sovereign's FQDN is 46 characters; on Hetzner at most 45 fit, as server names catalyst-<fqdn-dashed>-<region>-w<N> are limited to 63
        "#]],
    );
}

#[test]
fn every_provider_in_use_needs_its_credentials() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: compact
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
      - {provider: aws, cloudRegion: eu-central-1, controlPlane: {sku: m6i.large}, workers: {sku: m6i.large, count: 3}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain: {mode: pool, pool: omani.works, subdomain: omantel}
  gitops: {url: https://gitea.example.org/omantel/cluster.git}
"#,
        expect![[r#"
            error missing-credentials 11:16 regions use provider `aws` but `spec.credentials.aws` is missing
        "#]],
    );
}

#[test]
fn flux_reads_from_git_or_oci_not_both() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: solo
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain: {mode: pool, pool: omani.works, subdomain: omantel}
  gitops:
    url: https://gitea.example.org/omantel/cluster.git
    oci: {url: oci://harbor.example.org/fleet/omantel}
"#,
        expect![[r#"
            error invalid-value 13:5 `spec.gitops` has both `url` and `oci`
        "#]],
    );
}

#[test]
fn flux_needs_a_source() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: solo
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain: {mode: pool, pool: omani.works, subdomain: omantel}
  gitops: {branch: main}
"#,
        expect![[r#"
            error invalid-value 12:11 `spec.gitops` needs `url` (Git) or `oci` (a Flux OCI artifact)
        "#]],
    );
}

#[test]
fn urls_carry_no_password_and_the_path_stays_inside() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: solo
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain: {mode: pool, pool: omani.works, subdomain: omantel}
  gitops:
    url: https://ops:hunter2@gitea.example.org/omantel/cluster.git
    path: clusters/../../etc
"#,
        expect![[r#"
            error secret-value 13:10 `spec.gitops.url` holds what looks like a URL with a password or token in its userinfo (`user:password@`)
            error secret-value 13:10 `spec.gitops.url` breaks a rule: a URL carries no password or token (`user:secret@`): reference a Secret instead (gitops.secretRef, sources.pullSecret)
            error invalid-value 14:11 `spec.gitops.path` breaks a rule: the folder stays inside the repository: no `.` or `..` segments
        "#]],
    );
}

#[test]
fn a_cut_over_sovereign_reads_only_from_its_own_hosts() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: solo
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain: {mode: pool, pool: omani.works, subdomain: omantel}
  gitops: {url: https://gitea.omantel.omani.works/omantel/cluster.git}
  sources:
    registry: oci://harbor.openova.io/catalyst
    cutover: true
"#,
        expect![[r#"
            error tethered-source 14:5 the Sovereign is cut over, but `spec.sources.mirror` is not set, so the image and package mirror would be the mothership's
            error tethered-source 14:15 the Sovereign is cut over, but the chart registry is `harbor.openova.io`, outside omantel.omani.works
        "#]],
    );
}

#[test]
fn a_pasted_token_is_refused_without_being_repeated() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: solo
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  credentials:
    hetzner: {token: {secretRef: {name: hcloud, key: token}}, projectId: ghp_0123456789abcdefghijABCDEFGHIJ0123456789}
    sshPublicKey: ssh-ed25519 AAAAC3Nz ops
  domain: {mode: pool, pool: omani.works, subdomain: omantel}
  gitops: {url: https://gitea.example.org/omantel/cluster.git}
"#,
        expect![[r#"
            error secret-value 11:74 `spec.credentials.hetzner.projectId` holds what looks like a GitHub token
            error invalid-value 11:74 `spec.credentials.hetzner.projectId` is not valid
        "#]],
    );
}

#[test]
fn a_blueprint_is_configured_once_and_a_name_listed_once() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: solo
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  components: {include: [gitea, bp-gitea], families: [spine, spine]}
  domain: {mode: pool, pool: omani.works, subdomain: omantel}
  gitops: {url: https://gitea.example.org/omantel/cluster.git}
  blueprints:
    gitea: {}
    bp-gitea: {}
"#,
        expect![[r#"
            error duplicate-entry 11:33 `spec.components.include` lists `bp-gitea` twice
            error duplicate-entry 11:62 `spec.components.families` lists `spine` twice
            error duplicate-entry 15:5 `spec.blueprints` configures `bp-gitea` twice, as `bp-gitea` and `gitea`
        "#]],
    );
}

#[test]
fn a_worker_count_is_a_whole_number() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: solo
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3.0}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain: {mode: pool, pool: omani.works, subdomain: omantel}
  gitops: {url: https://gitea.example.org/omantel/cluster.git}
"#,
        expect![[r#"
            error wrong-type 9:105 `spec.topology.regions[0].workers.count` must be an integer, found a number written with a fraction or an exponent
        "#]],
    );
}

/// The schema's own errors (shape, type, unknown field): only they are
/// reported, and the spec is still read for the catalog's checks.
#[test]
fn a_spec_the_schema_refuses_reports_the_schemas_errors_only() {
    check(
        r#"
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  org: {name: Omantel, email: ops@omantel.om}
  topology:
    shape: solo
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: many}}
  credentials: {hetzner: {token: {secretRef: {name: hcloud, key: token}}}, sshPublicKey: ssh-ed25519 AAAAC3Nz ops}
  domain: {mode: pool, pool: omani.works, subdomain: admin}
  gitops: {url: https://gitea.example.org/omantel/cluster.git, brnach: main}
"#,
        expect![[r#"
            error wrong-type 9:105 `spec.topology.regions[0].workers.count` must be an integer, found a string
            error reserved-subdomain 11:54 `spec.domain.subdomain` breaks a rule: reserved subdomains collide with operator hosts: admin, api, auth, catalyst, console, dns, docs, ftp, git, gitea, grafana, harbor, keycloak, localhost, mail, marketplace, mothership, ns, ns1, ns2, openbao, openova, registry, root, smtp, status, support, www
            error unknown-field 12:64 unknown field `brnach` in `spec.gitops`
        "#]],
    );
    let refused = "apiVersion: catalyst.openova.io/v1alpha1\nkind: Sovereign\nmetadata: {name: 7}\nspec:\n  blueprints: {gitea: {config: {replicas: 2}}}\n";
    let (sov, _) = parse_partial(refused, "s.yaml", &Limits::default());
    let sov = sov.expect("a refused spec is still read");
    expect![[r#"{"replicas":2}"#]].assert_eq(&sov.blueprints["gitea"].config.to_string());
}

#[test]
fn an_empty_file_is_no_spec() {
    check(
        "# nothing here\n",
        expect![[r#"
        error empty-file 0:0 s.yaml is empty
    "#]],
    );
}
