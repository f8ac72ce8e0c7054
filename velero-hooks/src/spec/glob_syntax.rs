//! Reads a gobwas/glob v0.2.3 pattern into items, accepting and refusing exactly what its
//! lexer (`syntax/lexer/lexer.go`) and parser (`syntax/ast/parser.go`) accept and refuse.
//! Written from their behaviour, which `tests/fixtures/glob/cases.json` pins down.

use super::glob::Node;

/// Go's `utf8.RuneError`: the lexer refuses it even when the pattern spells it validly.
const RUNE_ERROR: char = '\u{fffd}';

/// A cursor with gobwas' read/peek/unread: a NUL character reads as the end of input
/// (but is consumed), and U+FFFD is an error.
struct Lexer {
    chars: Vec<char>,
    pos: usize,
    /// Width (0 or 1) of the last read, for `unread`.
    last_width: usize,
}

type Reason = &'static str;

impl Lexer {
    fn peek(&self) -> Result<Option<char>, Reason> {
        match self.chars.get(self.pos) {
            None | Some('\0') => Ok(None),
            Some(&RUNE_ERROR) => Err("it contains U+FFFD, which the glob library cannot read"),
            Some(c) => Ok(Some(*c)),
        }
    }

    fn read(&mut self) -> Result<Option<char>, Reason> {
        let c = self.peek()?;
        self.last_width = usize::from(self.pos < self.chars.len());
        self.pos += self.last_width;
        Ok(c)
    }

    fn unread(&mut self) {
        self.pos -= self.last_width;
        self.last_width = 0;
    }

    /// Text up to (not including) an unescaped breaker; `\` escapes the next character.
    fn text(&mut self, breakers: &[char]) -> Result<Vec<char>, Reason> {
        let mut data = Vec::new();
        let mut escaped = false;
        while let Some(c) = self.read()? {
            if !escaped {
                if c == '\\' {
                    escaped = true;
                    continue;
                }
                if breakers.contains(&c) {
                    self.unread();
                    break;
                }
            }
            escaped = false;
            data.push(c);
        }
        Ok(data)
    }

    /// After `[`: one range `a-z` or a list of characters, optionally negated by `!`.
    fn class(&mut self) -> Result<Node, Reason> {
        let (mut negated, mut range, mut list) = (false, None::<(char, Option<char>)>, None);
        loop {
            let Some(c) = self.read()? else {
                return Err("a character class `[` is not closed");
            };
            if range.is_some_and(|(_, hi)| hi.is_some()) || list.is_some() {
                if c != ']' {
                    return Err(
                        "a character class holds either one range (`[a-z]`) or single characters (`[abc]`), not both",
                    );
                }
                break;
            }
            if let Some((lo, None)) = range {
                range = Some((lo, Some(c)));
                continue;
            }
            if !negated && c == '!' {
                negated = true;
                continue;
            }
            if self.peek()? == Some('-') {
                self.pos += 1;
                range = Some((c, None));
                continue;
            }
            self.unread();
            list = Some(self.text(&[']'])?);
        }
        match (range, list) {
            (Some((lo, Some(hi))), _) if hi < lo => Err("a range's end comes before its start"),
            (Some((lo, Some(hi))), _) => Ok(Node::Range { lo, hi, negated }),
            (_, Some(chars)) if !chars.is_empty() => Ok(Node::List { chars, negated }),
            _ => Err("a character class is empty"),
        }
    }
}

const TEXT_BREAKERS: &[char] = &['?', '*', '[', '{'];
const TERMS_BREAKERS: &[char] = &['?', '*', '[', '{', '}', ','];

/// Parses `pattern`, or names what gobwas' `glob.Compile` refuses in it.
pub(crate) fn parse(pattern: &str) -> Result<Vec<Node>, Reason> {
    let mut lexer = Lexer {
        chars: pattern.chars().collect(),
        pos: 0,
        last_width: 0,
    };
    // Open alternations: the items before each `{` and the alternatives so far.
    let mut open: Vec<(Vec<Node>, Vec<Vec<Node>>)> = Vec::new();
    let mut current: Vec<Node> = Vec::new();
    while let Some(c) = lexer.read()? {
        match c {
            '{' => open.push((std::mem::take(&mut current), Vec::new())),
            ',' if !open.is_empty() => {
                if let Some((_, alternatives)) = open.last_mut() {
                    alternatives.push(std::mem::take(&mut current));
                }
            }
            '}' if !open.is_empty() => close_alternation(&mut open, &mut current),
            '[' => current.push(lexer.class()?),
            '?' => current.push(Node::Single),
            '*' => {
                // `**` (gobwas' Super) is `*` when there are no separators.
                if lexer.read()? != Some('*') {
                    lexer.unread();
                }
                current.push(Node::Any);
            }
            _ => {
                lexer.unread();
                let breakers = if open.is_empty() {
                    TEXT_BREAKERS
                } else {
                    TERMS_BREAKERS
                };
                let text = lexer.text(breakers)?;
                if !text.is_empty() {
                    current.push(Node::Text(text));
                }
            }
        }
    }
    // gobwas inserts an alternation when `{` opens it, so an unclosed one still counts.
    while !open.is_empty() {
        close_alternation(&mut open, &mut current);
    }
    Ok(current)
}

fn close_alternation(open: &mut Vec<(Vec<Node>, Vec<Vec<Node>>)>, current: &mut Vec<Node>) {
    if let Some((before, mut alternatives)) = open.pop() {
        alternatives.push(std::mem::take(current));
        *current = before;
        current.push(Node::AnyOf(alternatives));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items() {
        let text = |s: &str| Node::Text(s.chars().collect());
        let cases: Vec<(&str, Vec<Node>)> = vec![
            ("ab", vec![text("ab")]),
            ("a\\*", vec![text("a*")]),
            ("a\\", vec![text("a")]),
            ("a}", vec![text("a}")]),
            (
                "[ab-c]",
                vec![Node::List {
                    chars: vec!['a', 'b', '-', 'c'],
                    negated: false,
                }],
            ),
            (
                "[!a-c]",
                vec![Node::Range {
                    lo: 'a',
                    hi: 'c',
                    negated: true,
                }],
            ),
            (
                "[^a]",
                vec![Node::List {
                    chars: vec!['^', 'a'],
                    negated: false,
                }],
            ),
            (
                "{a,b}",
                vec![Node::AnyOf(vec![vec![text("a")], vec![text("b")]])],
            ),
            ("{a", vec![Node::AnyOf(vec![vec![text("a")]])]),
            ("**", vec![Node::Any]),
            ("***", vec![Node::Any, Node::Any]),
            ("\0ab", vec![]),
            ("a\0b", vec![text("a"), text("b")]),
        ];
        for (pattern, expected) in cases {
            assert_eq!(parse(pattern), Ok(expected), "{pattern:?}");
        }
    }
}
