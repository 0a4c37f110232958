//! Diagnostics as data.
//!
//! Every stage of the compiler reports problems as [`Diagnostic`] values
//! (severity, stable code, message, primary location, help, notes) and
//! collects them in a [`Diagnostics`] list instead of failing on the first
//! one. The CLI renders the list for people ([`render_human`], in the style
//! of rustc) or for tools ([`render_json`]).
//!
//! One result convention runs through the compiler crates (typst's
//! `SourceResult` and `Warned`):
//!
//! - a step that can fail returns [`DiagResult<T>`] (`Result<T,
//!   Diagnostics>`): the value, or every problem found up to where it
//!   stopped, at least one an error;
//! - a value that comes with warnings is a [`Warned<T>`]; a step that may
//!   also fail returns `DiagResult<Warned<T>>`;
//! - a step that makes something even from input with errors (a spec read
//!   as far as it goes, for the checks that still make sense on it)
//!   returns `Result<Warned<T>, Partial<T>>`: a [`Partial<T>`] holds the
//!   errors, and what could be made despite them, which is never to be
//!   used as if it were sound;
//! - a check whose findings are its result returns [`Diagnostics`] (or a
//!   named type holding them beside what else it found).
//!
//! Never a `Result<_, Vec<Diagnostic>>` or a tuple with diagnostics in it:
//! those say neither which diagnostics are errors nor whether the value
//! may be used (`catalyst-cli/tests/invariants.rs` holds every public
//! function to this).

mod codes;
pub mod secrets;

pub use codes::{Code, Group, reference};

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// A place in a source file: 1-based line and column, and the width of the
/// marked text in characters (at least 1 when rendered).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
pub struct Location {
    pub file: Arc<str>,
    pub line: usize,
    pub column: usize,
    #[serde(skip)]
    pub width: usize,
}

impl Location {
    pub fn new(file: impl Into<Arc<str>>, line: usize, column: usize, width: usize) -> Self {
        Location { file: file.into(), line, column, width }
    }

    /// A location that names only the file.
    pub fn file(file: impl Into<Arc<str>>) -> Self {
        Location { file: file.into(), line: 0, column: 0, width: 0 }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.column)
        }
    }
}

/// One problem found in the input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The kind of problem: a stable, kebab-case name (`unknown-field`)
    /// with an explanation in the registry ([`Code`]).
    pub code: Code,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Further context, optionally pointing at other places.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
    /// The Blueprint the problem belongs to, when it belongs to one. Render
    /// uses it to ignore problems of Blueprints a Sovereign does not use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blueprint: Option<String>,
    /// The chain of errors below the message, outermost first (a network
    /// failure's layers down to the operating system's words). The CLI
    /// shows them as `Caused by:` lines with `-v`; JSON always has them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Note {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

impl Diagnostic {
    pub fn new(severity: Severity, code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            code,
            message: message.into(),
            location: None,
            help: None,
            notes: Vec::new(),
            blueprint: None,
            causes: Vec::new(),
        }
    }
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, message)
    }
    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, message)
    }
    pub fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn note(mut self, message: impl Into<String>, location: Option<Location>) -> Self {
        self.notes.push(Note { message: message.into(), location });
        self
    }
    /// The errors below this one, outermost first.
    pub fn caused_by(mut self, causes: impl IntoIterator<Item = String>) -> Self {
        self.causes.extend(causes);
        self
    }
    /// Whether this is a transient network failure (see
    /// [`Code::is_transient`]).
    pub fn is_transient(&self) -> bool {
        self.code.is_transient()
    }
    pub fn for_blueprint(mut self, name: impl Into<String>) -> Self {
        self.blueprint = Some(name.into());
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// An ordered collection of diagnostics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn extend(&mut self, it: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(it);
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }
    pub fn error_count(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }
    pub fn warning_count(&self) -> usize {
        self.0.iter().filter(|d| d.severity == Severity::Warning).count()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Whether there are errors and every one of them is a transient
    /// network failure: the run may pass when tried again, unchanged.
    /// Errors with a code in `besides` (a summary such as
    /// `release-failed`) do not count either way.
    pub fn only_transient_errors(&self, besides: &[Code]) -> bool {
        let mut errors = self.0.iter().filter(|d| d.is_error() && !besides.contains(&d.code)).peekable();
        errors.peek().is_some() && errors.all(Diagnostic::is_transient)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }
    /// Sorts by file, line, column, then message, and drops exact
    /// duplicates, so output does not depend on the order work was done in.
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| {
            let ka = (a.location.as_ref(), a.severity, a.code, &a.message);
            let kb = (b.location.as_ref(), b.severity, b.code, &b.message);
            ka.cmp(&kb)
        });
        self.0.dedup();
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<T: IntoIterator<Item = Diagnostic>>(iter: T) -> Self {
        Diagnostics(iter.into_iter().collect())
    }
}

/// A step that can fail: its value, or every problem found up to where it
/// stopped (at least one an error; warnings found before it stopped may
/// come with them).
pub type DiagResult<T> = Result<T, Diagnostics>;

/// A value and the warnings found making it (no errors: a step that found
/// an error returns it as the `Err` of a [`DiagResult`] or a [`Partial`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Warned<T> {
    pub output: T,
    pub warnings: Diagnostics,
}

impl<T> Warned<T> {
    /// A value without warnings.
    pub fn new(output: T) -> Self {
        Warned { output, warnings: Diagnostics::new() }
    }

    /// The value, its warnings moved into `diags`.
    pub fn into_output(self, diags: &mut Diagnostics) -> T {
        diags.extend(self.warnings);
        self.output
    }
}

/// What a step made of input with errors: the problems (at least one an
/// error, warnings among them) and, when it got that far, what it could
/// make despite them, for the checks that still make sense on it. The
/// value is never to be used as if it were sound (a spec that parsed with
/// errors is checked against the catalog, never rendered).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partial<T> {
    pub partial: Option<T>,
    pub diagnostics: Diagnostics,
}

impl<T> Partial<T> {
    /// Problems, and nothing made despite them.
    pub fn failed(diagnostics: Diagnostics) -> Self {
        Partial { partial: None, diagnostics }
    }
}

impl<T> From<Partial<T>> for Diagnostics {
    fn from(p: Partial<T>) -> Diagnostics {
        p.diagnostics
    }
}

/// The text of the files diagnostics point into, used to print the line
/// under the message.
#[derive(Default, Debug, Clone)]
pub struct Sources {
    /// Each file's text and where its lines start, so that printing many
    /// diagnostics into one large file stays linear.
    files: BTreeMap<Arc<str>, Indexed>,
}

/// A file's text and the byte offset of each of its lines.
type Indexed = (Arc<str>, Arc<[usize]>);

impl Sources {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, file: impl Into<Arc<str>>, text: impl Into<Arc<str>>) {
        let text: Arc<str> = text.into();
        let starts: Arc<[usize]> =
            std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect::<Vec<_>>().into();
        self.files.insert(file.into(), (text, starts));
    }
    pub fn merge(&mut self, other: Sources) {
        self.files.extend(other.files);
    }
    pub fn line(&self, file: &str, line: usize) -> Option<&str> {
        let (text, starts) = self.files.get(file)?;
        let start = *starts.get(line.checked_sub(1)?)?;
        if start >= text.len() {
            return None;
        }
        let end = starts.get(line).map_or(text.len(), |e| e - 1);
        Some(text[start..end].trim_end_matches('\r'))
    }
}

/// Renders diagnostics for a terminal, in the style of rustc:
///
/// ```text
/// error[unknown-field]: unknown field `compnents`
///   --> clusters/x/sovereign.yaml:12:3
///    |
/// 12 |   compnents:
///    |   ^^^^^^^^^
///    = help: did you mean `components`?
/// ```
pub fn render_human(diags: &Diagnostics, sources: &Sources, color: bool) -> String {
    let mut out = String::new();
    // Lines where a secret was found: no diagnostic prints them past the
    // start of the value.
    let mut secret_cols: BTreeMap<(&str, usize), usize> = BTreeMap::new();
    for d in diags.iter().filter(|d| d.code == Code::SecretValue) {
        if let Some(l) = d.location.as_ref().filter(|l| l.line > 0) {
            let c = secret_cols.entry((&l.file, l.line)).or_insert(l.column);
            *c = (*c).min(l.column);
        }
    }
    for d in diags.iter() {
        render_one(&mut out, d, sources, &secret_cols, color);
        out.push('\n');
    }
    let (e, w) = (diags.error_count(), diags.warning_count());
    if e + w > 0 {
        let plural = |n: usize, s: &str| {
            if n == 1 { format!("{n} {s}") } else { format!("{n} {s}s") }
        };
        let summary = match (e, w) {
            (0, w) => plural(w, "warning"),
            (e, 0) => plural(e, "error"),
            (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
        };
        let _ = writeln!(out, "{}", paint(color, if e > 0 { RED } else { YELLOW }, &format!("{summary} found")));
    }
    out
}

/// `s` with control characters (but tabs) shown as their Unicode control
/// pictures (`␀`, `␛`, …), one character for one: a NUL byte or an escape
/// sequence in an input is printed as something to see, never sent to the
/// terminal, and columns still line up.
pub fn visible(s: &str) -> Cow<'_, str> {
    let shown = |c: char| match c {
        '\t' => c,
        '\0'..='\x1f' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
        '\x7f' => '\u{2421}',
        // C1 controls, and the bidirectional overrides and isolates that
        // reorder what a terminal or a review shows.
        c if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') => '\u{fffd}',
        c => c,
    };
    if s.chars().all(|c| shown(c) == c) { Cow::Borrowed(s) } else { Cow::Owned(s.chars().map(shown).collect()) }
}

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const BLUE: &str = "\x1b[1;34m";
const BOLD: &str = "\x1b[1m";

fn paint(color: bool, code: &str, text: &str) -> String {
    if color { format!("{code}{text}\x1b[0m") } else { text.to_string() }
}

fn render_one(
    out: &mut String,
    d: &Diagnostic,
    sources: &Sources,
    secret_cols: &BTreeMap<(&str, usize), usize>,
    color: bool,
) {
    let sev_color = match d.severity {
        Severity::Error => RED,
        Severity::Warning => YELLOW,
        Severity::Note => BLUE,
    };
    let head = format!("{}[{}]", d.severity.as_str(), d.code);
    let _ = writeln!(
        out,
        "{}{}",
        paint(color, sev_color, &head),
        paint(color, BOLD, &format!(": {}", visible(&secrets::redact(&d.message))))
    );
    let mut gutter = 0;
    if let Some(loc) = &d.location {
        let digits = loc.line.max(1).to_string().len();
        gutter = digits;
        // A file name comes from the input too (a folder named with an
        // escape sequence, or a newline and a CI workflow command).
        let _ = writeln!(out, "{:w$}{} {}", "", paint(color, BLUE, "-->"), visible(&loc.to_string()), w = digits);
        if let Some(line) = (loc.line > 0).then(|| sources.line(&loc.file, loc.line)).flatten() {
            // Never echo a secret back: keep the line up to the value, and
            // mask anything secret-shaped elsewhere on it.
            // The column in the line as shown; `None` where the place is
            // past what is shown (after a secret, which is cut off).
            let (line, column): (String, Option<usize>) = match secret_cols.get(&(&*loc.file, loc.line)) {
                Some(&c) => (
                    format!("{}<redacted>", line.chars().take(c.saturating_sub(1)).collect::<String>()),
                    (loc.column <= c).then_some(loc.column.max(1)),
                ),
                None => {
                    let shown = secrets::redact(line);
                    let col = column_after_redaction(line, &shown, loc.column.max(1));
                    (shown.into_owned(), Some(col))
                }
            };
            // Long lines are shown as a window around the column.
            let at = column.unwrap_or_else(|| line.chars().count().max(1));
            let (line, col) = window(&visible(&line), at);
            let bar = paint(color, BLUE, "|");
            let _ = writeln!(out, "{:w$} {bar}", "", w = digits);
            let _ = writeln!(out, "{} {bar} {}", paint(color, BLUE, &loc.line.to_string()), line);
            if column.is_none() {
                let _ =
                    writeln!(out, "{:w$} {bar} (column {} is past a secret, not shown)", "", loc.column, w = digits);
            }
            // Columns count characters; a terminal gives a wide (CJK)
            // character two cells and a combining mark none, so the caret
            // line is measured in cells.
            let prefix: String = line
                .chars()
                .take(col - 1)
                .map(|c| if c == '\t' { "\t".to_string() } else { " ".repeat(cells(c)) })
                .collect();
            let avail = line.chars().count().saturating_sub(col - 1).max(1);
            let width = loc.width.clamp(1, avail);
            let marked: usize = line.chars().skip(col - 1).take(width).map(cells).sum();
            if column.is_some() {
                let _ = writeln!(
                    out,
                    "{:w$} {bar} {prefix}{}",
                    "",
                    paint(color, sev_color, &"^".repeat(marked.max(1))),
                    w = digits
                );
            }
        }
    }
    let pad = " ".repeat(gutter);
    for n in &d.notes {
        match &n.location {
            Some(l) => {
                let _ = writeln!(
                    out,
                    "{pad} = note: {} ({})",
                    visible(&secrets::redact(&n.message)),
                    visible(&l.to_string())
                );
            }
            None => {
                let _ = writeln!(out, "{pad} = note: {}", visible(&secrets::redact(&n.message)));
            }
        }
    }
    if let Some(h) = &d.help {
        let _ = writeln!(out, "{pad} = help: {}", visible(&secrets::redact(h)));
    }
    if !d.causes.is_empty() {
        let _ = writeln!(out, "{pad} Caused by:");
        for c in &d.causes {
            let _ = writeln!(out, "{pad}     {}", visible(&secrets::redact(c)));
        }
    }
}

/// Where 1-based column `col` of `line` is in `shown`, the line with its
/// secrets replaced by `<redacted>`: shifted by what the replacements before
/// it changed, or at the start of the replacement that covers it.
fn column_after_redaction(line: &str, shown: &str, col: usize) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (line.chars().collect(), shown.chars().collect());
    let common = |x: &mut dyn Iterator<Item = (&char, &char)>| x.take_while(|(p, q)| p == q).count();
    let prefix = common(&mut a.iter().zip(&b));
    if col - 1 <= prefix {
        return col;
    }
    let suffix = common(&mut a.iter().rev().zip(b.iter().rev())).min(a.len() - prefix).min(b.len() - prefix);
    if col > a.len() - suffix {
        return col - 1 - (a.len() - suffix) + (b.len() - suffix) + 1;
    }
    prefix + 1
}

/// Terminal cells `c` takes (tabs are kept as they are by the caller).
fn cells(c: char) -> usize {
    unicode_width::UnicodeWidthChar::width(c).unwrap_or(0)
}

/// At most `WIDTH` characters of `line` around 1-based column `col`, with
/// `…` where it was cut; returns the new line and the column within it.
fn window(line: &str, col: usize) -> (String, usize) {
    const WIDTH: usize = 100;
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= WIDTH {
        return (line.to_string(), col);
    }
    let start = col.saturating_sub(WIDTH / 2).min(chars.len().saturating_sub(WIDTH));
    let end = (start + WIDTH).min(chars.len());
    let mut s = String::new();
    if start > 0 {
        s.push('…');
    }
    s.extend(&chars[start..end]);
    if end < chars.len() {
        s.push('…');
    }
    (s, col - start + usize::from(start > 0))
}

/// The diagnostics of a run as tools read them: the counts, then every
/// diagnostic with anything secret-shaped in its text masked (messages may
/// quote user input). [`render_json`] prints it alone; a command's JSON
/// document puts it after its own fields (`#[serde(flatten)]`), so the
/// diagnostics are serialized once and never parsed back.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct DiagnosticsJson {
    pub errors: usize,
    /// Absent from the documents of the commands that never counted them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<usize>,
    pub diagnostics: Vec<Diagnostic>,
}

impl DiagnosticsJson {
    pub fn new(diags: &Diagnostics) -> DiagnosticsJson {
        let masked = diags
            .iter()
            .map(|d| {
                let mut d = d.clone();
                d.message = secrets::redact(&d.message).into_owned();
                d.help = d.help.as_deref().map(|h| secrets::redact(h).into_owned());
                for n in &mut d.notes {
                    n.message = secrets::redact(&n.message).into_owned();
                }
                for c in &mut d.causes {
                    *c = secrets::redact(c).into_owned();
                }
                d
            })
            .collect();
        DiagnosticsJson { errors: diags.error_count(), warnings: Some(diags.warning_count()), diagnostics: masked }
    }

    /// Without the count of warnings, as some documents have always been.
    pub fn without_warnings(self) -> DiagnosticsJson {
        DiagnosticsJson { warnings: None, ..self }
    }
}

/// Renders diagnostics as one JSON document for tools.
pub fn render_json(diags: &Diagnostics) -> String {
    serde_json::to_string_pretty(&DiagnosticsJson::new(diags)).expect("diagnostics serialize") + "\n"
}

/// The closest candidate to `word`, if one is close enough to be a likely
/// typo: used for "did you mean" help on fields and Blueprint names.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Edit distance (with transpositions) on the distinctive part of the
    // name: `bp-` prefixes would make every Blueprint look alike.
    let core = |s: &str| s.strip_prefix("bp-").unwrap_or(s).to_lowercase();
    let w = core(word);
    let limit = (w.chars().count() / 4).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = strsim::osa_distance(&w, &core(c));
        if d <= limit && best.is_none_or(|(bd, b)| d < bd || (d == bd && c < b)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_lines_are_redacted() {
        let mut s = Sources::new();
        s.add("a.yaml", "token: hunter2hunter2\n");
        let d = Diagnostic::error(Code::SecretValue, "looks like a token").at(Some(Location::new("a.yaml", 1, 8, 14)));
        let text = render_human(&Diagnostics(vec![d]), &s, false);
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("token: <redacted>"), "{text}");
    }

    /// A NUL byte or an escape sequence in the input is shown, not sent to
    /// the terminal, and the caret still points at its column.
    #[test]
    fn control_characters_in_file_names_notes_and_help_are_shown_as_pictures() {
        let mut d = Diagnostic::error(Code::InvalidYaml, "m\u{202e}")
            .at(Some(Location::new("clusters/x\x1b]0;PWNED\x07\n::error::injected/sovereign.yaml", 1, 1, 1)))
            .help("h\x1b[31m");
        d.notes.push(Note { message: "n\u{9b}".into(), location: Some(Location::file("f\x07")) });
        let out = render_human(&Diagnostics(vec![d]), &Sources::default(), false);
        for c in ['\x1b', '\x07', '\u{202e}', '\u{9b}'] {
            assert!(!out.contains(c), "U+{:04X} printed raw:\n{out}", c as u32);
        }
        assert!(!out.lines().any(|l| l.starts_with("::error::")), "{out}");
        assert!(out.contains("x␛]0;PWNED␇␊::error::injected/sovereign.yaml"), "{out}");
    }

    #[test]
    fn control_characters_are_shown_as_pictures() {
        let mut s = Sources::new();
        s.add("a.yaml", "name: a\0b\x1b[31mred\n");
        let d = Diagnostic::error(Code::InvalidYaml, "bad `a\0b\x1b[31m`").at(Some(Location::new("a.yaml", 1, 8, 1)));
        let text = render_human(&Diagnostics(vec![d]), &s, false);
        assert!(!text.contains('\0') && !text.contains('\x1b'), "{text:?}");
        assert!(text.contains("error[invalid-yaml]: bad `a␀b␛[31m`"), "{text}");
        assert!(text.contains("1 | name: a␀b␛[31mred\n  |        ^\n"), "{text}");
        assert_eq!(visible("tab\there"), "tab\there");
        assert_eq!(visible("del\x7f c1\u{85}"), "del\u{2421} c1\u{fffd}");
    }

    #[test]
    fn suggests_close_names_only() {
        let c = ["components", "domain", "topology"];
        assert_eq!(suggest("compnents", c), Some("components"));
        assert_eq!(suggest("zzz", c), None);
    }

    /// A caret under text after wide characters stands under that text on
    /// a terminal: two cells per CJK character, none for a combining mark.
    #[test]
    fn carets_line_up_after_wide_characters() {
        let mut s = Sources::new();
        s.add("a.yaml", "名前: 東京 typo\nb: e\u{301}x typo\n");
        let d = |line, col, width| {
            Diagnostic::error(Code::UnknownField, "x").at(Some(Location::new("a.yaml", line, col, width)))
        };
        let text = render_human(&Diagnostics(vec![d(1, 8, 4), d(1, 5, 2), d(2, 7, 4)]), &s, false);
        let lines: Vec<&str> = text.lines().collect();
        // `typo` starts at cell 12 of the first line (名前 and 東京 are two cells each).
        assert!(lines.contains(&"1 | 名前: 東京 typo") && lines.contains(&"  |            ^^^^"), "{text}");
        // 東京 itself: four cells of carets.
        assert!(lines.contains(&"  |      ^^^^"), "{text}");
        // `e` + U+0301 is one cell: `typo` starts at cell 7.
        assert!(lines.contains(&"  |       ^^^^"), "{text}");
    }

    /// A secret earlier on the line is replaced by `<redacted>`: the caret
    /// still stands under the place, or, past a secret whose line is cut
    /// there, is not drawn at all (it stood under nothing).
    #[test]
    fn carets_stand_under_their_place_after_a_redacted_secret() {
        let token = format!("ghp_{}", "A1b2C3d4".repeat(5));
        let text = format!("org: {{name: {token}, bogus: 1}}\n");
        let col = text.find("bogus").unwrap() + 1;
        let mut s = Sources::new();
        s.add("a.yaml", text.as_str());
        let at = |code, col, width| Diagnostic::error(code, "x").at(Some(Location::new("a.yaml", 1, col, width)));
        let out = render_human(&Diagnostics(vec![at(Code::UnknownField, col, 5)]), &s, false);
        assert!(!out.contains(&token), "{out}");
        let lines: Vec<&str> = out.lines().collect();
        let shown = lines.iter().position(|l| l.starts_with("1 | ")).unwrap();
        let caret = lines[shown + 1].find('^').unwrap();
        assert_eq!(&lines[shown][caret..caret + 5], "bogus", "{out}");
        // With the secret itself reported, the line is cut at it.
        let out = render_human(
            &Diagnostics(vec![at(Code::SecretValue, 13, token.len()), at(Code::UnknownField, col, 5)]),
            &s,
            false,
        );
        assert!(!out.contains(&token) && !out.contains("bogus: 1"), "{out}");
        assert!(out.contains(&format!("(column {col} is past a secret, not shown)")), "{out}");
        assert_eq!(out.lines().filter(|l| l.contains('^')).count(), 1, "only the secret's carets: {out}");
    }

    #[test]
    fn causes_are_printed_outermost_first() {
        let d = Diagnostic::error(Code::NetworkUnreachable, "cannot reach r")
            .help("retry")
            .caused_by(["error sending request".to_string(), "Connection refused (os error 111)".to_string()]);
        let text = render_human(&Diagnostics(vec![d.clone()]), &Sources::default(), false);
        assert!(
            text.contains(
                " = help: retry\n Caused by:\n     error sending request\n     Connection refused (os error 111)\n"
            ),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&render_json(&Diagnostics(vec![d.clone()]))).unwrap();
        assert_eq!(json["diagnostics"][0]["causes"][1], "Connection refused (os error 111)");
        assert!(Diagnostics(vec![d.clone()]).only_transient_errors(&[]));
        let bad = Diagnostic::error(Code::InvalidYaml, "x");
        assert!(!Diagnostics(vec![d, bad]).only_transient_errors(&[]));
        assert!(!Diagnostics::new().only_transient_errors(&[]));
    }

    #[test]
    fn human_rendering_shows_the_line_and_caret() {
        let mut s = Sources::new();
        s.add("a.yaml", "spec:\n  compnents: []\n");
        let d = Diagnostic::error(Code::UnknownField, "unknown field `compnents` in `spec`")
            .at(Some(Location::new("a.yaml", 2, 3, 9)))
            .help("did you mean `components`?");
        let text = render_human(&Diagnostics(vec![d]), &s, false);
        assert_eq!(
            text,
            "error[unknown-field]: unknown field `compnents` in `spec`\n --> a.yaml:2:3\n  |\n2 |   compnents: []\n  |   ^^^^^^^^^\n  = help: did you mean `components`?\n\n1 error found\n"
        );
    }
}
