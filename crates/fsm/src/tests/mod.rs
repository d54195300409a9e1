//! Packet-level tests of the engine, smoltcp style: send this segment at time N, expect that
//! one. One file per topic; tests are named `<state>_<event>_<outcome>`.

mod harness;
mod link;

mod autotune;
mod close;
mod data;
mod goodput;
mod handshake;
mod options;
mod path;
mod rack;
mod recovery;
mod retransmit;
mod rst;
mod sack;
mod sim;
mod table;
mod tail_loss;
mod window;
