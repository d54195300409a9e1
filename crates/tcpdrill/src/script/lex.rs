//! Splits a script into tokens with their line numbers, as packetdrill's lexer does: whitespace
//! and newlines separate tokens and mean nothing else; `//` and `/* */` are comments.

use super::ParseError;

/// A token's kind and value.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    /// A decimal or hex integer, maybe negative: `1000`, `-1`, `0x802`.
    Int(i64),
    /// A number with a fraction, as written: `.1`, `0.200`.
    Float(String),
    /// A name: `S`, `mss`, `read`, `SOL_SOCKET`.
    Word(String),
    /// `...`
    Ellipsis,
    /// `--name`, the start of an option line.
    Option(String),
    /// One punctuation character: `< > . : ( ) [ ] { } , = | + * ~ -`.
    Punct(char),
}

/// A token and the line it starts on (1-based).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) line: usize,
}

impl Tok {
    /// The token as the script spells it, for error messages.
    pub(super) fn describe(&self) -> String {
        match self {
            Tok::Int(n) => n.to_string(),
            Tok::Float(s) | Tok::Word(s) => s.clone(),
            Tok::Ellipsis => "...".into(),
            Tok::Option(name) => format!("--{name}"),
            Tok::Punct(c) => c.to_string(),
        }
    }
}

/// Punctuation the grammar uses.
const PUNCT: &str = "<>.:()[]{},=|+*~-";

/// The tokens of `text`.
///
/// # Errors
///
/// A character or construct outside the subset (shell commands in backquotes, strings, code
/// blocks, an unterminated comment), with its line.
pub(super) fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let at = |k: usize| chars.get(i + k).copied();
        let error = |message: String| Err(ParseError { line, message });
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(1) == Some('/') {
            while chars.get(i).is_some_and(|&c| c != '\n') {
                i += 1;
            }
        } else if c == '/' && at(1) == Some('*') {
            let start = line;
            i += 2;
            loop {
                match (chars.get(i), chars.get(i + 1)) {
                    (Some('*'), Some('/')) => break,
                    (Some('\n'), _) => line += 1,
                    (Some(_), _) => {}
                    (None, _) => {
                        return Err(ParseError {
                            line: start,
                            message: "unterminated /* comment".into(),
                        });
                    }
                }
                i += 1;
            }
            i += 2;
        } else if c == '.' && at(1) == Some('.') && at(2) == Some('.') {
            tokens.push(Token {
                tok: Tok::Ellipsis,
                line,
            });
            i += 3;
        } else if c.is_ascii_digit()
            || (c == '.' && at(1).is_some_and(|d| d.is_ascii_digit()))
            || (c == '-' && at(1).is_some_and(|d| d.is_ascii_digit()))
            || (c == '-' && at(1) == Some('.') && at(2).is_some_and(|d| d.is_ascii_digit()))
        {
            let (tok, len) = number(&chars[i..]).ok_or_else(|| ParseError {
                line,
                message: format!("malformed number `{}`", word_at(&chars[i..])),
            })?;
            tokens.push(Token { tok, line });
            i += len;
        } else if c == '-' && at(1) == Some('-') {
            let name = word_at(&chars[i + 2..]);
            if name.is_empty() {
                return error("`--` without an option name".into());
            }
            i += 2 + name.chars().count();
            tokens.push(Token {
                tok: Tok::Option(name),
                line,
            });
        } else if c.is_ascii_alphabetic() || c == '_' {
            let word = word_at(&chars[i..]);
            i += word.chars().count();
            tokens.push(Token {
                tok: Tok::Word(word),
                line,
            });
        } else if PUNCT.contains(c) {
            tokens.push(Token {
                tok: Tok::Punct(c),
                line,
            });
            i += 1;
        } else {
            return error(match c {
                '`' => "shell commands (`...`) are not supported".into(),
                '"' => "strings are not supported".into(),
                '%' => "code blocks (%{ }%) are not supported".into(),
                _ => format!("unexpected character `{c}`"),
            });
        }
    }
    Ok(tokens)
}

/// The run of `[A-Za-z0-9_]` at the start of `chars`.
fn word_at(chars: &[char]) -> String {
    chars
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
        .collect()
}

/// A number at the start of `chars` and how many characters it takes: `-?[0-9]+`,
/// `-?[0-9]*.[0-9]+` or `0x[0-9a-f]+`. `None` when it is malformed (`12ab`, an integer that
/// does not fit).
fn number(chars: &[char]) -> Option<(Tok, usize)> {
    let negative = chars.first() == Some(&'-');
    let start = usize::from(negative);
    let digits = |from: usize| {
        chars[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let is_hex = chars.get(start) == Some(&'0')
        && matches!(chars.get(start + 1), Some('x' | 'X'))
        && !negative;
    let (tok, len) = if is_hex {
        let body = word_at(&chars[start + 2..]);
        let value = i64::from_str_radix(&body, 16).ok()?;
        (Tok::Int(value), start + 2 + body.len())
    } else {
        let int_len = digits(start);
        let has_fraction = chars.get(start + int_len) == Some(&'.')
            && chars
                .get(start + int_len + 1)
                .is_some_and(|c| c.is_ascii_digit());
        if has_fraction {
            let len = start + int_len + 1 + digits(start + int_len + 1);
            (Tok::Float(chars[..len].iter().collect()), len)
        } else {
            let text: String = chars[..start + int_len].iter().collect();
            (Tok::Int(text.parse().ok()?), start + int_len)
        }
    };
    // A number runs into letters: `12ab` is no number.
    let glued = chars
        .get(len)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_');
    (!glued).then_some((tok, len))
}
