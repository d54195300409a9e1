//! Packet-level tests of the engine, smoltcp style: send this segment at time N, expect that
//! one. One file per topic; tests are named `<state>_<event>_<outcome>`.

mod harness;

mod close;
mod data;
mod handshake;
mod retransmit;
mod rst;
mod window;
