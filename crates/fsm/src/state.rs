//! The connection states of RFC 9293 §3.3.2 and the transitions of its figure 5, as one pure
//! function: [`transition`] maps (state, input) to (next state, action).
//!
//! ```text
//!                             +---------+ ---------\      active OPEN
//!                             |  CLOSED |            \    -----------
//!                             +---------+<---------\   \   create TCB
//!                               |     ^              \   \  snd SYN
//!                  passive OPEN |     |   CLOSE        \   \
//!                  ------------ |     | ----------       \   \
//!                   create TCB  |     | delete TCB         \   \
//!                               V     |                      \   \
//!           rcv RST (note 1)  +---------+            CLOSE    |    \
//!        -------------------->|  LISTEN |          ---------- |     |
//!       /                     +---------+          delete TCB |     |
//!      /           rcv SYN      |     |     SEND              |     |
//!     /           -----------   |     |    -------            |     V
//! +--------+      snd SYN,ACK  /       \   snd SYN          +--------+
//! |        |<-----------------           ------------------>|        |
//! |  SYN   |                    rcv SYN                     |  SYN   |
//! |  RCVD  |<-----------------------------------------------|  SENT  |
//! |        |                  snd SYN,ACK                   |        |
//! |        |------------------           -------------------|        |
//! +--------+   rcv ACK of SYN  \       /  rcv SYN,ACK       +--------+
//!    |         --------------   |     |   -----------
//!    |                x         |     |     snd ACK
//!    |                          V     V
//!    |  CLOSE                 +---------+
//!    | -------                |  ESTAB  |
//!    | snd FIN                +---------+
//!    |                 CLOSE    |     |    rcv FIN
//!    V                -------   |     |    -------
//! +---------+         snd FIN  /       \   snd ACK         +---------+
//! |  FIN    |<----------------          ------------------>|  CLOSE  |
//! | WAIT-1  |------------------                            |   WAIT  |
//! +---------+          rcv FIN  \                          +---------+
//!   | rcv ACK of FIN   -------   |                          CLOSE  |
//!   | --------------   snd ACK   |                         ------- |
//!   V        x                   V                         snd FIN V
//! +---------+               +---------+                    +---------+
//! |FINWAIT-2|               | CLOSING |                    | LAST-ACK|
//! +---------+               +---------+                    +---------+
//!   |              rcv ACK of FIN |                 rcv ACK of FIN |
//!   |  rcv FIN     -------------- |    Timeout=2MSL -------------- |
//!   |  -------            x       V    ------------        x       V
//!    \ snd ACK              +---------+delete TCB          +---------+
//!      -------------------->|TIME-WAIT|------------------->| CLOSED  |
//!                           +---------+                    +---------+
//! ```
//!
//! (Figure 5 of RFC 9293; note 1: a RST in SYN-RECEIVED returns a passively opened connection
//! to LISTEN.) A FIN that arrives together with the ACK of our FIN in FIN-WAIT-1 takes two edges
//! in one segment, FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT, because §3.10.7.4 processes the ACK
//! (step five) before the FIN (step eight). Every other way to CLOSED (RST, abort, timeout) is
//! the [`Input::Reset`] edge, which the figure leaves out for clarity.

use core::fmt;

/// A connection state (RFC 9293 §3.3.2). `Display` prints the RFC's spelling, `SYN-SENT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// No connection.
    Closed,
    /// Waiting for a connection request.
    Listen,
    /// SYN sent, waiting for the matching SYN.
    SynSent,
    /// SYN received and SYN sent, waiting for the ACK of our SYN.
    SynReceived,
    /// Open: data flows both ways.
    Established,
    /// We sent FIN; waiting for its ACK or the peer's FIN.
    FinWait1,
    /// Our FIN is acknowledged; waiting for the peer's FIN.
    FinWait2,
    /// The peer sent FIN; waiting for the local user to close.
    CloseWait,
    /// Both sent FIN at once; waiting for the ACK of ours.
    Closing,
    /// The peer's FIN came first, then ours; waiting for its ACK.
    LastAck,
    /// Both FINs acknowledged; waiting 2×MSL so that stray segments die.
    TimeWait,
}

impl State {
    /// All eleven states, in figure 5's reading order.
    pub const ALL: [State; 11] = [
        State::Closed,
        State::Listen,
        State::SynSent,
        State::SynReceived,
        State::Established,
        State::FinWait1,
        State::FinWait2,
        State::CloseWait,
        State::Closing,
        State::LastAck,
        State::TimeWait,
    ];

    /// The synchronized states of RFC 9293 §3.5.2: both ISNs are known.
    pub fn is_synchronized(self) -> bool {
        !matches!(
            self,
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        )
    }

    /// States in which received data is still delivered to the user (§3.10.7.4 step seven).
    pub fn receives_data(self) -> bool {
        matches!(self, State::Established | State::FinWait1 | State::FinWait2)
    }

    /// States in which the user may still queue data to send.
    pub fn accepts_writes(self) -> bool {
        matches!(
            self,
            State::SynSent | State::SynReceived | State::Established | State::CloseWait
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        })
    }
}

/// An event of figure 5: a user call or the arrival of a control segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    /// User: passive OPEN.
    PassiveOpen,
    /// User: active OPEN.
    ActiveOpen,
    /// User: CLOSE (we have no more to send).
    Close,
    /// A SYN without ACK arrived.
    RecvSyn,
    /// A SYN-ACK acknowledging our SYN arrived.
    RecvSynAck,
    /// The ACK of our SYN arrived.
    RecvAckOfSyn,
    /// The peer's FIN arrived (in order).
    RecvFin,
    /// The ACK of our FIN arrived.
    RecvAckOfFin,
    /// The 2×MSL timer expired.
    TimeWaitTimeout,
    /// The connection is reset: RST received, user ABORT, or retransmission give-up.
    Reset,
}

impl Input {
    /// All inputs.
    pub const ALL: [Input; 10] = [
        Input::PassiveOpen,
        Input::ActiveOpen,
        Input::Close,
        Input::RecvSyn,
        Input::RecvSynAck,
        Input::RecvAckOfSyn,
        Input::RecvFin,
        Input::RecvAckOfFin,
        Input::TimeWaitTimeout,
        Input::Reset,
    ];
}

/// What a transition asks the connection to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Nothing beyond changing state.
    None,
    /// Send our SYN.
    SendSyn,
    /// Send SYN-ACK.
    SendSynAck,
    /// Acknowledge what arrived.
    SendAck,
    /// Send our FIN (after any queued data).
    SendFin,
    /// Start the 2×MSL timer (a FIN that brought us here is acknowledged as it arrives).
    StartTimeWait,
    /// Delete the TCB.
    Delete,
}

/// The edges of figure 5: `(state, input) → (next state, action)`, or `None` where the figure
/// has no edge (the input is handled without a state change, or is impossible there).
///
/// # Examples
///
/// ```
/// use fsm::{Action, Input, State, transition};
///
/// // The client's side of the three-way handshake, then its active close.
/// assert_eq!(transition(State::Closed, Input::ActiveOpen), Some((State::SynSent, Action::SendSyn)));
/// assert_eq!(transition(State::SynSent, Input::RecvSynAck), Some((State::Established, Action::SendAck)));
/// assert_eq!(transition(State::Established, Input::Close), Some((State::FinWait1, Action::SendFin)));
/// assert_eq!(transition(State::FinWait1, Input::RecvAckOfFin), Some((State::FinWait2, Action::None)));
/// assert_eq!(transition(State::FinWait2, Input::RecvFin), Some((State::TimeWait, Action::StartTimeWait)));
/// assert_eq!(transition(State::TimeWait, Input::TimeWaitTimeout), Some((State::Closed, Action::Delete)));
/// ```
pub fn transition(state: State, input: Input) -> Option<(State, Action)> {
    use Action as A;
    use Input as I;
    use State as S;
    let next = match (state, input) {
        // Opening.
        (S::Closed, I::PassiveOpen) => (S::Listen, A::None),
        (S::Closed, I::ActiveOpen) => (S::SynSent, A::SendSyn),
        (S::Listen, I::RecvSyn) => (S::SynReceived, A::SendSynAck),
        (S::Listen, I::Close) => (S::Closed, A::Delete),
        // Simultaneous open: both SYNs crossed (RFC 9293 §3.5, figure 8).
        (S::SynSent, I::RecvSyn) => (S::SynReceived, A::SendSynAck),
        (S::SynSent, I::RecvSynAck) => (S::Established, A::SendAck),
        (S::SynSent, I::Close) => (S::Closed, A::Delete),
        (S::SynReceived, I::RecvAckOfSyn) => (S::Established, A::None),
        (S::SynReceived, I::Close) => (S::FinWait1, A::SendFin),
        // Closing: active close on the left of the figure, passive on the right.
        (S::Established, I::Close) => (S::FinWait1, A::SendFin),
        (S::Established, I::RecvFin) => (S::CloseWait, A::SendAck),
        (S::FinWait1, I::RecvAckOfFin) => (S::FinWait2, A::None),
        // Simultaneous close (figure 13).
        (S::FinWait1, I::RecvFin) => (S::Closing, A::SendAck),
        (S::FinWait2, I::RecvFin) => (S::TimeWait, A::StartTimeWait),
        (S::Closing, I::RecvAckOfFin) => (S::TimeWait, A::StartTimeWait),
        (S::CloseWait, I::Close) => (S::LastAck, A::SendFin),
        (S::LastAck, I::RecvAckOfFin) => (S::Closed, A::Delete),
        (S::TimeWait, I::TimeWaitTimeout) => (S::Closed, A::Delete),
        // RST, abort and give-up end any connection that exists.
        (S::Closed, I::Reset) => return None,
        (_, I::Reset) => (S::Closed, A::Delete),
        _ => return None,
    };
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Figure 5 written out edge by edge, independently of the `match` above.
    const FIGURE_5: &[(State, Input, State, Action)] = &[
        (
            State::Closed,
            Input::PassiveOpen,
            State::Listen,
            Action::None,
        ),
        (
            State::Closed,
            Input::ActiveOpen,
            State::SynSent,
            Action::SendSyn,
        ),
        (
            State::Listen,
            Input::RecvSyn,
            State::SynReceived,
            Action::SendSynAck,
        ),
        (State::Listen, Input::Close, State::Closed, Action::Delete),
        (
            State::SynSent,
            Input::RecvSyn,
            State::SynReceived,
            Action::SendSynAck,
        ),
        (
            State::SynSent,
            Input::RecvSynAck,
            State::Established,
            Action::SendAck,
        ),
        (State::SynSent, Input::Close, State::Closed, Action::Delete),
        (
            State::SynReceived,
            Input::RecvAckOfSyn,
            State::Established,
            Action::None,
        ),
        (
            State::SynReceived,
            Input::Close,
            State::FinWait1,
            Action::SendFin,
        ),
        (
            State::Established,
            Input::Close,
            State::FinWait1,
            Action::SendFin,
        ),
        (
            State::Established,
            Input::RecvFin,
            State::CloseWait,
            Action::SendAck,
        ),
        (
            State::FinWait1,
            Input::RecvAckOfFin,
            State::FinWait2,
            Action::None,
        ),
        (
            State::FinWait1,
            Input::RecvFin,
            State::Closing,
            Action::SendAck,
        ),
        (
            State::FinWait2,
            Input::RecvFin,
            State::TimeWait,
            Action::StartTimeWait,
        ),
        (
            State::Closing,
            Input::RecvAckOfFin,
            State::TimeWait,
            Action::StartTimeWait,
        ),
        (
            State::CloseWait,
            Input::Close,
            State::LastAck,
            Action::SendFin,
        ),
        (
            State::LastAck,
            Input::RecvAckOfFin,
            State::Closed,
            Action::Delete,
        ),
        (
            State::TimeWait,
            Input::TimeWaitTimeout,
            State::Closed,
            Action::Delete,
        ),
    ];

    #[test]
    fn every_state_input_pair_matches_figure_5() {
        for state in State::ALL {
            for input in Input::ALL {
                let expected = FIGURE_5
                    .iter()
                    .find(|(s, i, _, _)| *s == state && *i == input)
                    .map(|&(_, _, next, action)| (next, action))
                    .or((input == Input::Reset && state != State::Closed)
                        .then_some((State::Closed, Action::Delete)));
                assert_eq!(transition(state, input), expected, "{state} on {input:?}");
            }
        }
    }

    #[test]
    fn classic_client_and_server_paths() {
        // The lesson's two paths, step by step.
        let client = [
            Input::ActiveOpen,
            Input::RecvSynAck,
            Input::Close,
            Input::RecvAckOfFin,
            Input::RecvFin,
            Input::TimeWaitTimeout,
        ];
        let server = [
            Input::PassiveOpen,
            Input::RecvSyn,
            Input::RecvAckOfSyn,
            Input::RecvFin,
            Input::Close,
            Input::RecvAckOfFin,
        ];
        let walk = |inputs: &[Input]| {
            let mut s = State::Closed;
            let mut seen = vec![s.to_string()];
            for &i in inputs {
                s = transition(s, i).expect("edge of figure 5").0;
                seen.push(s.to_string());
            }
            seen.join(" → ")
        };
        assert_eq!(
            walk(&client),
            "CLOSED → SYN-SENT → ESTABLISHED → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED"
        );
        assert_eq!(
            walk(&server),
            "CLOSED → LISTEN → SYN-RECEIVED → ESTABLISHED → CLOSE-WAIT → LAST-ACK → CLOSED"
        );
    }

    #[test]
    fn synchronized_states() {
        let sync: Vec<_> = State::ALL
            .into_iter()
            .filter(|s| s.is_synchronized())
            .collect();
        assert_eq!(sync.len(), 7);
        assert!(!State::SynReceived.is_synchronized());
        assert!(State::TimeWait.is_synchronized());
    }
}
