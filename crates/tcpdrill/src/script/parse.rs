//! A recursive-descent parser over the tokens, one function per rule of packetdrill's grammar
//! that the subset keeps.

use wire::TcpFlags;

use super::lex::{Tok, Token};
use super::{
    Action, Direction, Event, Expr, Options, PacketSpec, ParseError, SYSCALLS, Script, SyscallSpec,
    TcpOpt, Time,
};
use crate::linux::{self, Errno};

/// Most bytes of options a TCP header holds.
const MAX_OPTIONS_LEN: usize = 40;

pub(super) struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

type Result<T> = core::result::Result<T, ParseError>;

impl Parser {
    pub(super) fn new(tokens: Vec<Token>) -> Self {
        Parser { tokens, pos: 0 }
    }

    /// `script: option* event*`.
    pub(super) fn script(mut self) -> Result<Script> {
        let mut options = Options::default();
        while let Some(Tok::Option(name)) = self.peek().cloned() {
            self.pos += 1;
            self.option(&name, &mut options)?;
        }
        let mut events = Vec::new();
        while self.peek().is_some() {
            if let Some(Tok::Option(name)) = self.peek() {
                return Err(self.error(format!(
                    "option `--{name}` after the first event: options come first"
                )));
            }
            events.push(self.event()?);
        }
        if let Some(first) = events.first()
            && !matches!(first.time, Time::Absolute(0) | Time::Relative(0))
        {
            return Err(ParseError {
                line: first.line,
                message: "the first event should be at time 0".into(),
            });
        }
        Ok(Script { options, events })
    }

    // ---- tokens ----

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn next(&mut self) -> Option<Tok> {
        let tok = self.tokens.get(self.pos).map(|t| t.tok.clone());
        self.pos += 1;
        tok
    }

    /// The line of the current token (the last line at the end).
    fn line(&self) -> usize {
        self.tokens
            .get(self.pos)
            .or(self.tokens.last())
            .map_or(1, |t| t.line)
    }

    fn error(&self, message: String) -> ParseError {
        ParseError {
            line: self.line(),
            message,
        }
    }

    /// "unexpected `x`, expected `what`" at the current token.
    fn unexpected(&self, what: &str) -> ParseError {
        match self.peek() {
            Some(tok) => self.error(format!("unexpected `{}`, expected {what}", tok.describe())),
            None => self.error(format!("unexpected end of script, expected {what}")),
        }
    }

    fn is_punct(&self, c: char) -> bool {
        self.peek() == Some(&Tok::Punct(c))
    }

    fn eat_punct(&mut self, c: char) -> bool {
        let found = self.is_punct(c);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect_punct(&mut self, c: char) -> Result<()> {
        if self.eat_punct(c) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{c}`")))
        }
    }

    fn expect_word(&mut self, word: &str) -> Result<()> {
        if self.peek() == Some(&Tok::Word(word.into())) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{word}`")))
        }
    }

    fn int(&mut self, what: &str) -> Result<i64> {
        match self.peek() {
            Some(&Tok::Int(n)) => {
                self.pos += 1;
                Ok(n)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    /// An integer that must fit `T` (`u16`, `u32`...).
    fn uint<T: TryFrom<i64>>(&mut self, what: &str) -> Result<T> {
        let n = self.int(what)?;
        T::try_from(n).map_err(|_| ParseError {
            line: self.tokens.get(self.pos - 1).map_or(1, |t| t.line),
            message: format!("{what} {n} out of range"),
        })
    }

    // ---- options ----

    /// `--name=value`.
    fn option(&mut self, name: &str, options: &mut Options) -> Result<()> {
        self.expect_punct('=')?;
        match name {
            "tolerance_usecs" => options.tolerance_usecs = self.uint("a number of µs")?,
            "tolerance_percent" => {
                options.tolerance_percent = match self.next() {
                    Some(Tok::Int(n)) if n >= 0 => n as f64,
                    Some(Tok::Float(s)) => s
                        .parse()
                        .ok()
                        .filter(|p: &f64| *p >= 0.0)
                        .ok_or_else(|| self.error(format!("bad --tolerance_percent `{s}`")))?,
                    _ => {
                        self.pos -= 1;
                        return Err(self.unexpected("a percentage"));
                    }
                }
            }
            "ip_version" => {
                options.ipv6 = match self.peek() {
                    Some(Tok::Word(w)) if w == "ipv4" => false,
                    Some(Tok::Word(w)) if w == "ipv6" => true,
                    _ => return Err(self.unexpected("`ipv4` or `ipv6`")),
                };
                self.pos += 1;
            }
            _ => {
                self.pos -= 1;
                return Err(self.error(format!("unsupported option `--{name}`")));
            }
        }
        Ok(())
    }

    // ---- events ----

    /// `event: event_time (packet | syscall)`.
    fn event(&mut self) -> Result<Event> {
        let line = self.line();
        let time = self.event_time()?;
        let action = match self.peek() {
            Some(Tok::Punct('<' | '>')) => Action::Packet(self.packet()?),
            Some(Tok::Ellipsis | Tok::Word(_)) => Action::Syscall(self.syscall()?),
            _ => return Err(self.unexpected("a packet (`<` or `>`) or a system call")),
        };
        let outbound = matches!(&action, Action::Packet(p) if p.direction == Direction::Outbound);
        let error = |message: &str| {
            Err(ParseError {
                line,
                message: message.into(),
            })
        };
        match time {
            Time::Any if !outbound => error("`*` can only be used with outbound packets"),
            Time::AbsoluteRange(..) | Time::RelativeRange(..) if !outbound => {
                error("a time range can only be used with outbound packets")
            }
            Time::AbsoluteRange(a, b) | Time::RelativeRange(a, b) if b < a => {
                error("the time range is backwards")
            }
            _ => Ok(Event { line, time, action }),
        }
    }

    /// `event_time: '*' | '+' time ['~' '+' time] | time ['~' time]`.
    fn event_time(&mut self) -> Result<Time> {
        if self.eat_punct('*') {
            return Ok(Time::Any);
        }
        if self.eat_punct('+') {
            let start = self.time()?;
            if !self.eat_punct('~') {
                return Ok(Time::Relative(start));
            }
            self.expect_punct('+')?;
            return Ok(Time::RelativeRange(start, self.time()?));
        }
        if !matches!(self.peek(), Some(Tok::Int(_) | Tok::Float(_))) {
            return Err(self.unexpected("an event time (`N`, `+N` or `*`)"));
        }
        let start = self.time()?;
        if self.eat_punct('~') {
            return Ok(Time::AbsoluteRange(start, self.time()?));
        }
        Ok(Time::Absolute(start))
    }

    /// Seconds (`2`, `.1`, `0.250`) as microseconds.
    fn time(&mut self) -> Result<u64> {
        let micros = match self.peek() {
            Some(&Tok::Int(n)) => u64::try_from(n).ok().and_then(|n| n.checked_mul(1_000_000)),
            Some(Tok::Float(s)) => seconds_to_micros(s),
            _ => return Err(self.unexpected("a time in seconds")),
        };
        let micros = micros.ok_or_else(|| {
            self.error(format!(
                "bad time `{}`: negative or too large",
                self.peek().map(Tok::describe).unwrap_or_default()
            ))
        })?;
        self.pos += 1;
        Ok(micros)
    }

    // ---- packets ----

    /// `packet: ('<'|'>') flags seq ['ack' N] ['win' N] [options]`.
    fn packet(&mut self) -> Result<PacketSpec> {
        let direction = match self.next() {
            Some(Tok::Punct('<')) => Direction::Inbound,
            _ => Direction::Outbound,
        };
        let flags = self.flags()?;
        let (seq, len) = self.seq()?;
        let mut ack = 0;
        if self.peek() == Some(&Tok::Word("ack".into())) {
            self.pos += 1;
            ack = self.uint("an ack number")?;
        }
        let mut window = None;
        if self.peek() == Some(&Tok::Word("win".into())) {
            self.pos += 1;
            window = Some(self.uint("a window")?);
        }
        if let Some(Tok::Word(w)) = self.peek()
            && w == "urg"
        {
            return Err(self.error("the urgent pointer (`urg`) is not supported".into()));
        }
        if direction == Direction::Inbound && window.is_none() {
            return Err(self.error("an inbound packet needs a window (`win N`)".into()));
        }
        let options = if self.is_punct('<') {
            self.options(direction)?
        } else {
            Some(Vec::new())
        };
        Ok(PacketSpec {
            direction,
            flags,
            seq,
            len,
            ack,
            window,
            options,
        })
    }

    /// `flags: WORD ['.'] | '.' | '-'`, the letters from `S P F R`.
    fn flags(&mut self) -> Result<TcpFlags> {
        let mut flags = TcpFlags::empty();
        match self.peek().cloned() {
            Some(Tok::Punct('.')) => {
                self.pos += 1;
                return Ok(TcpFlags::ACK);
            }
            Some(Tok::Punct('-')) => {
                self.pos += 1;
                return Ok(flags);
            }
            Some(Tok::Word(word)) => {
                for c in word.chars() {
                    flags |= match c {
                        'S' => TcpFlags::SYN,
                        'F' => TcpFlags::FIN,
                        'R' => TcpFlags::RST,
                        'P' => TcpFlags::PSH,
                        'U' | 'E' | 'W' | 'A' => {
                            return Err(self.error(format!(
                                "TCP flag `{c}` is not supported (only S . P F R)"
                            )));
                        }
                        _ => {
                            return Err(self.error(format!("unknown TCP flag `{c}` in `{word}`")));
                        }
                    };
                }
                self.pos += 1;
            }
            _ => return Err(self.unexpected("TCP flags (`S`, `.`, `P.`, `F.`, `R`...)")),
        }
        if self.eat_punct('.') {
            flags |= TcpFlags::ACK;
        }
        Ok(flags)
    }

    /// `seq: N ':' N '(' N ')'`: start, end, payload length.
    fn seq(&mut self) -> Result<(u32, u16)> {
        let start: u32 = self.uint("a start sequence number")?;
        self.expect_punct(':')?;
        let end: u32 = self.uint("an end sequence number")?;
        self.expect_punct('(')?;
        let len: u16 = self.uint("a payload length")?;
        self.expect_punct(')')?;
        if u64::from(end) != u64::from(start) + u64::from(len) {
            return Err(self.error(format!(
                "inconsistent sequence numbers `{start}:{end}({len})`: end is not start + length"
            )));
        }
        Ok((start, len))
    }

    /// `options: '<' '...' '>' | '<' option (',' option)* '>'`; `None` for `<...>`.
    fn options(&mut self, direction: Direction) -> Result<Option<Vec<TcpOpt>>> {
        let line = self.line();
        self.expect_punct('<')?;
        if self.peek() == Some(&Tok::Ellipsis) {
            if direction == Direction::Inbound {
                return Err(self
                    .error("`<...>` (do not check options) is only for outbound packets".into()));
            }
            self.pos += 1;
            self.expect_punct('>')?;
            return Ok(None);
        }
        let mut options = vec![self.option_item()?];
        while self.eat_punct(',') {
            options.push(self.option_item()?);
        }
        self.expect_punct('>')?;
        let len: usize = options.iter().map(TcpOpt::wire_len).sum();
        let message = if len > MAX_OPTIONS_LEN {
            format!("TCP options take {len} bytes, more than {MAX_OPTIONS_LEN}")
        } else if !len.is_multiple_of(4) {
            format!(
                "TCP options take {len} bytes, not a multiple of 4: pad them with `nop`s ({} \
                 excess bytes)",
                len % 4
            )
        } else {
            return Ok(Some(options));
        };
        Err(ParseError { line, message })
    }

    /// One option: `nop | eol | mss N | wscale N | sackOK | sack (N:N)+ | TS val N ecr N`.
    fn option_item(&mut self) -> Result<TcpOpt> {
        let Some(Tok::Word(name)) = self.peek().cloned() else {
            return Err(self.unexpected("a TCP option"));
        };
        self.pos += 1;
        Ok(match name.as_str() {
            "nop" => TcpOpt::Nop,
            "eol" => TcpOpt::Eol,
            "mss" => TcpOpt::Mss(self.uint("an MSS")?),
            "wscale" => TcpOpt::WindowScale(self.uint("a window scale")?),
            "sackOK" => TcpOpt::SackPermitted,
            "sack" => {
                let mut blocks = Vec::new();
                while let Some(Tok::Int(_)) = self.peek() {
                    let left = self.uint("a SACK block edge")?;
                    self.expect_punct(':')?;
                    blocks.push((left, self.uint("a SACK block edge")?));
                }
                if blocks.is_empty() {
                    return Err(self.unexpected("a SACK block `left:right`"));
                }
                TcpOpt::Sack(blocks)
            }
            "TS" => {
                self.expect_word("val")?;
                let val = self.uint("a TS value")?;
                self.expect_word("ecr")?;
                TcpOpt::Timestamp {
                    val,
                    ecr: self.uint("a TS echo reply")?,
                }
            }
            "md5" | "FO" | "FOEXP" | "ECN" => {
                self.pos -= 1;
                return Err(self.error(format!("TCP option `{name}` is not supported")));
            }
            _ => {
                self.pos -= 1;
                return Err(self.error(format!("unknown TCP option `{name}`")));
            }
        })
    }

    // ---- system calls ----

    /// `syscall: ['...' time] NAME '(' [expr (',' expr)*] ')' '=' expr [ERRNO note] [note]`.
    fn syscall(&mut self) -> Result<SyscallSpec> {
        let end = if self.peek() == Some(&Tok::Ellipsis) {
            self.pos += 1;
            Some(self.time()?)
        } else {
            None
        };
        let name = match self.peek() {
            Some(Tok::Word(name)) if SYSCALLS.contains(&name.as_str()) => name.clone(),
            Some(Tok::Word(name)) => {
                return Err(self.error(format!("unsupported system call `{name}`")));
            }
            _ => return Err(self.unexpected("a system call name")),
        };
        self.pos += 1;
        self.expect_punct('(')?;
        let mut args = Vec::new();
        if !self.eat_punct(')') {
            args.push(self.expr()?);
            while self.eat_punct(',') {
                args.push(self.expr()?);
            }
            self.expect_punct(')')?;
        }
        self.expect_punct('=')?;
        let result = self.expr()?;
        let errno = match self.peek() {
            Some(Tok::Word(name)) => {
                if Errno::from_name(name).is_none() {
                    return Err(self.error(format!("unknown errno `{name}`")));
                }
                let name = name.clone();
                self.pos += 1;
                if !self.is_punct('(') {
                    return Err(self.unexpected("the errno's text, `(...)`"));
                }
                Some(name)
            }
            _ => None,
        };
        if self.eat_punct('(') {
            while let Some(Tok::Word(_)) = self.peek() {
                self.pos += 1;
            }
            self.expect_punct(')')?;
        }
        Ok(SyscallSpec {
            name,
            args,
            end,
            result,
            errno,
        })
    }

    /// `expr: primary ('|' primary)*`.
    fn expr(&mut self) -> Result<Expr> {
        let mut expr = self.primary()?;
        while self.eat_punct('|') {
            expr = Expr::Or(Box::new(expr), Box::new(self.primary()?));
        }
        Ok(expr)
    }

    /// `primary: '...' | INT | SYMBOL | '[' [expr (',' expr)*] ']' | '{' onoff '=' N ','
    /// linger '=' N '}'`.
    fn primary(&mut self) -> Result<Expr> {
        match self.peek().cloned() {
            Some(Tok::Ellipsis) => {
                self.pos += 1;
                Ok(Expr::Ellipsis)
            }
            Some(Tok::Int(n)) => {
                self.pos += 1;
                Ok(Expr::Int(n))
            }
            Some(Tok::Word(word)) => {
                if linux::symbol(&word).is_none() {
                    return Err(self.error(format!("unknown symbol `{word}`")));
                }
                self.pos += 1;
                Ok(Expr::Symbol(word))
            }
            Some(Tok::Punct('[')) => {
                self.pos += 1;
                let mut items = Vec::new();
                if !self.eat_punct(']') {
                    items.push(self.expr()?);
                    while self.eat_punct(',') {
                        items.push(self.expr()?);
                    }
                    self.expect_punct(']')?;
                }
                Ok(Expr::List(items))
            }
            Some(Tok::Punct('{')) => {
                self.pos += 1;
                self.expect_word("onoff")?;
                self.expect_punct('=')?;
                let onoff = self.int("an integer")?;
                self.expect_punct(',')?;
                self.expect_word("linger")?;
                self.expect_punct('=')?;
                let linger = self.int("an integer")?;
                self.expect_punct('}')?;
                Ok(Expr::Linger { onoff, linger })
            }
            _ => Err(self.unexpected("an argument (a number, a symbol, `...`, `[N]`)")),
        }
    }
}

/// `"0.250"` → 250000: whole seconds and up to six decimals, exactly (packetdrill goes
/// through a double). `None` for a negative or oversized time.
fn seconds_to_micros(text: &str) -> Option<u64> {
    let (whole, fraction) = text.split_once('.')?;
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut micros = 0;
    for (i, digit) in fraction.chars().take(6).enumerate() {
        micros += u64::from(digit.to_digit(10)?) * 10u64.pow(5 - i as u32);
    }
    whole.checked_mul(1_000_000)?.checked_add(micros)
}
