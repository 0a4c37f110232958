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

/// Shell glob: `*` and `?` never cross `/`; `[abc]`, `[a-z]`, `[!a]`.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len()).take_while(|&i| i == 0 || t[i - 1] != '/').any(|i| go(&p[1..], &t[i..])),
            Some('?') => !t.is_empty() && t[0] != '/' && go(&p[1..], &t[1..]),
            Some('[') => {
                let Some(end) = p.iter().skip(1).position(|&c| c == ']').map(|e| e + 1) else {
                    return !t.is_empty() && t[0] == '[' && go(&p[1..], &t[1..]);
                };
                let Some(&c) = t.first() else { return false };
                let set = &p[1..end];
                let (neg, set) = match set.first() {
                    Some('!') | Some('^') => (true, &set[1..]),
                    _ => (false, set),
                };
                let mut hit = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == '-' {
                        hit |= set[i] <= c && c <= set[i + 2];
                        i += 3;
                    } else {
                        hit |= set[i] == c;
                        i += 1;
                    }
                }
                hit != neg && go(&p[end + 1..], &t[1..])
            }
            Some('\\') if p.len() > 1 => !t.is_empty() && t[0] == p[1] && go(&p[2..], &t[1..]),
            Some(&c) => !t.is_empty() && t[0] == c && go(&p[1..], &t[1..]),
        }
    }
    go(&p, &t)
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
