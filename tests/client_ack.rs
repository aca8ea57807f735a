//! Acknowledged resume: the id only moves when the application says it processed an event.

mod client_harness;

use client_harness::{Client, EXACT, Ev, SSE_HEAD, msg};
use sansse::client::{AckError, ClientConfig, ResumeMode};

const CONFIG: ClientConfig<'static> = ClientConfig::new("example.com", "/events")
    .with_backoff(EXACT)
    .with_resume(ResumeMode::Acknowledged);

const THREE: &[u8] = b"id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n";

fn reconnect(client: &mut Client) -> Option<String> {
    client.eof();
    client.fire();
    client.connected();
    client.last_request_id()
}

#[test]
fn reconnect_carries_the_acknowledged_id_not_the_dispatched_one() {
    let mut client = Client::new(CONFIG);
    assert_eq!(client.open(THREE).len(), 3);
    assert_eq!(client.session.last_event_id(), "3");
    assert_eq!(client.session.resume_id(), "");
    assert_eq!(client.take_events(), [Ev::Open(200)]);
    client.session.ack(client.now, "2").unwrap();
    assert_eq!(client.take_events(), [Ev::Persist("2".to_owned())]);
    assert_eq!(reconnect(&mut client), Some("2".to_owned()));
}

#[test]
fn nothing_acknowledged_resumes_from_the_persisted_id() {
    let mut client = Client::new(CONFIG.with_last_event_id("41"));
    assert_eq!(client.connected_id(), Some("41".to_owned()));
    let got = client.feed(&[SSE_HEAD, b"id: 42\ndata: a\n\nid: 43\ndata: b\n\n"].concat());
    assert_eq!(got.len(), 2);
    // A crash here loses nothing: the events were never acknowledged.
    assert_eq!(reconnect(&mut client), Some("41".to_owned()));
    assert!(
        !client
            .take_events()
            .iter()
            .any(|e| matches!(e, Ev::Persist(_)))
    );
}

#[test]
fn acknowledging_what_was_processed_stops_where_processing_stopped() {
    let mut client = Client::new(CONFIG);
    client.connected();
    let bytes = [SSE_HEAD, THREE].concat();
    let mut messages = client.session.handle_bytes(client.now, &bytes);
    let mut processed = Vec::new();
    while let Some(Ok(event)) = messages.next() {
        processed.push(event.id().to_owned());
        if processed.len() == 2 {
            break; // the application dies while handling the third event
        }
    }
    drop(messages);
    let last = processed.last().unwrap().clone();
    client.session.ack(client.now, &last).unwrap();
    assert_eq!(processed, ["1", "2"]);
    let events = client.take_events();
    assert_eq!(events[0], Ev::Persist("2".to_owned()));
    client.fire();
    client.connected();
    assert_eq!(client.last_request_id(), Some("2".to_owned()));
    // The replay starts after 2; events without id report the acknowledged one.
    let got = client.feed(&[SSE_HEAD, b"data: replayed\n\n"].concat());
    assert_eq!(got, [msg("message", "replayed", "2")]);
}

#[test]
fn acknowledging_the_last_event_id_takes_everything_handed_out() {
    let mut client = Client::new(CONFIG);
    client.open(THREE);
    client.take_events();
    let last = client.session.last_event_id().to_owned();
    client.session.ack(client.now, &last).unwrap();
    assert_eq!(client.take_events(), [Ev::Persist("3".to_owned())]);
    assert_eq!(client.session.resume_id(), "3");
    assert_eq!(reconnect(&mut client), Some("3".to_owned()));
}

#[test]
fn only_the_latest_acknowledgement_is_offered_for_persisting() {
    let mut client = Client::new(CONFIG);
    client.open(THREE);
    client.take_events();
    client.session.ack(client.now, "1").unwrap();
    client.session.ack(client.now, "3").unwrap();
    assert_eq!(client.take_events(), [Ev::Persist("3".to_owned())]);
}

#[test]
fn acknowledging_an_empty_id_clears_it() {
    let mut client = Client::new(CONFIG.with_last_event_id("9"));
    client.connected();
    client.session.ack(client.now, "").unwrap();
    assert_eq!(client.take_events(), [Ev::Persist(String::new())]);
    assert_eq!(reconnect(&mut client), None);
}

#[test]
fn acknowledgement_errors() {
    let mut client = Client::new(CONFIG);
    assert_eq!(
        client.session.ack(client.now, &"x".repeat(65)),
        Err(AckError::IdTooLong { max: 64 })
    );
    assert!(client.take_events().is_empty());

    let mut plain = Client::new(CONFIG.with_resume(ResumeMode::Dispatched));
    assert_eq!(
        plain.session.ack(plain.now, "1"),
        Err(AckError::NotAcknowledgedMode)
    );
    plain.connected();
    plain.feed(&[SSE_HEAD, b"id: 1\ndata: a\n\n"].concat());
    assert_eq!(
        plain.session.ack(plain.now, "1"),
        Err(AckError::NotAcknowledgedMode)
    );
}

impl Client {
    fn connected_id(&mut self) -> Option<String> {
        self.connected();
        self.last_request_id()
    }
}
