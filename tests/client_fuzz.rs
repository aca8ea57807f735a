//! The `client` fuzz target's body on stable: hand-written scenarios and proptest-generated
//! operation streams, checked against its invariants (see `fuzz/bodies/client.rs`), and checked
//! to reach the deep states a fuzzer would take long to find.

#[allow(dead_code)]
#[path = "../fuzz/bodies/client.rs"]
mod client_body;

use client_body::{Op, encode, run};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

#[test]
fn empty_and_short_inputs() {
    for data in [&b""[..], b"\0", b"\x01\x02\x03", b"\xff\xff\xff\xff\xff"] {
        client_body::client(data);
    }
}

#[test]
fn a_stream_that_opens_delivers_drops_and_resumes() {
    let ops = [
        Op::Connected {
            chunk: 7,
            with_headers: true,
        },
        Op::Respond {
            kind: 3,
            arg: 0,
            cut: 20,
        },
        Op::Body {
            payload: b"id: 1\ndata: a\n\nid: 2\ndata: b".to_vec(),
            split: 9,
            cuts: [3, 30],
        },
        Op::Eof,
        Op::Deadline,
        Op::Connected {
            chunk: 63,
            with_headers: false,
        },
        Op::Respond {
            kind: 0,
            arg: 0,
            cut: 0,
        },
        Op::DropEarly {
            take: 1,
            payload: b"id: 3\ndata: c\n\nid: 4\ndata: d\n\n".to_vec(),
            split: 0,
        },
        Op::Deadline,
        Op::Connected {
            chunk: 1,
            with_headers: false,
        },
    ];
    let coverage = run(&encode([0, 0, 10, 10], &ops));
    assert_eq!(coverage.opened, 2);
    assert_eq!(coverage.messages, 1);
    assert_eq!(coverage.undelivered, 1);
    assert_eq!(coverage.reconnects, 2);
    assert_eq!(coverage.requests_checked, 3);
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop_oneof![
        4 => Just(b"data: x\n".to_vec()),
        3 => Just(b"\n".to_vec()),
        2 => (0u8..9).prop_map(|n| format!("id: {n}\n").into_bytes()),
        1 => Just(b"id\n".to_vec()),
        1 => Just(b"id: \x01\n".to_vec()),
        1 => Just(b"event: e\n".to_vec()),
        1 => (0u16..2000).prop_map(|n| format!("retry: {n}\n").into_bytes()),
        1 => (1u16..500).prop_map(|n| format!(":keepalive {n}\n").into_bytes()),
        1 => Just(format!("data: {}\n", "y".repeat(70)).into_bytes()),
        1 => Just(b"\r\n".to_vec()),
        1 => Just(b"\r".to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 0..8),
    ];
    proptest::collection::vec(fragment, 0..10).prop_map(|fs| fs.concat())
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<u8>(), any::<bool>())
            .prop_map(|(chunk, with_headers)| Op::Connected { chunk, with_headers }),
        4 => (any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(kind, arg, cut)| Op::Respond { kind, arg, cut }),
        8 => (payload(), any::<u8>(), any::<[u8; 2]>())
            .prop_map(|(payload, split, cuts)| Op::Body { payload, split, cuts }),
        2 => (any::<u8>(), payload(), any::<u8>())
            .prop_map(|(take, payload, split)| Op::DropEarly { take, payload, split }),
        1 => Just(Op::EndBody),
        2 => Just(Op::Eof),
        1 => Just(Op::Error),
        4 => Just(Op::Deadline),
        2 => (any::<u8>(), any::<u8>()).prop_map(|(scale, amount)| Op::Jump { scale, amount }),
        1 => any::<u8>().prop_map(|amount| Op::Back { amount }),
        2 => any::<u8>().prop_map(|how| Op::Ack { how }),
        1 => Just(Op::LinkDown),
        1 => Just(Op::LinkUp),
        1 => Just(Op::Pong),
        1 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(|bytes| Op::Garbage { bytes }),
    ]
}

/// One connection's life, mostly a healthy one: wait, connect, open, stream, then end somehow.
fn connection() -> impl Strategy<Value = Vec<Op>> {
    let open = prop_oneof![
        8 => (0u8..7, any::<u8>(), any::<u8>()),
        1 => (any::<u8>(), any::<u8>(), any::<u8>()),
    ];
    (
        any::<u8>(),
        open,
        proptest::collection::vec(op(), 0..4),
        proptest::collection::vec(
            prop_oneof![
                4 => (payload(), any::<u8>(), any::<[u8; 2]>())
                    .prop_map(|(payload, split, cuts)| Op::Body { payload, split, cuts }),
                1 => (any::<u8>(), payload(), any::<u8>())
                    .prop_map(|(take, payload, split)| Op::DropEarly { take, payload, split }),
            ],
            1..6,
        ),
        op(),
    )
        .prop_map(|(chunk, (kind, arg, cut), noise, bodies, end)| {
            let mut ops = vec![
                Op::Deadline,
                Op::Connected {
                    chunk,
                    with_headers: chunk % 2 == 0,
                },
                Op::Respond { kind, arg, cut },
            ];
            for (i, body) in bodies.into_iter().enumerate() {
                ops.push(body);
                if let Some(op) = noise.get(i) {
                    ops.push(op.clone());
                }
            }
            ops.push(end);
            ops
        })
}

/// Whole runs: several connections with stray operations between them.
fn operations() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(
        prop_oneof![3 => connection(), 1 => proptest::collection::vec(op(), 0..4)],
        1..8,
    )
    .prop_map(|runs| runs.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_keep_the_invariants(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        client_body::client(&data);
    }

    #[test]
    fn any_operations_keep_the_invariants(
        setup in any::<[u8; 4]>(),
        ops in prop_oneof![operations(), proptest::collection::vec(op(), 0..60)],
    ) {
        client_body::client(&encode(setup, &ops));
    }
}

#[test]
fn generated_operations_reach_deep_states() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (any::<[u8; 4]>(), operations());
    let mut total = client_body::Coverage::default();
    for _ in 0..200 {
        let (setup, ops) = strategy.new_tree(&mut runner).unwrap().current();
        let coverage = run(&encode(setup, &ops));
        total.opened += coverage.opened;
        total.messages += coverage.messages;
        total.compared += coverage.compared;
        total.reconnects += coverage.reconnects;
        total.undelivered += coverage.undelivered;
        total.requests_checked += coverage.requests_checked;
    }
    assert!(total.opened > 100, "{total:?}");
    assert!(total.messages > 200, "{total:?}");
    assert!(total.compared > 200, "{total:?}");
    assert!(total.reconnects > 200, "{total:?}");
    assert!(total.undelivered > 5, "{total:?}");
    assert!(total.requests_checked > 200, "{total:?}");
}
