//! OpenTofu modules, offline.
//!
//! [`load_module`] reads the `variable` blocks of every `*.tf` file in a
//! module directory (type, default, sensitivity, nullability, validations,
//! with file and line). [`check_vars`] checks a rendered tfvars JSON object
//! against them the way `tofu plan` would, without running it: undeclared
//! names, required variables that are missing, values that do not convert
//! to the declared type (reported at their JSON path), sensitive variables
//! that were rendered (secrets never are), and `validation` blocks whose
//! condition is false. Conditions run in a small evaluator (see [`eval`]):
//! what it does not support is a warning, never a silent pass or a panic.

pub mod bootstrap;
pub mod eval;
pub mod objects;
mod types;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use catalyst_diag::{Code, Diagnostic, Diagnostics, Location};
use hcl::edit::Span;
use hcl::edit::structure::{Block, Body};
use hcl::template::Template;

pub use eval::{EvalError, Value};
pub use types::TypeConstraint;

/// A module directory and the variables it declares, in file order.
#[derive(Clone, Debug)]
pub struct Module {
    pub dir: PathBuf,
    pub variables: Vec<Variable>,
    /// The objects the module creates before Flux starts, as its
    /// `bootstrap-objects.yaml` lists them (`None`: it has no list).
    pub bootstrap: Option<Vec<bootstrap::BootstrapEntry>>,
    /// Every `locals` entry whose value is a string literal (versions the
    /// module pins, such as `flux_version`), in file order.
    pub locals: Vec<Local>,
    /// Every Kubernetes object the module writes as an HCL object literal
    /// (Phase-0's Flux source and Kustomization), in file order.
    pub objects: Vec<objects::ObjectLiteral>,
}

/// One `locals` entry holding a string literal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Local {
    pub name: String,
    pub value: String,
    /// `<dir>/<file>.tf`, as the diagnostics print it.
    pub file: String,
    pub line: usize,
    pub column: usize,
}

/// One `variable` block.
#[derive(Clone, Debug)]
pub struct Variable {
    pub name: String,
    pub ty: TypeConstraint,
    /// `Some(Null)` for `default = null`: the variable is optional.
    pub default: Option<serde_json::Value>,
    pub sensitive: bool,
    pub nullable: bool,
    pub description: Option<String>,
    pub validations: Vec<Validation>,
    /// `<dir>/<file>.tf`, as the diagnostics print it.
    pub file: String,
    pub line: usize,
}

/// One `validation` block of a variable.
#[derive(Clone, Debug)]
pub struct Validation {
    pub condition: hcl::Expression,
    /// The literal message, or the template source when it interpolates.
    pub error_message: String,
    pub line: usize,
    pub column: usize,
}

/// The largest module file read (the default input limit).
const MAX_MODULE_FILE: u64 = 16 << 20;

/// Reads every `*.tf` file of `dir` (sorted by name) and returns its
/// variable declarations. Other blocks are ignored.
pub fn load_module(dir: &Path) -> Result<Module, Diagnostics> {
    let mut diags = Diagnostics::new();
    let dir_name = dir.display().to_string();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                std::fs::symlink_metadata(p).is_ok_and(|m| !m.is_dir()) && p.extension().is_some_and(|x| x == "tf")
            })
            .collect(),
        Err(e) => {
            let d = Diagnostic::error(Code::UnreadableFile, format!("cannot read module directory {dir_name}: {e}"));
            return Err(Diagnostics(vec![d.at(Some(Location::file(dir_name)))]));
        }
    };
    files.sort();

    let mut variables: Vec<Variable> = Vec::new();
    let mut locals: Vec<Local> = Vec::new();
    let mut objects = Vec::new();
    for path in files {
        let file = path.display().to_string();
        // Never through a link out of the module, never a FIFO, bounded
        // like every other input.
        let read = catalyst_fs::read_confined(dir, &path, &file, MAX_MODULE_FILE)
            .map_err(|e| Diagnostic::error(e.code(), e.to_string()).help(e.help()))
            .and_then(|b| {
                String::from_utf8(b).map_err(|_| {
                    Diagnostic::error(Code::NotUtf8, format!("{file} is not valid UTF-8"))
                        .help("save the file as UTF-8")
                })
            });
        let text = match read {
            Ok(t) => t,
            Err(d) => {
                diags.push(d.at(Some(Location::file(file))));
                continue;
            }
        };
        let body: Body = match hcl::edit::parser::parse_body(&text) {
            Ok(b) => b,
            Err(e) => {
                let loc = e.location();
                diags.push(
                    Diagnostic::error(Code::TofuParse, format!("invalid HCL: {}", e.message()))
                        .at(Some(Location::new(file.as_str(), loc.line(), loc.column(), 1))),
                );
                continue;
            }
        };
        locals.extend(string_locals(&body, &text, &file));
        objects.extend(objects::object_literals(&body, &text, &file));
        for block in body.get_blocks("variable") {
            if let Some(v) = read_variable(block, &text, &file, &mut diags) {
                if let Some(prev) = variables.iter().find(|p| p.name == v.name) {
                    diags.push(
                        Diagnostic::error(
                            Code::TofuDuplicateVariable,
                            format!("variable `{}` is declared twice", v.name),
                        )
                        .at(Some(Location::new(v.file.as_str(), v.line, 1, 8)))
                        .note("first declared here", Some(Location::new(prev.file.as_str(), prev.line, 1, 8))),
                    );
                } else {
                    variables.push(v);
                }
            }
        }
    }
    let bootstrap = match bootstrap::load_bootstrap(dir, &dir_name) {
        Ok(b) => b,
        Err(d) => {
            diags.extend(d);
            None
        }
    };
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(Module { dir: dir.to_path_buf(), variables, locals, bootstrap, objects })
    }
}

/// The `locals` entries of `body` whose value is a plain string literal
/// (no interpolation): what a module pins, read without evaluating it.
fn string_locals(body: &Body, text: &str, file: &str) -> Vec<Local> {
    let mut out = Vec::new();
    for block in body.get_blocks("locals") {
        for attr in block.body.attributes() {
            let value = match hcl::Expression::from(attr.value.clone()) {
                hcl::Expression::String(s) => s,
                hcl::Expression::TemplateExpr(t) => match *t {
                    hcl::TemplateExpr::QuotedString(s) if !s.contains("${") && !s.contains("%{") => s,
                    _ => continue,
                },
                _ => continue,
            };
            let (line, column) = position(text, attr.span().map_or(0, |s| s.start));
            out.push(Local { name: attr.key.as_str().to_string(), value, file: file.to_string(), line, column });
        }
    }
    out
}

/// 1-based line and column of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn read_variable(block: &Block, text: &str, file: &str, diags: &mut Diagnostics) -> Option<Variable> {
    let (line, col) = position(text, block.span().map_or(0, |s| s.start));
    let here = |l: usize, c: usize| Some(Location::new(file, l, c, 1));
    let [label] = block.labels.as_slice() else {
        diags.push(
            Diagnostic::error(Code::TofuInvalidVariable, "a variable block takes exactly one label (its name)")
                .at(here(line, col)),
        );
        return None;
    };
    let name = label.as_str().to_string();
    let attr_pos = |key: &str| {
        let span = block.body.get_attribute(key).and_then(|a| a.span()).map_or(0, |s| s.start);
        position(text, span)
    };
    let expr = |key: &str| block.body.get_attribute(key).map(|a| hcl::Expression::from(a.value.clone()));
    let mut error = |key: &str, msg: String| {
        let (l, c) = attr_pos(key);
        diags.push(Diagnostic::error(Code::TofuInvalidVariable, format!("variable `{name}`: {msg}")).at(here(l, c)));
    };

    let ty = match expr("type") {
        None => TypeConstraint::Any,
        Some(e) => TypeConstraint::parse(&e).unwrap_or_else(|m| {
            error("type", format!("invalid type: {m}"));
            TypeConstraint::Any
        }),
    };
    let mut flag = |key: &str, default: bool| match expr(key) {
        None => default,
        Some(hcl::Expression::Bool(b)) => b,
        Some(_) => {
            error(key, format!("`{key}` must be true or false"));
            default
        }
    };
    let sensitive = flag("sensitive", false);
    let nullable = flag("nullable", true);
    let description = match expr("description") {
        Some(hcl::Expression::String(s)) => Some(s),
        _ => None,
    };
    // A default is a constant: evaluate it with no variables in scope.
    let default = expr("default").and_then(|e| {
        match eval::Scope::new(&BTreeMap::new()).eval(&e).ok().and_then(|v| v.to_json()) {
            Some(v) => Some(v),
            None => {
                error("default", "the default must be a constant value".into());
                None
            }
        }
    });

    let mut validations = Vec::new();
    for vb in block.body.get_blocks("validation") {
        let (vl, vc) = position(text, vb.span().map_or(0, |s| s.start));
        let condition = vb.body.get_attribute("condition").map(|a| hcl::Expression::from(a.value.clone()));
        let message = vb.body.get_attribute("error_message").map(|a| hcl::Expression::from(a.value.clone()));
        let error_message = match message {
            Some(hcl::Expression::String(s)) => s,
            Some(hcl::Expression::TemplateExpr(t)) => match *t {
                hcl::TemplateExpr::QuotedString(s) => s,
                hcl::TemplateExpr::Heredoc(h) => h.template,
            },
            _ => {
                diags.push(
                    Diagnostic::error(
                        Code::TofuInvalidVariable,
                        format!("variable `{name}`: a validation needs a string error_message"),
                    )
                    .at(here(vl, vc)),
                );
                continue;
            }
        };
        let Some(condition) = condition else {
            diags.push(
                Diagnostic::error(
                    Code::TofuInvalidVariable,
                    format!("variable `{name}`: a validation needs a condition"),
                )
                .at(here(vl, vc)),
            );
            continue;
        };
        validations.push(Validation { condition, error_message, line: vl, column: vc });
    }

    Some(Variable { name, ty, default, sensitive, nullable, description, validations, file: file.to_string(), line })
}

/// Checks the rendered tfvars `vars` (from `file`) against `module`.
/// `from_env` names the variables supplied at apply time (`TF_VAR_*`):
/// they count as set, and conditions that depend on them are skipped.
/// A key `//` is a comment, as Terraform reads tfvars JSON.
pub fn check_vars(
    module: &Module,
    vars: &serde_json::Map<String, serde_json::Value>,
    file: &str,
    from_env: &[&str],
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let dir = module.dir.display().to_string();
    let at_file = || Some(Location::file(file));
    let decl = |v: &Variable| Some(Location::new(v.file.as_str(), v.line, 1, "variable".len()));

    for name in vars.keys().filter(|k| *k != "//") {
        if !module.variables.iter().any(|v| &v.name == name) {
            let mut d = Diagnostic::error(
                Code::TofuUnknownVariable,
                format!("the module {dir} has no variable `{name}`; add it to variables.tf"),
            )
            .at(at_file());
            if let Some(s) = catalyst_diag::suggest(name, module.variables.iter().map(|v| v.name.as_str())) {
                d = d.help(format!("did you mean `{s}`?"));
            }
            diags.push(d);
        }
    }
    for name in from_env.iter().filter(|n| !module.variables.iter().any(|v| v.name == **n)) {
        diags.push(
            Diagnostic::warning(
                Code::TofuUnknownVariable,
                format!("`{name}` is supplied from the environment but the module {dir} does not declare it"),
            )
            .at(at_file()),
        );
    }

    // The value each variable has at plan time; unknown where it comes from
    // the environment or could not be read (so no error cascades from it).
    let mut values: BTreeMap<String, Value> = BTreeMap::new();
    for var in &module.variables {
        let value = match vars.get(&var.name) {
            Some(_) if var.sensitive => {
                diags.push(
                    Diagnostic::error(
                        Code::SecretValue,
                        format!("variable `{}` is sensitive and must not be rendered", var.name),
                    )
                    .at(at_file())
                    .help(format!("remove it from the file; supply it at apply time as TF_VAR_{}", var.name))
                    .note("declared sensitive here", decl(var)),
                );
                Value::Unknown
            }
            Some(serde_json::Value::Null) if !var.nullable => match &var.default {
                Some(d) => convert_default(d, var),
                None => {
                    diags.push(
                        Diagnostic::error(
                            Code::TofuTypeMismatch,
                            format!("variable `{}` is not nullable and has no default; null is not allowed", var.name),
                        )
                        .at(at_file())
                        .note("declared here", decl(var)),
                    );
                    Value::Unknown
                }
            },
            Some(json) => {
                let mut conv = types::Conversion::default();
                let v = types::convert(json, &var.ty, &var.name, &mut conv);
                for (path, msg) in &conv.errors {
                    diags.push(
                        Diagnostic::error(
                            Code::TofuTypeMismatch,
                            format!("`{path}` does not match the type of variable `{}`: {msg}", var.name),
                        )
                        .at(at_file())
                        .note(format!("declared as {}", var.ty), decl(var)),
                    );
                }
                for (path, msg) in &conv.converted {
                    diags.push(
                        Diagnostic::warning(
                            Code::TofuConversion,
                            format!("`{path}`: {msg} (Terraform converts it implicitly)"),
                        )
                        .at(at_file())
                        .help(format!("render the declared type, {}", var.ty)),
                    );
                }
                if conv.errors.is_empty() { v } else { Value::Unknown }
            }
            None if from_env.contains(&var.name.as_str()) => Value::Unknown,
            None => match &var.default {
                Some(d) => convert_default(d, var),
                None => {
                    diags.push(
                        Diagnostic::error(
                            Code::TofuMissingVariable,
                            format!("variable `{}` is required (it has no default) but is not set", var.name),
                        )
                        .at(at_file())
                        .help(format!(
                            "render `{}` into the file, or supply it from the environment as TF_VAR_{}",
                            var.name, var.name
                        ))
                        .note("declared here", decl(var)),
                    );
                    Value::Unknown
                }
            },
        };
        values.insert(var.name.clone(), value);
    }

    for var in &module.variables {
        for v in &var.validations {
            let vloc = Some(Location::new(var.file.as_str(), v.line, v.column, "validation".len()));
            let mut scope = eval::Scope::new(&values);
            let verdict = scope.eval(&v.condition).and_then(|c| match c {
                Value::Unknown => Ok(None),
                Value::Bool(b) => Ok(Some(b)),
                Value::String(s) if s == "true" || s == "false" => Ok(Some(s == "true")),
                other => Err(EvalError::Failed(format!("the condition is {}, not a bool", other.kind()))),
            });
            match verdict {
                Ok(None | Some(true)) => {}
                Ok(Some(false)) => diags.push(
                    Diagnostic::error(
                        Code::TofuValidation,
                        format!("variable `{}`: {}", var.name, message(v, &values)),
                    )
                    .at(at_file())
                    .note("validation here", vloc),
                ),
                Err(EvalError::Failed(m)) => diags.push(
                    Diagnostic::error(
                        Code::TofuValidation,
                        format!("variable `{}`: the validation condition fails to evaluate: {m}", var.name),
                    )
                    .at(at_file())
                    .note("validation here", vloc),
                ),
                Err(e @ EvalError::Unsupported(_)) => diags.push(
                    Diagnostic::warning(
                        Code::TofuUnsupported,
                        format!("variable `{}`: a validation cannot be checked offline: {e}", var.name),
                    )
                    .at(vloc)
                    .help("tofu plan still checks it; keep validations to the functions catalyst-tofu evaluates"),
                ),
            }
        }
    }
    diags
}

/// The default converted to the declared type (optional attributes filled).
fn convert_default(d: &serde_json::Value, var: &Variable) -> Value {
    let mut conv = types::Conversion::default();
    let v = types::convert(d, &var.ty, &var.name, &mut conv);
    if conv.errors.is_empty() { v } else { Value::from_json(d) }
}

/// The error message, interpolated when it is a template; the template
/// source when interpolation fails.
fn message(v: &Validation, values: &BTreeMap<String, Value>) -> String {
    if !v.error_message.contains("${") {
        return v.error_message.clone();
    }
    let Ok(_) = v.error_message.parse::<Template>() else { return v.error_message.clone() };
    let expr = hcl::Expression::TemplateExpr(Box::new(hcl::TemplateExpr::QuotedString(v.error_message.clone())));
    match eval::Scope::new(values).eval(&expr) {
        Ok(Value::String(s)) => s,
        _ => v.error_message.clone(),
    }
}
