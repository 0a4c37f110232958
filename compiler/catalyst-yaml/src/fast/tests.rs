//! The fast path against the full parser: hand-picked cases, every YAML
//! file of the repository, and generated block-style texts.

use std::cell::Cell;
use std::path::{Path, PathBuf};

use crate::{Limits, Node, Pos, parse_fast, parse_slow};

/// Asserts that the fast path either leaves `text` to the full parser or
/// returns exactly what the full parser returns. Returns whether it took
/// the text.
fn same_as_slow(text: &str) -> bool {
    same_as_slow_with(text, &Limits::default())
}

fn same_as_slow_with(text: &str, limits: &Limits) -> bool {
    let Some(fast) = parse_fast(text, limits) else { return false };
    match parse_slow(text, limits) {
        Ok(slow) => assert!(fast == slow, "fast path differs on {text:?}\nfast: {fast:#?}\nslow: {slow:#?}"),
        Err(e) => panic!("fast path accepted {text:?}, which the full parser refuses: {e:?}\nfast: {fast:#?}"),
    }
    true
}

/// `same_as_slow`, and the fast path must have taken the text.
#[track_caller]
fn accepted(text: &str) -> Vec<Node> {
    assert!(same_as_slow(text), "fast path bailed on {text:?}");
    parse_fast(text, &Limits::default()).unwrap()
}

/// The fast path leaves `text` to the full parser.
#[track_caller]
fn bails(text: &str) {
    assert!(!same_as_slow(text), "fast path took {text:?}");
}

fn p(line: usize, col: usize) -> Pos {
    Pos { line, col }
}

#[test]
fn rendered_shapes() {
    let t = "# Rendered by catalyst.\n\
             apiVersion: v1\n\
             kind: ConfigMap\n\
             metadata:\n  name: x\n  labels:\n    a.b/c: d\n\
             spec:\n  list:\n    - name: a\n      x:\n        - 1\n        - 2\n    - s\n    - []\n    - {}\n\
             \x20 ref:\n    tag: '1.1.2'\n  q: \"it's\"\n\
             ---\n\
             kind: Other\n";
    let docs = accepted(t);
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].pos, p(2, 1));
    assert_eq!(docs[0].pointer("/spec/list/0").unwrap().pos, p(10, 7));
    assert_eq!(docs[0].pointer("/spec/list").unwrap().pos, p(10, 5));
}

#[test]
fn quoted_keys_and_values() {
    accepted("'a b': 1\n\"c\": 2\n'it''s': x\n");
    accepted(
        "k: 'a ''b'' c  '\nj: \"tab\\t nl\\n q\\\" bs\\\\ u\\u00e9 x\\x41 U\\U0001F600 \\0\\a\\b\\v\\f\\r\\e\\ \\/\\N\\_\\L\\P\"\n",
    );
    accepted("- 'x'\n- \"y\"\n- ''\n- \"\"\n");
    // A quoted key needs its `:` right after the quote here.
    bails("'a' : 1\n");
    // Unknown escapes and bad hex are the full parser's to report.
    bails("k: \"\\q\"\n");
    bails("k: \"\\x4\"\n");
    bails("k: \"\\uD800\"\n");
    // Comments need a space before them; trailing content is an error.
    bails("k: 'a'# c\n");
    bails("k: 'a' b\n");
    accepted("k: 'a' # c\n");
}

#[test]
fn colon_without_space_is_plain() {
    let d = accepted("a: key:value\n");
    assert_eq!(d[0].get("a").unwrap().as_str(), Some("key:value"));
    accepted("- key:value\n- http://x.y/z\n- a::b\n");
    accepted("key:value\n");
    // At the key column a scalar without `: ` is not a key.
    bails("a: 1\nkey:value\n");
    accepted("a:: 1\n");
    // A `:` before a space inside a value.
    bails("a: b: c\n");
    bails("a: b:\n");
    accepted("a : 1\nb  :  2\n");
}

#[test]
fn hash_inside_scalars_and_comments() {
    let d = accepted("a: b#c\nd: e #f\ng: '#h'\ni: \"#j\" # k\nl: m # n: o\n#p: q\n  # r\n");
    let j = d[0].to_json();
    assert_eq!(j, serde_json::json!({"a": "b#c", "d": "e", "g": "#h", "i": "#j", "l": "m"}));
    accepted("a#b: 1\n");
    // `#` after a value on the next line cuts a scalar; the full parser
    // decides what comes after.
    bails("a: b\n  c\n");
    accepted("a: # empty\n  b: 1\n");
    accepted("a:\n  # between\n  b: 1\n# after\n");
}

#[test]
fn nested_and_empty_entries() {
    let d = accepted("- - a\n  - b\n- - - c\n-\n- x\n");
    assert_eq!(d[0].pointer("/0").unwrap().pos, p(1, 3));
    accepted("-\n");
    accepted("- \n-\n-   # c\n- x\n");
    accepted("a:\n-\n- x\n-\nb: 1\n");
    accepted("a:\n  -\n  -\n");
    accepted("- a:\n  b: 1\n- c:\n    d: 2\n-\n  e: 3\n");
    accepted("- a: 1\n  b:\n  - x\n  - y\n  c: 2\n- z\n");
    // An empty entry is marked at the next entry's text, an empty value at
    // the next token.
    let d = accepted("-\n- x\n");
    assert_eq!(d[0].pointer("/0").unwrap().pos, p(2, 3));
    let d = accepted("a:\nb:\n");
    assert_eq!(d[0].get("a").unwrap().pos, p(2, 1));
    assert_eq!(d[0].get("b").unwrap().pos, p(3, 1));
    let d = accepted("a:\n  b:\nc: 1");
    assert_eq!(d[0].pointer("/a/b").unwrap().pos, p(3, 1));
    let d = accepted("x:\n  - a:\n---\n");
    assert_eq!(d[0].pointer("/x/0/a").unwrap().pos, p(3, 1));
}

#[test]
fn empty_values() {
    let d = accepted("key:\nother: 1\n");
    let v = d[0].get("key").unwrap();
    assert!(v.is_null());
    assert_eq!(v.pos, p(2, 1));
    accepted("key:");
    accepted("key:   \n");
    accepted("a:\n  b:\n    c:\n");
    accepted("- a:\n  b:\n- c:\n");
}

#[test]
fn sequences_under_keys_at_the_same_indent() {
    let d = accepted("a:\n- x\n- y\nb:\n  - z\nc:\n-   w\n");
    assert_eq!(d[0].get("a").unwrap().pos, p(2, 3));
    assert_eq!(d[0].get("b").unwrap().pos, p(5, 3));
    assert_eq!(d[0].get("c").unwrap().pos, p(7, 5));
    accepted("a:\n- # c\n  x: 1\n");
    accepted("- a:\n  - x\n  b: 1\n");
    bails("a:\n  - x\n  b: 1\n");
    bails("a:\n- x\n  - y\n");
}

#[test]
fn trailing_spaces() {
    accepted("a: b   \nc:    \n- x  \n");
    let d = accepted("a: b c   \n");
    assert_eq!(d[0].get("a").unwrap().as_str(), Some("b c"));
    accepted("   \na: 1\n   \n");
}

#[test]
fn comment_only_and_empty_documents() {
    assert!(accepted("").is_empty());
    assert!(accepted("# only\n#\n").is_empty());
    assert!(accepted("---\n# c\n---\n---\n").is_empty());
    assert_eq!(accepted("---\na: 1\n---\n---\nb: 2\n").len(), 2);
    assert_eq!(accepted(&"#\n---\n".repeat(50)).len(), 0);
    accepted("a: 1\n---\n");
    accepted("--- # c\na: 1\n");
}

#[test]
fn content_on_the_document_start_line() {
    let d = accepted("--- x\n--- 'y'\n--- [a, b]\n--- {}\n---\nz\n");
    assert_eq!(d.len(), 5);
    assert_eq!(d[0].pos, p(1, 5));
    bails("--- a: b\n");
    bails("--- - a\n");
    bails("--- |\n  x\n");
    // A plain root scalar continues on the next line.
    bails("--- x\ny\n");
    bails("x\ny\n");
}

#[test]
fn numbers_bools_nulls() {
    let d = accepted(
        "a: 1\nb: -2\nc: 1.5\nd: 1e3\ne: .inf\nf: true\ng: False\nh: null\ni: ~\nj: 0x1f\nk: 0o7\nl: yes\nm: 1.1.1\n",
    );
    let j = d[0].to_json();
    assert_eq!(j["a"], 1);
    assert_eq!(j["b"], -2);
    assert_eq!(j["f"], true);
    assert!(j["h"].is_null() && j["i"].is_null());
    assert_eq!(j["l"], "yes");
    assert_eq!(j["m"], "1.1.1");
    accepted("1: a\n2.5: b\ntrue: c\n~: d\n");
    accepted("- [1, -2, 1.5, true, null, ~, x y]\n- {a: 1, 'b': 'c', \"d\": e}\n");
}

#[test]
fn quoted_look_alikes_stay_strings() {
    let d = accepted("a: 'yes'\nb: 'on'\nc: '0755'\nd: \"1.0\"\ne: 'null'\nf: '~'\ng: ''\n");
    for k in ["a", "b", "c", "d", "e", "f", "g"] {
        assert!(d[0].get(k).unwrap().as_str().is_some(), "{k}");
    }
}

#[test]
fn unicode_columns_count_chars() {
    let d = accepted("clé: «valeur»\nx: [é, 'ü', ß]\n");
    assert_eq!(d[0].get("x").unwrap().pointer("/2").unwrap().pos, p(2, 13));
    let d = accepted("ключ: значение # комментарий\nk: 日本語\n");
    assert_eq!(d[0].get("ключ").unwrap().pos, p(1, 7));
}

#[test]
fn long_lines_and_keys() {
    let long = "x".repeat(100_000);
    accepted(&format!("a: {long}\n"));
    accepted(&format!("- {long}\n"));
    accepted(&format!("{}: 1\n", "k".repeat(1000)));
    // The full parser forgets simple keys longer than 1024 chars.
    bails(&format!("{}: 1\n", "k".repeat(2000)));
}

#[test]
fn document_with_only_a_scalar() {
    let d = accepted("hello world\n");
    assert_eq!(d[0].as_str(), Some("hello world"));
    accepted("'quoted'\n");
    accepted("42");
    accepted("~\n");
    accepted("[a, {b: c}]\n");
    accepted("  indented: map\n  second: 2\n");
}

#[test]
fn literal_block_scalars() {
    let d = accepted("a: |\n  line one\n\n    indented\n  # not a comment\n\nb: |-\n  x\n\n\nc: |+\n  y\n\n\nd: 1\n");
    let j = d[0].to_json();
    assert_eq!(j["a"], "line one\n\n  indented\n# not a comment\n");
    assert_eq!(j["b"], "x");
    assert_eq!(j["c"], "y\n\n\n");
    assert_eq!(d[0].get("a").unwrap().pos, p(2, 3));
    accepted("- |\n  x\n   \n      \n  y\n- |-\n    z\n");
    accepted("a:\n  - b: | # c\n      text\n    c: 1\n");
    accepted("a: |\n  x\n");
    accepted("a: |\n  x\n---\nb: |+\n  y\n\n");
    // Indentation indicators, leading empty lines, no text: left alone.
    bails("a: |2\n   x\n");
    bails("a: |\n\n  x\n");
    bails("a: |\nb: 1\n");
    bails("a: >\n  x\n");
    // An unterminated last line gets a line break from the full parser.
    bails("a: |\n  x");
}

#[test]
fn flow_collections() {
    let d = accepted("a: [x, 'y', \"z\", [1, 2], {k: v}]\nb: {a: 1, b: [c]}\nc: []\nd: {}\ne: [ a b , c ]\n");
    assert_eq!(d[0].get("b").unwrap().pos, p(2, 4));
    assert_eq!(d[0].pointer("/a/3/1").unwrap().pos, p(1, 22));
    bails("a: [x,\n  y]\n");
    bails("a: [x: y]\n");
    bails("a: [x, ]\n");
    bails("a: {x}\n");
    bails("a: {x: 1, x: 2}\n");
    bails("a: [x]: y\n");
    bails("a: [x]#c\n");
    bails("a: [a -]\n");
    accepted("a: [a-, -b, a:b] # c\n");
}

#[test]
fn refused_constructs() {
    for t in [
        "a:\tb\n",
        "a: b\r\n",
        "\u{feff}a: b\n",
        "a: &x b\nc: *x\n",
        "a: !!str 1\n",
        "%YAML 1.2\n---\na: 1\n",
        "? a\n: b\n",
        "a: 1\n...\n",
        "a: b\n  c\n",
        "a: 'b\n  c'\n",
        "<<: {a: 1}\n",
        "a: 1\na: 2\n",
        "a: 1\n'a': 2\n",
        "a: 1\n# unterminated last comment",
        "a:\n  ",
        "a: @x\n",
    ] {
        bails(t);
    }
}

#[test]
fn limits_are_left_to_the_full_parser() {
    let deep: String = (0..10).map(|i| format!("{}k{i}:\n", "  ".repeat(i))).collect();
    let tight = Limits { max_depth: 5, ..Limits::default() };
    assert!(!same_as_slow_with(&deep, &tight));
    let nodes = Limits { max_nodes: 10, ..Limits::default() };
    assert!(!same_as_slow_with("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n", &nodes));
    assert!(!same_as_slow_with(&"---\n".repeat(20), &nodes));
    let small = Limits { max_bytes: 4, ..Limits::default() };
    assert!(!same_as_slow_with("a: 12\n", &small));
    assert!(same_as_slow(&deep));
    // NUL bytes: the full parser reports them.
    assert!(parse_fast("a: \0\n", &Limits::default()).is_none());
}

#[test]
fn many_keys_take_linear_time() {
    let n = 200_000;
    let t: String = (0..n).map(|i| format!("k{i}: 0\n")).collect();
    let start = std::time::Instant::now();
    assert_eq!(accepted(&t)[0].as_map().unwrap().len(), n);
    bails(&format!("{t}k7: 1\n"));
    assert!(start.elapsed() < std::time::Duration::from_secs(30), "took {:?}", start.elapsed());
}

#[test]
fn alphabet_matches_a_byte_loop() {
    fn reference(b: &[u8]) -> Option<bool> {
        for (i, &c) in b.iter().enumerate() {
            if (c < 0x20 && c != b'\n') || c == 0x7f || b[i..].starts_with(&[0xef, 0xbb, 0xbf]) {
                return None;
            }
        }
        if let Some(last) = b.split(|&c| c == b'\n').next_back()
            && !last.is_empty()
            && last.iter().find(|&&c| c != b' ').is_none_or(|&c| c == b'#')
        {
            return None;
        }
        Some(b.is_ascii())
    }
    let rng = Rng(Cell::new(99));
    let bytes = [b'a', b' ', b'\n', b'#', b'\t', b'\r', 0x7f, 0xef, 0xbb, 0xbf, 0xc3, 0xa9, 0x01, 0x1f, b'~'];
    for _ in 0..200_000 {
        let len = rng.below(40);
        let b: Vec<u8> = (0..len).map(|_| bytes[rng.below(if rng.below(4) == 0 { bytes.len() } else { 4 })]).collect();
        assert_eq!(super::alphabet(&b), reference(&b), "{b:?}");
    }
}

// ---- Every YAML file of the repository ---------------------------------

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the repository root")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            yaml_files(&path, out);
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(path);
        }
    }
}

/// What `catalyst render` writes: the fast path must take all of it.
fn is_rendered(rel: &Path) -> bool {
    let parts: Vec<_> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    match parts.first().map(String::as_str) {
        Some("clusters") => parts.len() >= 3,
        Some("golden") => parts.iter().any(|p| p == "out"),
        _ => false,
    }
}

#[test]
fn every_yaml_file_of_the_repository() {
    let root = repo_root();
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    files.sort();
    let (mut rendered, mut taken, mut bailed_rendered, mut bailed_other) = (0, 0, Vec::new(), Vec::new());
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        let rel = f.strip_prefix(&root).unwrap().to_path_buf();
        let ok = same_as_slow(&text);
        taken += usize::from(ok);
        if is_rendered(&rel) {
            rendered += 1;
            if !ok {
                bailed_rendered.push(rel.display().to_string());
            }
        } else if !ok {
            bailed_other.push(rel.display().to_string());
        }
    }
    eprintln!(
        "{} YAML files, fast path took {taken}; {rendered} rendered; left to the full parser: {bailed_other:#?}",
        files.len()
    );
    assert!(rendered > 0, "no rendered outputs under clusters/ and golden/");
    assert!(bailed_rendered.is_empty(), "the fast path bailed on rendered outputs: {bailed_rendered:#?}");
}

// ---- Generated texts ---------------------------------------------------

/// xorshift64*: reproducible, no dependency.
struct Rng(Cell<u64>);

impl Rng {
    fn next(&self) -> u64 {
        let mut x = self.0.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

const KEYS: &[&str] = &["a", "b", "c", "a b", "'a'", "\"b\"", "1", "~", "k-1", "é", "x.y/z", "'q''s'", "a#b", "<<"];
/// Values in the subset...
const VALUES: &[&str] = &[
    "x",
    "1",
    "-2",
    "1.5",
    "true",
    "null",
    "~",
    "yes",
    "'q'",
    "''",
    "\"d\\n\\u00e9\"",
    "a b",
    "a:b",
    "a #c",
    "a#c",
    "é ü",
    "[]",
    "{}",
    "[a, b]",
    "[a, [b, 'c']]",
    "{k: v}",
    "-x",
    "'a' #c",
    "\"x\\\"y\"",
];
/// ... and around it.
const WILD: &[&str] = &[
    "a: b",
    "b:",
    "|",
    "|-",
    "|+",
    "\"\\q\"",
    "{k: v, k: w}",
    "[a, ]",
    "- x",
    "-",
    "&a x",
    "*a",
    "!t x",
    "'a'b",
    "[a]#c",
    "|2",
    ">",
    "\"a",
    "x\t",
    "---",
    "..",
    "@x",
    "%x",
    "? x",
    "[a,",
    "{a: 1}: b",
    "'a':b",
    "\"\\x4\"",
];
const TEXT_LINES: &[&str] = &["text", "# not a comment", "", " ", "   ", "  more", "x: y", "- z"];

/// A random line-based text close to the subset, so that both the reader
/// and its bail-outs get exercised: indentation mostly moves by steps of
/// two, values are mostly in the subset.
fn random_yaml(rng: &Rng) -> String {
    let mut out = String::new();
    let mut indent: usize = 0;
    for _ in 0..1 + rng.below(14) {
        indent = match rng.below(12) {
            0 => 0,
            1 | 2 => indent.saturating_sub(2),
            3 => indent.saturating_sub(4),
            4..=6 => indent,
            7..=9 => indent + 2,
            10 => indent + 1,
            _ => rng.below(7),
        };
        let pad = " ".repeat(indent);
        let key = rng.pick(KEYS);
        let value = if rng.below(5) == 0 { rng.pick(WILD) } else { rng.pick(VALUES) };
        let line = match rng.below(20) {
            0..=4 => format!("{pad}{key}: {value}"),
            5 | 6 => format!("{pad}{key}:"),
            7 | 8 => format!("{pad}- {value}"),
            9 => format!("{pad}-"),
            10 | 11 => format!("{pad}- {key}: {value}"),
            12 => format!("{pad}- - {value}"),
            13 => ["---", "--- x", "--- # c", "--- [a]", "---x"][rng.below(5)].to_string(),
            14 => format!("{pad}# comment"),
            15 => String::new(),
            16 => format!("{pad}{}", rng.pick(TEXT_LINES)),
            17 => format!("{pad}{key}: {value} # c"),
            18 => format!("{pad}{value}"),
            _ => format!("{pad}{key}:{value}"),
        };
        out.push_str(&line);
        if rng.below(8) == 0 {
            out.push_str(["  ", " ", "\t", " #x"][rng.below(4)]);
        }
        out.push('\n');
    }
    if rng.below(6) == 0 {
        out.pop();
    }
    out
}

/// A random tree, written in block style with random indentation steps,
/// compact and indentless forms, flow collections, literal blocks and
/// comments: texts mostly in the subset, so that positions get checked.
enum Tree {
    Scalar(&'static str),
    Null,
    Literal(&'static str, Vec<&'static str>),
    Seq(Vec<Tree>),
    Map(Vec<(&'static str, Tree)>),
}

const TREE_KEYS: &[&str] = &["a", "b", "name", "'q k'", "\"d\"", "1", "x.y/z", "é", "k-1", "~", "a#b", "''"];
const LITERAL_LINES: &[&str] = &["line", "  indented", "# hash", "", "x: y", "- z", "é", "   "];

fn tree(rng: &Rng, depth: usize) -> Tree {
    match rng.below(if depth > 4 { 3 } else { 7 }) {
        0 | 1 => Tree::Scalar(rng.pick(VALUES)),
        2 => match rng.below(3) {
            0 => Tree::Null,
            _ => {
                let mut lines = vec![rng.pick(&["text", "x", "# h", "a: b"])];
                lines.extend((0..rng.below(4)).map(|_| rng.pick(LITERAL_LINES)));
                Tree::Literal(rng.pick(&["|", "|-", "|+"]), lines)
            }
        },
        3 | 4 => {
            let mut keys: Vec<&str> = TREE_KEYS.to_vec();
            let n = 1 + rng.below(4);
            let entries = (0..n)
                .map(|_| {
                    let k = keys.swap_remove(rng.below(keys.len()));
                    (k, tree(rng, depth + 1))
                })
                .collect();
            Tree::Map(entries)
        }
        _ => Tree::Seq((0..1 + rng.below(4)).map(|_| tree(rng, depth + 1)).collect()),
    }
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn comment(rng: &Rng, out: &mut String) {
    if rng.below(8) == 0 {
        let n = rng.below(6);
        pad(out, n);
        out.push_str(rng.pick(&["# c\n", "\n", "#\n", "  \n"]));
    }
}

/// Writes a block collection starting on a fresh line at `indent`.
fn emit_block(rng: &Rng, out: &mut String, t: &Tree, indent: usize) {
    match t {
        Tree::Map(entries) => {
            for (k, v) in entries {
                comment(rng, out);
                pad(out, indent);
                out.push_str(k);
                out.push(':');
                emit_after_key(rng, out, v, indent);
            }
        }
        Tree::Seq(items) => {
            for v in items {
                comment(rng, out);
                pad(out, indent);
                out.push('-');
                emit_after_dash(rng, out, v, indent);
            }
        }
        _ => unreachable!(),
    }
}

fn scalar_line(rng: &Rng, out: &mut String, s: &str) {
    out.push(' ');
    out.push_str(s);
    out.push_str(rng.pick(&["", "", "", " # c", "  ", " #"]));
    out.push('\n');
}

fn literal(rng: &Rng, out: &mut String, chomp: &str, lines: &[&str], indent: usize) {
    out.push(' ');
    out.push_str(chomp);
    out.push_str(rng.pick(&["", "", " # c"]));
    out.push('\n');
    for l in lines {
        if !l.is_empty() {
            pad(out, indent);
        }
        out.push_str(l);
        out.push('\n');
    }
    if rng.below(3) == 0 {
        out.push('\n');
    }
}

/// A flow form for collections of scalars, sometimes.
fn flow_form(rng: &Rng, t: &Tree) -> Option<String> {
    let plain = |v: &Tree| match v {
        Tree::Scalar(s) if !s.starts_with(['|', '[', '{']) && !s.contains(['#', ':']) => Some(*s),
        _ => None,
    };
    if rng.below(3) != 0 {
        return None;
    }
    match t {
        Tree::Seq(items) => {
            let v: Option<Vec<&str>> = items.iter().map(plain).collect();
            Some(format!("[{}]", v?.join(", ")))
        }
        Tree::Map(entries) => {
            let v: Option<Vec<String>> = entries.iter().map(|(k, v)| plain(v).map(|v| format!("{k}: {v}"))).collect();
            Some(format!("{{{}}}", v?.join(", ")))
        }
        _ => None,
    }
}

fn emit_after_key(rng: &Rng, out: &mut String, t: &Tree, m: usize) {
    if let Some(f) = flow_form(rng, t) {
        return scalar_line(rng, out, &f);
    }
    match t {
        Tree::Scalar(s) => scalar_line(rng, out, s),
        Tree::Null => {
            out.push_str(rng.pick(&["", " ", " # c"]));
            out.push('\n');
        }
        Tree::Literal(chomp, lines) => literal(rng, out, chomp, lines, m + 1 + rng.below(3)),
        Tree::Map(_) => {
            out.push('\n');
            emit_block(rng, out, t, m + 1 + rng.below(4));
        }
        Tree::Seq(_) => {
            out.push('\n');
            emit_block(rng, out, t, m + [0, 0, 2, 1, 4][rng.below(5)]);
        }
    }
}

fn emit_after_dash(rng: &Rng, out: &mut String, t: &Tree, s: usize) {
    if let Some(f) = flow_form(rng, t) {
        return scalar_line(rng, out, &f);
    }
    match t {
        Tree::Scalar(v) => scalar_line(rng, out, v),
        Tree::Null => {
            out.push_str(rng.pick(&["", " ", " # c"]));
            out.push('\n');
        }
        Tree::Literal(chomp, lines) => literal(rng, out, chomp, lines, s + 1 + rng.below(3)),
        Tree::Map(entries) if rng.below(3) != 0 => {
            // Compact: the first key on the dash line, the others under it.
            let w = 1 + rng.below(3);
            pad(out, w);
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    comment(rng, out);
                    pad(out, s + 1 + w);
                }
                out.push_str(k);
                out.push(':');
                emit_after_key(rng, out, v, s + 1 + w);
            }
        }
        Tree::Seq(items) if rng.below(3) != 0 => {
            let w = 1 + rng.below(2);
            pad(out, w);
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    pad(out, s + 1 + w);
                }
                out.push('-');
                emit_after_dash(rng, out, v, s + 1 + w);
            }
        }
        _ => {
            out.push('\n');
            emit_block(rng, out, t, s + 1 + rng.below(3));
        }
    }
}

fn random_tree_yaml(rng: &Rng) -> String {
    let mut out = String::new();
    for d in 0..1 + rng.below(3) {
        if d > 0 || rng.below(4) == 0 {
            out.push_str(rng.pick(&["---\n", "--- # c\n", "---\n# c\n"]));
        }
        let t = tree(rng, 0);
        match &t {
            Tree::Map(_) | Tree::Seq(_) => emit_block(rng, &mut out, &t, rng.below(3)),
            Tree::Scalar(s) => {
                out.push_str(s);
                out.push('\n');
            }
            _ => {}
        }
    }
    out
}

/// A small edit of `t`: a line indented or dedented by one, a char dropped
/// or doubled, a line dropped, or a character YAML cares about inserted.
fn mutate(rng: &Rng, t: &str) -> String {
    let mut lines: Vec<String> = t.split('\n').map(str::to_owned).collect();
    let i = rng.below(lines.len());
    let line = &mut lines[i];
    let at = line.char_indices().map(|(k, _)| k).nth(rng.below(line.chars().count() + 1)).unwrap_or(line.len());
    match rng.below(6) {
        0 => line.insert(0, ' '),
        1 => {
            if line.starts_with(' ') {
                line.remove(0);
            }
        }
        2 => {
            if at < line.len() {
                line.remove(at);
            }
        }
        3 => {
            if let Some(c) = line[at..].chars().next() {
                line.insert(at, c);
            }
        }
        4 => {
            lines.remove(i);
        }
        _ => line.insert(
            at,
            rng.pick(&[":", " ", "-", "#", "'", "\"", "[", "]", "{", "}", ",", "|", "\\", "é"]).chars().next().unwrap(),
        ),
    }
    lines.join("\n")
}

#[test]
fn generated_texts() {
    // FAST_GEN_N and FAST_GEN_SEED run longer or other searches.
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let rng = Rng(Cell::new(env(catalyst_testkit::env::FAST_GEN_SEED).unwrap_or(0x9e37_79b9_7f4a_7c15) | 1));
    let n = env(catalyst_testkit::env::FAST_GEN_N).map_or(30_000, |n| n as usize);
    let (mut lines_taken, mut trees_taken, mut mutants_taken) = (0, 0, 0);
    for _ in 0..n {
        lines_taken += usize::from(same_as_slow(&random_yaml(&rng)));
        let tree = random_tree_yaml(&rng);
        trees_taken += usize::from(same_as_slow(&tree));
        let mut mutant = mutate(&rng, &tree);
        for _ in 0..rng.below(3) {
            mutant = mutate(&rng, &mutant);
        }
        mutants_taken += usize::from(same_as_slow(&mutant));
    }
    eprintln!(
        "generated: the fast path took {lines_taken} of {n} line soups, {trees_taken} of {n} trees, \
         {mutants_taken} of {n} mutated trees"
    );
    assert!(
        lines_taken > n / 20 && trees_taken > n / 2 && mutants_taken > n / 4,
        "the generators hardly reach the subset"
    );
}
