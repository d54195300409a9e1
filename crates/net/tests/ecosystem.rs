//! The stack's sockets under the Tokio ecosystem's libraries, unchanged: `copy_bidirectional`
//! in a proxy, `tokio_util`'s `Framed`, a hyper 1.x server and client, and TLS with
//! tokio-rustls.

#[path = "common/mem.rs"]
mod mem;

use std::convert::Infallible;
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use mem::Net;
use net::TcpStream;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::{Framed, LinesCodec};

/// A client on one stack talks to a backend on the same stack through a proxy on the other:
/// two connections joined by `copy_bidirectional`.
#[tokio::test(start_paused = true)]
async fn copy_bidirectional_proxies_between_two_connections() {
    let net = Net::v4();
    let backend = net::TcpListener::bind(&net.client, "0.0.0.0:9000".parse().unwrap())
        .await
        .unwrap();
    let backend_addr = std::net::SocketAddr::new(mem::CLIENT_V4, 9000);
    let front = net.listen(8080).await;

    let proxy = tokio::spawn({
        let stack = net.server.clone();
        async move {
            let (mut inbound, _) = front.accept().await?;
            let mut outbound = TcpStream::connect(&stack, backend_addr).await?;
            tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await
        }
    });
    // The backend echoes what it reads, each byte flipped (so an echo that skipped the backend
    // would show), until EOF.
    let backend = tokio::spawn(async move {
        let (mut stream, _) = backend.accept().await?;
        let mut total = 0u64;
        let mut buf = vec![0; 1000];
        loop {
            match stream.read(&mut buf).await? {
                0 => break,
                n => {
                    buf[..n].iter_mut().for_each(|b| *b ^= 0xff);
                    stream.write_all(&buf[..n]).await?;
                    total += n as u64;
                }
            }
        }
        stream.shutdown().await?;
        Ok::<_, std::io::Error>(total)
    });

    let mut client = TcpStream::connect(&net.client, net.server_addr(8080))
        .await
        .unwrap();
    let data = mem::pattern(5, 300_000);
    let (mut rd, mut wr) = client.split();
    let (written, echoed) = tokio::join!(
        async {
            wr.write_all(&data).await?;
            wr.shutdown().await
        },
        async {
            let mut got = Vec::new();
            rd.read_to_end(&mut got).await.map(|_| got)
        }
    );
    written.unwrap();
    let echoed = echoed.unwrap();
    assert_eq!(echoed.len(), data.len());
    assert!(echoed.iter().zip(&data).all(|(e, d)| *e == !*d));
    assert_eq!(backend.await.unwrap().unwrap(), data.len() as u64);
    let (up, down) = proxy.await.unwrap().unwrap();
    assert_eq!((up, down), (data.len() as u64, data.len() as u64));
}

#[tokio::test(start_paused = true)]
async fn framed_lines_codec_round_trips() {
    let net = Net::v4();
    let (client, server) = net.pair(7).await;
    let server = tokio::spawn(async move {
        let mut lines = Framed::new(server, LinesCodec::new());
        let mut seen = 0;
        while let Some(line) = lines.next().await {
            let line = line.expect("a valid line");
            lines.send(line.to_uppercase()).await.expect("send");
            seen += 1;
        }
        seen
    });
    let mut lines = Framed::new(client, LinesCodec::new());
    let words = ["alpha", "beta", "", "gamma delta", &"x".repeat(5000)];
    for word in words {
        lines.send(word).await.unwrap();
    }
    for word in words {
        let reply = lines.next().await.expect("a reply").unwrap();
        assert_eq!(reply, word.to_uppercase());
    }
    // Closing the sink shuts the write side down; the server's stream ends.
    SinkExt::<&str>::close(&mut lines).await.unwrap();
    assert_eq!(server.await.unwrap(), words.len());
    assert!(lines.next().await.is_none());
}

async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = format!("hello from {}", request.uri().path());
    Ok(Response::new(Full::new(Bytes::from(body))))
}

#[tokio::test(start_paused = true)]
async fn hyper_server_and_client_over_the_stack() {
    let net = Net::v4();
    let listener = net.listen(80).await;
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), hyper::service::service_fn(hello))
            .await
    });

    let stream = TcpStream::connect(&net.client, net.server_addr(80))
        .await
        .unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    // Two requests on one keep-alive connection.
    for path in ["/", "/second"] {
        let request = Request::get(path)
            .header("host", "10.0.0.1")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, format!("hello from {path}"));
    }
    // Dropping the client's sender closes the connection; both ends finish cleanly.
    drop(sender);
    connection.await.unwrap().unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn tls_handshake_and_data_with_tokio_rustls() {
    let certified = rcgen::generate_simple_self_signed(vec!["stack.test".to_owned()]).unwrap();
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let client_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();

    let net = Net::v4();
    let listener = net.listen(443).await;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await?;
        let mut tls = acceptor.accept(stream).await?;
        let mut request = Vec::new();
        tls.read_to_end(&mut request).await?;
        tls.write_all(&request).await?;
        tls.write_all(b" (echoed over TLS)").await?;
        tls.shutdown().await?;
        Ok::<_, std::io::Error>(request.len())
    });

    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
    let stream = TcpStream::connect(&net.client, net.server_addr(443))
        .await
        .unwrap();
    let name = ServerName::try_from("stack.test").unwrap();
    let mut tls = connector.connect(name, stream).await.unwrap();
    let (_, session) = tls.get_ref();
    assert!(session.protocol_version().is_some());
    let secret = mem::pattern(8, 100_000);
    tls.write_all(&secret).await.unwrap();
    // close_notify, then FIN: the server's read_to_end ends.
    tls.shutdown().await.unwrap();
    let mut reply = Vec::new();
    tls.read_to_end(&mut reply).await.unwrap();
    assert_eq!(server.await.unwrap().unwrap(), secret.len());
    assert_eq!(reply.len(), secret.len() + 18);
    assert!(reply[..secret.len()] == secret[..]);
    assert_eq!(&reply[secret.len()..], b" (echoed over TLS)");
}
