//! System-call lines: their arguments turned into a [`Call`], the call made (in the background
//! for `...end` calls), and the result and outputs checked as packetdrill checks them.

use std::net::SocketAddr;

use super::flow::{Flow, FlowState, SCRIPT_PORT};
use super::{Failure, MAX_TIMER_STEPS, Pending, Runner};
use crate::linux::{self, AF_INET, AF_INET6, Errno};
use crate::script::{Event, Expr, SyscallSpec, Time};
use crate::sockets::{Blocked, Call, OptVal, Progress, Ret};

/// What to check of a call's result beyond its value.
#[derive(Clone, Copy, Debug)]
pub(super) enum Check {
    /// The value only.
    Plain,
    /// `socket` and `accept`: any fd is fine; the script's number becomes its name for it.
    NewFd,
    /// `getsockopt`: the option's value (unless `...`) and its length.
    Opt { value: Option<OptVal>, optlen: u32 },
}

/// `read(4, ..., 1000)`: the call as the script wrote it.
pub(super) fn describe(spec: &SyscallSpec) -> String {
    let args: Vec<String> = spec.args.iter().map(ToString::to_string).collect();
    format!("{}({})", spec.name, args.join(", "))
}

/// An integer argument or result: a number, a symbol, or `a|b`.
fn eval(expr: &Expr) -> Result<i64, String> {
    match expr {
        Expr::Int(n) => Ok(*n),
        Expr::Symbol(name) => linux::symbol(name)
            .map(i64::from)
            .ok_or_else(|| format!("unknown symbol `{name}`")),
        Expr::Or(a, b) => Ok(eval(a)? | eval(b)?),
        _ => Err(format!("expected a number, not `{expr}`")),
    }
}

fn int(expr: &Expr) -> Result<i32, String> {
    let n = eval(expr)?;
    i32::try_from(n).map_err(|_| format!("{n} does not fit an int"))
}

/// The largest count a read or write may ask for (the runner allocates it).
const MAX_COUNT: usize = 1 << 26;

/// A byte count.
fn count(expr: &Expr) -> Result<usize, String> {
    let n = eval(expr)?;
    usize::try_from(n)
        .ok()
        .filter(|&n| n <= MAX_COUNT)
        .ok_or_else(|| format!("count {n} is negative or above {MAX_COUNT}"))
}

/// `[N]`.
fn bracketed(expr: &Expr) -> Result<i32, String> {
    match expr {
        Expr::List(items) if items.len() == 1 => int(&items[0]),
        _ => Err(format!("expected `[N]`, not `{expr}`")),
    }
}

/// An argument the runner fills in (a buffer, an address): it must be `...`.
fn ellipsis(expr: &Expr, what: &str) -> Result<(), String> {
    match expr {
        Expr::Ellipsis => Ok(()),
        _ => Err(format!(
            "{what} must be `...` (the runner fills it in), not `{expr}`"
        )),
    }
}

/// `[N]` or `{onoff=N, linger=N}`: an option's value.
fn opt_val(expr: &Expr) -> Result<OptVal, String> {
    match expr {
        Expr::Linger { onoff, linger } => Ok(OptVal::Linger {
            onoff: int(&Expr::Int(*onoff))?,
            linger: int(&Expr::Int(*linger))?,
        }),
        _ => bracketed(expr).map(OptVal::Int),
    }
}

impl Runner<'_> {
    /// Runs a system-call event at `start`.
    pub(super) fn syscall(
        &mut self,
        event: &Event,
        spec: &SyscallSpec,
        start: u64,
        tol: u64,
    ) -> Result<(), Failure> {
        let line = event.line;
        if spec.end.is_some() && self.pending.is_some() {
            return Err(Failure {
                line,
                message: "a blocking call while another blocking call is still blocked".into(),
            });
        }
        Self::check_time(
            line,
            "the system call",
            (start, start),
            self.now.max(start),
            tol,
        )?;
        self.advance_to(start)?;
        let (call, check) = self.lower(spec).map_err(|message| Failure {
            line,
            message: format!("{}: {message}", describe(spec)),
        })?;
        if let Call::Connect { fd, .. } = call {
            let remote_ip = self.remote_ip;
            if let Some(flow) = self.flow_of_fd(fd) {
                flow.on_connect(remote_ip);
            }
        }
        let progress = self.sockets.call(self.instant(), call);
        self.collect_sent(line)?;
        match (progress, spec.end) {
            (Progress::Done(result), end) => {
                self.check_result(line, spec, check, result)?;
                if let Some(end) = end {
                    let end = Self::end_time(event, start, end);
                    let tol = self.end_tolerance(start, end);
                    Self::check_time(line, "the call to return", (end, end), self.now, tol)?;
                }
            }
            (Progress::Blocked(blocked), Some(end)) => {
                self.pending = Some(Pending {
                    blocked,
                    line,
                    spec: spec.clone(),
                    check,
                    start,
                    end: Self::end_time(event, start, end),
                });
            }
            (Progress::Blocked(blocked), None) => {
                self.block_in_place(line, spec, check, blocked)?;
            }
        }
        self.after_input()
    }

    /// `...end` counts from the same point as the event's own time.
    fn end_time(event: &Event, start: u64, end: u64) -> u64 {
        match event.time {
            Time::Relative(d) => (start - d).saturating_add(end),
            _ => end,
        }
    }

    /// A blocking call without `...`: the script waits for it, and only the engine's timers
    /// can end it (as a packetdrill thread blocked in the kernel).
    fn block_in_place(
        &mut self,
        line: usize,
        spec: &SyscallSpec,
        check: Check,
        mut blocked: Blocked,
    ) -> Result<(), Failure> {
        for _ in 0..MAX_TIMER_STEPS {
            if !self.fire_next_timer(None)? {
                break;
            }
            match self.sockets.resume(self.instant(), blocked) {
                Progress::Done(result) => {
                    self.collect_sent(line)?;
                    return self.check_result(line, spec, check, result);
                }
                Progress::Blocked(b) => blocked = b,
            }
        }
        Err(Failure {
            line,
            message: format!(
                "{} blocks and no timer can end it; write `+0...T {}` to let the script go on \
                 while it waits",
                describe(spec),
                spec.name
            ),
        })
    }

    /// The socket layer's fd for the script's.
    fn live_fd(&self, expr: &Expr) -> Result<i32, String> {
        let script_fd = int(expr)?;
        self.fds
            .iter()
            .find(|(s, _)| *s == script_fd)
            .map(|&(_, live)| live)
            .ok_or_else(|| format!("fd {script_fd} was not returned by socket() or accept()"))
    }

    fn flow_of_fd(&mut self, live_fd: i32) -> Option<&mut Flow> {
        let script_fd = self.fds.iter().find(|(_, l)| *l == live_fd)?.0;
        self.flows.iter_mut().find(|f| f.fd == Some(script_fd))
    }

    /// The call a line makes, and what to check when it returns.
    fn lower(&self, spec: &SyscallSpec) -> Result<(Call, Check), String> {
        let args = &spec.args;
        let arity = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(format!(
                    "takes {n} arguments, the script gives {}",
                    args.len()
                ))
            }
        };
        let fd = || self.live_fd(&args[0]);
        let call = match spec.name.as_str() {
            "socket" => {
                arity(3)?;
                let domain = match &args[0] {
                    Expr::Ellipsis if self.script.options.ipv6 => AF_INET6,
                    Expr::Ellipsis => AF_INET,
                    e => int(e)?,
                };
                let (ty, protocol) = (int(&args[1])?, int(&args[2])?);
                return Ok((
                    Call::Socket {
                        domain,
                        ty,
                        protocol,
                    },
                    Check::NewFd,
                ));
            }
            "bind" => {
                arity(3)?;
                ellipsis(&args[1], "the address")?;
                let addr = SocketAddr::new(self.local_ip, SCRIPT_PORT);
                Call::Bind { fd: fd()?, addr }
            }
            "listen" => {
                arity(2)?;
                Call::Listen {
                    fd: fd()?,
                    backlog: int(&args[1])?,
                }
            }
            "accept" => {
                arity(3)?;
                ellipsis(&args[1], "the address")?;
                return Ok((Call::Accept { fd: fd()? }, Check::NewFd));
            }
            "connect" => {
                arity(3)?;
                ellipsis(&args[1], "the address")?;
                let addr = SocketAddr::new(self.remote_ip, SCRIPT_PORT);
                Call::Connect { fd: fd()?, addr }
            }
            "read" | "recv" => {
                arity(if spec.name == "read" { 3 } else { 4 })?;
                ellipsis(&args[1], "the buffer")?;
                let flags = args.get(3).map_or(Ok(0), int)?;
                Call::Recv {
                    fd: fd()?,
                    len: count(&args[2])?,
                    flags,
                }
            }
            "write" | "send" => {
                arity(if spec.name == "write" { 3 } else { 4 })?;
                ellipsis(&args[1], "the buffer")?;
                let flags = args.get(3).map_or(Ok(0), int)?;
                Call::Send {
                    fd: fd()?,
                    data: vec![0; count(&args[2])?],
                    flags,
                }
            }
            "shutdown" => {
                arity(2)?;
                Call::Shutdown {
                    fd: fd()?,
                    how: int(&args[1])?,
                }
            }
            "close" => {
                arity(1)?;
                Call::Close { fd: fd()? }
            }
            "setsockopt" => {
                arity(5)?;
                int(&args[4])?;
                let (level, name) = (int(&args[1])?, int(&args[2])?);
                let value = opt_val(&args[3])?;
                Call::SetSockOpt {
                    fd: fd()?,
                    level,
                    name,
                    value,
                }
            }
            "getsockopt" => {
                arity(5)?;
                let (level, name) = (int(&args[1])?, int(&args[2])?);
                let value = match &args[3] {
                    Expr::Ellipsis => None,
                    e => Some(opt_val(e)?),
                };
                let optlen = u32::try_from(bracketed(&args[4])?)
                    .map_err(|_| "a negative optlen".to_string())?;
                let check = Check::Opt { value, optlen };
                return Ok((
                    Call::GetSockOpt {
                        fd: fd()?,
                        level,
                        name,
                    },
                    check,
                ));
            }
            "fcntl" => {
                if !(2..=3).contains(&args.len()) {
                    return Err(format!(
                        "takes 2 or 3 arguments, the script gives {}",
                        args.len()
                    ));
                }
                let arg = args.get(2).map_or(Ok(0), int)?;
                Call::Fcntl {
                    fd: fd()?,
                    cmd: int(&args[1])?,
                    arg,
                }
            }
            other => return Err(format!("unsupported system call `{other}`")),
        };
        Ok((call, Check::Plain))
    }

    /// Checks what a call returned against the script's `= value [ERRNO]`, and keeps track of
    /// the sockets it made.
    pub(super) fn check_result(
        &mut self,
        line: usize,
        spec: &SyscallSpec,
        check: Check,
        result: Result<Ret, Errno>,
    ) -> Result<(), Failure> {
        let fail = |message: String| Failure {
            line,
            message: format!("{}: {message}", describe(spec)),
        };
        let expected = match &spec.result {
            Expr::Ellipsis => None,
            e => Some(eval(e).map_err(fail)?),
        };
        let shown = expected.map_or("anything".to_string(), |e| e.to_string());
        let ret = match (result, &spec.errno) {
            (Ok(ret), None) => ret,
            (Ok(ret), Some(name)) => {
                return Err(fail(format!(
                    "expected -1 {name}, returned {}",
                    ret.value()
                )));
            }
            (Err(errno), None) => {
                return Err(fail(format!("expected {shown}, returned -1 {errno}")));
            }
            (Err(errno), Some(name)) => {
                if expected != Some(-1) {
                    return Err(fail(format!(
                        "with an errno the result must be -1, not {shown}"
                    )));
                }
                if Errno::from_name(name) != Some(errno) {
                    return Err(fail(format!("expected -1 {name}, returned -1 {errno}")));
                }
                return Ok(());
            }
        };
        let value = ret.value();
        match (check, &ret) {
            (Check::NewFd, _) => {
                let Some(script_fd) = expected.and_then(|e| i32::try_from(e).ok()) else {
                    return Err(fail(format!(
                        "expected {shown} as the new fd, returned {value}"
                    )));
                };
                let live = i32::try_from(value).unwrap_or(-1);
                self.fds.retain(|(s, _)| *s != script_fd);
                self.fds.push((script_fd, live));
                self.on_new_fd(spec, script_fd);
                return Ok(());
            }
            _ if expected.is_some_and(|e| e != value) => {
                return Err(fail(format!("expected {shown}, returned {value}")));
            }
            (
                Check::Opt {
                    value: want,
                    optlen,
                },
                Ret::Opt(got),
            ) => {
                if want.is_some_and(|w| w != *got) {
                    return Err(fail(format!(
                        "expected the option to be {want:?}, it is {got:?}"
                    )));
                }
                if optlen != got.optlen() {
                    return Err(fail(format!(
                        "expected optlen {optlen}, it is {}",
                        got.optlen()
                    )));
                }
            }
            _ => {}
        }
        if spec.name == "listen" {
            let script_fd = spec.args.first().map(int).and_then(Result::ok);
            if let Some(flow) = self
                .flows
                .iter_mut()
                .find(|f| f.fd.is_some() && f.fd == script_fd)
            {
                flow.state = FlowState::Listening;
            }
        }
        Ok(())
    }

    /// `socket()` makes the new socket the one packets are about; `accept()` names the child
    /// connection the script's packets opened.
    fn on_new_fd(&mut self, spec: &SyscallSpec, script_fd: i32) {
        if spec.name == "socket" {
            self.flows.push(Flow::new(Some(script_fd), FlowState::New));
            self.under_test = Some(self.flows.len() - 1);
        } else if let Some(flow) = self
            .flows
            .iter_mut()
            .find(|f| f.state == FlowState::SynAckSent && f.fd.is_none())
        {
            flow.fd = Some(script_fd);
        }
    }
}
