//! The paved-path server, `serve(stream, &hub, decide)`, on two executors that share nothing:
//! smol, and tokio through tokio-util's compat layer. Both serve the same kind of hub with the
//! crate's default timer, and a blocking client that reconnects with `Last-Event-ID` gets
//! exactly the events it missed, then live ones. Nothing in the server loop is tied to a
//! runtime; these tests keep it that way. The blocking short form, `serve_blocking`, tells the
//! same story on plain threads.

mod io_support;
mod server_support;

use core::net::SocketAddr;
use std::net::TcpListener;
use std::sync::Arc;

use io_support::{Client, events};
use sansse::io::FuturesIo;
use sansse::{AcceptOptions, Answer, Ring, StdHub, serve};
use server_support::Seen;

type Log = Ring<64, 16_384>;

/// Publishes two events to a listening client, lets it go, publishes two more, and checks that
/// the client, back with the last id it saw, gets those two replayed and then a live one.
fn a_client_resumes_with_last_event_id_and_gets_the_replay(addr: SocketAddr, hub: &StdHub<Log>) {
    let mut first = Client::connect(addr, "/events", None);
    // The keep-alive announcement comes right after the response head: the stream is open.
    first.wait_for(|seen| seen.iter().any(|s| matches!(s, Seen::Comment(_))));
    hub.publish(None, "one").unwrap();
    hub.publish(None, "two").unwrap();
    first.wait_for(|seen| events(seen).len() == 2);
    let last_id = events(&first.listener.seen)[1].2.clone();
    drop(first);

    hub.publish(None, "three").unwrap();
    hub.publish(None, "four").unwrap();
    let mut second = Client::connect(addr, "/events", Some(&last_id));
    second.wait_for(|seen| events(seen).len() == 2);
    hub.publish(None, "five").unwrap();
    second.wait_for(|seen| events(seen).len() == 3);

    let data: Vec<String> = events(&second.listener.seen)
        .into_iter()
        .map(|(_, data, _)| data)
        .collect();
    assert_eq!(data, ["three", "four", "five"]);
}

/// A listener on a free loopback port, and its address.
fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

#[test]
fn the_paved_path_resumes_and_replays_on_smol() {
    let hub = Arc::new(StdHub::new(Log::new(1)));
    let (listener, addr) = listener();
    let server_hub = Arc::clone(&hub);
    // The server thread outlives the test, as a server would; the process ends it.
    std::thread::spawn(move || {
        smol::block_on(async move {
            let listener = smol::Async::new(listener).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let hub = Arc::clone(&server_hub);
                smol::spawn(async move {
                    let stream = FuturesIo::new(stream);
                    let _ = serve(stream, &*hub, |_| Answer::Accept(AcceptOptions::new())).await;
                })
                .detach();
            }
        });
    });

    a_client_resumes_with_last_event_id_and_gets_the_replay(addr, &hub);
}

#[test]
fn the_paved_path_resumes_and_replays_on_tokio() {
    use tokio_util::compat::TokioAsyncReadCompatExt;

    let hub = Arc::new(StdHub::new(Log::new(1)));
    let (listener, addr) = listener();
    listener.set_nonblocking(true).unwrap();
    let server_hub = Arc::clone(&hub);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let hub = Arc::clone(&server_hub);
                // tokio::spawn: the connection's future is Send, as a multi-threaded runtime
                // needs.
                tokio::spawn(async move {
                    let stream = FuturesIo::new(stream.compat());
                    let _ = serve(stream, &*hub, |_| Answer::Accept(AcceptOptions::new())).await;
                });
            }
        });
    });

    a_client_resumes_with_last_event_id_and_gets_the_replay(addr, &hub);
}

#[test]
fn the_blocking_short_form_resumes_and_replays_on_plain_threads() {
    let hub = Arc::new(StdHub::new(Log::new(1)));
    let (listener, addr) = listener();
    let server_hub = Arc::clone(&hub);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let hub = Arc::clone(&server_hub);
            std::thread::spawn(move || {
                sansse::io::server::serve_blocking(stream, &hub, |_| {
                    Answer::Accept(AcceptOptions::new())
                })
            });
        }
    });

    a_client_resumes_with_last_event_id_and_gets_the_replay(addr, &hub);
}
