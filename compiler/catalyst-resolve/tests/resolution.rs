//! Resolution, data-driven: a catalog (`catalyst_catalog::testing`'s
//! lines) and a selection in; the install order with each Blueprint's
//! reason and dependencies, what was dropped, the warnings, and the
//! catalog's problems with what is installed (or the errors) out.
//! `UPDATE_EXPECT=1 cargo test -p catalyst-resolve --test resolution`
//! rewrites the expectations.

use std::fmt::Write;

use catalyst_catalog::{Blueprint, Depend, testing};
use catalyst_diag::{Code, Diagnostic, Diagnostics, Warned};
use catalyst_resolve::{Selection, resolve};
use catalyst_spec::NameRef;
use expect_test::{Expect, expect};

/// `selection`: space-separated `families=a,b`, `include=..`,
/// `exclude=..` and `on=..`, the conditions (`when`) that hold; the
/// condition `broken` fails to evaluate.
#[track_caller]
fn check(catalog: &str, selection: &str, expect: Expect) {
    let cat = testing::catalog(catalog);
    let mut lists: [Vec<NameRef>; 3] = Default::default();
    let mut on: Vec<String> = Vec::new();
    for part in selection.split_whitespace() {
        let (k, v) = part.split_once('=').expect("key=value");
        let names = v.split(',').map(str::to_string);
        match k {
            "families" => lists[0].extend(names.map(|name| NameRef { name, location: None })),
            "include" => lists[1].extend(names.map(|name| NameRef { name, location: None })),
            "exclude" => lists[2].extend(names.map(|name| NameRef { name, location: None })),
            "on" => on.extend(names),
            _ => panic!("unknown `{k}`"),
        }
    }
    let when = |bp: &Blueprint, d: &Depend| -> Result<bool, Diagnostic> {
        match d.when.as_deref() {
            Some("broken") => Err(Diagnostic::error(
                Code::InvalidCondition,
                format!("`when: broken` of {}'s dependency on {} failed", bp.name, d.blueprint),
            )),
            Some(c) => Ok(on.iter().any(|o| o == c)),
            None => Ok(true),
        }
    };
    let sel = Selection { families: &lists[0], include: &lists[1], exclude: &lists[2] };
    let mut out = String::new();
    match resolve(&cat, sel, &when) {
        Ok(Warned { output: res, warnings }) => {
            for n in &res.order {
                let deps = &res.edges[n];
                let deps = if deps.is_empty() { String::new() } else { format!(" -> {}", deps.join(" ")) };
                writeln!(out, "{n}: {}{deps}", res.reasons[n]).unwrap();
            }
            for (dropped, because) in &res.dropped {
                writeln!(out, "dropped {dropped}: needs excluded {because}").unwrap();
            }
            print(&mut out, warnings.iter());
            let relevant = cat.diagnostics.iter().filter(|d| d.blueprint.as_ref().is_some_and(|b| res.contains(b)));
            print(&mut out, relevant);
        }
        Err(diags) => print(&mut out, Diagnostics::iter(&diags)),
    }
    expect.assert_eq(&out);
}

fn print<'a>(out: &mut String, diags: impl Iterator<Item = &'a Diagnostic>) {
    for d in diags {
        writeln!(out, "{} {}: {}", d.severity.as_str(), d.code, d.message).unwrap();
        for n in &d.notes {
            writeln!(out, "  note: {}", n.message).unwrap();
        }
    }
}

const PLATFORM: &str = "
family spine required: cilium=mandatory flux=mandatory cert-manager
family data: postgres=mandatory redis=recommended valkey=optional
family forge: gitea harbor=optional
cilium 1.16.0
flux 2.4.0 -> cilium
cert-manager 1.15.0 -> cilium
postgres 16.4.0 -> cert-manager
redis 7.2.0
valkey 8.0.0
gitea 1.22.0 -> postgres@>=16 redis?cache
harbor 2.11.0 -> postgres redis
";

#[test]
fn an_empty_selection_installs_the_required_families_mandatory_members() {
    check(
        PLATFORM,
        "",
        expect![[r#"
            bp-cilium: mandatory (spine)
            bp-flux: mandatory (spine) -> bp-cilium
        "#]],
    );
}

#[test]
fn a_family_brings_its_mandatory_and_recommended_members() {
    check(
        PLATFORM,
        "families=data",
        expect![[r#"
            bp-cilium: mandatory (spine)
            bp-cert-manager: dependency of bp-postgres -> bp-cilium
            bp-flux: mandatory (spine) -> bp-cilium
            bp-postgres: mandatory (data) -> bp-cert-manager
            bp-redis: family data
        "#]],
    );
}

#[test]
fn an_included_blueprint_brings_its_familys_mandatory_members_and_its_dependencies() {
    check(
        PLATFORM,
        "include=harbor",
        expect![[r#"
            bp-cilium: mandatory (spine)
            bp-cert-manager: dependency of bp-postgres -> bp-cilium
            bp-flux: mandatory (spine) -> bp-cilium
            bp-postgres: dependency of bp-harbor -> bp-cert-manager
            bp-redis: dependency of bp-harbor
            bp-harbor: selected -> bp-postgres bp-redis
        "#]],
    );
}

#[test]
fn a_conditional_dependency_follows_its_condition() {
    check(
        PLATFORM,
        "include=gitea on=cache",
        expect![[r#"
            bp-cilium: mandatory (spine)
            bp-cert-manager: dependency of bp-postgres -> bp-cilium
            bp-flux: mandatory (spine) -> bp-cilium
            bp-postgres: dependency of bp-gitea -> bp-cert-manager
            bp-redis: dependency of bp-gitea
            bp-gitea: selected -> bp-postgres bp-redis
        "#]],
    );
}

#[test]
fn a_condition_that_fails_is_an_error() {
    check(
        "
cilium 1.16.0
gitea 1.22.0 -> cilium?broken
",
        "include=gitea",
        expect![[r#"
            error invalid-condition: `when: broken` of bp-gitea's dependency on bp-cilium failed
        "#]],
    );
}

#[test]
fn a_recommended_member_that_needs_an_excluded_blueprint_is_dropped() {
    check(
        "
family forge: gitea harbor
redis 7.2.0
gitea 1.22.0
harbor 2.11.0 -> redis
",
        "families=forge exclude=redis",
        expect![[r#"
            bp-gitea: family forge
            dropped bp-harbor: needs excluded bp-redis
        "#]],
    );
}

#[test]
fn what_cannot_be_excluded() {
    check(
        PLATFORM,
        "include=gitea exclude=cilium,gitea",
        expect![[r#"
            error cannot-exclude: `bp-cilium` cannot be excluded: it is a mandatory member of `spine`
            error contradictory-selection: `bp-gitea` is both included and excluded
        "#]],
    );
}

#[test]
fn an_exclusion_that_leaves_nothing_out_is_a_warning() {
    check(
        PLATFORM,
        "families=data exclude=valkey",
        expect![[r#"
            bp-cilium: mandatory (spine)
            bp-cert-manager: dependency of bp-postgres -> bp-cilium
            bp-flux: mandatory (spine) -> bp-cilium
            bp-postgres: mandatory (data) -> bp-cert-manager
            bp-redis: family data
            warning no-effect: `bp-valkey` is excluded but nothing selects it
        "#]],
    );
}

#[test]
fn an_included_blueprint_cannot_need_an_excluded_one() {
    check(
        PLATFORM,
        "include=harbor exclude=redis",
        expect![[r#"
            error excluded-dependency: `bp-harbor` is selected but needs `bp-redis`, which is excluded
        "#]],
    );
}

#[test]
fn names_must_exist() {
    check(
        PLATFORM,
        "families=date include=gittea exclude=nothing",
        expect![[r#"
            error unknown-blueprint: `gittea` is not a Blueprint in the catalog
            error unknown-blueprint: `nothing` is not a Blueprint in the catalog
            error unknown-family: `date` is not a product family
        "#]],
    );
}

#[test]
fn a_version_outside_a_range_is_the_catalogs_problem_with_what_is_installed() {
    check(
        "
postgres 15.8.0
gitea 1.22.0 -> postgres@>=16
keycloak 25.0.0 -> postgres@^14  # not installed: not reported here
",
        "include=gitea",
        expect![[r#"
            bp-postgres: dependency of bp-gitea
            bp-gitea: selected -> bp-postgres
            error version-range-unsatisfied: bp-gitea needs bp-postgres >=16, but the catalog has 15.8.0
        "#]],
    );
}

#[test]
fn cycles_are_reported_with_their_full_path() {
    check(
        "
a 1.0.0 -> b
b 1.0.0 -> c
c 1.0.0 -> a
d 1.0.0 -> d
e 1.0.0 -> a
",
        "include=e,d",
        expect![[r#"
            error dependency-cycle: dependency cycle: bp-a → bp-b → bp-c → bp-a
              note: bp-b depends on bp-c
              note: bp-c depends on bp-a
            error dependency-cycle: dependency cycle: bp-d → bp-d
        "#]],
    );
}

#[test]
fn a_cycle_through_a_condition_that_does_not_hold_is_none() {
    let catalog = "
crds 1.0.0 -> operator?webhooks
operator 1.0.0 -> crds
";
    check(
        catalog,
        "include=operator",
        expect![[r#"
        bp-crds: dependency of bp-operator
        bp-operator: selected -> bp-crds
    "#]],
    );
    check(
        catalog,
        "include=operator on=webhooks",
        expect![[r#"
        error dependency-cycle: dependency cycle: bp-crds → bp-operator → bp-crds
          note: bp-operator depends on bp-crds
    "#]],
    );
}

#[test]
fn the_order_breaks_ties_by_name() {
    check(
        "
zeta 1.0.0
alpha 1.0.0 -> zeta
mid 1.0.0
beta 1.0.0 -> mid zeta
",
        "include=beta,alpha",
        expect![[r#"
            bp-mid: dependency of bp-beta
            bp-zeta: dependency of bp-alpha
            bp-alpha: selected -> bp-zeta
            bp-beta: selected -> bp-mid bp-zeta
        "#]],
    );
}
