//! Globs as Velero matches namespace and resource names: `github.com/gobwas/glob` v0.2.3
//! syntax (`glob.Compile(pattern)` without separators, `pkg/util/collections/includes_excludes.go`),
//! matched by a Pike VM over a Thompson NFA, so matching costs at most
//! `pattern length × name length` steps whatever the pattern (no backtracking).
//!
//! The syntax, as gobwas' lexer reads it (`syntax/lexer/lexer.go`, `syntax/ast/parser.go`):
//! - `*` (and `**`, the same without separators) any run of characters, `?` one character;
//! - `[abc]` one of the characters, `[a-c]` one in the range, `[!...]` negated — only `!`
//!   negates, so `[^a]` is the class `^`, `a`; a class is either one range or a list, so
//!   `[a-cx]`, `[]`, `[!]`, `[z-a]`, `[a-]` and an unclosed `[` do not compile, while
//!   `[ab-c]` is the four characters `a`, `b`, `-`, `c`;
//! - `{a,b}` alternation (nestable; `,` and `}` are plain text outside braces, and an
//!   unclosed `{` closes at the end of the pattern);
//! - `\` makes the next character literal (a trailing `\` is dropped);
//! - a NUL character ends the pattern where an item starts and is skipped inside text,
//!   and U+FFFD (Go's `utf8.RuneError`) makes the pattern fail to compile.
//!
//! gobwas' optimised matchers differ from that NFA in three places, reproduced here:
//! - a pattern `abc*xyz` becomes its `PrefixSuffix` matcher, which tests the prefix and the
//!   suffix independently: `a*a` matches `a`, `shop*p` matches `shop` (`match/prefix_suffix.go`);
//! - a pattern that is one `?` or one negated class (`[!a]`) matches the empty name
//!   (`match/single.go`, `match/list.go`, `match/range.go`);
//! - alternations whose alternatives are all empty (`{}`, a trailing `{`) give erratic
//!   answers and can panic: [`Glob::may_panic_in_gobwas`] flags them.
//!
//! Checked against the real library: `tests/fixtures/glob/cases.json`, written by
//! `tests/fixtures/glob/generate.go`.

use std::fmt;

/// Why a pattern does not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobError {
    pub pattern: String,
    pub reason: &'static str,
}

impl fmt::Display for GlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a valid glob: {}", self.pattern, self.reason)
    }
}

impl std::error::Error for GlobError {}

/// One NFA instruction; the program counter moves to the next one unless it jumps.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Inst {
    /// Consume exactly this character.
    Char(char),
    /// Consume any one character.
    AnyChar,
    /// Consume one character of (or, negated, not of) a list.
    List {
        chars: Vec<char>,
        negated: bool,
    },
    /// Consume one character in (or, negated, outside) `lo..=hi`.
    Range {
        lo: char,
        hi: char,
        negated: bool,
    },
    /// Continue at both targets.
    Split(usize, usize),
    Jump(usize),
    Match,
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    program: Vec<Inst>,
    /// Whether an alternation has only empty alternatives (`{}`, `{,}`, a trailing `{`):
    /// gobwas' Row matcher can then index past the end of the name and panic.
    empty_alternation: bool,
    /// Where gobwas' optimised matcher answers differently from the NFA.
    quirk: Option<Quirk>,
}

/// gobwas' optimised matchers that do not agree with the pattern's plain meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Quirk {
    /// `prefix*suffix`: `strings.HasPrefix && strings.HasSuffix`, overlapping allowed.
    PrefixSuffix(String, String),
    /// One `?` or negated class: `utf8.DecodeRuneInString("")` passes its length test.
    MatchesEmptyName,
}

/// The shape gobwas' compiler sees: single-character lists become text, texts are glued.
fn quirk_of(nodes: &[Node]) -> Option<Quirk> {
    let mut glued: Vec<Node> = Vec::new();
    for node in nodes {
        let node = match node {
            Node::List {
                chars,
                negated: false,
            } if chars.len() == 1 => Node::Text(chars.clone()),
            Node::AnyOf(alternatives) if alternatives.len() == 1 && alternatives[0].len() == 1 => {
                alternatives[0][0].clone()
            }
            other => other.clone(),
        };
        match (glued.last_mut(), node) {
            (Some(Node::Text(before)), Node::Text(more)) => before.extend(more),
            (_, node) => glued.push(node),
        }
    }
    match glued.as_slice() {
        [Node::Text(prefix), Node::Any, Node::Text(suffix)] => Some(Quirk::PrefixSuffix(
            prefix.iter().collect(),
            suffix.iter().collect(),
        )),
        [Node::Single]
        | [Node::List { negated: true, .. }]
        | [Node::Range { negated: true, .. }] => Some(Quirk::MatchesEmptyName),
        // `{?,aa}`: the alternation tries each alternative's own matcher.
        [Node::AnyOf(alternatives)]
            if alternatives
                .iter()
                .any(|a| quirk_of(a) == Some(Quirk::MatchesEmptyName)) =>
        {
            Some(Quirk::MatchesEmptyName)
        }
        _ => None,
    }
}

impl Glob {
    /// Compiles `pattern`, or says why gobwas' `glob.Compile` refuses it.
    pub fn compile(pattern: &str) -> Result<Self, GlobError> {
        let nodes = crate::spec::glob_syntax::parse(pattern).map_err(|reason| GlobError {
            pattern: pattern.to_owned(),
            reason,
        })?;
        let mut glob = Glob {
            program: Vec::new(),
            empty_alternation: false,
            quirk: quirk_of(&nodes),
        };
        glob.emit_sequence(&nodes);
        glob.program.push(Inst::Match);
        Ok(glob)
    }

    /// Whether gobwas v0.2.3 may panic (index out of range) matching names against this
    /// pattern: it has an alternation whose every alternative is empty.
    pub fn may_panic_in_gobwas(&self) -> bool {
        self.empty_alternation
    }

    fn emit_sequence(&mut self, nodes: &[Node]) {
        for node in nodes {
            self.emit(node);
        }
    }

    fn emit(&mut self, node: &Node) {
        match node {
            Node::Text(chars) => self.program.extend(chars.iter().map(|c| Inst::Char(*c))),
            Node::Single => self.program.push(Inst::AnyChar),
            Node::List { chars, negated } => self.program.push(Inst::List {
                chars: chars.clone(),
                negated: *negated,
            }),
            Node::Range { lo, hi, negated } => self.program.push(Inst::Range {
                lo: *lo,
                hi: *hi,
                negated: *negated,
            }),
            Node::Any => {
                // L: split(L+1, L+3); L+1: any; L+2: jump L; L+3: ...
                let start = self.program.len();
                self.program.push(Inst::Split(start + 1, start + 3));
                self.program.push(Inst::AnyChar);
                self.program.push(Inst::Jump(start));
            }
            Node::AnyOf(alternatives) => {
                if alternatives.iter().all(Vec::is_empty) {
                    self.empty_alternation = true;
                }
                // split(a1, next); a1...; jump end; next: split(a2, next2); ...; last alt
                let mut jumps_to_end = Vec::new();
                for (i, alternative) in alternatives.iter().enumerate() {
                    let last = i + 1 == alternatives.len();
                    let split = self.program.len();
                    if !last {
                        self.program.push(Inst::Split(split + 1, usize::MAX));
                    }
                    self.emit_sequence(alternative);
                    if !last {
                        jumps_to_end.push(self.program.len());
                        self.program.push(Inst::Jump(usize::MAX));
                        let next = self.program.len();
                        self.program[split] = Inst::Split(split + 1, next);
                    }
                }
                let end = self.program.len();
                for at in jumps_to_end {
                    self.program[at] = Inst::Jump(end);
                }
            }
        }
    }

    /// Whether the whole of `text` matches, as gobwas answers.
    pub fn matches(&self, text: &str) -> bool {
        match &self.quirk {
            Some(Quirk::PrefixSuffix(prefix, suffix)) => {
                text.starts_with(prefix.as_str()) && text.ends_with(suffix.as_str())
            }
            Some(Quirk::MatchesEmptyName) if text.is_empty() => true,
            _ => self.run(text).0,
        }
    }

    /// Whether `text` matches, and how many NFA steps that took: each instruction is
    /// entered at most once and stepped at most once per position, so at most
    /// 2 × program length × (characters + 1), whatever the pattern.
    pub fn matches_counting_steps(&self, text: &str) -> (bool, usize) {
        self.run(text)
    }

    fn run(&self, text: &str) -> (bool, usize) {
        let n = self.program.len();
        let mut steps = 0;
        let mut current = ThreadSet::new(n);
        let mut next = ThreadSet::new(n);
        self.add_thread(&mut current, 0, &mut steps);
        for c in text.chars() {
            next.clear();
            for i in 0..current.len() {
                let pc = current.dense[i];
                steps += 1;
                let advances = match &self.program[pc] {
                    Inst::Char(want) => *want == c,
                    Inst::AnyChar => true,
                    Inst::List { chars, negated } => chars.contains(&c) != *negated,
                    Inst::Range { lo, hi, negated } => (*lo <= c && c <= *hi) != *negated,
                    Inst::Split(..) | Inst::Jump(_) | Inst::Match => false,
                };
                if advances {
                    self.add_thread(&mut next, pc + 1, &mut steps);
                }
            }
            std::mem::swap(&mut current, &mut next);
            if current.len() == 0 {
                return (false, steps);
            }
        }
        let matched = (0..current.len()).any(|i| self.program[current.dense[i]] == Inst::Match);
        (matched, steps)
    }

    /// Adds `pc` and everything reachable from it without consuming a character.
    fn add_thread(&self, set: &mut ThreadSet, pc: usize, steps: &mut usize) {
        let mut stack = vec![pc];
        while let Some(pc) = stack.pop() {
            if !set.insert(pc) {
                continue;
            }
            *steps += 1;
            match self.program[pc] {
                Inst::Split(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                Inst::Jump(to) => stack.push(to),
                _ => {}
            }
        }
    }
}

/// A sparse set of program counters (Briggs & Torczon): O(1) insert, clear and lookup.
struct ThreadSet {
    dense: Vec<usize>,
    sparse: Vec<usize>,
}

impl ThreadSet {
    fn new(capacity: usize) -> Self {
        ThreadSet {
            dense: Vec::with_capacity(capacity),
            sparse: vec![0; capacity],
        }
    }

    fn len(&self) -> usize {
        self.dense.len()
    }

    fn clear(&mut self) {
        self.dense.clear();
    }

    fn insert(&mut self, pc: usize) -> bool {
        let at = self.sparse[pc];
        if at < self.dense.len() && self.dense[at] == pc {
            return false;
        }
        self.sparse[pc] = self.dense.len();
        self.dense.push(pc);
        true
    }
}

/// A parsed pattern item (gobwas' AST node kinds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Text(Vec<char>),
    Any,
    Single,
    List { chars: Vec<char>, negated: bool },
    Range { lo: char, hi: char, negated: bool },
    AnyOf(Vec<Vec<Node>>),
}

/// What Velero's `globStringSet.match` answers for a list: the patterns are walked in
/// sorted order without duplicates (`sets.String.List()`); the first one that does not
/// compile ends the walk with "no match", whatever comes after it.
pub fn list_matches(patterns: &[String], text: &str) -> bool {
    if patterns.is_empty() {
        return false;
    }
    let mut sorted: Vec<&String> = patterns.iter().collect();
    sorted.sort();
    sorted.dedup();
    for pattern in sorted {
        match compiled(pattern).as_ref() {
            Err(_) => return false,
            Ok(glob) if glob.matches(text) => return true,
            Ok(_) => {}
        }
    }
    false
}

/// A plan asks the same few patterns about every pod: each is compiled once per thread
/// (the cache is emptied when it outgrows what any object holds).
fn compiled(pattern: &str) -> std::rc::Rc<Result<Glob, GlobError>> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;
    thread_local! {
        static CACHE: RefCell<HashMap<String, Rc<Result<Glob, GlobError>>>> =
            RefCell::new(HashMap::new());
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(found) = cache.get(pattern) {
            return found.clone();
        }
        if cache.len() >= 4096 {
            cache.clear();
        }
        let glob = Rc::new(Glob::compile(pattern));
        cache.insert(pattern.to_owned(), glob.clone());
        glob
    })
}

/// The first pattern (in the sorted order Velero walks) that does not compile, and the
/// patterns it hides: Velero never looks at them.
pub fn first_invalid(patterns: &[String]) -> Option<(GlobError, Vec<String>)> {
    let mut sorted: Vec<&String> = patterns.iter().collect();
    sorted.sort();
    sorted.dedup();
    let at = sorted.iter().position(|p| Glob::compile(p).is_err())?;
    let error = Glob::compile(sorted[at]).err()?;
    let hidden = sorted[at + 1..].iter().map(|s| (*s).clone()).collect();
    Some((error, hidden))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn documented_syntax() {
        // (pattern, text, matches) — gobwas/glob v0.2.3 readme and lexer.
        let cases = [
            ("shop-*", "shop-eu", true),
            ("shop-*", "shop", false),
            ("sh?p", "shop", true),
            ("shop-{eu,us}", "shop-us", true),
            ("shop-{eu,us}", "shop-uk", false),
            ("team-[ab]", "team-a", true),
            ("team-[a-c]", "team-c", true),
            ("team-[!a]", "team-a", false),
            ("team-[!a]", "team-b", true),
            ("team-[^a]", "team-^", true),
            ("team-[^a]", "team-b", false),
            ("[ab-c]", "-", true),
            ("a,b", "a,b", true),
            ("{a,b", "b", true),
            ("\\*", "*", true),
            ("\\*", "x", false),
            ("**", "a/b", true),
            ("", "", true),
            ("", "a", false),
            // gobwas' PrefixSuffix matcher lets prefix and suffix overlap.
            ("shop*p", "shop", true),
            ("a*a", "a", true),
            ("?", "", true),
        ];
        for (pattern, text, expected) in cases {
            let glob = Glob::compile(pattern).unwrap();
            assert_eq!(glob.matches(text), expected, "{pattern} ~ {text}");
        }
    }

    #[test]
    fn patterns_that_do_not_compile() {
        for pattern in [
            "[a-cx]",
            "[]",
            "[!]",
            "[z-a]",
            "[a-]",
            "[bad",
            "[a",
            "[a-b",
            "x\u{fffd}",
        ] {
            assert!(Glob::compile(pattern).is_err(), "{pattern}");
        }
    }

    #[test]
    fn a_list_stops_at_its_first_invalid_pattern_in_sorted_order() {
        // includes_excludes.go globStringSet.match: sorted walk, "no match" on error.
        assert!(!list_matches(&strings(&["shop", "[bad"]), "shop"));
        assert!(list_matches(&strings(&["shop", "zz-[bad"]), "shop"));
        assert!(!list_matches(
            &strings(&["kube-system", "[bad"]),
            "kube-system"
        ));
        assert!(!list_matches(&[], "shop"));
        let (error, hidden) = first_invalid(&strings(&["kube-system", "[bad", "zz"])).unwrap();
        assert_eq!(error.pattern, "[bad");
        assert_eq!(hidden, ["kube-system", "zz"]);
        assert!(first_invalid(&strings(&["a", "b*"])).is_none());
    }

    #[test]
    fn pathological_pattern_is_linear() {
        let glob = Glob::compile("*a*a*a*a*a*a*b").unwrap();
        let name = "a".repeat(60);
        let (matched, steps) = glob.matches_counting_steps(&name);
        assert!(!matched);
        // A backtracking matcher explores C(60, 6) ≈ 5·10^7 splits here.
        let bound = 2 * glob.program.len() * (name.chars().count() + 1);
        assert!(steps <= bound, "{steps} steps > {bound}");
    }
}
