//! Placement, data-driven: a catalog (`catalyst_catalog::testing`'s
//! lines), the Sovereign's regions and its selection and placement
//! choices in; its host clusters, the Blueprints on each and where each
//! runs (or the errors) out. `UPDATE_EXPECT=1 cargo test -p
//! catalyst-render --test placement` rewrites the expectations.

use std::fmt::Write;

use catalyst_catalog::testing;
use catalyst_render::placement::place;
use catalyst_resolve::{Selection, resolve};
use catalyst_yaml::Limits;
use expect_test::{Expect, expect};

/// `regions`: the Sovereign's regions, primary first (`fsn1`, or
/// `aws/eu-central-1`), its shape the one their count makes; `spec`:
/// the rest of `spec` (components, blueprints), as YAML.
#[track_caller]
fn check(catalog: &str, regions: &str, spec: &str, expect: Expect) {
    let cat = testing::catalog(catalog);
    let regions: Vec<(&str, &str)> =
        regions.split_whitespace().map(|r| r.split_once('/').unwrap_or(("hetzner", r))).collect();
    let shape = ["solo", "compact", "triangle", "citadel"][regions.len() - 1];
    let mut text = format!(
        "apiVersion: catalyst.openova.io/v1alpha1\nkind: Sovereign\nmetadata: {{name: acme}}\nspec:\n  \
         org: {{name: Acme, email: ops@acme.example}}\n  topology:\n    shape: {shape}\n    regions:\n"
    );
    for (provider, region) in &regions {
        writeln!(
            text,
            "      - {{provider: {provider}, cloudRegion: {region}, controlPlane: {{sku: cpx32}}, workers: {{sku: cpx32, count: 1}}}}"
        )
        .unwrap();
    }
    text.push_str("  credentials:\n    sshPublicKey: ssh-ed25519 AAAAC3Nz ops\n");
    let secret = "{secretRef: {name: cloud, key: token}}";
    let mut providers: Vec<&str> = regions.iter().map(|(p, _)| *p).collect();
    providers.dedup();
    for p in providers {
        let keys: &[&str] = match p {
            "aws" => &["accessKeyId", "secretAccessKey"],
            _ => &["token"],
        };
        let keys: Vec<String> = keys.iter().map(|k| format!("{k}: {secret}")).collect();
        writeln!(text, "    {p}: {{{}}}", keys.join(", ")).unwrap();
    }
    text.push_str("  domain: {mode: pool, pool: omani.works, subdomain: acme}\n");
    text.push_str("  gitops: {url: https://gitea.example.org/acme/cluster.git}\n");
    for line in spec.lines().filter(|l| !l.trim().is_empty()) {
        writeln!(text, "  {line}").unwrap();
    }
    let sov = catalyst_spec::parse(&text, "s.yaml", &Limits::default())
        .unwrap_or_else(|d| panic!("the fixture's spec is valid: {d:#?}\n{text}"))
        .output;
    let sel = Selection { families: &sov.families, include: &sov.include, exclude: &sov.exclude };
    let res = resolve(&cat, sel, &|_, _| Ok(true)).unwrap_or_else(|d| panic!("the fixture resolves: {d:#?}")).output;
    let mut out = String::new();
    match place(&cat, &sov, &res) {
        Ok(p) => {
            for c in &p.clusters {
                let on: Vec<&str> = p.members[&c.name].iter().map(String::as_str).collect();
                writeln!(out, "{} (#{} {}): {}", c.name, c.id, c.region, on.join(" ")).unwrap();
            }
            for (bp, placed) in &p.placed {
                writeln!(out, "{bp}: {} in {}", placed.mode, placed.regions.join(", ")).unwrap();
            }
        }
        Err(diags) => {
            for d in diags.iter() {
                writeln!(out, "{} {}: {}", d.severity.as_str(), d.code, d.message).unwrap();
            }
        }
    }
    expect.assert_eq(&out);
}

/// Cilium on every cluster, a gateway on the edge, Gitea and its
/// database inside, Harbor wherever it is placed.
const CATALOG: &str = "
family spine required blocks=mgt,dmz,rtz: cilium=mandatory
cilium 1.16.0 placement=active-active
gateway 1.0.0 placement=single-region,active-active blocks=dmz -> cilium
postgres 16.4.0 placement=single-region,active-active blocks=mgt,rtz
gitea 1.22.0 blocks=mgt,rtz -> postgres
harbor 2.11.0 placement=single-region,active-active,active-hotstandby blocks=mgt,rtz -> postgres
";

#[test]
fn a_solo_sovereign_has_a_management_and_an_edge_cluster() {
    check(
        CATALOG,
        "fsn1",
        "components: {include: [gateway, gitea]}",
        expect![[r#"
        hz-fsn-mgt-prod (#1 fsn1): bp-cilium bp-gitea bp-postgres
        hz-fsn-dmz-prod (#2 fsn1): bp-cilium bp-gateway
        bp-cilium: active-active in fsn1
        bp-gateway: single-region in fsn1
        bp-gitea: single-region in fsn1
        bp-postgres: single-region in fsn1
    "#]],
    );
}

#[test]
fn each_secondary_region_adds_an_edge_and_a_runtime_cluster() {
    check(
        CATALOG,
        "fsn1 nbg1 hel1",
        "components: {include: [gateway, gitea]}",
        expect![[r#"
        hz-fsn-mgt-prod (#1 fsn1): bp-cilium bp-gitea bp-postgres
        hz-fsn-dmz-prod (#2 fsn1): bp-cilium bp-gateway
        hz-nbg-dmz-prod (#3 nbg1): bp-cilium
        hz-nbg-rtz-prod (#4 nbg1): bp-cilium
        hz-hel-dmz-prod (#5 hel1): bp-cilium
        hz-hel-rtz-prod (#6 hel1): bp-cilium
        bp-cilium: active-active in fsn1, nbg1, hel1
        bp-gateway: single-region in fsn1
        bp-gitea: single-region in fsn1
        bp-postgres: single-region in fsn1
    "#]],
    );
}

#[test]
fn active_active_runs_in_the_listed_regions_and_brings_its_dependencies() {
    check(
        CATALOG,
        "fsn1 nbg1 hel1",
        "
components: {include: [harbor]}
blueprints:
  harbor: {placement: {mode: active-active, regions: [hel1, fsn1]}}
",
        expect![[r#"
            hz-fsn-mgt-prod (#1 fsn1): bp-cilium bp-harbor bp-postgres
            hz-fsn-dmz-prod (#2 fsn1): bp-cilium
            hz-nbg-dmz-prod (#3 nbg1): bp-cilium
            hz-nbg-rtz-prod (#4 nbg1): bp-cilium
            hz-hel-dmz-prod (#5 hel1): bp-cilium
            hz-hel-rtz-prod (#6 hel1): bp-cilium bp-harbor bp-postgres
            bp-cilium: active-active in fsn1, nbg1, hel1
            bp-harbor: active-active in hel1, fsn1
            bp-postgres: single-region in fsn1, hel1
        "#]],
    );
}

#[test]
fn active_hotstandby_takes_the_first_two_regions() {
    check(
        CATALOG,
        "fsn1 nbg1 hel1",
        "
components: {include: [harbor]}
blueprints:
  harbor: {placement: {mode: active-hotstandby}}
",
        expect![[r#"
            hz-fsn-mgt-prod (#1 fsn1): bp-cilium bp-harbor bp-postgres
            hz-fsn-dmz-prod (#2 fsn1): bp-cilium
            hz-nbg-dmz-prod (#3 nbg1): bp-cilium
            hz-nbg-rtz-prod (#4 nbg1): bp-cilium bp-harbor bp-postgres
            hz-hel-dmz-prod (#5 hel1): bp-cilium
            hz-hel-rtz-prod (#6 hel1): bp-cilium
            bp-cilium: active-active in fsn1, nbg1, hel1
            bp-harbor: active-hotstandby in fsn1, nbg1
            bp-postgres: single-region in fsn1, nbg1
        "#]],
    );
}

#[test]
fn a_mode_or_regions_the_blueprint_or_sovereign_does_not_have() {
    check(
        CATALOG,
        "fsn1 nbg1",
        "
components: {include: [gitea, harbor, gateway]}
blueprints:
  gitea: {placement: {mode: active-active}}
  harbor: {placement: {mode: active-hotstandby, regions: [nbg1, ash, fsn1]}}
  gateway: {placement: {mode: single-region, regions: [fsn1]}}
",
        expect![[r#"
            error invalid-placement: `bp-gitea` cannot run active-active: its placementSchema allows single-region
            error invalid-placement: `bp-harbor` runs active-hotstandby: list exactly two regions, the active one first
            error unknown-region: `bp-harbor` is placed in region `ash`, which the Sovereign does not have
            error invalid-placement: `bp-gateway` runs single-region, in the primary region; it takes no `regions`
        "#]],
    );
}

#[test]
fn a_single_region_dependency_cannot_follow_its_dependents_elsewhere() {
    check(
        "
postgres 16.4.0
harbor 2.11.0 placement=active-active -> postgres
",
        "fsn1 nbg1",
        "components: {include: [harbor]}",
        expect![[r#"
            error placement-conflict: `bp-postgres` would run in regions fsn1, nbg1 because `bp-harbor` depend on it there, but its placementSchema allows single-region only
        "#]],
    );
}

#[test]
fn the_number_of_regions_a_blueprint_runs_in_is_held_to_its_schema() {
    check(
        "
vault 1.17.0 placement=active-active min=3
search 8.15.0 placement=active-active max=1
",
        "fsn1 nbg1",
        "components: {include: [vault, search]}",
        expect![[r#"
            error too-few-regions: `bp-vault` needs at least 3 regions (placementSchema.minRegions), but Sovereign `acme` (acme.omani.works) has 2
            error too-many-regions: `bp-search` runs in 2 regions of Sovereign `acme`, more than its placementSchema.maxRegions of 1
        "#]],
    );
}

#[test]
fn regions_whose_codes_give_one_cluster_name_clash() {
    // A single-region Blueprint too: the clash alone is reported (not a
    // placement conflict of one cluster name read as two regions).
    check(
        "cilium 1.16.0",
        "aws/eu-central-1 aws/eu-central-2",
        "components: {include: [cilium]}",
        expect![[r#"
            error cluster-name-clash: regions `eu-central-1` and `eu-central-2` both give the host cluster name `aws-eucentral-dmz-prod`
        "#]],
    );
}
