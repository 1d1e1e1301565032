//! The limits model on its own, on a virtual clock: each limit admits exactly its rate (plus
//! the one second of it a bucket holds), conflicts last exactly a transaction's hold, the scale
//! divides every rate, and refused calls get the answer DynamoDB, SES and SNS give. (What the
//! SDK makes of those answers is `limits_answers.rs`.)

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use emulation::call::{Access, Call, ItemAccess, ItemKey, KeyPart, Service};
use emulation::hook::{Action, Decision, Hook};
use emulation::limits::params::{LatencySpec, Limits};
use emulation::limits::{LimitsModel, Verdict};
use emulation::tables::TableInfo;

const TABLE: &str = "tickets";

fn table_info(on_demand: bool) -> TableInfo {
    TableInfo {
        partition_key: "pk".into(),
        sort_key: Some("sk".into()),
        arn: format!("arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}"),
        on_demand,
    }
}

fn item(pk: &str, sk: &str, access: Access, size_bytes: usize) -> ItemAccess {
    ItemAccess {
        key: ItemKey {
            table: TABLE.into(),
            partition: KeyPart::string("pk", pk),
            sort: Some(KeyPart::string("sk", sk)),
        },
        access,
        size_bytes,
        consistent: true,
    }
}

fn call(service: Service, operation: &str, items: Vec<ItemAccess>) -> Call {
    call_on(service, operation, items, true)
}

fn call_on(service: Service, operation: &str, items: Vec<ItemAccess>, on_demand: bool) -> Call {
    Call {
        id: 0,
        service,
        operation: operation.into(),
        region: Some("us-east-1".into()),
        tables: if items.is_empty() { vec![] } else { vec![TABLE.into()] },
        table_info: BTreeMap::from([(TABLE.to_owned(), table_info(on_demand))]),
        items,
        queue: None,
        topic: None,
        body_len: 0,
    }
}

fn transaction(items: Vec<ItemAccess>) -> Call {
    call(Service::DynamoDb, "TransactWriteItems", items)
}

fn ticket(user: usize) -> Vec<ItemAccess> {
    vec![
        item("EVENT", &format!("T{user}"), Access::Put, 200),
        item("EVENT", "COUNTER", Access::Update, 60),
    ]
}

/// Every latency fixed at `ms` (p50 = p99), so holds are exact.
fn limits_with_latency(ms: f64) -> Limits {
    let mut limits = Limits::default();
    for spec in &mut limits.latencies {
        *spec = LatencySpec {
            p50_ms: ms,
            p99_ms: ms,
            ..spec.clone()
        };
    }
    limits
}

fn body(decision: &Decision) -> serde_json::Value {
    match &decision.action {
        Action::Answer(answer) => serde_json::from_str(&answer.body).unwrap(),
        other => panic!("expected an answer, got {other:?}"),
    }
}

fn reasons(decision: &Decision) -> Vec<String> {
    body(decision)["CancellationReasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Code"].as_str().unwrap().to_owned())
        .collect()
}

/// What a limit of `rate` units per second (`burst` seconds of it in the bucket at the start)
/// admits of requests of `units` offered faster than it, the last `last_offer` seconds after the
/// first.
fn at_rate(rate: f64, burst: f64, units: f64, last_offer: f64) -> usize {
    ((rate * burst + rate * last_offer) / units).floor() as usize
}

fn assert_near(admitted: usize, expected: usize) {
    assert!(
        admitted.abs_diff(expected) <= 1,
        "admitted {admitted}, the rate allows {expected}"
    );
}

/// Offer `make(i)` every `every` for `seconds` from `start`; the calls admitted.
fn offered(model: &LimitsModel, start: Instant, every: Duration, seconds: f64, make: impl Fn(usize) -> Call) -> usize {
    let mut admitted = 0;
    let mut i = 0;
    let end = start + Duration::from_secs_f64(seconds);
    let mut now = start;
    while now < end {
        if model.decide(&make(i), now).action == Action::Forward {
            admitted += 1;
        }
        i += 1;
        now += every;
    }
    admitted
}

#[test]
fn a_transaction_on_a_held_item_is_cancelled_at_that_items_index_until_the_hold_ends() {
    let model = LimitsModel::new(limits_with_latency(10.0));
    let t0 = Instant::now();
    let first = model.decide(&transaction(ticket(1)), t0);
    assert_eq!(first.action, Action::Forward);
    assert_eq!(first.not_before, Some(t0 + Duration::from_millis(10)));

    // Another ticket of the same event 1 ms later: its counter update (index 1) conflicts.
    let second = model.decide(&transaction(ticket(2)), t0 + Duration::from_millis(1));
    assert_eq!(reasons(&second), ["None", "TransactionConflict"]);
    let message = body(&second)["Message"].as_str().unwrap().to_owned();
    assert!(message.ends_with("[None, TransactionConflict]"), "{message}");
    assert_eq!(
        body(&second)["CancellationReasons"][1]["Message"],
        "Transaction is ongoing for the item."
    );
    // The refusal too comes after the operation's latency.
    assert_eq!(second.not_before, Some(t0 + Duration::from_millis(11)));

    // A single write on the held counter: TransactionConflictException; on another item: fine.
    let put = |sk: &str| {
        call(
            Service::DynamoDb,
            "UpdateItem",
            vec![item("EVENT", sk, Access::Update, 60)],
        )
    };
    let conflicting = model.decide(&put("COUNTER"), t0 + Duration::from_millis(2));
    assert!(
        body(&conflicting)["__type"]
            .as_str()
            .unwrap()
            .ends_with("#TransactionConflictException")
    );
    assert_eq!(
        model.decide(&put("OTHER"), t0 + Duration::from_millis(2)).action,
        Action::Forward
    );
    // A read is never refused for a conflict.
    let get = call(
        Service::DynamoDb,
        "GetItem",
        vec![item("EVENT", "COUNTER", Access::Get, 60)],
    );
    assert_eq!(
        model.decide(&get, t0 + Duration::from_millis(3)).action,
        Action::Forward
    );

    // Once the winner's service time has passed, the item is free again.
    assert_eq!(
        model
            .decide(&transaction(ticket(3)), t0 + Duration::from_millis(10))
            .action,
        Action::Forward
    );
    let counts = &model.counts()["DynamoDB.TransactWriteItems"];
    assert_eq!((counts[&Verdict::Admitted], counts[&Verdict::Conflict]), (2, 1));
}

#[test]
fn one_item_takes_exactly_one_transaction_per_hold_time() {
    // Hold 10 ms: offered every 1 ms for 1 s, exactly 100 transactions win.
    let model = LimitsModel::new(limits_with_latency(10.0));
    let admitted = offered(&model, Instant::now(), Duration::from_millis(1), 1.0, |i| {
        transaction(ticket(i))
    });
    assert_eq!(admitted, 100);
    assert!((model.mean_transaction_hold().as_secs_f64() - 0.010).abs() < 1e-9);
}

#[test]
fn a_transaction_get_conflicts_with_a_single_write_in_progress() {
    let model = LimitsModel::new(limits_with_latency(10.0));
    let t0 = Instant::now();
    let write = call(Service::DynamoDb, "PutItem", vec![item("E", "A", Access::Put, 60)]);
    assert_eq!(model.decide(&write, t0).action, Action::Forward);
    let read = call(
        Service::DynamoDb,
        "TransactGetItems",
        vec![item("E", "B", Access::Get, 60), item("E", "A", Access::Get, 60)],
    );
    assert_eq!(
        reasons(&model.decide(&read, t0 + Duration::from_millis(5))),
        ["None", "TransactionConflict"]
    );
    assert_eq!(
        model.decide(&read, t0 + Duration::from_millis(10)).action,
        Action::Forward
    );
}

#[test]
fn transaction_gets_hold_nothing_but_wait_for_a_write_transaction() {
    // "Transaction conflict handling": a TransactGetItems conflicts with an ongoing
    // TransactWriteItems (or single write) on its items; no request conflicts with an ongoing
    // TransactGetItems. Every sold-out answer of a sharded event reads the same counters at once.
    let model = LimitsModel::new(limits_with_latency(10.0));
    let t0 = Instant::now();
    let read = |user: &str| {
        call(
            Service::DynamoDb,
            "TransactGetItems",
            vec![item("E", user, Access::Get, 60), item("E", "COUNTER", Access::Get, 60)],
        )
    };
    for (i, user) in ["U1", "U2", "U3"].iter().enumerate() {
        let at = t0 + Duration::from_millis(i as u64);
        assert_eq!(model.decide(&read(user), at).action, Action::Forward, "read {user}");
    }
    let take_seat = transaction(vec![
        item("E", "U4", Access::Put, 60),
        item("E", "COUNTER", Access::Update, 60),
    ]);
    assert_eq!(
        model.decide(&take_seat, t0 + Duration::from_millis(3)).action,
        Action::Forward,
        "a write transaction does not wait for reads"
    );
    assert_eq!(
        reasons(&model.decide(&read("U5"), t0 + Duration::from_millis(5))),
        ["None", "TransactionConflict"],
        "a read waits for the write transaction's hold"
    );
    assert_eq!(
        model.decide(&read("U5"), t0 + Duration::from_millis(13)).action,
        Action::Forward
    );
    let counts = &model.counts()["DynamoDB.TransactGetItems"];
    assert_eq!((counts[&Verdict::Admitted], counts[&Verdict::Conflict]), (4, 1));
}

#[test]
fn a_partition_key_takes_exactly_its_write_units_per_second_and_the_scale_divides_them_and_stretches_the_burst() {
    let put = |i: usize| {
        call(
            Service::DynamoDb,
            "PutItem",
            vec![item("HOT", &format!("i{i}"), Access::Put, 900)],
        )
    };
    // 1 KB puts offered at 4,000/s for 4 s on one partition key: 1,000 WCU/s + 1 s of burst.
    let model = LimitsModel::new(limits_with_latency(1.0));
    let admitted = offered(&model, Instant::now(), Duration::from_micros(250), 4.0, put);
    assert_near(admitted, at_rate(1_000.0, 1.0, 1.0, 3.99975));
    // Scale 10: 100 WCU/s, and 10 s of them in the bucket (production's one second, in slow motion).
    let model = LimitsModel::new(Limits {
        scale: 10.0,
        ..limits_with_latency(1.0)
    });
    let admitted = offered(&model, Instant::now(), Duration::from_micros(250), 4.0, put);
    assert_near(admitted, at_rate(100.0, 10.0, 1.0, 3.99975));
    // Items over 1 KB cost a unit per started KB: 2.5 KB → 3 units.
    let model = LimitsModel::new(limits_with_latency(1.0));
    let big = |i: usize| {
        call(
            Service::DynamoDb,
            "PutItem",
            vec![item("HOT", &format!("i{i}"), Access::Put, 2_500)],
        )
    };
    let admitted = offered(&model, Instant::now(), Duration::from_micros(250), 4.0, big);
    assert_near(admitted, at_rate(1_000.0, 1.0, 3.0, 3.99975));
    // Other partition keys are not affected by a hot one.
    let cold = call(Service::DynamoDb, "PutItem", vec![item("COLD", "x", Access::Put, 10)]);
    assert_eq!(model.decide(&cold, Instant::now()).action, Action::Forward);
}

#[test]
fn a_single_call_over_budget_gets_the_tables_throttling_exception() {
    let limits = Limits {
        partition_write_units_per_second: 2.0,
        partition_read_units_per_second: 2.0,
        ..limits_with_latency(1.0)
    };
    let model = LimitsModel::new(limits.clone());
    let t0 = Instant::now();
    let put = |on_demand| {
        call_on(
            Service::DynamoDb,
            "PutItem",
            vec![item("P", "a", Access::Put, 10)],
            on_demand,
        )
    };
    assert_eq!(model.decide(&put(true), t0).action, Action::Forward);
    assert_eq!(model.decide(&put(true), t0).action, Action::Forward);
    let refused = model.decide(&put(true), t0);
    let on_demand = body(&refused);
    assert!(on_demand["__type"].as_str().unwrap().ends_with("#ThrottlingException"));
    assert_eq!(
        on_demand["throttlingReasons"][0]["reason"],
        "TableWriteKeyRangeThroughputExceeded"
    );
    assert!(
        on_demand["throttlingReasons"][0]["resource"]
            .as_str()
            .unwrap()
            .ends_with(":table/tickets")
    );
    let provisioned = body(&model.decide(&put(false), t0));
    assert!(
        provisioned["__type"]
            .as_str()
            .unwrap()
            .ends_with("#ProvisionedThroughputExceededException")
    );
    assert_eq!(
        provisioned["ThrottlingReasons"][0]["reason"],
        "TableWriteKeyRangeThroughputExceeded"
    );
    // Reads have their own bucket: a strongly consistent read of ≤ 4 KB is one unit.
    let get = call(Service::DynamoDb, "GetItem", vec![item("P", "a", Access::Get, 10)]);
    assert_eq!(model.decide(&get, t0).action, Action::Forward);
    assert_eq!(model.decide(&get, t0).action, Action::Forward);
    let read_refused = body(&model.decide(&get, t0));
    assert_eq!(
        read_refused["throttlingReasons"][0]["reason"],
        "TableReadKeyRangeThroughputExceeded"
    );
    // A second later the bucket has refilled.
    assert_eq!(
        model.decide(&put(true), t0 + Duration::from_secs(1)).action,
        Action::Forward
    );
}

#[test]
fn a_transaction_over_budget_is_cancelled_with_throttling_reasons_at_its_throttled_items() {
    let model = LimitsModel::new(Limits {
        partition_write_units_per_second: 4.0,
        ..limits_with_latency(1.0)
    });
    let t0 = Instant::now();
    // A transactional item of ≤ 1 KB costs 2 units: two tickets' worth fills the hot partition.
    let spread = |i: usize| {
        transaction(vec![
            item(&format!("COLD{i}"), "T", Access::Put, 100),
            item("HOT", "COUNTER", Access::Update, 60),
        ])
    };
    assert_eq!(model.decide(&spread(0), t0).action, Action::Forward);
    assert_eq!(
        model.decide(&spread(1), t0 + Duration::from_millis(2)).action,
        Action::Forward
    );
    let refused = model.decide(&spread(2), t0 + Duration::from_millis(4));
    assert_eq!(reasons(&refused), ["None", "ThrottlingError"]);
    let refused = model.decide(
        &call_on(Service::DynamoDb, "TransactWriteItems", spread(3).items, false),
        t0 + Duration::from_millis(6),
    );
    assert_eq!(reasons(&refused), ["None", "ProvisionedThroughputExceeded"]);
    // Refused transactions held nothing and consumed nothing: the refused ticket's own
    // partition still has its 4 units.
    let cold = call(
        Service::DynamoDb,
        "PutItem",
        vec![item("COLD2", "T", Access::Put, 3_000)],
    );
    assert_eq!(
        model.decide(&cold, t0 + Duration::from_millis(6)).action,
        Action::Forward
    );
    assert_eq!(model.counts()["DynamoDB.TransactWriteItems"][&Verdict::Throttled], 2);
}

#[test]
fn ses_and_sns_admit_exactly_their_rates_and_refuse_in_their_own_shapes() {
    let email = || call(Service::Ses, "SendEmail", vec![]);
    let publish = || call(Service::Sns, "Publish", vec![]);
    // SES at 14/s, offered 100/s for 10 s.
    let model = LimitsModel::new(limits_with_latency(1.0));
    let admitted = offered(&model, Instant::now(), Duration::from_millis(10), 10.0, |_| email());
    assert_near(admitted, at_rate(14.0, 1.0, 1.0, 9.99));
    // Scale 2: 7/s, 2 s of them in the bucket.
    let model = LimitsModel::new(Limits {
        scale: 2.0,
        ..limits_with_latency(1.0)
    });
    let admitted = offered(&model, Instant::now(), Duration::from_millis(10), 10.0, |_| email());
    assert_near(admitted, at_rate(7.0, 2.0, 1.0, 9.99));
    let refused = model.decide(&email(), Instant::now());
    match &refused.action {
        Action::Answer(answer) => {
            assert_eq!(answer.status, 429);
            assert_eq!(answer.code, "TooManyRequestsException");
            assert!(answer.body.contains("Maximum sending rate exceeded."));
        }
        other => panic!("{other:?}"),
    }
    // SNS at a configured 50/s, offered 200/s for 5 s.
    let model = LimitsModel::new(Limits {
        sns_publish_rate: 50.0,
        ..limits_with_latency(1.0)
    });
    let admitted = offered(&model, Instant::now(), Duration::from_millis(5), 5.0, |_| publish());
    assert_near(admitted, at_rate(50.0, 1.0, 1.0, 4.995));
    match &model.decide(&publish(), Instant::now()).action {
        Action::Answer(answer) => {
            assert_eq!((answer.status, answer.code.as_str()), (400, "Throttling"));
            assert!(answer.body.contains("<Message>Rate exceeded</Message>"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_scaled_run_absorbs_the_burst_production_absorbs() {
    // SES takes 14 emails at once in production (one second of its 14/s); at scale 6 too, in
    // a bucket refilled at 14/6 a second: slow motion changes when, not how many.
    let email = || call(Service::Ses, "SendEmail", vec![]);
    for scale in [1.0, 6.0] {
        let model = LimitsModel::new(Limits {
            scale,
            ..limits_with_latency(1.0)
        });
        let now = Instant::now();
        let admitted = (0..15)
            .filter(|_| model.decide(&email(), now).action == Action::Forward)
            .count();
        assert_eq!(admitted, 14, "scale {scale}");
        let in_force = model_row(
            &Limits {
                scale,
                ..Limits::default()
            },
            "burst_seconds",
        );
        assert_eq!(in_force, scale);
    }
}

fn model_row(limits: &Limits, name: &str) -> f64 {
    limits.rows().into_iter().find(|row| row.name == name).unwrap().value
}

#[test]
fn every_call_is_answered_no_sooner_than_its_modelled_latency_and_the_scale_stretches_it() {
    let t0 = Instant::now();
    let model = LimitsModel::new(Limits {
        scale: 3.0,
        ..limits_with_latency(20.0)
    });
    let send = call(Service::Sqs, "SendMessage", vec![]);
    assert_eq!(model.decide(&send, t0).not_before, Some(t0 + Duration::from_millis(60)));
    // With the default distributions, draws spread around each operation's median.
    let model = LimitsModel::new(Limits::default());
    let mut draws: Vec<Duration> = (0..2_000)
        .map(|_| model.decide(&send, t0).not_before.unwrap() - t0)
        .collect();
    draws.sort();
    let p50 = draws[1_000].as_secs_f64() * 1e3;
    assert!((p50 - 8.0).abs() < 1.0, "SQS SendMessage p50 {p50} ms");
}
