//! `.helmignore`: the patterns Helm uses to leave files out of a chart
//! archive. One pattern per line; `#` starts a comment; a trailing `/`
//! matches directories only; a pattern with a `/` matches the path from the
//! chart root, one without matches any single path component; `!` negates;
//! the last matching line wins. Globs: `*`, `?`, `[...]`.

#[derive(Debug, Clone, Default)]
pub struct HelmIgnore {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    pattern: String,
    negate: bool,
    dir_only: bool,
    anchored: bool,
}

impl HelmIgnore {
    pub fn parse(text: &str) -> HelmIgnore {
        let mut rules = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negate, p) = match line.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let dir_only = p.ends_with('/');
            let p = p.trim_end_matches('/').trim_start_matches("./").trim_start_matches('/');
            if p.is_empty() {
                continue;
            }
            rules.push(Rule { anchored: p.contains('/'), pattern: p.to_string(), negate, dir_only });
        }
        HelmIgnore { rules }
    }

    /// Whether `rel` (a path from the chart root, `/`-separated) is ignored.
    pub fn ignored(&self, rel: &str, is_dir: bool) -> bool {
        let mut out = false;
        for r in &self.rules {
            if r.dir_only && !is_dir {
                continue;
            }
            let hit = if r.anchored {
                glob(&r.pattern, rel)
            } else {
                rel.rsplit('/').next().is_some_and(|base| glob(&r.pattern, base))
            };
            if hit {
                out = !r.negate;
            }
        }
        out
    }
}

/// Shell glob: `*`, `?` and `[...]` never match `/`; `[abc]`, `[a-z]`,
/// `[!a]`; `\` escapes. As none of them crosses a `/`, pattern and text
/// are matched segment by segment, each in time proportional to the
/// product of their lengths at worst (never the exponential backtracking
/// of a naive matcher, which a hostile `.helmignore` could ask for).
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let segments = split_pattern(&p);
    let mut texts = text.split('/');
    for seg in &segments {
        let Some(t) = texts.next() else { return false };
        let t: Vec<char> = t.chars().collect();
        if !segment(&tokens(seg), &t) {
            return false;
        }
    }
    texts.next().is_none()
}

/// The pattern split at each `/` that is not escaped.
fn split_pattern(p: &[char]) -> Vec<&[char]> {
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < p.len() {
        match p[i] {
            '\\' => i += 2,
            '/' => {
                out.push(&p[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    out.push(&p[start.min(p.len())..]);
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Char(char),
    Any,
    Star,
    /// (negated, singles, ranges)
    Class(bool, Vec<char>, Vec<(char, char)>),
}

fn tokens(p: &[char]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '*' => {
                if out.last() != Some(&Token::Star) {
                    out.push(Token::Star);
                }
                i += 1;
            }
            '?' => {
                out.push(Token::Any);
                i += 1;
            }
            '\\' if i + 1 < p.len() => {
                out.push(Token::Char(p[i + 1]));
                i += 2;
            }
            '[' => match p[i + 1..].iter().position(|&c| c == ']') {
                // `[]` and an unclosed `[` are the character itself.
                Some(len) if len > 0 => {
                    let set = &p[i + 1..i + 1 + len];
                    let (neg, set) = match set.first() {
                        Some('!') | Some('^') => (true, &set[1..]),
                        _ => (false, set),
                    };
                    let (mut singles, mut ranges) = (Vec::new(), Vec::new());
                    let mut j = 0;
                    while j < set.len() {
                        if j + 2 < set.len() && set[j + 1] == '-' {
                            ranges.push((set[j], set[j + 2]));
                            j += 3;
                        } else {
                            singles.push(set[j]);
                            j += 1;
                        }
                    }
                    out.push(Token::Class(neg, singles, ranges));
                    i += len + 2;
                }
                _ => {
                    out.push(Token::Char('['));
                    i += 1;
                }
            },
            c => {
                out.push(Token::Char(c));
                i += 1;
            }
        }
    }
    out
}

fn one(tok: &Token, c: char) -> bool {
    match tok {
        Token::Char(x) => *x == c,
        Token::Any => true,
        Token::Star => false,
        Token::Class(neg, singles, ranges) => {
            (singles.contains(&c) || ranges.iter().any(|(a, b)| *a <= c && c <= *b)) != *neg
        }
    }
}

/// One segment (no `/` on either side): greedy, going back only to the
/// last `*` (which is all a pattern of single-character tokens needs).
fn segment(p: &[Token], t: &[char]) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut back: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == Token::Star {
            back = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && one(&p[pi], t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = back {
            pi = sp + 1;
            ti = st + 1;
            back = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|t| *t == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*.tmp", "a.tmp"));
        assert!(!glob("*.tmp", "d/a.tmp"));
        assert!(glob("a?c", "abc"));
        assert!(glob("[a-c]x", "bx") && !glob("[!a-c]x", "bx"));
        assert!(glob("templates/*.yaml", "templates/a.yaml"));
        assert!(!glob("templates/*.yaml", "templates/x/a.yaml"));
        assert!(!glob("*", "a/b") && glob("*/*", "a/b") && glob("a\\*b", "a*b") && !glob("a\\*b", "axb"));
        assert!(glob("[ab]*[!c]", "bzzd") && !glob("[ab]*[!c]", "bzzc") && glob("x[", "x[") && glob("*", ""));
        assert!(glob("a*b*c", "aXXbYYc") && !glob("a*b*c", "aXXbYY") && glob("a?c", "abc") && !glob("a?c", "a/c"));
    }

    #[test]
    fn a_hostile_pattern_is_matched_quickly() {
        let text = "a".repeat(255);
        let pattern = format!("{}b", "*a".repeat(40));
        let start = std::time::Instant::now();
        for _ in 0..100 {
            assert!(!glob(&pattern, &text));
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(2), "{:?}", start.elapsed());
    }

    #[test]
    fn helmignore_rules() {
        let h = HelmIgnore::parse("# comment\n.git/\n*.swp\ntests/\n!tests/keep.sh\nci/*.yaml\n");
        assert!(h.ignored(".git", true));
        assert!(!h.ignored(".git", false), "dir-only pattern");
        assert!(h.ignored("templates/x.swp", false));
        assert!(h.ignored("tests", true));
        assert!(h.ignored("ci/values.yaml", false));
        assert!(!h.ignored("ci/sub/values.yaml", false));
        assert!(!h.ignored("tests/keep.sh", false), "negation, last match wins");
        assert!(!h.ignored("values.yaml", false));
    }
}
