//! The schema says what the compiler checks: every invalid spec the
//! compiler refuses (the fixtures of `tests/specs/invalid/`, and the
//! invalid specs of `golden/`) is fed to an independent JSON Schema
//! validator, Python's `jsonschema`, with `schemas/sovereign.schema.json`.
//! Where the rule is one JSON Schema can state, it must refuse the spec,
//! for that rule; where it cannot (the list below, with why), it must
//! accept it — so the list stays true when the schema learns a rule. Every
//! valid spec of the repository must pass both.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

/// The rules no JSON Schema (draft 2020-12) can state, by fixture, and why.
/// The compiler checks them in code (`catalyst-spec`, the catalog).
const NOT_EXPRESSIBLE: &[(&str, &str)] = &[
    // uniqueItems compares whole items; two regions that differ in their
    // node sizes but name one cloud region are different items. A Hetzner
    // location is one of five, each allowed once (`maxContains`); the
    // regions of other providers are open names.
    ("duplicate-region-elsewhere", "uniqueness of a pair of fields within list items, over open names"),
    // A cut-over Sovereign's hosts must be under its own FQDN: a comparison
    // of one field's value with another's (JSON Schema has no `$data`).
    ("cutover-foreign-registry", "one field's value compared with another's"),
    // `bp-x` and `x` are one Blueprint: uniqueness after normalising names.
    ("include-with-and-without-prefix", "uniqueness after normalising names"),
    ("blueprints-with-and-without-prefix", "uniqueness of keys after normalising names"),
    // JSON Schema's `integer` is any number with a zero fraction: 3.0 is
    // one. The compiler wants the literal (YAML readers take 3.0 as a float).
    ("workers-count-with-fraction", "how a number was written, not its value"),
    // Secret-shaped strings (token formats, entropy of random strings) in
    // any field, free-form configuration included.
    ("token-pasted-in-a-name", "a measure of randomness over every string"),
    // Golden specs whose problem is in what they select: the catalog
    // decides (families, Blueprints, placement bounds, dependency cycles).
    ("golden/unknown-blueprint", "depends on the catalog"),
    ("golden/min-regions", "depends on the catalog"),
    ("golden/dependency-cycle", "depends on the catalog"),
];

/// Python with `jsonschema` importable; installs it with pip when it is
/// missing. Never a skip: a machine without it fails saying what to
/// install.
fn python() -> &'static str {
    let importable = || {
        Command::new("python3")
            .args(["-c", "import jsonschema"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !importable() {
        let o = Command::new("python3").args(["-m", "pip", "install", "--quiet", "jsonschema"]).output();
        let why = match o {
            Ok(o) => text(&o.stderr),
            Err(e) => e.to_string(),
        };
        assert!(
            importable(),
            "this test needs Python 3 with the `jsonschema` package, an independent JSON Schema validator \
             (`python3 -m pip install jsonschema`, or Debian's `apt-get install python3-jsonschema`); \
             installing it with pip failed: {why}"
        );
    }
    "python3"
}

/// What Python's validator says of each document: for each, the errors as
/// `[rule or null, keyword, instance path]`, the rule being the innermost
/// `x-catalyst-rule` on the way to the failing keyword.
const VALIDATE_PY: &str = r##"
import json, sys
import jsonschema
req = json.load(sys.stdin)
schema = req["schema"]
validator = jsonschema.Draft202012Validator(schema)
jsonschema.Draft202012Validator.check_schema(schema)

def rule_of(path):
    node, rule = schema, None
    for seg in list(path)[:-1]:
        while isinstance(node, dict) and seg not in node and "$ref" in node:
            ref = node["$ref"]
            node = schema
            for part in ref.lstrip("#/").split("/"):
                node = node[part]
        node = node[seg]
        if isinstance(node, dict) and "x-catalyst-rule" in node:
            rule = node["x-catalyst-rule"]
    return rule

def flatten(errors):
    for e in errors:
        yield e
        yield from flatten(e.context or [])

out = {}
for name, doc in req["docs"].items():
    out[name] = [
        [rule_of(e.absolute_schema_path), str(e.validator), "/" + "/".join(str(p) for p in e.absolute_path)]
        for e in flatten(validator.iter_errors(doc))
    ]
json.dump(out, sys.stdout, sort_keys=True)
"##;

fn python_verdicts(
    docs: &BTreeMap<String, serde_json::Value>,
) -> BTreeMap<String, Vec<(Option<String>, String, String)>> {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("schemas/sovereign.schema.json")).unwrap()).unwrap();
    let mut child = Command::new(python())
        .args(["-c", VALIDATE_PY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    let req = serde_json::json!({"schema": schema, "docs": docs});
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), req.to_string().as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "python's jsonschema failed: {}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn json_of(path: &Path) -> (String, serde_json::Value) {
    let t = std::fs::read_to_string(path).unwrap();
    let doc = catalyst_yaml::parse_one(&t, &catalyst_yaml::Limits::default()).unwrap().unwrap();
    (t, doc.to_json())
}

/// The codes the compiler's spec check gives `text`.
fn spec_codes(text: &str, file: &str) -> BTreeSet<String> {
    match catalyst_spec::parse(text, file, &catalyst_yaml::Limits::default()) {
        Ok(_) => BTreeSet::new(),
        Err(d) => d.0.iter().filter(|d| d.is_error()).map(|d| d.code.to_string()).collect(),
    }
}

struct Invalid {
    /// Fixture stem, or `golden/<case>`.
    name: String,
    /// Codes the compiler refuses it with.
    codes: BTreeSet<String>,
    doc: serde_json::Value,
}

fn invalid_specs() -> Vec<Invalid> {
    let mut out = Vec::new();
    let dir = repo().join("compiler/catalyst-cli/tests/specs/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files {
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        let (text, doc) = json_of(&f);
        let expect: BTreeSet<String> = text
            .lines()
            .find_map(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{name}: no `# expect: <code>` line"))
            .split_whitespace()
            .map(str::to_string)
            .collect();
        // The fixture is invalid for the reason it says, and only that.
        let codes = spec_codes(&text, &name);
        assert_eq!(codes, expect, "{name}: the compiler's codes");
        out.push(Invalid { name, codes, doc });
    }
    // The golden cases that fail: their spec, and the codes their expected
    // output reports.
    for case in std::fs::read_dir(repo().join("golden")).unwrap().map(|e| e.unwrap().path()) {
        let code = std::fs::read_to_string(case.join("out/exit-code")).unwrap_or_default();
        if code.trim() != "1" {
            continue;
        }
        let stderr = std::fs::read_to_string(case.join("out/stderr.txt")).unwrap();
        let codes: BTreeSet<String> = stderr
            .lines()
            .filter_map(|l| l.strip_prefix("error[")?.split_once(']').map(|(c, _)| c.to_string()))
            .collect();
        assert!(!codes.is_empty(), "{}: no error in its expected output", case.display());
        let name = format!("golden/{}", case.file_name().unwrap().to_string_lossy());
        out.push(Invalid { name, codes, doc: json_of(&case.join("in/sovereign.yaml")).1 });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[test]
fn every_invalid_spec_the_schema_can_describe_is_refused_by_an_independent_validator() {
    let invalid = invalid_specs();
    assert!(invalid.len() >= 30, "fixtures found: {}", invalid.len());
    let not: BTreeMap<&str, &str> = NOT_EXPRESSIBLE.iter().copied().collect();
    for name in not.keys() {
        assert!(invalid.iter().any(|i| i.name == *name), "NOT_EXPRESSIBLE names `{name}`, which is no invalid spec");
    }
    let docs: BTreeMap<String, serde_json::Value> = invalid.iter().map(|i| (i.name.clone(), i.doc.clone())).collect();
    let verdicts = python_verdicts(&docs);
    let schema_text = std::fs::read_to_string(repo().join("schemas/sovereign.schema.json")).unwrap();
    let mut problems = Vec::new();
    for i in &invalid {
        let errors = &verdicts[&i.name];
        if let Some(why) = not.get(i.name.as_str()) {
            if !errors.is_empty() {
                problems.push(format!(
                    "{}: listed as not expressible ({why}), but the schema refuses it now ({errors:?}): take it off NOT_EXPRESSIBLE",
                    i.name
                ));
            }
            continue;
        }
        if errors.is_empty() {
            problems
                .push(format!("{}: the compiler refuses it ({:?}), python's jsonschema accepts it", i.name, i.codes));
            continue;
        }
        // Refused for the compiler's reason: where the schema states the
        // rule as an `x-catalyst-rule`, a refusal comes from that rule.
        let ruled: Vec<&String> =
            i.codes.iter().filter(|c| schema_text.contains(&format!("\"x-catalyst-rule\": \"{c}\""))).collect();
        let structural = errors.iter().any(|(r, _, _)| r.is_none());
        if !ruled.is_empty()
            && !structural
            && !errors.iter().any(|(r, _, _)| r.as_ref().is_some_and(|r| ruled.contains(&r)))
        {
            problems.push(format!("{}: refused, but not by the rule {ruled:?}: {errors:?}", i.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_valid_spec_of_the_repository_passes_the_schema_and_the_compiler() {
    let mut specs: Vec<PathBuf> = Vec::new();
    for dir in std::fs::read_dir(repo().join("clusters")).unwrap().map(|e| e.unwrap().path()) {
        specs.push(dir.join("sovereign.yaml"));
    }
    for case in std::fs::read_dir(repo().join("golden")).unwrap().map(|e| e.unwrap().path()) {
        let spec = case.join("in/sovereign.yaml");
        let failing = std::fs::read_to_string(case.join("out/exit-code")).is_ok_and(|c| c.trim() != "0");
        if spec.is_file() && !failing {
            specs.push(spec);
        }
    }
    specs.retain(|s| s.is_file());
    assert!(specs.len() >= 8, "{specs:?}");
    let mut docs = BTreeMap::new();
    for s in &specs {
        let (text, doc) = json_of(s);
        let name = s.strip_prefix(repo()).unwrap().to_string_lossy().into_owned();
        assert_eq!(spec_codes(&text, &name), BTreeSet::new(), "{name}");
        docs.insert(name, doc);
    }
    let verdicts = python_verdicts(&docs);
    let refused: Vec<_> = verdicts.iter().filter(|(_, e)| !e.is_empty()).collect();
    assert!(refused.is_empty(), "python's jsonschema refuses valid specs: {refused:?}");
}

/// The compiler's own JSON Schema validator (the `jsonschema` crate) reads
/// the schema as Python's does: it refuses every fixture the schema can
/// describe, and says nothing the compiler does not (so a rule's words,
/// reported only where the compiler's code is silent, never add a problem).
#[test]
fn the_schema_rules_and_the_compiler_agree_on_each_fixture() {
    let not: BTreeSet<&str> = NOT_EXPRESSIBLE.iter().map(|(n, _)| *n).collect();
    for i in invalid_specs().iter().filter(|i| !i.name.starts_with("golden/")) {
        let path = repo().join(format!("compiler/catalyst-cli/tests/specs/invalid/{}.yaml", i.name));
        let t = std::fs::read_to_string(&path).unwrap();
        let doc = catalyst_yaml::parse_one(&t, &catalyst_yaml::Limits::default()).unwrap().unwrap();
        let catalyst_schema::Violations { plain: structural, rules } =
            catalyst_schema::builtin(catalyst_schema::Builtin::Sovereign).check_split(&doc, &i.name);
        let schema_codes: BTreeSet<String> = structural.iter().chain(&rules).map(|d| d.code.to_string()).collect();
        assert!(
            schema_codes.is_subset(&i.codes),
            "{}: the schema says {schema_codes:?}, the compiler {:?}",
            i.name,
            i.codes
        );
        // The compiler's validator adds one keyword of its own beside
        // `type: integer` (`x-catalyst-integer`: no `3.0`), which no
        // standard validator knows.
        let own_keyword = i.name == "workers-count-with-fraction";
        assert_eq!(
            schema_codes.is_empty(),
            not.contains(i.name.as_str()) && !own_keyword,
            "{}: {schema_codes:?}",
            i.name
        );
    }
}

/// The schema and the compiler agree on every spec that probes their
/// rules: each reserved pool subdomain of the compiler's list (so the
/// schema's copy of the list cannot drift from it), names at the edges of
/// a DNS label, and 1 to 5 regions for each topology shape, with and
/// without airgap. One refuses exactly where the other does.
#[test]
fn the_schema_and_the_compiler_agree_on_subdomains_and_region_counts() {
    let base = std::fs::read_to_string(repo().join("clusters/omantel.omani.works/sovereign.yaml")).unwrap();
    assert!(base.contains("    subdomain: omantel\n"), "the example is a pool Sovereign named omantel");
    let mut names: Vec<String> = catalyst_spec::RESERVED_SUBDOMAINS.iter().map(|s| s.to_string()).collect();
    names.extend(
        ["omantel", "WWW", "Api", "www1", "ns3", "-x", "x-", "a--b", "xn--abc", "a.b", "a_b", "", "1"]
            .map(str::to_string),
    );
    names.push("a".repeat(63));
    names.push("a".repeat(64));
    let mut texts: Vec<(String, String)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (format!("{i:02}:{n}"), base.replace("    subdomain: omantel\n", &format!("    subdomain: \"{n}\"\n")))
        })
        .collect();
    // Regions per topology shape, with and without airgap: 1 to 5 regions
    // (Hetzner's five locations, so no region is listed twice).
    let one = "      - provider: hetzner\n        cloudRegion: fsn1\n";
    assert!(base.contains(one) && base.contains("    shape: solo\n"));
    let rest: String = base
        .split(one)
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| l.starts_with("        "))
        .map(|l| format!("{l}\n"))
        .collect();
    for shape in ["solo", "compact", "zoned", "dual", "triangle", "citadel"] {
        for airgap in [false, true] {
            for n in 1..=5 {
                let regions: String = ["fsn1", "nbg1", "hel1", "ash", "hil"][..n]
                    .iter()
                    .map(|l| format!("{}{rest}", one.replace("fsn1", l)))
                    .collect();
                let topology = format!("    shape: {shape}\n{}", if airgap { "    airgap: true\n" } else { "" });
                let text = base.replace(&format!("{one}{rest}"), &regions).replace("    shape: solo\n", &topology);
                texts.push((format!("{shape}{}-{n}", if airgap { "+airgap" } else { "" }), text));
            }
        }
    }
    let mut docs = BTreeMap::new();
    let mut compiler = BTreeMap::new();
    for (key, text) in texts {
        let doc = catalyst_yaml::parse_one(&text, &catalyst_yaml::Limits::default()).unwrap().unwrap();
        docs.insert(key.clone(), doc.to_json());
        compiler.insert(key, spec_codes(&text, "sovereign.yaml"));
    }
    let verdicts = python_verdicts(&docs);
    let mut disagree = Vec::new();
    for (key, codes) in &compiler {
        let schema = &verdicts[key];
        if codes.is_empty() != schema.is_empty() {
            disagree.push(format!("subdomain {key}: the compiler says {codes:?}, python's jsonschema {schema:?}"));
        }
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
    // The probe probes: both refuse the reserved names and accept the plain one.
    assert!(compiler.iter().filter(|(k, c)| !c.is_empty() && k.ends_with(":www")).count() == 1);
    assert!(compiler.iter().any(|(k, c)| c.is_empty() && k.ends_with(":omantel")));
    for (key, valid) in [("solo-1", true), ("solo-2", false), ("triangle+airgap-4", true), ("citadel-3", false)] {
        assert_eq!(compiler[key].is_empty(), valid, "{key}: {:?}", compiler[key]);
    }
}
