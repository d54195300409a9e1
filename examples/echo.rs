//! `echo [flags] [--port 7]`: echoes every connection until EOF, one task per connection.
//!
//! ```sh
//! sudo cargo run --release --example echo -- --port 7
//! # in another shell (same namespace): nc 10.200.0.2 7
//! ```

mod common;

use std::net::SocketAddr;

use net::TcpListener;

#[tokio::main]
async fn main() {
    let (flags, rest) = common::parse_args(std::env::args().skip(1));
    let port = match rest.as_slice() {
        [] => 7,
        [flag, port] if flag == "--port" => port
            .parse()
            .unwrap_or_else(|e| common::fail(&format!("--port: {e}"))),
        _ => common::fail(
            "usage: echo [--tun NAME --addr IP --host IP/PREFIX --mtu N --pcap FILE -v] [--port P]",
        ),
    };
    common::init_tracing(flags.verbose);
    let device = common::tun_device(&flags).unwrap_or_else(|e| common::fail(&e.to_string()));
    let stack = common::stack(&flags, device, fsm::Config::default())
        .unwrap_or_else(|e| common::fail(&e.to_string()));
    let listener = TcpListener::bind(&stack, SocketAddr::new(flags.addr, port))
        .await
        .unwrap_or_else(|e| common::fail(&format!("bind: {e}")));
    eprintln!(
        "echo: listening on {}:{port} (TUN {})",
        flags.addr, flags.tun
    );
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((mut stream, peer)) => {
                    tokio::spawn(async move {
                        let (mut rd, mut wr) = stream.split();
                        match tokio::io::copy(&mut rd, &mut wr).await {
                            Ok(n) => eprintln!("echo: {peer}: {n} bytes"),
                            Err(e) => eprintln!("echo: {peer}: {e}"),
                        }
                    });
                }
                Err(e) => common::fail(&format!("accept: {e}")),
            },
            _ = tokio::signal::ctrl_c() => return,
        }
    }
}
