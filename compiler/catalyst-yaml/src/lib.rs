//! YAML with positions.
//!
//! [`parse`] reads YAML text into a tree of [`Node`]s that remember the line
//! and column they came from, so every later check can point at the exact
//! place in the user's file. The parser is strict where Kubernetes tooling
//! is (duplicate keys are an error) and bounded against hostile input
//! ([`Limits`]: size, depth, node count — alias bombs stop at the node cap).
//!
//! [`Node::to_json`] converts to a `serde_json::Value` with YAML 1.2 core
//! schema typing, for JSON Schema validation; [`Node::pointer`] finds the
//! node behind a JSON pointer so schema errors map back to positions.
//! [`to_yaml`] emits a JSON value as YAML, deterministically.

mod emit;
mod fast;

use std::collections::HashMap;

use catalyst_diag::Code;

pub use emit::{to_yaml, to_yaml_under_key, write_scalar};

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A position in the source: 1-based line and column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl Pos {
    fn from_marker(m: &Marker) -> Pos {
        Pos { line: m.line(), col: m.col() + 1 }
    }
}

/// Bounds on what the parser accepts.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest accepted input, in bytes.
    pub max_bytes: usize,
    /// Deepest accepted nesting of sequences and mappings.
    pub max_depth: usize,
    /// Most nodes in the tree, aliases counted once per expansion.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: 16 << 20, max_depth: 128, max_nodes: 1_000_000 }
    }
}

/// The kind of a scalar, resolved with the YAML 1.2 core schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarKind {
    Null,
    Bool,
    Int,
    Float,
    Str,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// The source text of the scalar (unquoted) and its resolved kind.
    Scalar(String, ScalarKind),
    Seq(Vec<Node>),
    /// Entries in source order; keys are unique.
    Map(Vec<(Node, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub message: String,
    pub pos: Pos,
    pub help: Option<String>,
}

impl YamlError {
    fn new(pos: Pos, message: impl Into<String>) -> Self {
        YamlError { message: message.into(), pos, help: None }
    }
    fn help(mut self, h: impl Into<String>) -> Self {
        self.help = Some(h.into());
        self
    }
}

/// Parses every document of a YAML stream. Empty documents are skipped.
///
/// Most YAML catalyst reads (and everything it renders) is block-style:
/// a fast reader takes that, and anything else, every error included, goes
/// to yaml_rust2. Both give the same result (see `fast`).
pub fn parse(text: &str, limits: &Limits) -> Result<Vec<Node>, YamlError> {
    check_text(text, limits)?;
    match fast::parse(text, limits) {
        Some(docs) => Ok(docs),
        None => parse_full(text, limits),
    }
}

/// [`parse`] without the fast path: yaml_rust2 only. For the differential
/// tests and the `yaml_fast` fuzz target.
#[doc(hidden)]
pub fn parse_slow(text: &str, limits: &Limits) -> Result<Vec<Node>, YamlError> {
    check_text(text, limits)?;
    parse_full(text, limits)
}

/// The fast path of [`parse`] alone: `None` where it leaves the text to
/// yaml_rust2 (including every text [`parse`] refuses). For the
/// differential tests and the `yaml_fast` fuzz target.
#[doc(hidden)]
pub fn parse_fast(text: &str, limits: &Limits) -> Option<Vec<Node>> {
    check_text(text, limits).ok()?;
    fast::parse(text, limits)
}

/// Tags change what a value is to other readers (`!!binary` decodes,
/// `!!int "3"` is a number, `!vault` calls a plug-in); catalyst reads plain
/// data, so the only tag allowed is the one that says what the node
/// already is (`!!str` on a scalar, `!!seq`, `!!map`).
fn check_tag(tag: Option<&yaml_rust2::parser::Tag>, allowed: &str, pos: Pos) -> Result<(), YamlError> {
    let Some(tag) = tag else { return Ok(()) };
    let core = matches!(tag.handle.as_str(), "!!" | "tag:yaml.org,2002:");
    if core && tag.suffix == allowed {
        return Ok(());
    }
    let handle = if core { "!!" } else { tag.handle.as_str() };
    let shown: String = format!("{handle}{}", tag.suffix).chars().take(60).collect();
    Err(YamlError::new(pos, format!("the YAML tag `{}` is not supported", shown.escape_debug()))
        .help("catalyst reads plain YAML data: remove the tag (quote the value to make it a string)"))
}

/// A `%YAML` directive of another version than 1.1 or 1.2: other readers
/// would refuse or read the document differently.
fn check_directives(text: &str) -> Result<(), YamlError> {
    if !text.starts_with('%') && !text.contains("\n%") {
        return Ok(());
    }
    // Directives stand only before a document starts (or after `...`):
    // a line of a quoted or block scalar that starts with `%` is content.
    let mut prologue = true;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_end();
        if trimmed == "..." {
            prologue = true;
            continue;
        }
        if !prologue || trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if !trimmed.starts_with('%') {
            prologue = false;
            continue;
        }
        let Some(rest) = line.strip_prefix("%YAML") else { continue };
        let version = rest.split('#').next().unwrap_or_default().trim();
        if !matches!(version, "1.1" | "1.2") {
            let shown: String = version.chars().take(20).collect();
            return Err(YamlError::new(
                Pos { line: i + 1, col: 1 },
                format!("unsupported `%YAML {}` directive", shown.escape_debug()),
            )
            .help("catalyst reads YAML 1.2 (and 1.1); write `%YAML 1.2` or remove the directive"));
        }
    }
    Ok(())
}

/// The checks before any parsing: size and NUL bytes.
fn check_text(text: &str, limits: &Limits) -> Result<(), YamlError> {
    if text.len() > limits.max_bytes {
        return Err(YamlError::new(
            Pos { line: 1, col: 1 },
            format!("file is {} bytes, more than the limit of {} bytes", text.len(), limits.max_bytes),
        )
        .help("split the file, or raise the limit with --max-file-size if the file is legitimate"));
    }
    if let Some(i) = text.find('\0') {
        return Err(YamlError::new(pos_of_offset(text, i), "NUL byte in YAML text")
            .help("YAML files are text; remove the NUL byte"));
    }
    check_directives(text)
}

/// yaml_rust2's event parser into the [`Builder`].
fn parse_full(text: &str, limits: &Limits) -> Result<Vec<Node>, YamlError> {
    let mut b =
        Builder { limits, nodes: 0, anchors: HashMap::new(), stack: Vec::new(), heights: Vec::new(), docs: Vec::new() };
    let mut parser = Parser::new_from_str(text);
    loop {
        let (ev, mark) = parser.next_token().map_err(|e| {
            let pos = Pos::from_marker(e.marker());
            if e.info().contains("recursion limit") {
                YamlError::new(pos, format!("nesting deeper than {} levels", limits.max_depth))
            } else {
                YamlError::new(pos, format!("invalid YAML: {}", e.info()))
            }
        })?;
        if ev == Event::StreamEnd {
            break;
        }
        b.event(ev, Pos::from_marker(&mark))?;
    }
    Ok(b.docs)
}

/// Parses a stream that must hold exactly one document (an empty file is an
/// empty mapping's absence: `Ok(None)`).
pub fn parse_one(text: &str, limits: &Limits) -> Result<Option<Node>, YamlError> {
    let mut docs = parse(text, limits)?;
    match docs.len() {
        0 => Ok(None),
        1 => Ok(docs.pop()),
        _ => Err(YamlError::new(docs[1].pos, "expected one YAML document, found several")
            .help("remove the `---` separators")),
    }
}

fn pos_of_offset(text: &str, offset: usize) -> Pos {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Pos { line, col }
}

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    /// `keys`: where each key of `entries` was first written, so that a
    /// duplicate is found without scanning every entry (a mapping of many
    /// keys would otherwise take quadratic time).
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        keys: HashMap<String, Pos>,
    },
}

struct Builder<'l> {
    limits: &'l Limits,
    nodes: usize,
    /// Each anchored node and its height (levels of collections in it).
    anchors: HashMap<usize, (Node, usize)>,
    stack: Vec<Frame>,
    /// The height of the tallest child of each open frame so far: an alias
    /// expands to its anchor's whole height, so depth is counted on the
    /// expanded tree (anchors chained under the limit each stay refused
    /// once they nest past it).
    heights: Vec<usize>,
    docs: Vec<Node>,
}

impl Builder<'_> {
    fn count(&mut self, n: usize, pos: Pos) -> Result<(), YamlError> {
        self.nodes += n;
        if self.nodes > self.limits.max_nodes {
            return Err(YamlError::new(pos, format!("document has more than {} nodes", self.limits.max_nodes))
                .help("this often means an alias bomb (anchors expanding exponentially); refuse the file"));
        }
        Ok(())
    }

    fn event(&mut self, ev: Event, pos: Pos) -> Result<(), YamlError> {
        match ev {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart | Event::DocumentEnd => {}
            Event::Alias(id) => {
                let (node, height) =
                    self.anchors.get(&id).cloned().ok_or_else(|| YamlError::new(pos, "alias to an unknown anchor"))?;
                if self.stack.len() + height > self.limits.max_depth {
                    return Err(YamlError::new(
                        pos,
                        format!("nesting deeper than {} levels once this alias is expanded", self.limits.max_depth),
                    )
                    .help("flatten the document; no Catalyst input needs this depth"));
                }
                self.count(node.size(), pos)?;
                self.push(Node { kind: node.kind, pos }, height)?;
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1, pos)?;
                check_tag(tag.as_ref(), "str", pos)?;
                let kind =
                    if style != TScalarStyle::Plain || tag.is_some() { ScalarKind::Str } else { resolve_plain(&text) };
                let node = Node { kind: NodeKind::Scalar(text, kind), pos };
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), 0));
                }
                self.push(node, 0)?;
            }
            Event::SequenceStart(anchor, tag) => {
                self.count(1, pos)?;
                check_tag(tag.as_ref(), "seq", pos)?;
                self.open(Frame::Seq { pos, anchor, items: Vec::new() }, pos)?;
            }
            Event::MappingStart(anchor, tag) => {
                self.count(1, pos)?;
                check_tag(tag.as_ref(), "map", pos)?;
                self.open(Frame::Map { pos, anchor, entries: Vec::new(), key: None, keys: HashMap::new() }, pos)?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq { pos, anchor, items }) => (Node { kind: NodeKind::Seq(items), pos }, anchor),
                    Some(Frame::Map { pos, anchor, entries, .. }) => {
                        // A block mapping's start mark sits after its first
                        // key; the first key is the better place to point at.
                        let pos = entries.first().map_or(pos, |(k, _)| pos.min(k.pos));
                        (Node { kind: NodeKind::Map(merge_keys(entries)?), pos }, anchor)
                    }
                    None => return Err(YamlError::new(pos, "unbalanced YAML structure")),
                };
                let height = self.heights.pop().unwrap_or(0) + 1;
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), height));
                }
                self.push(node, height)?;
            }
        }
        Ok(())
    }

    fn open(&mut self, frame: Frame, pos: Pos) -> Result<(), YamlError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(YamlError::new(pos, format!("nesting deeper than {} levels", self.limits.max_depth))
                .help("flatten the document; no Catalyst input needs this depth"));
        }
        self.stack.push(frame);
        self.heights.push(0);
        Ok(())
    }

    /// Adds `node`, `height` levels of collections tall, to the open frame.
    fn push(&mut self, node: Node, height: usize) -> Result<(), YamlError> {
        if let Some(h) = self.heights.last_mut() {
            *h = (*h).max(height);
        }
        match self.stack.last_mut() {
            None => {
                // Skip documents that are entirely empty (`---` followed by nothing).
                if !matches!(&node.kind, NodeKind::Scalar(t, ScalarKind::Null) if t.is_empty()) {
                    self.docs.push(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, keys, .. }) => match key.take() {
                None => {
                    if !matches!(node.kind, NodeKind::Scalar(..)) {
                        return Err(YamlError::new(node.pos, "mapping keys must be scalars"));
                    }
                    let k = node.as_str_lossy();
                    if let Some(prev) = keys.get(&k) {
                        return Err(YamlError::new(
                            node.pos,
                            format!("duplicate key `{k}` (first defined at line {}, column {})", prev.line, prev.col),
                        )
                        .help("remove one of the two entries; YAML tools disagree on which one wins"));
                    }
                    keys.insert(k, node.pos);
                    *key = Some(node);
                }
                Some(k) => entries.push((k, node)),
            },
        }
        Ok(())
    }
}

/// Applies YAML merge keys (`<<: *base` or `<<: [*a, *b]`): entries of the
/// merged mappings that the mapping does not set itself are added.
fn merge_keys(entries: Vec<(Node, Node)>) -> Result<Vec<(Node, Node)>, YamlError> {
    let is_merge = |k: &Node| matches!(&k.kind, NodeKind::Scalar(t, ScalarKind::Str) if t == "<<");
    if !entries.iter().any(|(k, _)| is_merge(k)) {
        return Ok(entries);
    }
    let (merges, mut own): (Vec<_>, Vec<_>) = entries.into_iter().partition(|(k, _)| is_merge(k));
    // Keys already set, looked up by hash: merging big mappings stays linear.
    let mut set: std::collections::HashSet<String> = own.iter().map(|(k, _)| k.as_str_lossy()).collect();
    for (k, v) in merges {
        let sources: Vec<Node> = match v.kind {
            NodeKind::Map(_) => vec![v],
            NodeKind::Seq(items) if items.iter().all(|i| matches!(i.kind, NodeKind::Map(_))) => items,
            _ => {
                return Err(YamlError::new(k.pos, "a merge key (`<<`) takes a mapping or a list of mappings")
                    .help("write `<<: *anchor`"));
            }
        };
        for src in sources {
            if let NodeKind::Map(m) = src.kind {
                for (mk, mv) in m {
                    if set.insert(mk.as_str_lossy()) {
                        own.push((mk, mv));
                    }
                }
            }
        }
    }
    Ok(own)
}

pub(crate) fn resolve_plain(t: &str) -> ScalarKind {
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarKind::Null,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => return ScalarKind::Bool,
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN"
        | ".NAN" => {
            return ScalarKind::Float;
        }
        _ => {}
    }
    let b = t.as_bytes();
    // Numbers start with a digit, a sign or a dot; most strings end here.
    if !(b[0].is_ascii_digit() || matches!(b[0], b'-' | b'+' | b'.')) {
        return ScalarKind::Str;
    }
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    let body = if b[0] == b'-' || b[0] == b'+' { &b[1..] } else { b };
    if digits(body) {
        return ScalarKind::Int;
    }
    if let Some(h) = t.strip_prefix("0x")
        && !h.is_empty()
        && h.bytes().all(|c| c.is_ascii_hexdigit())
    {
        return ScalarKind::Int;
    }
    if let Some(o) = t.strip_prefix("0o")
        && !o.is_empty()
        && o.bytes().all(|c| (b'0'..=b'7').contains(&c))
    {
        return ScalarKind::Int;
    }
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let (mant, exp) = match body.iter().position(|&c| c == b'e' || c == b'E') {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mant_ok = match mant.iter().position(|&c| c == b'.') {
        Some(i) => {
            let (a, f) = (&mant[..i], &mant[i + 1..]);
            (digits(a) || a.is_empty()) && (f.is_empty() || digits(f)) && !(a.is_empty() && f.is_empty())
        }
        None => digits(mant),
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = if !e.is_empty() && (e[0] == b'-' || e[0] == b'+') { &e[1..] } else { e };
        digits(e)
    });
    if mant_ok && exp_ok && (mant.contains(&b'.') || exp.is_some()) {
        return ScalarKind::Float;
    }
    ScalarKind::Str
}

impl Node {
    /// Number of nodes in this subtree.
    pub fn size(&self) -> usize {
        match &self.kind {
            NodeKind::Scalar(..) => 1,
            NodeKind::Seq(v) => 1 + v.iter().map(Node::size).sum::<usize>(),
            NodeKind::Map(m) => 1 + m.iter().map(|(k, v)| k.size() + v.size()).sum::<usize>(),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Scalar(_, ScalarKind::Null))
    }

    /// The scalar's text if it is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(t, ScalarKind::Str) => Some(t),
            _ => None,
        }
    }

    /// The scalar's source text whatever its kind (`1.0` stays `1.0`), for
    /// fields such as versions that tools read as strings.
    pub fn as_text(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(t, ScalarKind::Null) if t.is_empty() || t == "~" => None,
            NodeKind::Scalar(t, _) => Some(t),
            _ => None,
        }
    }

    pub(crate) fn as_str_lossy(&self) -> String {
        match &self.kind {
            NodeKind::Scalar(t, _) => t.clone(),
            _ => String::new(),
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.kind {
            NodeKind::Scalar(t, ScalarKind::Bool) => Some(t.eq_ignore_ascii_case("true")),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value under `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value under `key` in a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.as_map()?.iter().find(|(k, _)| matches!(&k.kind, NodeKind::Scalar(t, _) if t == key)).map(|(k, v)| (k, v))
    }

    /// Follows a path of mapping keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |n, k| n.get(k))
    }

    /// The node at a JSON pointer (`/spec/regions/0/provider`).
    pub fn pointer(&self, pointer: &str) -> Option<&Node> {
        self.pointer_entry(pointer).map(|(_, v)| v)
    }

    /// The node at a JSON pointer and, when its parent is a mapping, the
    /// key node that names it (the better place to point at for
    /// "unknown field" errors).
    pub fn pointer_entry(&self, pointer: &str) -> Option<(Option<&Node>, &Node)> {
        if pointer.is_empty() {
            return Some((None, self));
        }
        let mut key = None;
        let mut cur = self;
        for raw in pointer.strip_prefix('/')?.split('/') {
            let seg = raw.replace("~1", "/").replace("~0", "~");
            match &cur.kind {
                NodeKind::Map(_) => {
                    let (k, v) = cur.entry(&seg)?;
                    key = Some(k);
                    cur = v;
                }
                NodeKind::Seq(items) => {
                    cur = items.get(seg.parse::<usize>().ok()?)?;
                    key = None;
                }
                NodeKind::Scalar(..) => return None,
            }
        }
        Some((key, cur))
    }

    /// Converts to JSON with YAML 1.2 core schema typing. Keys become
    /// strings; numbers that JSON cannot hold (NaN, infinities) become null.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Scalar(t, k) => match k {
                ScalarKind::Null => Value::Null,
                ScalarKind::Bool => Value::Bool(t.eq_ignore_ascii_case("true")),
                // Integers beyond i64 become u64 or, failing that, the nearest
                // float: they stay numbers, as in every JSON reader.
                ScalarKind::Int => parse_int(t)
                    .map(Value::from)
                    .or_else(|| t.trim_start_matches('+').parse::<u64>().ok().map(Value::from))
                    .unwrap_or_else(|| {
                        t.parse::<f64>()
                            .ok()
                            .and_then(serde_json::Number::from_f64)
                            .map_or_else(|| Value::String(t.clone()), Value::Number)
                    }),
                ScalarKind::Float => {
                    let f = t.trim_start_matches('+').parse::<f64>().ok();
                    f.and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number)
                }
                ScalarKind::Str => Value::String(t.clone()),
            },
            NodeKind::Seq(v) => Value::Array(v.iter().map(Node::to_json).collect()),
            NodeKind::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.as_str_lossy(), v.to_json())).collect()),
        }
    }

    /// A short name for the kind of node, for messages.
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar(_, ScalarKind::Null) => "null",
            NodeKind::Scalar(_, ScalarKind::Bool) => "a boolean",
            NodeKind::Scalar(_, ScalarKind::Int) => "an integer",
            NodeKind::Scalar(_, ScalarKind::Float) => "a number",
            NodeKind::Scalar(_, ScalarKind::Str) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    /// Width of the node's text on its first line, for underlining.
    pub fn width(&self) -> usize {
        match &self.kind {
            NodeKind::Scalar(t, _) => t.lines().next().map_or(1, |l| l.chars().count().max(1)),
            _ => 1,
        }
    }
}

fn parse_int(t: &str) -> Option<i64> {
    if let Some(h) = t.strip_prefix("0x") {
        return i64::from_str_radix(h, 16).ok();
    }
    if let Some(o) = t.strip_prefix("0o") {
        return i64::from_str_radix(o, 8).ok();
    }
    t.trim_start_matches('+').parse().ok()
}

/// Decodes file bytes as UTF-8; on failure, a diagnostic at the line and
/// column of the first invalid byte.
pub fn decode_utf8(mut bytes: Vec<u8>, file: &str) -> Result<String, catalyst_diag::Diagnostic> {
    // A byte order mark is not content.
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let ok = std::str::from_utf8(&e.as_bytes()[..e.utf8_error().valid_up_to()]).unwrap_or_default();
        let pos = pos_of_offset(ok, ok.len());
        catalyst_diag::Diagnostic::error(Code::NotUtf8, format!("{file} is not valid UTF-8"))
            .at(Some(catalyst_diag::Location::new(file, pos.line, pos.col, 1)))
            .help("save the file as UTF-8")
    })?;
    // A NUL byte means a binary file (or `/proc/self/environ`): refused
    // here, before the text is kept for messages, so no line of it is
    // ever quoted.
    if let Some(i) = memchr::memchr(0, text.as_bytes()) {
        let pos = pos_of_offset(&text, i);
        return Err(catalyst_diag::Diagnostic::error(
            Code::NotText,
            format!("{file} holds a NUL byte: it is not a text file"),
        )
        .at(Some(catalyst_diag::Location::new(file, pos.line, pos.col, 1)))
        .help("YAML files are text; remove the NUL byte"));
    }
    Ok(text)
}

/// Secrets in comments: the parser drops comments, so the text is read for
/// them. A comment starts at a `#` at the start of a line or after
/// whitespace, and runs to the end of the line; only lines with a `#` are
/// looked at.
pub fn scan_comment_secrets(text: &str, file: &str, diags: &mut catalyst_diag::Diagnostics) {
    let bytes = text.as_bytes();
    let (mut from, mut line_no, mut counted) = (0, 0, 0);
    while let Some(found) = memchr::memchr(b'#', &bytes[from..]) {
        let at = from + found;
        let start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i);
        from = end;
        // As `str::lines` splits them.
        let line = text[start..end].strip_suffix('\r').unwrap_or(&text[start..end]);
        let comment = line
            .match_indices('#')
            .map(|(i, _)| i)
            .find(|&i| line[..i].chars().next_back().is_none_or(char::is_whitespace));
        let Some(hash) = comment else { continue };
        let found = catalyst_diag::secrets::find_secret(&line[hash..]).or_else(|| {
            catalyst_diag::secrets::find_url_password(&line[hash..])
                .map(|r| (catalyst_diag::secrets::URL_PASSWORD_WHAT, r))
        });
        if let Some((what, r)) = found {
            line_no += memchr::memchr_iter(b'\n', &bytes[counted..start]).count();
            counted = start;
            diags.push(
                catalyst_diag::Diagnostic::error(Code::SecretValue, format!("a comment holds what looks like {what}"))
                    .at(Some(catalyst_diag::Location::new(file, line_no + 1, line[..hash + r.start].chars().count() + 1, 1)))
                    .help("secrets never go into Git, not even in comments; remove it and rotate it (the value is not repeated here)"),
            );
        }
    }
}

/// Refuses secret-shaped strings anywhere in the document, naming where
/// and what, never the value.
/// The first character of `s` that a terminal or a log viewer would act on
/// rather than show: C0 controls but tab and newline, DEL, C1 controls,
/// and the bidirectional overrides and isolates that reorder what is shown
/// (U+202A–U+202E, U+2066–U+2069).
pub fn control_char(s: &str) -> Option<char> {
    s.chars().find(|&c| {
        (c.is_control() && c != '\t' && c != '\n') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

/// Every key and string of `node` that holds a [`control_char`], whether
/// written raw or as an escape (`"\e]0;…\a"`): such a value would reach
/// rendered files and terminals as it is.
pub fn scan_control_chars(node: &Node, file: &str, diags: &mut catalyst_diag::Diagnostics) {
    fn go(node: &Node, file: &str, pointer: &mut String, diags: &mut catalyst_diag::Diagnostics) {
        let report = |diags: &mut catalyst_diag::Diagnostics, n: &Node, c: char, pointer: &str| {
            diags.push(
                catalyst_diag::Diagnostic::error(
                    Code::ControlCharacter,
                    format!("`{}` holds the control character U+{:04X}", display_path(pointer), c as u32),
                )
                .at(Some(catalyst_diag::Location::new(file, n.pos.line, n.pos.col, 1)))
                .help("specs hold plain text: remove it (escape sequences and bidirectional overrides can rewrite what a terminal or a review shows)"),
            );
        };
        match &node.kind {
            NodeKind::Scalar(t, _) => {
                if let Some(c) = control_char(t) {
                    report(diags, node, c, pointer);
                }
            }
            NodeKind::Seq(items) => {
                let len = pointer.len();
                for (i, n) in items.iter().enumerate() {
                    use std::fmt::Write as _;
                    let _ = write!(pointer, "/{i}");
                    go(n, file, pointer, diags);
                    pointer.truncate(len);
                }
            }
            NodeKind::Map(entries) => {
                let len = pointer.len();
                for (k, v) in entries {
                    let key = k.as_str_lossy();
                    pointer.push('/');
                    pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                    if let Some(c) = control_char(&key) {
                        report(diags, k, c, pointer);
                    }
                    go(v, file, pointer, diags);
                    pointer.truncate(len);
                }
            }
        }
    }
    go(node, file, &mut String::new(), diags);
}

pub fn scan_secrets(node: &Node, file: &str, diags: &mut catalyst_diag::Diagnostics) {
    scan_node(node, None, None, file, &mut String::new(), diags);
}

/// `pointer` is the JSON pointer of `node`, one buffer grown and cut back
/// as the walk goes (rendered files hold many thousands of nodes). `key`
/// is the mapping key the node stands under (a sequence's items stand
/// under their sequence's key): a credential-like key makes any
/// non-placeholder string a credential. `trust`: the node is inside a
/// Sigstore trust root, whose certificates and these log IDs are public.
fn scan_node(
    node: &Node,
    key: Option<&str>,
    trust: Option<&[String]>,
    file: &str,
    pointer: &mut String,
    diags: &mut catalyst_diag::Diagnostics,
) {
    match &node.kind {
        NodeKind::Scalar(t, kind) => {
            let public = trust.is_some_and(|ids| catalyst_diag::secrets::public_trust_material(key, t, ids));
            if catalyst_diag::secrets::exempt_at(pointer) || public {
                return;
            }
            // Only strings are credentials: a number or a switch under a
            // credential-like key is not a value pasted into Git.
            let key = key.filter(|_| *kind == ScalarKind::Str);
            if let Some(what) = catalyst_diag::secrets::find_in_value(key, t) {
                diags.push(
                    catalyst_diag::Diagnostic::error(
                        Code::SecretValue,
                        format!("`{}` holds what looks like {what}", display_path(pointer)),
                    )
                    .at(Some(catalyst_diag::Location::new(file, node.pos.line, node.pos.col, 1)))
                    .help(secret_help()),
                );
            }
        }
        NodeKind::Seq(items) => {
            let len = pointer.len();
            for (i, n) in items.iter().enumerate() {
                use std::fmt::Write as _;
                let _ = write!(pointer, "/{i}");
                scan_node(n, key, trust, file, pointer, diags);
                pointer.truncate(len);
            }
        }
        NodeKind::Map(m) => {
            let len = pointer.len();
            // What the mapping's own entries say (which key a value stands
            // under, whether it is a trust root) is the scanner's policy.
            let cx = catalyst_diag::secrets::MapContext::of(|key| {
                m.iter().find(|(k, _)| k.as_text() == Some(key)).and_then(|(_, v)| v.as_str())
            });
            let ids = (trust.is_none() && cx.trusted_root)
                .then(|| catalyst_diag::secrets::trust_root_key_ids(&node.to_json()));
            let trust = trust.or(ids.as_deref());
            for (k, v) in m {
                // Keys too: a token pasted as a key is still a token.
                scan_node(k, None, None, file, pointer, diags);
                pointer.push('/');
                let text = k.as_text().unwrap_or_default();
                for c in text.chars() {
                    match c {
                        '~' => pointer.push_str("~0"),
                        '/' => pointer.push_str("~1"),
                        c => pointer.push(c),
                    }
                }
                let under = cx.key_for(text);
                scan_node(v, under, trust, file, pointer, diags);
                pointer.truncate(len);
            }
        }
    }
}

/// What to do about a value refused as a secret (the scanner's words).
pub use catalyst_diag::secrets::secret_help;

/// `/spec/regions/0/provider` → `spec.regions[0].provider`: a JSON
/// pointer as users write the path.
pub fn display_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.parse::<usize>().is_ok() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

/// Converts a parse failure to a diagnostic pointing into `file`.
pub fn error_diagnostic(file: &str, e: &YamlError) -> catalyst_diag::Diagnostic {
    let mut d = catalyst_diag::Diagnostic::error(Code::InvalidYaml, e.message.clone())
        .at(Some(catalyst_diag::Location::new(file, e.pos.line, e.pos.col, 1)));
    if let Some(h) = &e.help {
        d = d.help(h.clone());
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(t: &str) -> Node {
        parse_one(t, &Limits::default()).unwrap().unwrap()
    }

    /// Where a comment secret is reported: line and column of the token;
    /// a comment is found after any whitespace or at a line's start, also
    /// when a later ` #` is on the line; a `#` inside a word is no comment.
    #[test]
    fn secrets_in_comments_are_found_with_their_position() {
        let token = format!("ghp_{}", "aB3".repeat(12));
        let found = |text: &str| {
            let mut d = catalyst_diag::Diagnostics::new();
            scan_comment_secrets(text, "f.yaml", &mut d);
            d.iter().map(|x| x.location.as_ref().map(|l| (l.line, l.column))).collect::<Vec<_>>()
        };
        assert_eq!(found(&format!("a: 1\n# token {token} #end\n")), [Some((2, 9))]);
        assert_eq!(found(&format!("a: 1\r\nb: 2 # {token}\r\n")), [Some((2, 8))]);
        assert_eq!(found(&format!("a: 1\n\t#{token}\nc: 3\n# {token}")), [Some((2, 3)), Some((4, 3))]);
        assert_eq!(found(&format!("url: http://x/#{token}\n")), []);
        assert_eq!(found("# nothing here #\n#\n"), []);
    }

    #[test]
    fn positions_are_one_based() {
        let n = one("a:\n  b: [1, x]\n");
        let b = n.pointer("/a/b/1").unwrap();
        assert_eq!(b.pos, Pos { line: 2, col: 10 });
        let (k, _) = n.pointer_entry("/a/b").unwrap();
        assert_eq!(k.unwrap().pos, Pos { line: 2, col: 3 });
    }

    #[test]
    fn core_schema_typing() {
        let n = one("a: 1\nb: 1.0\nc: 1.1.1\nd: true\ne: yes\nf: '1'\ng: ~\nh: 0x1f\ni: 1e3\n");
        let j = n.to_json();
        assert_eq!(j["a"], 1);
        assert_eq!(j["b"], 1.0);
        assert_eq!(j["c"], "1.1.1");
        assert_eq!(j["d"], true);
        assert_eq!(j["e"], "yes");
        assert_eq!(j["f"], "1");
        assert!(j["g"].is_null());
        assert_eq!(j["h"], 31);
        assert_eq!(j["i"], 1000.0);
        let big = one("n: 12345678901234567890123\n").to_json();
        assert!(big["n"].is_number(), "{big}");
        assert_eq!(n.get("b").unwrap().as_text(), Some("1.0"));
    }

    #[test]
    fn merge_keys_and_mapping_positions() {
        let n = one("base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\n");
        assert_eq!(n.get("x").unwrap().to_json(), serde_json::json!({"b": 3, "a": 1}));
        assert_eq!(n.pos, Pos { line: 1, col: 1 });
        assert_eq!(n.get("x").unwrap().pos, Pos { line: 3, col: 3 });
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let e = parse("a: 1\nb: 2\na: 3\n", &Limits::default()).unwrap_err();
        assert_eq!(e.pos, Pos { line: 3, col: 1 });
        assert!(e.message.contains("duplicate key `a`"), "{}", e.message);
    }

    #[test]
    fn chained_aliases_count_their_expanded_depth() {
        // Each anchor 100 levels deep (under the limit of 128), chained:
        // 100, 200, 300 ... levels once expanded.
        let mut t = format!("a0: &a0 {}x{}\n", "[".repeat(100), "]".repeat(100));
        for i in 1..120 {
            t.push_str(&format!("a{i}: &a{i} {}*a{}{}\n", "[".repeat(100), i - 1, "]".repeat(100)));
        }
        let e = parse(&t, &Limits::default()).unwrap_err();
        assert!(e.message.contains("nesting deeper than 128 levels once this alias is expanded"), "{}", e.message);
        assert_eq!(e.pos.line, 2, "at the first alias that nests too deep");
        // Within the limit, an alias is fine.
        let ok = format!("a: &a {}x{}\nb: [*a]\n", "[".repeat(100), "]".repeat(100));
        assert!(parse(&ok, &Limits::default()).is_ok());
    }

    #[test]
    fn tags_and_yaml_versions_other_readers_act_on_are_refused() {
        for (text, what) in [
            ("a: !!binary aGVsbG8=\n", "`!!binary`"),
            ("a: !!int \"3\"\n", "`!!int`"),
            ("a: !vault x\n", "`!vault`"),
            ("a: !!set {x}\n", "`!!set`"),
            ("a: !!omap [x]\n", "`!!omap`"),
            ("%YAML 9.9\n---\na: 1\n", "%YAML 9.9"),
            ("%YAML 2.0\n---\na: 1\n", "%YAML 2.0"),
        ] {
            let e = parse(text, &Limits::default()).unwrap_err();
            assert!(e.message.contains(what), "{text:?}: {}", e.message);
        }
        for text in
            ["a: !!str 3\n", "a: !!map {b: 1}\n", "a: !!seq [1]\n", "%YAML 1.2\n---\na: 1\n", "%YAML 1.1\n---\na: 1\n"]
        {
            assert!(parse(text, &Limits::default()).is_ok(), "{text:?}");
        }
        // A `%` line inside a scalar is content, not a directive.
        assert!(check_directives("a: \"x\n%YAML 9.9 y\"\n").is_ok());
        assert!(check_directives("# c\n\n%YAML 9.9\n---\n").is_err());
        assert!(check_directives("a: 1\n...\n%YAML 9.9\n---\nb: 2\n").is_err());
        let doc = parse_one("a: !!str 3\n", &Limits::default()).unwrap().unwrap();
        assert_eq!(doc.to_json(), serde_json::json!({"a": "3"}));
    }

    #[test]
    fn alias_bombs_stop_at_the_node_cap() {
        let mut t = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            t.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse(&t, &Limits::default()).unwrap_err();
        assert!(e.message.contains("more than"), "{}", e.message);
    }

    #[test]
    fn many_keys_and_merges_take_linear_time() {
        // 200,000 keys: a linear scan for duplicates per key took minutes.
        let n = 200_000;
        let mut t: String = (0..n).map(|i| format!("k{i}: 0\n")).collect();
        let start = std::time::Instant::now();
        assert_eq!(one(&t).as_map().unwrap().len(), n);
        t.push_str("k7: 1\n");
        let e = parse(&t, &Limits::default()).unwrap_err();
        assert!(e.message.contains("duplicate key `k7` (first defined at line 8, column 1)"), "{}", e.message);
        // A big mapping merged into another big one.
        let half = n / 4;
        let base: String = (0..half).map(|i| format!("  a{i}: 0\n")).collect();
        let own: String = (0..half).map(|i| format!("  b{i}: 0\n")).collect();
        let m = one(&format!("base: &b\n{base}x:\n  <<: *b\n{own}"));
        assert_eq!(m.get("x").unwrap().as_map().unwrap().len(), 2 * half);
        assert!(start.elapsed() < std::time::Duration::from_secs(30), "took {:?}", start.elapsed());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let t = "[".repeat(10_000);
        let e = parse(&t, &Limits::default()).unwrap_err();
        assert!(e.message.contains("nesting"), "{}", e.message);
    }

    #[test]
    fn nul_bytes_are_refused_with_position() {
        let e = parse("a: 1\nb: x\0y\n", &Limits::default()).unwrap_err();
        assert_eq!(e.pos, Pos { line: 2, col: 5 });
    }

    #[test]
    fn multi_documents_skip_empty_ones() {
        let d = parse("---\na: 1\n---\n---\nb: 2\n", &Limits::default()).unwrap();
        assert_eq!(d.len(), 2);
    }
}
