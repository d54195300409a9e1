//! The demo's explanation of its ladder: the lesson's steps (URL → DNS → three-way handshake →
//! data → four-way close → TIME-WAIT → the states), told with this run's numbers.
//!
//! [`Story`] picks the segments each step talks about out of what the recorder saw; the text
//! is then written from whatever was found, so that an unusual run (the ACK and the FIN of the
//! server in one segment, a reset) is told as it happened rather than as the textbook says.

use std::fmt::Write as _;
use std::time::Duration;

use fsm::State;

use crate::Fetched;
use crate::http::USER_AGENT;
use crate::trace::{Dir, Seen, Segment};
use crate::url::Url;

/// Columns the explanation is wrapped to.
const WIDTH: usize = 96;

/// The segments and state changes the explanation talks about.
#[derive(Debug, Default)]
struct Story<'a> {
    syn: Option<&'a Segment>,
    syn_ack: Option<&'a Segment>,
    handshake_ack: Option<&'a Segment>,
    /// Data segments each way, retransmissions left out.
    request: Vec<&'a Segment>,
    response: Vec<&'a Segment>,
    /// The ACK of the whole request, and of the whole response.
    request_ack: Option<&'a Segment>,
    response_ack: Option<&'a Segment>,
    /// The first FIN, the other side's FIN, and their ACKs.
    first_fin: Option<&'a Segment>,
    second_fin: Option<&'a Segment>,
    first_fin_ack: Option<&'a Segment>,
    second_fin_ack: Option<&'a Segment>,
    rst: Option<&'a Segment>,
    /// Our state changes: when, from, to.
    states: Vec<(Duration, State, State)>,
}

impl<'a> Story<'a> {
    fn new(seen: &'a [Seen]) -> Story<'a> {
        let segments: Vec<&Segment> = seen
            .iter()
            .filter_map(|s| match s {
                Seen::Segment(segment) => Some(segment),
                Seen::State { .. } => None,
            })
            .collect();
        let find = |f: &dyn Fn(&Segment) -> bool| segments.iter().copied().find(|s| f(s));
        let request = data(&segments, Dir::ToServer);
        let response = data(&segments, Dir::ToClient);
        let request_end = 1 + request.iter().map(|s| s.len as u32).sum::<u32>();
        let response_end = 1 + response.iter().map(|s| s.len as u32).sum::<u32>();
        let fins: Vec<&Segment> = segments.iter().copied().filter(|s| s.flags.fin()).collect();
        let first_fin = fins.first().copied();
        let second_fin = first_fin.and_then(|f| fins.iter().copied().find(|s| s.dir != f.dir));
        Story {
            syn: find(&|s| s.dir == Dir::ToServer && s.flags.syn() && !s.flags.ack()),
            syn_ack: find(&|s| s.dir == Dir::ToClient && s.flags.syn() && s.flags.ack()),
            handshake_ack: find(&|s| {
                s.dir == Dir::ToServer && !s.flags.syn() && s.rel_ack == Some(1)
            }),
            request_ack: find(&|s| {
                s.dir == Dir::ToClient && !request.is_empty() && s.rel_ack == Some(request_end)
            }),
            response_ack: find(&|s| {
                s.dir == Dir::ToServer && !response.is_empty() && s.rel_ack == Some(response_end)
            }),
            request,
            response,
            first_fin,
            second_fin,
            first_fin_ack: first_fin.and_then(|fin| acking(&segments, fin)),
            second_fin_ack: second_fin.and_then(|fin| acking(&segments, fin)),
            rst: find(&|s| s.flags.rst()),
            states: seen
                .iter()
                .filter_map(|s| match s {
                    Seen::State { at, from, to } => Some((*at, *from, *to)),
                    Seen::Segment(_) => None,
                })
                .collect(),
        }
    }

    /// When we first entered `to`.
    fn entered(&self, to: State) -> Option<Duration> {
        self.states.iter().find(|s| s.2 == to).map(|s| s.0)
    }

    /// Our state path, as `CLOSED → SYN-SENT → ...`.
    fn path(&self) -> String {
        let mut path = self
            .states
            .first()
            .map(|s| s.1.to_string())
            .unwrap_or_default();
        for (_, _, to) in &self.states {
            let _ = write!(path, " → {to}");
        }
        path
    }
}

/// The data-bearing segments one way, without retransmissions.
fn data<'a>(segments: &[&'a Segment], dir: Dir) -> Vec<&'a Segment> {
    let mut seqs = Vec::new();
    segments
        .iter()
        .copied()
        .filter(|s| s.dir == dir && s.len > 0)
        .filter(|s| {
            let new = !seqs.contains(&s.seq);
            seqs.push(s.seq);
            new
        })
        .collect()
}

/// The first segment the other way that acknowledges `fin`.
fn acking<'a>(segments: &[&'a Segment], fin: &Segment) -> Option<&'a Segment> {
    let end = fin_seq(fin).wrapping_add(1);
    segments
        .iter()
        .copied()
        .find(|s| s.dir != fin.dir && s.ack == Some(end))
}

/// The sequence number of a segment's FIN (after its data).
fn fin_seq(s: &Segment) -> u32 {
    s.seq.wrapping_add(s.len as u32)
}

/// `1234 (relative 5)`, or the absolute number alone.
fn num(abs: u32, rel: Option<u32>) -> String {
    match rel {
        Some(rel) => format!("{abs} (relative {rel})"),
        None => abs.to_string(),
    }
}

/// Milliseconds, with a no-break space before the unit.
fn ms(at: Duration) -> String {
    format!("{:.3}\u{a0}ms", at.as_secs_f64() * 1000.0)
}

fn at(time: Option<Duration>) -> String {
    time.map_or_else(String::new, |t| format!(" at {}", ms(t)))
}

fn who(dir: Dir) -> &'static str {
    match dir {
        Dir::ToServer => "we",
        Dir::ToClient => "the server",
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Wraps one paragraph to [`WIDTH`], starting with `first` and indenting the rest by `indent`.
/// A paragraph that starts with four spaces is kept as it is (each line indented).
pub fn wrap(paragraph: &str, first: &str, indent: &str) -> String {
    if paragraph.starts_with("    ") {
        return paragraph
            .lines()
            .map(|line| format!("{indent}{line}\n"))
            .collect();
    }
    let mut text = String::new();
    let mut line = first.to_owned();
    let mut empty = true;
    // Split on plain spaces only: a no-break space keeps a number with its unit.
    for word in paragraph.split([' ', '\n']).filter(|w| !w.is_empty()) {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            text.push_str(&line);
            text.push('\n');
            line = indent.to_owned();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    text.push_str(&line);
    text.push('\n');
    text
}

/// One numbered step: its paragraphs, wrapped, the first after the number.
fn step(text: &mut String, number: usize, paragraphs: &[String]) {
    text.push('\n');
    for (i, paragraph) in paragraphs.iter().enumerate() {
        let first = if i == 0 {
            format!("{number}. ")
        } else {
            "   ".to_owned()
        };
        text.push_str(&wrap(paragraph, &first, "   "));
    }
}

/// The explanation of what `seen` shows, for the fetch of `url` that returned `fetched`, with
/// an MSL of `msl`.
pub fn explain(seen: &[Seen], url: &Url, fetched: &Fetched, msl: Duration) -> String {
    let story = Story::new(seen);
    let mut text = String::from("\nWhat happened, step by step, in the lesson's order\n");
    text.push_str("==================================================\n");
    step(&mut text, 1, &url_step(url));
    step(&mut text, 2, &dns_step());
    step(&mut text, 3, &handshake_step(&story));
    step(&mut text, 4, &data_step(&story, fetched));
    step(&mut text, 5, &close_step(&story));
    if let Some(paragraphs) = time_wait_step(&story, msl) {
        step(&mut text, 6, &paragraphs);
    }
    step(&mut text, 7, &states_step(&story));
    text
}

fn url_step(url: &Url) -> Vec<String> {
    vec![format!(
        "The URL. {url} names the scheme (http), the host ({host}), the port ({port}{default}) and \
         the path ({target}). http_get turned it into the request line \"GET {target} HTTP/1.1\" \
         and the headers Host: {host_header}, User-Agent: {USER_AGENT} and Connection: close.",
        host = url.host,
        port = url.port,
        default = if url.port == 80 {
            ", http's default"
        } else {
            ""
        },
        target = url.target,
        host_header = url.host_header(),
    )]
}

fn dns_step() -> Vec<String> {
    vec![
        "DNS. The lesson's browser now asks DNS for the host's IP address. Here the host is an \
         IP literal, so there is nothing to look up and no DNS packet was sent. Given a name, \
         http_get asks the system resolver (tokio::net::lookup_host), keeps an address of the \
         stack's family, and --trace prints \"dns: name → address\"."
            .to_owned(),
    ]
}

/// What a SYN's options say, in words.
fn options_in_words(options: &str) -> String {
    let words: Vec<&str> = options
        .split(',')
        .filter_map(|o| match o.split(' ').next() {
            Some("mss") => Some("the largest segment it accepts (MSS)"),
            Some("ws") => Some("window scaling"),
            Some("sackOK") => Some("selective acknowledgments"),
            Some("ts") => Some("timestamps"),
            _ => None,
        })
        .collect();
    match words.as_slice() {
        [] => String::new(),
        [one] => format!(" Its options <{options}> announce {one}."),
        [most @ .., last] => format!(
            " Its options <{options}> announce {} and {last}.",
            most.join(", ")
        ),
    }
}

fn handshake_step(story: &Story<'_>) -> Vec<String> {
    let (Some(syn), Some(syn_ack)) = (story.syn, story.syn_ack) else {
        return vec![
            "The three-way handshake did not complete in this run: see the ladder.".into(),
        ];
    };
    let (j, k) = (syn.seq, syn_ack.seq);
    let mut paragraphs = vec![
        "The three-way handshake (三次握手): the first three segments of the ladder.".to_owned(),
        format!(
            "First: we sent SYN (flag S) with our initial sequence number J = {j}, chosen at \
             random (RFC 6528), and entered SYN-SENT{}.{}",
            at(story.entered(State::SynSent)),
            options_in_words(&syn.options)
        ),
        format!(
            "Second: the server answered SYN+ACK (S.), with its own initial sequence number \
             K = {k} and ack = J+1 = {}: the lesson's \"Ack = Seq + 1\", because a SYN occupies \
             one sequence number. The server (the kernel) was now in SYN-RECEIVED (SYN_RCVD).{}",
            j.wrapping_add(1),
            options_in_words(&syn_ack.options)
        ),
    ];
    paragraphs.push(match story.handshake_ack {
        Some(ack) => format!(
            "Third: we entered ESTABLISHED{} and answered ACK (.) with ack = K+1 = {}; when it \
             arrived, the server entered ESTABLISHED too. From here on the ladder's relative \
             numbers count from each side's ISN, so each direction's first data byte is seq=1. \
             The window (win) is how many more bytes the sender of the segment can receive: \
             flow control.",
            at(story.entered(State::Established)),
            ack.ack.unwrap_or_default(),
        ),
        None => "Third: the ACK that ends the handshake is not on the ladder.".to_owned(),
    });
    paragraphs
}

fn data_step(story: &Story<'_>, fetched: &Fetched) -> Vec<String> {
    let sent: usize = story.request.iter().map(|s| s.len).sum();
    let received: usize = story.response.iter().map(|s| s.len).sum();
    let request_ack = story.request_ack.map_or_else(String::new, |a| {
        let how = if a.len == 0 {
            format!("in a segment of its own{}", at(Some(a.at)))
        } else {
            "on its first response segment".to_owned()
        };
        format!(" The server acknowledged it with ack={}, {how}.", sent + 1)
    });
    let response_ack = story.response_ack.map_or_else(String::new, |a| {
        let how = if a.flags.fin() {
            "on our FIN: we closed before our delayed ACK was due, so the ACK rode along".to_owned()
        } else {
            format!("in a segment of its own{}", at(Some(a.at)))
        };
        format!(" We acknowledged it with ack={}, {how}.", received + 1)
    });
    vec![
        format!(
            "Data. With the connection ESTABLISHED, we sent the request: {} in {} (relative seq \
             1 to {sent}), flags P.: PSH, hand the data to the application now; the '.' is ACK, \
             the ack field is valid.{request_ack}",
            plural(sent, "byte"),
            plural(story.request.len(), "segment"),
        ),
        format!(
            "The response came back: {} in {} (relative seq 1 to {received}), the status line \
             \"{}\", {} and a {}-byte body.{response_ack}",
            plural(received, "byte"),
            plural(story.response.len(), "segment"),
            fetched.head.status_line(),
            plural(fetched.head.fields.len(), "header field"),
            fetched.body_len,
        ),
        "Mind the lesson's warning: the ACK flag (the '.') and the ack number are different \
         things. The number is the next byte expected, one past the last byte it confirms."
            .to_owned(),
    ]
}

fn close_step(story: &Story<'_>) -> Vec<String> {
    let Some(first) = story.first_fin else {
        let why = story.rst.map_or_else(String::new, |r| {
            format!(" A RST (R) at {} ended it at once.", ms(r.at))
        });
        return vec![format!(
            "The connection was not closed with FINs in this run.{why}"
        )];
    };
    let active = first.dir == Dir::ToServer;
    let mut paragraphs = vec![
        format!(
            "The four-way close (四次挥手). TCP is full duplex, so each direction is closed on \
             its own, by a FIN. {} had nothing more to send, so {} closed first: the active \
             close.",
            if active { "We" } else { "The server" },
            who(first.dir)
        ),
        format!(
            "First: {} sent FIN (F.) with seq = {}{}.",
            who(first.dir),
            num(fin_seq(first), first.rel_seq.map(|r| r + first.len as u32)),
            if active {
                format!(
                    ", and entered FIN-WAIT-1{}",
                    at(story.entered(State::FinWait1))
                )
            } else {
                String::new()
            },
        ),
    ];
    paragraphs.extend(second_and_third(story, first));
    paragraphs.push(fourth(story));
    paragraphs
}

/// The ACK of the first FIN and the other side's FIN: two segments, or one.
fn second_and_third(story: &Story<'_>, first: &Segment) -> Vec<String> {
    let answerer = who(if first.dir == Dir::ToServer {
        Dir::ToClient
    } else {
        Dir::ToServer
    });
    let ack = story.first_fin_ack;
    let ack_text = ack.map_or_else(
        || "with an ACK that is not on the ladder".to_owned(),
        |a| {
            format!(
                "ack = FIN + 1 = {}: a FIN, like a SYN, takes one sequence number",
                num(a.ack.unwrap_or_default(), a.rel_ack)
            )
        },
    );
    let half_closed = if first.dir == Dir::ToServer {
        format!(
            "We entered FIN-WAIT-2{}; the server was in CLOSE-WAIT, where its application read \
             the end of the stream.",
            at(story.entered(State::FinWait2))
        )
    } else {
        format!(
            "We entered CLOSE-WAIT{}: our application read the end of the stream.",
            at(story.entered(State::CloseWait))
        )
    };
    let second = story.second_fin;
    let combined = matches!((ack, second), (Some(a), Some(f)) if std::ptr::eq(a, f));
    if combined {
        return vec![format!(
            "Second and third together: {answerer} sent its ACK, {ack_text}, and its own FIN in \
             one segment. {half_closed} This close took three segments, not four: the lesson's \
             second question says why they are usually apart."
        )];
    }
    let mut paragraphs = vec![format!(
        "Second: {answerer} acknowledged it, {ack_text}. {half_closed}"
    )];
    if let (Some(a), Some(f), Dir::ToServer) = (ack, second, first.dir) {
        paragraphs.push(format!(
            "The ACK left {} after the FIN: the kernel delays ACKs a little, hoping to carry \
             them on data. The demo server then closed {} later, as a server finishing its \
             work would, so its FIN travelled apart, as in the lesson's figure.",
            ms(a.at.saturating_sub(first.at)),
            ms(f.at.saturating_sub(a.at)),
        ));
    }
    paragraphs.push(second.map_or_else(
        || "Third: the other side's FIN is not on the ladder.".to_owned(),
        |f| {
            format!(
                "Third: {} closed too: FIN (F.) with seq = {}; {} entered LAST-ACK{}.",
                who(f.dir),
                num(fin_seq(f), f.rel_seq.map(|r| r + f.len as u32)),
                who(f.dir),
                if f.dir == Dir::ToServer {
                    at(story.entered(State::LastAck))
                } else {
                    String::new()
                },
            )
        },
    ));
    paragraphs
}

/// The last ACK of the close.
fn fourth(story: &Story<'_>) -> String {
    match (story.second_fin, story.second_fin_ack) {
        (Some(fin), Some(ack)) if fin.dir == Dir::ToClient => format!(
            "Fourth: we acknowledged it, ack = FIN + 1 = {}, and entered TIME-WAIT{}; when it \
             arrived, the server's side went to CLOSED.",
            num(ack.ack.unwrap_or_default(), ack.rel_ack),
            at(story.entered(State::TimeWait)),
        ),
        (Some(_), Some(ack)) => format!(
            "Fourth: the server acknowledged it, ack = FIN + 1 = {}, and we went to CLOSED{}, \
             while the server waits out TIME-WAIT.",
            num(ack.ack.unwrap_or_default(), ack.rel_ack),
            at(story.entered(State::Closed)),
        ),
        _ => "Fourth: the last ACK is not on the ladder.".to_owned(),
    }
}

fn time_wait_step(story: &Story<'_>, msl: Duration) -> Option<Vec<String>> {
    let entered = story.entered(State::TimeWait)?;
    let closed = story
        .states
        .iter()
        .find(|s| s.1 == State::TimeWait && s.2 == State::Closed)?
        .0;
    Some(vec![format!(
        "TIME-WAIT. The side that closes first waits 2×MSL before it forgets the connection: \
         from {} to {} here, {:.3}\u{a0}s (the MSL is {}\u{a0}s for the demo; tcpstk's default \
         is 30\u{a0}s, RFC 9293's two minutes). Were our last ACK lost, the server would send its FIN again \
         and we could still answer it; and no late segment of this connection can be taken for \
         part of a new one between the same addresses and ports.",
        ms(entered),
        ms(closed),
        closed.saturating_sub(entered).as_secs_f64(),
        msl.as_secs_f64(),
    )])
}

fn states_step(story: &Story<'_>) -> Vec<String> {
    let mut paragraphs = vec![
        "The states. Our connection walked".to_owned(),
        format!("    {}", story.path()),
        "and the lesson's client path (客户端TCP状态迁移) is".to_owned(),
        "    CLOSED → SYN_SENT → ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT → CLOSED"
            .to_owned(),
        "The server, in the kernel and out of our sight, walked the lesson's server path:"
            .to_owned(),
        "    CLOSED → LISTEN → SYN_RCVD → ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED".to_owned(),
        "The lesson's second question: why three segments to open but four to close? Opening, \
         the server puts its ACK and its own SYN in one segment, having nothing else to do. \
         Closing, a FIN only means \"no more data from me\": the other side acknowledges it at \
         once, may still send data, and sends its own FIN later, when it is done."
            .to_owned(),
    ];
    if let Some(rst) = story.rst {
        paragraphs.push(format!(
            "A RST (R) was seen at {}: the connection was reset rather than closed.",
            ms(rst.at)
        ));
    }
    paragraphs
}

#[cfg(test)]
mod tests {
    use wire::TcpFlags;

    use super::*;
    use crate::http::Head;

    fn seg(dir: Dir, flags: TcpFlags, seq: u32, ack: Option<u32>, len: usize) -> Seen {
        let (isn_me, isn_peer) = match dir {
            Dir::ToServer => (1000, 5000),
            Dir::ToClient => (5000, 1000),
        };
        Seen::Segment(Segment {
            at: Duration::from_millis(u64::from(seq % 7)),
            dir,
            flags,
            seq,
            ack,
            rel_seq: Some(seq - isn_me),
            rel_ack: ack.map(|a| a - isn_peer),
            window: 65535,
            len,
            options: if flags.syn() {
                "mss 1460,sackOK".into()
            } else {
                String::new()
            },
            snippet: String::new(),
        })
    }

    fn state(ms: u64, from: State, to: State) -> Seen {
        Seen::State {
            at: Duration::from_millis(ms),
            from,
            to,
        }
    }

    /// The classic run: handshake, 10 bytes each way, the client closes first; the server's
    /// ACK and FIN apart, or `combined`.
    fn classic(combined: bool) -> Vec<Seen> {
        use Dir::{ToClient as In, ToServer as Out};
        use TcpFlags as F;
        let mut seen = vec![
            state(0, State::Closed, State::SynSent),
            seg(Out, F::SYN, 1000, None, 0),
            seg(In, F::SYN | F::ACK, 5000, Some(1001), 0),
            state(1, State::SynSent, State::Established),
            seg(Out, F::ACK, 1001, Some(5001), 0),
            seg(Out, F::PSH | F::ACK, 1001, Some(5001), 10),
            seg(In, F::PSH | F::ACK, 5001, Some(1011), 10),
            state(2, State::Established, State::FinWait1),
            seg(Out, F::FIN | F::ACK, 1011, Some(5011), 0),
        ];
        if !combined {
            seen.push(seg(In, F::ACK, 5011, Some(1012), 0));
        }
        seen.push(state(3, State::FinWait1, State::FinWait2));
        seen.push(seg(In, F::FIN | F::ACK, 5011, Some(1012), 0));
        seen.push(state(4, State::FinWait2, State::TimeWait));
        seen.push(seg(Out, F::ACK, 1012, Some(5012), 0));
        seen.push(state(2004, State::TimeWait, State::Closed));
        seen
    }

    fn fetched() -> Fetched {
        Fetched {
            head: Head {
                version: "HTTP/1.1".into(),
                status: 200,
                reason: "OK".into(),
                fields: vec![("Content-Length".into(), "3".into())],
            },
            body_len: 3,
            body: b"abc".to_vec(),
        }
    }

    fn url() -> Url {
        Url::parse("http://10.200.0.1/").unwrap()
    }

    /// The explanation with its line breaks turned to spaces, for searching.
    fn flat(seen: &[Seen]) -> String {
        let text = explain(seen, &url(), &fetched(), Duration::from_secs(1));
        for line in text.lines() {
            assert!(line.chars().count() <= WIDTH, "too long: {line}");
        }
        text.split([' ', '\n'])
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn story_finds_the_lessons_segments() {
        let seen = classic(false);
        let story = Story::new(&seen);
        assert_eq!(story.syn.map(|s| s.seq), Some(1000));
        assert_eq!(story.syn_ack.map(|s| s.seq), Some(5000));
        assert_eq!(story.handshake_ack.and_then(|s| s.ack), Some(5001));
        assert_eq!((story.request.len(), story.response.len()), (1, 1));
        assert_eq!(story.request_ack.map(|s| s.len), Some(10));
        assert!(story.response_ack.is_some_and(|s| s.flags.fin()));
        assert_eq!(story.first_fin.map(|s| s.dir), Some(Dir::ToServer));
        assert_eq!(story.first_fin_ack.map(|s| s.flags.fin()), Some(false));
        assert_eq!(story.second_fin.map(|s| s.dir), Some(Dir::ToClient));
        assert_eq!(story.second_fin_ack.and_then(|s| s.ack), Some(5012));
        assert_eq!(
            story.path(),
            "CLOSED → SYN-SENT → ESTABLISHED → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED"
        );
    }

    #[test]
    fn explanation_has_the_runs_numbers_and_the_four_steps() {
        let text = flat(&classic(false));
        for needle in [
            "J = 1000",
            "K = 5000 and ack = J+1 = 1001",
            "ack = K+1 = 5001",
            "10 bytes in 1 segment (relative seq 1 to 10)",
            "The server acknowledged it with ack=11, on its first response segment",
            "We acknowledged it with ack=11, on our FIN",
            "Its options <mss 1460,sackOK> announce the largest segment it accepts (MSS) and \
             selective acknowledgments.",
            "First: we sent FIN (F.) with seq = 1011 (relative 11), and entered FIN-WAIT-1",
            "Second: the server acknowledged it, ack = FIN + 1 = 1012 (relative 12): a FIN",
            "Third: the server closed too: FIN (F.) with seq = 5011 (relative 11)",
            "Fourth: we acknowledged it, ack = FIN + 1 = 5012 (relative 12), and entered TIME-WAIT",
            "IP literal",
            "from 4.000\u{a0}ms to 2004.000\u{a0}ms here, 2.000\u{a0}s",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
    }

    #[test]
    fn explanation_tells_a_combined_ack_and_fin() {
        let text = flat(&classic(true));
        assert!(text.contains("Second and third together"), "{text}");
        assert!(text.contains("three segments, not four"));
    }

    #[test]
    fn explanation_survives_a_refused_connection() {
        use TcpFlags as F;
        let seen = vec![
            state(0, State::Closed, State::SynSent),
            seg(Dir::ToServer, F::SYN, 1000, None, 0),
            seg(Dir::ToClient, F::RST | F::ACK, 5000, Some(1001), 0),
            state(1, State::SynSent, State::Closed),
        ];
        let text = flat(&seen);
        assert!(text.contains("did not complete"), "{text}");
        assert!(text.contains("not closed with FINs"));
        assert!(text.contains("A RST (R)"));
    }

    #[test]
    fn wrap_keeps_words_and_indents() {
        let long = "word ".repeat(50);
        let text = wrap(&long, "1. ", "   ");
        assert!(text.starts_with("1. word"));
        assert!(text.lines().skip(1).all(|l| l.starts_with("   word")));
        assert_eq!(text.split_whitespace().count(), 51);
        assert_eq!(
            wrap("    a  b\n    c", "1. ", "   "),
            "       a  b\n       c\n"
        );
    }
}
