//! `infra/hetzner` against rendered tfvars: valid Sovereigns pass, each kind
//! of mismatch is caught with its message, and (when a `tofu` or `terraform`
//! binary is on PATH) the real tool agrees.

use std::path::{Path, PathBuf};
use std::process::Command;

use catalyst_diag::{Code, Diagnostics, Severity};
use catalyst_tofu::{Module, TypeConstraint, check_vars, load_module};
use serde_json::{Map, Value, json};

const TOKEN: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01";
const FILE: &str = "clusters/x/infra/catalyst.auto.tfvars.json";

fn module_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/hetzner")
}

fn module() -> Module {
    load_module(&module_dir()).unwrap_or_else(|d| panic!("infra/hetzner does not load: {d:?}"))
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn pool_solo() -> Map<String, Value> {
    obj(json!({
        "//": "Rendered by catalyst. Secrets come from TF_VAR_* at apply time.",
        "sovereign_fqdn": "alpha.omani.works",
        "org_name": "Golden alpha",
        "org_email": "admin@alpha.example.org",
        "domain_mode": "pool",
        "pool_domain": "omani.works",
        "sovereign_subdomain": "alpha",
        "registrar": "",
        "registrar_token_secret_name": "",
        "registrar_token_secret_key": "",
        "environment": "prod",
        "region": "nbg1",
        "cluster_name": "hz-nbg-mgt-prod",
        "control_plane_size": "cpx32",
        "worker_size": "cpx32",
        "worker_count": 2,
        "ha_enabled": false,
        "ssh_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGolden0000000000000000000000000000000 ops@example.org",
        "gitops_repo_url": "https://git.example.org/sovereigns/alpha.git",
        "gitops_branch": "main",
        "gitops_path": "clusters/alpha.omani.works",
        "k3s_version": "v1.31.4+k3s1",
        "secondary_regions": []
    }))
}

fn byo_api_triangle() -> Map<String, Value> {
    obj(json!({
        "sovereign_fqdn": "cloud.tri-telecom.example.net",
        "org_name": "Triangle Telecom",
        "org_email": "noc@tri-telecom.example.net",
        "domain_mode": "byo-api",
        "registrar": "cloudflare",
        "registrar_token_secret_name": "registrar-token",
        "registrar_token_secret_key": "token",
        "environment": "stg",
        "region": "hel1",
        "cluster_name": "hz-hel-mgt-stg",
        "control_plane_size": "cpx42",
        "worker_size": "cpx42",
        "worker_count": 5,
        "ha_enabled": true,
        "ssh_public_key": "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQDtri noc@tri-telecom.example.net",
        "gitops_repo_url": "oci://registry.tri-telecom.example.net/sovereigns/tri",
        "gitops_branch": "v1.4.0",
        "gitops_path": "sovereigns/tri/hel1",
        "k3s_version": "v1.31.4+k3s1",
        "secondary_regions": [
            {"region": "fsn1", "cluster_name": "hz-fsn-dmz-stg", "control_plane_size": "cpx32",
             "worker_size": "cpx32", "worker_count": 3, "ha_enabled": true, "gitops_path": "sovereigns/tri/fsn1"},
            {"region": "ash", "cluster_name": "hz-ash-rtz-stg", "control_plane_size": "cpx32",
             "worker_size": "cax21", "worker_count": 0, "ha_enabled": false, "gitops_path": "./sovereigns/tri/ash/"}
        ]
    }))
}

const ENV_POOL: &[&str] = &["hcloud_token"];
const ENV_BYO: &[&str] = &["hcloud_token", "registrar_token"];

fn messages(d: &Diagnostics, sev: Severity) -> Vec<String> {
    d.iter().filter(|x| x.severity == sev).map(|x| x.message.clone()).collect()
}

/// Checks `vars` and asserts exactly one error, containing `needle`.
#[track_caller]
fn assert_one_error(vars: &Map<String, Value>, env: &[&str], needle: &str) -> catalyst_diag::Diagnostic {
    let d = check_vars(&module(), vars, FILE, env);
    let errs = messages(&d, Severity::Error);
    assert_eq!(errs.len(), 1, "expected one error containing {needle:?}, got {errs:#?}");
    assert!(errs[0].contains(needle), "{:?} does not contain {needle:?}", errs[0]);
    d.iter().find(|x| x.is_error()).cloned().unwrap()
}

#[test]
fn the_module_loads_with_types_and_places() {
    let m = module();
    let names: Vec<&str> = m.variables.iter().map(|v| v.name.as_str()).collect();
    for n in [
        "sovereign_fqdn",
        "org_name",
        "domain_mode",
        "pool_domain",
        "registrar_token_secret_key",
        "k3s_version",
        "secondary_regions",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let get = |n: &str| m.variables.iter().find(|v| v.name == n).unwrap();
    assert!(get("hcloud_token").sensitive && get("hcloud_token").default.is_none());
    assert_eq!(get("registrar_token").default, Some(Value::Null));
    assert_eq!(get("gitops_branch").default, Some(json!("main")));
    assert_eq!(get("worker_count").ty, TypeConstraint::Number);
    assert_eq!(
        get("secondary_regions").ty.to_string(),
        "list(object({ region = string, cluster_name = string, control_plane_size = string, worker_size = string, worker_count = number, ha_enabled = bool, gitops_path = string }))"
    );
    assert!(!get("org_name").nullable);
    assert!(m.variables.iter().all(|v| v.description.is_some()), "every variable has a description");
    let fqdn = get("sovereign_fqdn");
    assert!(fqdn.file.ends_with("variables.tf") && fqdn.line > 1);
    assert_eq!(fqdn.validations.len(), 2);
    assert!(fqdn.validations[0].line > fqdn.line);
}

#[test]
fn valid_sovereigns_pass_without_any_diagnostic() {
    let d = check_vars(&module(), &pool_solo(), FILE, ENV_POOL);
    assert!(d.is_empty(), "{d:#?}");
    let d = check_vars(&module(), &byo_api_triangle(), FILE, ENV_BYO);
    assert!(d.is_empty(), "{d:#?}");
    // registrar_token is optional: byo-api without it is still valid.
    let d = check_vars(&module(), &byo_api_triangle(), FILE, ENV_POOL);
    assert!(d.is_empty(), "{d:#?}");
}

/// Every validation of the module, including those on the secrets, runs
/// in the evaluator: with every value known nothing is skipped, and no
/// construct is unsupported.
#[test]
fn every_validation_is_evaluable() {
    let mut m = module();
    m.variables.iter_mut().for_each(|v| v.sensitive = false);
    let total: usize = m.variables.iter().map(|v| v.validations.len()).sum();
    assert!(total >= 25, "only {total} validations");
    for (mut vars, token) in [(pool_solo(), None), (byo_api_triangle(), Some("cf-token"))] {
        vars.insert("hcloud_token".into(), json!(TOKEN));
        if let Some(t) = token {
            vars.insert("registrar_token".into(), json!(t));
        }
        let d = check_vars(&m, &vars, FILE, &[]);
        assert!(d.is_empty(), "{d:#?}");
        // ...and they do run: a bad token is caught.
        vars.insert("hcloud_token".into(), json!("short"));
        let errs = messages(&check_vars(&m, &vars, FILE, &[]), Severity::Error);
        assert_eq!(
            errs,
            ["variable `hcloud_token`: hcloud_token must be a Hetzner Cloud API token (64 letters and digits)."]
        );
    }
}

#[test]
fn an_undeclared_name_is_an_error_with_a_suggestion() {
    let mut vars = pool_solo();
    vars.insert("workers_count".into(), json!(3));
    let d = assert_one_error(&vars, ENV_POOL, "has no variable `workers_count`; add it to variables.tf");
    assert!(d.message.starts_with("the module ") && d.message.contains("infra/hetzner"));
    assert_eq!(d.help.as_deref(), Some("did you mean `worker_count`?"));
    assert_eq!(d.location.unwrap().file.as_ref(), FILE);
}

#[test]
fn a_missing_required_variable_is_an_error() {
    let mut vars = pool_solo();
    vars.remove("org_email");
    let d = assert_one_error(&vars, ENV_POOL, "variable `org_email` is required (it has no default) but is not set");
    assert!(d.notes[0].location.as_ref().unwrap().file.ends_with("variables.tf"));
    // A secret that is neither rendered nor declared as coming from the
    // environment is missing too.
    assert_one_error(&pool_solo(), &[], "variable `hcloud_token` is required");
    // null for a non-nullable variable without default.
    let mut vars = pool_solo();
    vars.insert("region".into(), Value::Null);
    assert_one_error(&vars, ENV_POOL, "variable `region` is not nullable and has no default");
    // ...but null for one with a default takes the default.
    let mut vars = pool_solo();
    vars.insert("gitops_branch".into(), Value::Null);
    assert!(check_vars(&module(), &vars, FILE, ENV_POOL).is_empty());
}

#[test]
fn type_mismatches_are_reported_at_their_json_path() {
    let mut vars = byo_api_triangle();
    vars["secondary_regions"][1]["worker_count"] = json!("three");
    assert_one_error(
        &vars,
        ENV_BYO,
        "`secondary_regions[1].worker_count` does not match the type of variable `secondary_regions`: a number is required, found a string that is not a number",
    );

    let mut vars = byo_api_triangle();
    vars["secondary_regions"][0].as_object_mut().unwrap().remove("ha_enabled");
    assert_one_error(
        &vars,
        ENV_BYO,
        "`secondary_regions[0].ha_enabled` does not match the type of variable `secondary_regions`: attribute `ha_enabled` is required",
    );

    let mut vars = byo_api_triangle();
    vars["secondary_regions"][0]["worker_sku"] = json!("cpx32");
    assert_one_error(
        &vars,
        ENV_BYO,
        "`secondary_regions[0].worker_sku` does not match the type of variable `secondary_regions`: the type has no attribute `worker_sku`",
    );

    let mut vars = pool_solo();
    vars.insert("ha_enabled".into(), json!("yes"));
    assert_one_error(
        &vars,
        ENV_POOL,
        "`ha_enabled` does not match the type of variable `ha_enabled`: a bool is required, found a string",
    );

    let mut vars = pool_solo();
    vars.insert("secondary_regions".into(), json!({"fsn1": {}}));
    assert_one_error(
        &vars,
        ENV_POOL,
        "`secondary_regions` does not match the type of variable `secondary_regions`: a list",
    );

    // What Terraform converts is accepted, with a warning.
    let mut vars = pool_solo();
    vars.insert("worker_count".into(), json!("3"));
    let d = check_vars(&module(), &vars, FILE, ENV_POOL);
    assert!(!d.has_errors(), "{d:#?}");
    assert_eq!(
        messages(&d, Severity::Warning),
        ["`worker_count`: a string converted to number (Terraform converts it implicitly)"]
    );
}

#[test]
fn a_rendered_secret_is_an_error_that_does_not_repeat_it() {
    let mut vars = pool_solo();
    vars.insert("hcloud_token".into(), json!(TOKEN));
    let d = assert_one_error(&vars, &[], "variable `hcloud_token` is sensitive and must not be rendered");
    assert_eq!(d.code, Code::SecretValue);
    assert!(!format!("{d:?}").contains(TOKEN));
    let mut vars = byo_api_triangle();
    vars.insert("registrar_token".into(), json!("cf-secret-value"));
    let d = assert_one_error(&vars, ENV_POOL, "variable `registrar_token` is sensitive and must not be rendered");
    assert!(!format!("{d:?}").contains("cf-secret-value"));
}

#[test]
fn each_validation_failure_names_its_message() {
    let cases: &[(&str, Value, &str)] = &[
        ("org_name", json!("   "), "org_name must not be empty."),
        ("org_email", json!("admin-at-example.org"), "org_email must be an e-mail address"),
        ("environment", json!("production"), "environment must be one of prod, stg, uat, dev, poc."),
        ("region", json!("fra1"), "region must be one of fsn1, nbg1, hel1, ash, hil."),
        ("cluster_name", json!("hz-nbg-mgmt-prod"), "cluster_name must match"),
        ("cluster_name", json!("hz-nbg-mgt-stg"), "cluster_name must end with -<environment>."),
        ("control_plane_size", json!("large"), "control_plane_size must be a Hetzner server type"),
        ("worker_size", json!("cpx"), "worker_size must be a Hetzner server type"),
        ("worker_count", json!(51), "worker_count must be a whole number from 0 to 50."),
        ("worker_count", json!(-1), "worker_count must be a whole number from 0 to 50."),
        ("worker_count", json!(2.5), "worker_count must be a whole number from 0 to 50."),
        (
            "ssh_public_key",
            json!("ssh-dss AAAAB3NzaC1kc3M ops@x"),
            "ssh_public_key must be one OpenSSH public key line",
        ),
        (
            "gitops_repo_url",
            json!("git@github.com:org/repo.git"),
            "gitops_repo_url must start with https://, ssh:// or oci://",
        ),
        ("gitops_branch", json!("main..evil"), "gitops_branch must be a branch or tag name"),
        ("gitops_path", json!("/etc/clusters"), "gitops_path must be a relative path"),
        ("gitops_path", json!("clusters/../../etc"), "gitops_path must be a relative path"),
        ("k3s_version", json!("1.31.4"), "k3s_version must look like v1.31.4+k3s1."),
        (
            "registrar",
            json!("cloudflare"),
            "registrar must be one of cloudflare, namecheap, godaddy, ovh, dynadot when domain_mode is byo-api, and empty otherwise.",
        ),
    ];
    // (In pool mode a bad FQDN also breaks <subdomain>.<pool>: use byo.)
    let byo: &[(&str, Value, &str)] = &[
        ("sovereign_fqdn", json!("Cloud.tri-telecom.example.net"), "sovereign_fqdn must be a lower-case FQDN"),
        ("sovereign_fqdn", json!("localhost"), "sovereign_fqdn must be a lower-case FQDN"),
        (
            "sovereign_fqdn",
            json!(format!("{}.example.net", "a".repeat(34))),
            "sovereign_fqdn must be at most 45 characters",
        ),
    ];
    let all = cases.iter().map(|c| (c, false)).chain(byo.iter().map(|c| (c, true)));
    for ((key, value, needle), is_byo) in all {
        let (mut vars, env) = if is_byo { (byo_api_triangle(), ENV_BYO) } else { (pool_solo(), ENV_POOL) };
        vars.insert(key.to_string(), value.clone());
        // Rules of other variables that depend on this one may fail too
        // (environment → cluster_name), as in Terraform.
        let all = check_vars(&module(), &vars, FILE, env);
        let mine: Vec<_> = all.iter().filter(|d| d.message.starts_with(&format!("variable `{key}`: "))).collect();
        assert_eq!(mine.len(), 1, "{key} = {value}: {all:#?}");
        let d = mine[0];
        assert!(d.message.contains(needle), "{} does not contain {needle}", d.message);
        assert_eq!(d.code, Code::TofuValidation);
        let note = d.notes[0].location.as_ref().unwrap();
        assert!(note.file.ends_with("variables.tf") && note.line > 1);
    }
    // An unknown mode also fails the rules that depend on it, as in
    // Terraform, which evaluates every validation with the given values.
    let mut vars = pool_solo();
    vars.insert("domain_mode".into(), json!("dns"));
    let errs = messages(&check_vars(&module(), &vars, FILE, ENV_POOL), Severity::Error);
    assert_eq!(errs[0], "variable `domain_mode`: domain_mode must be one of pool, byo-manual, byo-api.");
    // A name too long for Hetzner server names (the FQDN itself is fine).
    let mut vars = pool_solo();
    let long = format!("{}.omani.works", "a".repeat(40));
    vars.insert("sovereign_fqdn".into(), json!(long));
    vars.insert("sovereign_subdomain".into(), json!("a".repeat(40)));
    assert_one_error(&vars, ENV_POOL, "sovereign_fqdn must be at most 45 characters");
}

#[test]
fn secondary_region_rules_apply_to_every_entry() {
    let cases: &[(usize, &str, Value, &str)] = &[
        (1, "region", json!("fra1"), "secondary_regions[*].region must be one of"),
        (0, "region", json!("hel1"), "secondary_regions[*].region must differ from region and from each other."),
        (1, "region", json!("fsn1"), "secondary_regions[*].region must differ from region and from each other."),
        (1, "cluster_name", json!("hz-ash-rtz-prod"), "secondary_regions[*].cluster_name must match"),
        (1, "cluster_name", json!("hz-fsn-dmz-stg"), "secondary_regions[*].cluster_name must differ"),
        (0, "worker_size", json!("m5.large"), "secondary_regions[*].control_plane_size and worker_size"),
        (1, "worker_count", json!(50.5), "secondary_regions[*].worker_count must be a whole number from 0 to 50."),
        (1, "gitops_path", json!("../other"), "secondary_regions[*].gitops_path must be a relative path"),
    ];
    for (i, key, value, needle) in cases {
        let mut vars = byo_api_triangle();
        vars["secondary_regions"][*i][*key] = value.clone();
        assert_one_error(&vars, ENV_BYO, needle);
    }
}

#[test]
fn cross_variable_domain_rules() {
    // pool needs pool_domain ...
    let mut vars = pool_solo();
    vars.insert("pool_domain".into(), json!(""));
    let d = check_vars(&module(), &vars, FILE, ENV_POOL);
    let errs = messages(&d, Severity::Error);
    assert!(
        errs.contains(
            &"variable `pool_domain`: pool_domain must be a domain name when domain_mode is pool, and empty otherwise."
                .to_string()
        ),
        "{errs:#?}"
    );
    // (and then the FQDN no longer is <subdomain>.<pool_domain>)
    assert!(errs.iter().any(|e| e.contains("sovereign_fqdn must be <sovereign_subdomain>.<pool_domain>")), "{errs:#?}");
    // ... and the other modes refuse it.
    let mut vars = byo_api_triangle();
    vars.insert("pool_domain".into(), json!("omani.works"));
    assert_one_error(
        &vars,
        ENV_BYO,
        "pool_domain must be a domain name when domain_mode is pool, and empty otherwise.",
    );
    // byo-api needs a registrar and where to put its token.
    let mut vars = byo_api_triangle();
    vars.insert("registrar".into(), json!(""));
    assert_one_error(&vars, ENV_BYO, "registrar must be one of");
    let mut vars = byo_api_triangle();
    vars.remove("registrar_token_secret_name");
    assert_one_error(&vars, ENV_BYO, "registrar_token_secret_name must be a Kubernetes object name");
    // An invalid label (which also breaks the derived FQDN).
    let mut vars = pool_solo();
    vars.insert("sovereign_subdomain".into(), json!("-alpha"));
    let errs = messages(&check_vars(&module(), &vars, FILE, ENV_POOL), Severity::Error);
    assert!(errs.iter().any(|e| e.contains("sovereign_subdomain must be an RFC 1035 label")), "{errs:#?}");
    // The pool FQDN is derived.
    let mut vars = pool_solo();
    vars.insert("sovereign_subdomain".into(), json!("beta"));
    assert_one_error(
        &vars,
        ENV_POOL,
        "sovereign_fqdn must be <sovereign_subdomain>.<pool_domain> when domain_mode is pool.",
    );
}

#[test]
fn comments_are_ignored_and_unknown_env_names_warned() {
    let mut vars = pool_solo();
    vars.insert("//".into(), json!(["any", "comment"]));
    let d = check_vars(&module(), &vars, FILE, &["hcloud_token", "hetzner_token"]);
    assert!(!d.has_errors(), "{d:#?}");
    assert_eq!(
        messages(&d, Severity::Warning),
        ["`hetzner_token` is supplied from the environment but the module ".to_string()
            + &module_dir().display().to_string()
            + " does not declare it"]
    );
}

// --- Modules other than infra/hetzner ------------------------------------------

fn temp_module(tf: &str) -> (tempfile::TempDir, Result<Module, Diagnostics>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("variables.tf"), tf).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not HCL {").unwrap();
    let m = load_module(dir.path());
    (dir, m)
}

#[test]
fn unsupported_constructs_are_warnings_never_panics() {
    let (_dir, m) = temp_module(
        r#"
variable "a" {
  type = string
  validation {
    condition     = timestamp() != var.a
    error_message = "no"
  }
  validation {
    condition     = can(provider::x::y(var.a))
    error_message = "no"
  }
  validation {
    condition     = var.a != "" ? "%{ if true }yes%{ endif }" == "yes" : false
    error_message = "no"
  }
  validation {
    condition     = var.a != "bad"
    error_message = "a is ${upper(var.a)}"
  }
}
"#,
    );
    let m = m.unwrap();
    let d = check_vars(&m, &obj(json!({"a": "bad"})), "x.json", &[]);
    let warns = messages(&d, Severity::Warning);
    assert_eq!(warns.len(), 3, "{d:#?}");
    assert!(warns[0].contains("the function `timestamp` is not supported offline"), "{warns:?}");
    assert!(warns[1].contains("the function `provider::x::y`"), "{warns:?}");
    assert!(warns[2].contains("template directives"), "{warns:?}");
    // error_message templates are interpolated.
    assert_eq!(messages(&d, Severity::Error), ["variable `a`: a is BAD"]);
}

#[test]
fn types_defaults_and_optional_attributes() {
    let (_dir, m) = temp_module(
        r#"
variable "o" {
  type = object({ a = number, b = optional(string, "x"), c = map(list(bool)), d = tuple([string, number]), e = set(string) })
  default = { a = 1, c = {}, d = ["x", 2], e = [] }
  validation {
    condition     = var.o.b == null || length(var.o.c) >= 0
    error_message = "never"
  }
}
variable "n" {
  type    = any
  default = [1, "two", { three = 3 }]
}
"#,
    );
    let m = m.unwrap();
    assert_eq!(
        m.variables[0].ty.to_string(),
        "object({ a = number, b = optional(string), c = map(list(bool)), d = tuple([string, number]), e = set(string) })"
    );
    assert_eq!(m.variables[1].default, Some(json!([1, "two", {"three": 3}])));
    assert!(check_vars(&m, &Map::new(), "x.json", &[]).is_empty());
    let bad = obj(json!({"o": {"a": 1, "c": {"k": [true, 3]}, "d": ["x"], "e": ["a", "a"]}}));
    let errs = messages(&check_vars(&m, &bad, "x.json", &[]), Severity::Error);
    assert_eq!(
        errs,
        [
            "`o.c[\"k\"][1]` does not match the type of variable `o`: a bool is required, found a number",
            "`o.d` does not match the type of variable `o`: a tuple of 2 elements is required, found 1",
        ]
    );
}

#[test]
fn load_errors_have_places() {
    let (_dir, m) = temp_module(
        "variable \"a\" {\n  type = strin\n}\nvariable \"b\" {\n  type = string\n  nullable = 3\n}\nvariable \"c\" {\n  default = var.a\n}\n",
    );
    let d = m.unwrap_err();
    let got: Vec<(usize, String)> = d.iter().map(|x| (x.location.as_ref().unwrap().line, x.message.clone())).collect();
    assert_eq!(
        got,
        [
            (2, "variable `a`: invalid type: `strin` is not a type; use string, number, bool or any".to_string()),
            (6, "variable `b`: `nullable` must be true or false".to_string()),
            (9, "variable `c`: the default must be a constant value".to_string()),
        ]
    );
    let (_dir, m) = temp_module("variable \"a\" {\n  type = \n}\n");
    let d = m.unwrap_err();
    assert_eq!(d.0[0].code, Code::TofuParse);
    assert_eq!(d.0[0].location.as_ref().unwrap().line, 2);
    assert!(load_module(Path::new("/nonexistent/module")).is_err());
}

// --- Oracle --------------------------------------------------------------------

fn find_tool() -> Option<PathBuf> {
    let path = std::env::var_os(catalyst_env::PATH)?;
    ["tofu", "terraform"]
        .iter()
        .flat_map(|b| std::env::split_paths(&path).map(move |d| d.join(b)))
        .find(|p| p.is_file())
}

/// The real tool plans `variables.tf` alone (no providers, so offline)
/// with each tfvars file, and must agree with `check_vars` on whether it is
/// valid. Cases where catalyst is stricter on purpose (undeclared names and
/// object attributes, which Terraform only warns about or drops) are not
/// compared.
#[test]
fn oracle_agrees_with_tofu_or_terraform() {
    let Some(tool) = find_tool() else {
        eprintln!("SKIP oracle_agrees_with_tofu_or_terraform: neither `tofu` nor `terraform` is on PATH");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(module_dir().join("variables.tf"), dir.path().join("variables.tf")).unwrap();
    std::fs::write(dir.path().join("main.tf"), "output \"ok\" { value = true }\n").unwrap();
    let run = |args: &[&str], registrar: bool| {
        let mut cmd = Command::new(&tool);
        cmd.args(args)
            .current_dir(dir.path())
            .env("TF_CLI_CONFIG_FILE", "/dev/null")
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_VAR_hcloud_token", TOKEN)
            .env_remove("TF_VAR_registrar_token");
        if registrar {
            cmd.env("TF_VAR_registrar_token", "cf-token");
        }
        cmd.output().expect("runs")
    };
    let init = run(&["init", "-input=false", "-no-color"], false);
    assert!(init.status.success(), "init failed: {}", String::from_utf8_lossy(&init.stderr));

    // (name, tfvars, byo-api, what the tool must say when it refuses)
    let mut cases: Vec<(&str, Map<String, Value>, bool)> =
        vec![("", pool_solo(), false), ("", byo_api_triangle(), true)];
    let mut add =
        |needle: &'static str, base: fn() -> Map<String, Value>, byo: bool, edit: &dyn Fn(&mut Map<String, Value>)| {
            let mut v = base();
            edit(&mut v);
            cases.push((needle, v, byo));
        };
    add("worker_count must be a whole", pool_solo, false, &|v| {
        v.insert("worker_count".into(), json!(51));
    });
    add("pool_domain must be a domain", pool_solo, false, &|v| {
        v.insert("pool_domain".into(), json!(""));
    });
    add("a number is required", byo_api_triangle, true, &|v| {
        v["secondary_regions"][1]["worker_count"] = json!("three");
    });
    add("secondary_regions[*].region must", byo_api_triangle, true, &|v| {
        v["secondary_regions"][0]["region"] = json!("hel1");
    });
    add("org_email must be an e-mail", pool_solo, false, &|v| {
        v.insert("org_email".into(), json!("nope"));
    });
    add("No value for required variable", pool_solo, false, &|v| {
        v.remove("org_name");
    });
    add("", pool_solo, false, &|v| {
        v.insert("worker_count".into(), json!("3"));
    });

    for (needle, vars, byo) in &cases {
        std::fs::write(
            dir.path().join("x.auto.tfvars.json"),
            serde_json::to_vec_pretty(&Value::Object(vars.clone())).unwrap(),
        )
        .unwrap();
        let out = run(&["plan", "-input=false", "-no-color"], *byo);
        let env: &[&str] = if *byo { ENV_BYO } else { ENV_POOL };
        let ours = !check_vars(&module(), vars, "x.auto.tfvars.json", env).has_errors();
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.success(), needle.is_empty(), "{needle:?}: {} says:\n{said}", tool.display());
        assert!(said.contains(needle), "{} refused for another reason than {needle:?}:\n{said}", tool.display());
        assert_eq!(
            out.status.success(),
            ours,
            "{needle:?}: {} says {}, check_vars says {}\n{}{}",
            tool.display(),
            out.status.success(),
            ours,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
    }
    eprintln!("oracle: {} agreed on {} cases", tool.display(), cases.len());
}
