//! The fast path of [`crate::parse`].
//!
//! yaml_rust2 scans one `char` at a time through a small look-ahead buffer
//! and a token queue, which reads tens of MB/s; `catalyst render` parses
//! every file it writes, so that is the largest single cost of rendering a
//! fleet. This module reads the block-style YAML that catalyst's templates
//! and emitter write — and that most hand-written Kubernetes YAML is — a
//! line at a time over bytes, and builds the [`Node`] tree directly.
//!
//! # Contract
//!
//! [`parse`] returns `Some(documents)` only when they are exactly what the
//! full parser returns: the same nodes, scalar texts and kinds, and every
//! position (`Pos`: line, and column in chars, of each scalar, sequence and
//! mapping, with the full parser's rules for where a mapping, an indentless
//! sequence or an empty value sits), empty documents skipped, the same node
//! and depth limits. Whenever the text leaves the subset below, or the
//! reader is not sure, it returns `None` and the caller runs the full
//! parser, which also produces every error message. So the fast path never
//! reports an error and never accepts what the full parser rejects; the
//! `fast::tests` and the `yaml_fast` fuzz target check both directions
//! against the full parser.
//!
//! # The subset
//!
//! - `---` document separators (a lone scalar or flow collection may follow
//!   on the same line), full-line and trailing comments, blank lines;
//! - block mappings with plain or quoted keys (`key: value`, `key:` with
//!   the value on the next lines or empty), block sequences (nested as
//!   `- - x`, compact mappings as `- key: value`, indented under their key
//!   or not);
//! - plain scalars on one line; single-quoted and double-quoted scalars on
//!   one line (every escape of the full parser); literal block scalars
//!   (`|`, `|-`, `|+`) whose first line holds text;
//! - flow sequences and mappings on one line (`[a, 'b']`, `{k: v}`, `{}`,
//!   `[]`, nested), without empty entries, implicit pairs or trailing
//!   commas.
//!
//! It refuses tabs, CR line ends, other control characters, a byte order
//! mark, anchors, aliases, tags, directives, `...`, `?` keys, folded
//! scalars, multi-line plain, quoted or flow scalars, block scalars with an
//! indentation indicator or leading empty lines, merge keys (`<<`),
//! duplicate keys, keys longer than the full parser's simple-key limit, an
//! unterminated last line without a token, and anything it does not
//! recognise. Scalar kinds come from the same [`resolve_plain`]; quoted and
//! block scalars are strings.

use std::collections::HashSet;

use crate::{Limits, Node, NodeKind, Pos, ScalarKind, resolve_plain};

#[cfg(test)]
mod tests;

/// The documents of `text`, or `None` when the full parser must read it
/// (see the module documentation). The caller has checked the size limit
/// and that the text holds no NUL byte.
pub(crate) fn parse(text: &str, limits: &Limits) -> Option<Vec<Node>> {
    let ascii = alphabet(text.as_bytes())?;
    Reader::new(text, ascii, limits).stream()
}

// Byte scanning eight bytes at a time: a `u64` word per eight bytes, and
// a mask with the high bit of each byte that matched.
const HIGH: u64 = 0x8080_8080_8080_8080;
const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of every zero byte of `x` (exact: no borrow between bytes).
fn zero_bytes(x: u64) -> u64 {
    !(((x & !HIGH) + !HIGH) | x) & HIGH
}

/// Whether the text is ASCII, if it holds only bytes the reader handles: no
/// control character but the line feed (tabs, CR, ... have rules of their
/// own in YAML), no DEL, no byte order mark; and, when the last line is
/// unterminated, a token on it (yaml_rust2 places the end of such a stream
/// on that line or the next depending on its length and the indentation,
/// which is not worth modelling).
fn alphabet(b: &[u8]) -> Option<bool> {
    // Eight bytes at a time (the tail padded with spaces); any byte worth a
    // closer look sends the whole text to the exact loop below.
    let suspect = |w: u64| {
        let control = zero_bytes(w & (0xe0 * ONES)) & !zero_bytes(w ^ (u64::from(b'\n') * ONES));
        (control | zero_bytes(w ^ (0x7f * ONES)) | zero_bytes(w ^ (0xef * ONES))) != 0
    };
    let mut words = b.chunks_exact(8);
    let mut high = 0;
    let mut clean = true;
    for w in &mut words {
        let w = u64::from_le_bytes(w.try_into().expect("eight bytes"));
        high |= w;
        if suspect(w) {
            clean = false;
            break;
        }
    }
    if clean {
        let mut tail = [b' '; 8];
        tail[..words.remainder().len()].copy_from_slice(words.remainder());
        let w = u64::from_le_bytes(tail);
        high |= w;
        clean = !suspect(w);
    }
    if !clean {
        for (i, &c) in b.iter().enumerate() {
            if (c < 0x20 && c != b'\n') || c == 0x7f || (c == 0xef && b.get(i + 1..i + 3) == Some(&[0xbb, 0xbf][..])) {
                return None;
            }
        }
        high |= u64::from(!b.is_ascii()) << 7;
    }
    if b.last().is_some_and(|&c| c != b'\n') {
        let last = &b[b.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1)..];
        let token = last.iter().find(|&&c| c != b' ');
        if token.is_none_or(|&c| c == b'#') {
            return None;
        }
    }
    Some(high & HIGH == 0)
}

/// The offset of the first `\n` from `k` on, or the end of `b`. Eight bytes
/// at a time: lines are short, shorter than `memchr` likes.
fn find_newline(b: &[u8], mut k: usize) -> usize {
    while k + 8 <= b.len() {
        let hits =
            zero_bytes(u64::from_le_bytes(b[k..k + 8].try_into().expect("eight bytes")) ^ (u64::from(b'\n') * ONES));
        if hits != 0 {
            return k + (hits.trailing_zeros() / 8) as usize;
        }
        k += 8;
    }
    b[k..].iter().position(|&c| c == b'\n').map_or(b.len(), |i| k + i)
}

/// The full parser forgets a possible simple key whose `:` comes more than
/// this many chars after the key's start, and then refuses the `:`. Byte
/// offsets are compared: there are at least as many bytes as chars.
const SIMPLE_KEY_MAX: usize = 1024;

fn is_flow(c: u8) -> bool {
    matches!(c, b',' | b'[' | b']' | b'{' | b'}')
}

/// What the reader stands before, after it skipped blank and comment lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    /// The end of the text.
    End,
    /// A `---` line.
    DocStart,
    /// A line with a token, indented by this many spaces (its column); the
    /// cursor is on the token.
    Line(usize),
}

/// The chomping indicator of a block scalar.
enum Chomp {
    Strip,
    Clip,
    Keep,
}

struct Reader<'a> {
    text: &'a str,
    b: &'a [u8],
    /// Columns are byte offsets when the text is ASCII.
    ascii: bool,
    limits: &'a Limits,
    nodes: usize,
    depth: usize,
    /// The current line: its 1-based number and byte range (without the
    /// `\n`); past the last line, `at_end`.
    line: usize,
    start: usize,
    end: usize,
    at_end: bool,
    /// The cursor, a byte offset in the current line.
    p: usize,
    next: Next,
    /// The items and entries of the open collections, so that each
    /// collection's vector is allocated once, at its exact size.
    items: Vec<Node>,
    entries: Vec<(Node, Node)>,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str, ascii: bool, limits: &'a Limits) -> Self {
        let mut r = Reader {
            text,
            b: text.as_bytes(),
            ascii,
            limits,
            nodes: 0,
            depth: 0,
            line: 1,
            start: 0,
            end: 0,
            at_end: false,
            p: 0,
            next: Next::End,
            items: Vec::new(),
            entries: Vec::new(),
        };
        r.enter_line(0);
        r
    }

    // ---- Lines and the cursor --------------------------------------------

    fn enter_line(&mut self, start: usize) {
        self.start = start;
        self.p = start;
        if start >= self.b.len() {
            self.at_end = true;
            self.end = start;
        } else {
            self.end = find_newline(self.b, start);
        }
    }

    /// Moves to the next line. Past the last one, the line number is the
    /// one the full parser gives the end of the stream.
    fn next_line(&mut self) {
        if self.at_end {
            return;
        }
        self.line += 1;
        if self.end >= self.b.len() {
            self.at_end = true;
            self.start = self.b.len();
            self.end = self.b.len();
            self.p = self.end;
        } else {
            self.enter_line(self.end + 1);
        }
    }

    /// From the current line on, skips blank and comment lines and sets
    /// `next`. `None` on a line the reader leaves to the full parser
    /// (directives, `...`).
    fn seek_content(&mut self) -> Option<()> {
        loop {
            if self.at_end {
                self.next = Next::End;
                return Some(());
            }
            let i = self.skip_spaces(self.start);
            if i == self.end || self.b[i] == b'#' {
                self.next_line();
                continue;
            }
            self.p = i;
            let rest = &self.b[i..self.end];
            if i == self.start {
                if rest.starts_with(b"---") && rest.get(3).is_none_or(|&c| c == b' ') {
                    self.next = Next::DocStart;
                    return Some(());
                }
                if rest.starts_with(b"...") || rest[0] == b'%' {
                    return None;
                }
            }
            self.next = Next::Line(i - self.start);
            return Some(());
        }
    }

    /// Ends a line after its last node: only spaces and a comment (after a
    /// space) may follow. Then moves to the next token.
    fn finish_line(&mut self) -> Option<()> {
        let i = self.skip_spaces(self.p);
        if i < self.end && !(self.b[i] == b'#' && i > self.p) {
            return None;
        }
        self.next_line();
        self.seek_content()
    }

    fn skip_spaces(&self, mut i: usize) -> usize {
        while i < self.end && self.b[i] == b' ' {
            i += 1;
        }
        i
    }

    /// The byte at `i` of the current line, if the line goes that far.
    fn byte(&self, i: usize) -> Option<u8> {
        (i < self.end).then(|| self.b[i])
    }

    /// The position of byte offset `off` of the current line.
    fn pos(&self, off: usize) -> Pos {
        let col = if self.ascii { off - self.start } else { self.text[self.start..off].chars().count() };
        Pos { line: self.line, col: col + 1 }
    }

    /// Where the full parser marks the next token: the token itself, or
    /// column 1 of a `---` line or of the line after the text.
    fn next_pos(&self) -> Pos {
        match self.next {
            Next::Line(_) => self.pos(self.p),
            Next::DocStart | Next::End => Pos { line: self.line, col: 1 },
        }
    }

    /// Whether a block sequence entry (`-` and a space or the line end)
    /// starts at `i`.
    fn is_entry(&self, i: usize) -> bool {
        self.b[i] == b'-' && self.byte(i + 1).is_none_or(|c| c == b' ')
    }

    /// Where the full parser marks the entry at the cursor: after its `-`,
    /// the spaces and any comment.
    fn entry_pos(&self) -> Pos {
        let i = self.skip_spaces(self.p + 1);
        self.pos(if self.byte(i) == Some(b'#') { self.end } else { i })
    }

    // ---- Limits ---------------------------------------------------------

    /// Counts a node; stops short of the limit, where the full parser
    /// reports the error.
    fn count(&mut self) -> Option<()> {
        self.nodes += 1;
        (self.nodes < self.limits.max_nodes).then_some(())
    }

    /// Counts a collection and enters it; stops short of the depth limit.
    fn open(&mut self) -> Option<()> {
        self.count()?;
        self.depth += 1;
        (self.depth < self.limits.max_depth).then_some(())
    }

    fn close(&mut self) {
        self.depth -= 1;
    }

    fn null(&mut self, pos: Pos) -> Option<Node> {
        self.count()?;
        Some(Node { kind: NodeKind::Scalar(String::new(), ScalarKind::Null), pos })
    }

    // ---- Documents and block nodes ---------------------------------------

    fn stream(&mut self) -> Option<Vec<Node>> {
        let mut docs = Vec::new();
        self.seek_content()?;
        if let Next::Line(_) = self.next {
            docs.push(self.node(-1, true)?);
        }
        loop {
            match self.next {
                Next::End => return Some(docs),
                // More after a document's root node.
                Next::Line(_) => return None,
                Next::DocStart => {
                    // An empty document still counts its empty scalar.
                    self.count()?;
                    let i = self.skip_spaces(self.start + 3);
                    if i < self.end && self.b[i] != b'#' {
                        self.p = i;
                        docs.push(self.node(-1, false)?);
                    } else {
                        self.next_line();
                        self.seek_content()?;
                        if let Next::Line(_) = self.next {
                            docs.push(self.node(-1, true)?);
                        }
                    }
                }
            }
        }
    }

    /// The node at the cursor, in a block collection indented `parent`
    /// columns (-1 for a document's root). `compact`: whether a block
    /// collection may start here (not after `key: ` or `--- `). Leaves the
    /// reader at the next token.
    fn node(&mut self, parent: isize, compact: bool) -> Option<Node> {
        let i = self.p;
        // Where a collection starts only spaces and `- ` precede, so the
        // byte offset is the column.
        let col = i - self.start;
        match self.b[i] {
            b'-' if self.is_entry(i) => {
                if compact {
                    self.block_seq(false)
                } else {
                    None
                }
            }
            b'|' => self.literal(parent),
            b'[' | b'{' => {
                let (node, after) = self.flow(i)?;
                self.p = after;
                self.finish_line()?;
                Some(node)
            }
            _ => {
                let (node, is_key) = self.scalar_token()?;
                if !is_key {
                    self.finish_line()?;
                    Some(node)
                } else if compact {
                    self.block_map(col, node)
                } else {
                    None
                }
            }
        }
    }

    /// A block mapping indented `m` columns whose first key has been read.
    fn block_map(&mut self, m: usize, first: Node) -> Option<Node> {
        self.open()?;
        let base = self.entries.len();
        let mut key = first;
        loop {
            let value = self.map_value(m)?;
            self.entries.push((key, value));
            match self.next {
                Next::Line(i) if i == m && !self.is_entry(self.p) => {
                    let (k, is_key) = self.scalar_token()?;
                    if !is_key {
                        return None;
                    }
                    key = k;
                }
                // An entry at the key's column after a value, or anything
                // deeper: an error, or a multi-line plain scalar.
                Next::Line(i) if i >= m => return None,
                _ => break,
            }
        }
        self.close();
        let entries = self.take_entries(base)?;
        // The full parser's start mark is the `:`; the mapping's position
        // is its first key.
        let pos = entries[0].0.pos;
        Some(Node { kind: NodeKind::Map(entries), pos })
    }

    /// The entries of the mapping that starts at `base` of the stack, unless
    /// two keys are the same.
    fn take_entries(&mut self, base: usize) -> Option<Vec<(Node, Node)>> {
        if has_duplicate_keys(&self.entries[base..]) {
            return None;
        }
        Some(self.entries.drain(base..).collect())
    }

    /// The value after `key:` (the cursor is past the `:`) in a mapping
    /// indented `m` columns.
    fn map_value(&mut self, m: usize) -> Option<Node> {
        let i = self.skip_spaces(self.p);
        if i < self.end && self.b[i] != b'#' {
            self.p = i;
            return self.node(m as isize, false);
        }
        self.next_line();
        self.seek_content()?;
        match self.next {
            Next::Line(i) if i > m => self.node(m as isize, true),
            Next::Line(i) if i == m && self.is_entry(self.p) => self.block_seq(true),
            // Empty: the full parser marks it at the next token.
            _ => self.null(self.next_pos()),
        }
    }

    /// A block sequence whose first `-` is at the cursor. `indentless`: its
    /// entries sit at the column of the mapping key that holds it, and the
    /// full parser marks it after its first `- `.
    fn block_seq(&mut self, indentless: bool) -> Option<Node> {
        self.open()?;
        let s = self.p - self.start;
        let pos = if indentless { self.entry_pos() } else { self.pos(self.p) };
        let base = self.items.len();
        loop {
            let i = self.skip_spaces(self.p + 1);
            let item = if i < self.end && self.b[i] != b'#' {
                self.p = i;
                self.node(s as isize, true)?
            } else {
                self.next_line();
                self.seek_content()?;
                match self.next {
                    Next::Line(j) if j > s => self.node(s as isize, true)?,
                    // Empty, before another entry: marked after its `- `.
                    Next::Line(j) if j == s && self.is_entry(self.p) => self.null(self.entry_pos())?,
                    _ => self.null(self.next_pos())?,
                }
            };
            self.items.push(item);
            match self.next {
                Next::Line(j) if j == s && self.is_entry(self.p) => {}
                // The next key of the mapping that holds the sequence.
                Next::Line(j) if j == s && indentless => break,
                Next::Line(j) if j >= s => return None,
                _ => break,
            }
        }
        self.close();
        let items = self.items.drain(base..).collect();
        Some(Node { kind: NodeKind::Seq(items), pos })
    }

    /// The plain or quoted scalar at the cursor, in block context, and
    /// whether it is a key (a `:` and a space or the line end follow). The
    /// cursor moves past the scalar, and past the `:` of a key.
    fn scalar_token(&mut self) -> Option<(Node, bool)> {
        let i = self.p;
        let pos = self.pos(i);
        let (text, kind, after, colon) = match self.b[i] {
            b'\'' => {
                let (t, a) = self.single_quoted(i)?;
                (t, ScalarKind::Str, a, a)
            }
            b'"' => {
                let (t, a) = self.double_quoted(i)?;
                (t, ScalarKind::Str, a, a)
            }
            _ => {
                if !self.plain_start(i, false) {
                    return None;
                }
                let e = self.plain_end(i);
                let t = &self.text[i..e];
                // A plain key may have spaces before its `:`.
                (t.to_owned(), resolve_plain(t), e, self.skip_spaces(e))
            }
        };
        let is_key = self.byte(colon) == Some(b':') && self.byte(colon + 1).is_none_or(|c| c == b' ');
        if is_key {
            if colon - i > SIMPLE_KEY_MAX || text == "<<" {
                return None;
            }
            self.p = colon + 1;
        } else {
            self.p = after;
        }
        self.count()?;
        Some((Node { kind: NodeKind::Scalar(text, kind), pos }, is_key))
    }

    /// Whether a plain scalar may start at `i` (in flow context if `flow`);
    /// indicators, and the rarer starts the reader does not model, may not.
    fn plain_start(&self, i: usize, flow: bool) -> bool {
        match self.b[i] {
            b'[' | b']' | b'{' | b'}' | b',' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\'' | b'"' | b'%' | b'@'
            | b'`' | b'?' | b':' | b' ' => false,
            b'-' => self.byte(i + 1).is_some_and(|c| c != b' ' && !(flow && is_flow(c))),
            _ => true,
        }
    }

    /// The end of the block-context plain scalar starting at `i`: it stops
    /// at `: `, at ` #` and at the line end; trailing spaces are not part of
    /// it.
    fn plain_end(&self, i: usize) -> usize {
        let mut k = i;
        loop {
            k = self.find_space_or_colon(k);
            if k == self.end {
                return k;
            }
            if self.b[k] == b' ' {
                let w = self.skip_spaces(k);
                if w == self.end
                    || self.b[w] == b'#'
                    || (self.b[w] == b':' && self.byte(w + 1).is_none_or(|c| c == b' '))
                {
                    return k;
                }
                k = w;
            } else if self.byte(k + 1).is_none_or(|c| c == b' ') {
                return k;
            } else {
                k += 1;
            }
        }
    }

    /// The first space or colon from `k` on in the current line, or its end:
    /// the only bytes that can end a plain scalar in block context. Eight
    /// bytes at a time, for long values such as URLs.
    fn find_space_or_colon(&self, mut k: usize) -> usize {
        while k + 8 <= self.end {
            let w = u64::from_le_bytes(self.b[k..k + 8].try_into().expect("eight bytes"));
            let hits = zero_bytes(w ^ (u64::from(b' ') * ONES)) | zero_bytes(w ^ (u64::from(b':') * ONES));
            if hits != 0 {
                return k + (hits.trailing_zeros() / 8) as usize;
            }
            k += 8;
        }
        while k < self.end && !matches!(self.b[k], b' ' | b':') {
            k += 1;
        }
        k
    }

    /// A single-quoted scalar starting at `i` and closed on its line: its
    /// text and the offset after the closing quote.
    fn single_quoted(&self, i: usize) -> Option<(String, usize)> {
        let mut s = String::new();
        let (mut seg, mut k) = (i + 1, i + 1);
        loop {
            let q = k + self.b[k..self.end].iter().position(|&c| c == b'\'')?;
            if self.byte(q + 1) == Some(b'\'') {
                s.push_str(&self.text[seg..=q]);
                k = q + 2;
                seg = k;
            } else {
                s.push_str(&self.text[seg..q]);
                return Some((s, q + 1));
            }
        }
    }

    /// A double-quoted scalar starting at `i` and closed on its line, with
    /// the full parser's escapes: its text and the offset after the
    /// closing quote.
    fn double_quoted(&self, i: usize) -> Option<(String, usize)> {
        let mut s = String::new();
        let (mut seg, mut k) = (i + 1, i + 1);
        loop {
            let q = k + self.b[k..self.end].iter().position(|&c| c == b'"' || c == b'\\')?;
            s.push_str(&self.text[seg..q]);
            if self.b[q] == b'"' {
                return Some((s, q + 1));
            }
            let (c, len) = self.escape(q)?;
            s.push(c);
            k = q + len;
            seg = k;
        }
    }

    /// The escape sequence at `q` (a backslash): its char and length.
    /// `None` for an escaped line break (a multi-line scalar) and for what
    /// the full parser rejects.
    fn escape(&self, q: usize) -> Option<(char, usize)> {
        let c = match self.byte(q + 1)? {
            b'0' => '\0',
            b'a' => '\x07',
            b'b' => '\x08',
            b't' => '\t',
            b'n' => '\n',
            b'v' => '\x0b',
            b'f' => '\x0c',
            b'r' => '\r',
            b'e' => '\x1b',
            b' ' => ' ',
            b'"' => '"',
            b'/' => '/',
            b'\\' => '\\',
            b'N' => '\u{85}',
            b'_' => '\u{a0}',
            b'L' => '\u{2028}',
            b'P' => '\u{2029}',
            b'x' => return self.hex_escape(q, 2),
            b'u' => return self.hex_escape(q, 4),
            b'U' => return self.hex_escape(q, 8),
            _ => return None,
        };
        Some((c, 2))
    }

    /// `\x`, `\u`, `\U` at `q`: `digits` hex digits naming a char.
    fn hex_escape(&self, q: usize, digits: usize) -> Option<(char, usize)> {
        let hex = self.text.get(q + 2..q + 2 + digits).filter(|_| q + 2 + digits <= self.end)?;
        if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        Some((char::from_u32(u32::from_str_radix(hex, 16).ok()?)?, 2 + digits))
    }

    /// A literal block scalar (`|`, `|-`, `|+`) at the cursor, in a block
    /// collection indented `parent` columns. Its first line must hold text
    /// (its indentation is the scalar's), as the emitter writes it. The
    /// full parser marks the scalar at its first line of text.
    fn literal(&mut self, parent: isize) -> Option<Node> {
        if parent < 0 {
            return None;
        }
        let mut i = self.p + 1;
        let chomp = match self.byte(i) {
            Some(b'-') => Chomp::Strip,
            Some(b'+') => Chomp::Keep,
            _ => Chomp::Clip,
        };
        if !matches!(chomp, Chomp::Clip) {
            i += 1;
        }
        // Only a comment may follow; an indentation indicator is refused.
        let j = self.skip_spaces(i);
        if (j < self.end && !(self.b[j] == b'#' && j > i)) || self.end == self.b.len() {
            return None;
        }
        self.count()?;
        self.next_line();
        if self.at_end {
            return None;
        }
        let indent = self.skip_spaces(self.start) - self.start;
        if self.start + indent == self.end || indent as isize <= parent {
            return None;
        }
        let pos = Pos { line: self.line, col: indent + 1 };
        let mut text = String::new();
        // Empty lines since the last line of text.
        let mut breaks = 0;
        let mut first = true;
        loop {
            if !first {
                text.push('\n');
                text.extend(std::iter::repeat_n('\n', breaks));
            }
            first = false;
            text.push_str(&self.text[self.start + indent..self.end]);
            if self.end == self.b.len() {
                // Text up to an unterminated last line: the full parser
                // adds a line break of its own there.
                return None;
            }
            breaks = 0;
            // Lines of at most `indent` spaces are empty; a line indented
            // `indent` or more is text (spaces included); anything less
            // indented ends the scalar.
            let more = loop {
                self.next_line();
                if self.at_end {
                    break false;
                }
                let n = self.skip_spaces(self.start) - self.start;
                let len = self.end - self.start;
                if n == len && len <= indent {
                    if self.end == self.b.len() {
                        return None;
                    }
                    breaks += 1;
                    continue;
                }
                break n >= indent;
            };
            if !more {
                break;
            }
        }
        match chomp {
            Chomp::Strip => {}
            Chomp::Clip => text.push('\n'),
            Chomp::Keep => text.extend(std::iter::repeat_n('\n', breaks + 1)),
        }
        self.seek_content()?;
        Some(Node { kind: NodeKind::Scalar(text, ScalarKind::Str), pos })
    }

    // ---- Flow collections (on one line) ----------------------------------

    /// The flow sequence or mapping starting at `i`: the node and the offset
    /// after its closing bracket.
    fn flow(&mut self, i: usize) -> Option<(Node, usize)> {
        self.open()?;
        let pos = self.pos(i);
        let mut j = self.skip_spaces(i + 1);
        let kind = if self.b[i] == b'[' {
            let base = self.items.len();
            if self.byte(j) != Some(b']') {
                loop {
                    let (item, k) = self.flow_item(j)?;
                    self.items.push(item);
                    let k = self.skip_spaces(k);
                    match self.byte(k)? {
                        b',' => j = self.skip_spaces(k + 1),
                        b']' => {
                            j = k;
                            break;
                        }
                        _ => return None,
                    }
                }
            }
            NodeKind::Seq(self.items.drain(base..).collect())
        } else {
            let base = self.entries.len();
            if self.byte(j) != Some(b'}') {
                loop {
                    let (key, k) = self.flow_scalar(j)?;
                    if matches!(&key.kind, NodeKind::Scalar(t, _) if t == "<<") {
                        return None;
                    }
                    let k = self.skip_spaces(k);
                    if self.byte(k) != Some(b':') || self.byte(k + 1) != Some(b' ') {
                        return None;
                    }
                    let (value, k) = self.flow_item(self.skip_spaces(k + 1))?;
                    self.entries.push((key, value));
                    let k = self.skip_spaces(k);
                    match self.byte(k)? {
                        b',' => j = self.skip_spaces(k + 1),
                        b'}' => {
                            j = k;
                            break;
                        }
                        _ => return None,
                    }
                }
            }
            NodeKind::Map(self.take_entries(base)?)
        };
        self.close();
        Some((Node { kind, pos }, j + 1))
    }

    fn flow_item(&mut self, j: usize) -> Option<(Node, usize)> {
        match self.byte(j)? {
            b'[' | b'{' => self.flow(j),
            _ => self.flow_scalar(j),
        }
    }

    /// A plain or quoted scalar at `j` inside a flow collection: the node
    /// and the offset after it.
    fn flow_scalar(&mut self, j: usize) -> Option<(Node, usize)> {
        let pos = self.pos(j);
        let (text, kind, after) = match self.byte(j)? {
            b'\'' => {
                let (t, a) = self.single_quoted(j)?;
                (t, ScalarKind::Str, a)
            }
            b'"' => {
                let (t, a) = self.double_quoted(j)?;
                (t, ScalarKind::Str, a)
            }
            _ => {
                if !self.plain_start(j, true) {
                    return None;
                }
                let e = self.flow_plain_end(j)?;
                let t = &self.text[j..e];
                (t.to_owned(), resolve_plain(t), e)
            }
        };
        self.count()?;
        Some((Node { kind: NodeKind::Scalar(text, kind), pos }, after))
    }

    /// The end of the flow-context plain scalar starting at `i`: it stops
    /// at a flow indicator and at `:` before a space or one. `None` where it
    /// would reach the line end or a comment (the collection goes on over
    /// several lines), and at ` -` before a flow indicator (an error).
    fn flow_plain_end(&self, i: usize) -> Option<usize> {
        let (mut e, mut k) = (i, i);
        loop {
            match self.byte(k)? {
                b' ' => {
                    let w = self.skip_spaces(k);
                    match self.byte(w)? {
                        b'#' => return None,
                        b'-' if self.byte(w + 1).is_some_and(is_flow) => return None,
                        _ => k = w,
                    }
                }
                c if is_flow(c) => return Some(e),
                b':' if self.byte(k + 1).is_none_or(|c| c == b' ' || is_flow(c)) => return Some(e),
                _ => {
                    k += 1;
                    e = k;
                }
            }
        }
    }
}

/// Whether two keys of a mapping have the same text (the full parser
/// refuses the mapping).
fn has_duplicate_keys(entries: &[(Node, Node)]) -> bool {
    fn text(n: &Node) -> &str {
        match &n.kind {
            NodeKind::Scalar(t, _) => t,
            _ => "",
        }
    }
    if entries.len() <= 16 {
        return entries.iter().enumerate().any(|(i, (k, _))| entries[..i].iter().any(|(p, _)| text(p) == text(k)));
    }
    let mut seen = HashSet::with_capacity(entries.len());
    !entries.iter().all(|(k, _)| seen.insert(text(k)))
}
