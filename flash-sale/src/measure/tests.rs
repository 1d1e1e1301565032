//! The measurements on a crafted sale: six people admitted one a second for three seats.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use emulation::queues::DeadLetter;
use emulation::sends::{EmailSend, PushSend};
use ticket_processor::Ticket;

use super::*;
use crate::invocations::{InvocationRecord, Received};
use crate::recorder::{CallSummary, Enqueued, Record};
use crate::sale::{Admission, Sale};
use crate::tickets_state::{EventState, ticket_key};

const TABLE: &str = "tickets";

fn at(t0: Instant, seconds: f64) -> Instant {
    t0 + Duration::from_secs_f64(seconds)
}

struct World {
    sale: Sale,
    t0: Instant,
    state: EventState,
    record: Record,
    emails: Vec<(Instant, EmailSend)>,
    pushes: Vec<(Instant, PushSend)>,
    invocations: Vec<InvocationRecord>,
    dead: Vec<DeadLetter>,
}

fn user(sale: &Sale, i: usize) -> String {
    sale.people[i].user_id.clone()
}

/// Three tickets, for people 0, 1 and 4.
fn event_state(sale: &Sale) -> EventState {
    let ticket = |i: usize| Ticket {
        ticket_id: format!("t{i}"),
        event_id: sale.event_id.clone(),
        user_id: user(sale, i),
        issued_at: String::new(),
        message_id: format!("m{i}"),
    };
    EventState {
        tickets: vec![ticket(0), ticket(1), ticket(4)],
        capacity: Some(3),
        issued: Some(3),
        shards: 1,
    }
}

/// The proxy's record: calls (moto slower than the model after the first second), the ticket
/// writes, two sold-out notifications.
fn record(sale: &Sale, t0: Instant) -> Record {
    let put = |i: usize, s: f64| (at(t0, s), ticket_key(TABLE, &sale.event_id, &user(sale, i), 1));
    let sold_out = |i: usize| Enqueued {
        at: at(t0, 5.0),
        user_id: user(sale, i),
        kind: "sold-out".into(),
    };
    let call = |operation: &str, s: f64| CallSummary {
        operation: operation.into(),
        arrived: at(t0, s),
        answered: at(t0, s + 0.01),
        modelled: Some(Duration::from_millis(10)),
        emulator: Some(Duration::from_millis(if s > 1.0 { 30 } else { 5 })),
        status: 200,
        code: None,
        refused_by_model: false,
    };
    Record {
        calls: vec![
            call("SES.SendEmail", 7.1),
            call("SES.SendEmail", 7.2),
            call("SES.SendEmail", 7.3),
            call("DynamoDB.TransactWriteItems", 0.5),
            call("DynamoDB.TransactWriteItems", 3.0),
        ],
        // fan-1's ticket write is seen twice (a retry answered after the first): the first counts.
        puts: vec![put(0, 0.5), put(1, 3.0), put(1, 3.5), put(4, 6.0)],
        transaction_units: vec![4.0, 4.0, 2.0],
        notifications: vec![sold_out(2), sold_out(3)],
    }
}

type Timed<T> = Vec<(Instant, T)>;

/// Emails (person 0 twice, person 4 none) and pushes (person 1 twice).
fn emails_and_pushes(sale: &Sale, t0: Instant) -> (Timed<EmailSend>, Timed<PushSend>) {
    let email = |i: usize, s: f64| {
        let to = vec![sale.people[i].email.clone()];
        let (source, subject, body) = ("tickets@example.com".into(), String::new(), String::new());
        (
            at(t0, s),
            EmailSend {
                source,
                to,
                subject,
                body,
            },
        )
    };
    let push = |i: usize| {
        let attributes = BTreeMap::from([("userId".to_owned(), user(sale, i))]);
        let (topic_arn, text) = ("arn".into(), String::new());
        (
            at(t0, 7.0),
            PushSend {
                topic_arn,
                text,
                attributes,
            },
        )
    };
    let emails = vec![
        email(0, 7.0),
        email(0, 9.0),
        email(1, 8.0),
        email(2, 9.0),
        email(3, 10.0),
    ];
    (emails, vec![push(0), push(1), push(1)])
}

/// ticket-processor's invocations: m2 handed out twice at once, m1 failed and back after 210 s.
fn invocations(t0: Instant) -> Vec<InvocationRecord> {
    let invocation = |s: f64, records: Vec<(&str, u32)>| InvocationRecord {
        function: "ticket-processor".into(),
        started: at(t0, s),
        finished: at(t0, s + 0.1),
        records: records
            .into_iter()
            .map(|(id, n)| Received {
                message_id: id.into(),
                receive_count: n,
                body: String::new(),
            })
            .collect(),
        failed: vec!["m1".into()],
        function_error: None,
    };
    vec![
        invocation(0.0, vec![("m0", 1), ("m1", 1), ("m2", 1)]),
        invocation(0.5, vec![("m2", 2)]),
        invocation(210.0, vec![("m1", 2)]),
    ]
}

fn world() -> World {
    let sale = Sale::plan(1, 3, 6, 0.0, Admission::PerSecond(1.0));
    let t0 = Instant::now();
    let (emails, pushes) = emails_and_pushes(&sale, t0);
    let dead = vec![DeadLetter {
        message_id: "m5".into(),
        body: sale.people[5].body.clone(),
        attributes: BTreeMap::new(),
        receive_count: Some(3),
    }];
    World {
        state: event_state(&sale),
        record: record(&sale, t0),
        emails,
        pushes,
        invocations: invocations(t0),
        dead,
        sale,
        t0,
    }
}

fn observations(w: &World) -> Observations<'_> {
    Observations {
        sale: &w.sale,
        tickets_table: TABLE,
        t0: w.t0,
        scale: 1.0,
        state: &w.state,
        record: &w.record,
        emails: &w.emails,
        pushes: &w.pushes,
        invocations: &w.invocations,
        ticket_dead_letters: &w.dead,
        notification_dead_letters: &[],
        visibility_timeout: Duration::from_secs(210),
    }
}

#[test]
fn each_person_has_one_ending_and_the_outcomes_add_up() {
    let w = world();
    let (endings, outcomes) = outcomes(&observations(&w));
    use Ending::*;
    assert_eq!(endings, [Ticket, Ticket, SoldOut, SoldOut, Ticket, DeadLettered]);
    assert_eq!(
        (
            outcomes.tickets,
            outcomes.sold_out,
            outcomes.dead_lettered,
            outcomes.unresolved
        ),
        (3, 2, 1, 0)
    );
    assert_eq!(
        (outcomes.oversold, outcomes.double_tickets, outcomes.conflicting),
        (0, 0, 0)
    );
    assert!(outcomes.counter_matches);

    // A fourth ticket, a second ticket of one person, a counter that disagrees: all reported.
    let mut broken = world();
    broken.state.tickets.push(broken.state.tickets[0].clone());
    broken.state.issued = Some(3);
    broken.record.notifications.push(Enqueued {
        at: broken.t0,
        user_id: broken.sale.people[1].user_id.clone(),
        kind: "sold-out".into(),
    });
    let (_, outcomes) = super::outcomes(&observations(&broken));
    assert_eq!(
        (outcomes.oversold, outcomes.double_tickets, outcomes.conflicting),
        (1, 1, 1)
    );
    assert!(!outcomes.counter_matches);
}

#[test]
fn time_to_ticket_and_email_run_from_admission_to_the_first_accepted_write_or_send() {
    let w = world();
    let obs = observations(&w);
    let (endings, _) = outcomes(&obs);
    let mut tickets = time_to_ticket(&obs, &endings);
    tickets.sort_by(f64::total_cmp);
    assert_eq!(tickets, [0.5, 2.0, 2.0]);
    let mut emails = time_to_email(&obs);
    emails.sort_by(f64::total_cmp);
    assert_eq!(emails, [7.0, 7.0, 7.0, 7.0]);
}

#[test]
fn the_workers_part_runs_from_a_persons_first_receive_to_their_ticket() {
    let mut w = world();
    let t0 = w.t0;
    let invocation = |function: &str, s: f64, people: &[usize]| InvocationRecord {
        function: function.into(),
        started: at(t0, s),
        finished: at(t0, s + 0.1),
        records: people
            .iter()
            .map(|&i| Received {
                message_id: format!("m{i}-{s}"),
                receive_count: 1,
                body: w.sale.people[i].body.clone(),
            })
            .collect(),
        failed: Vec::new(),
        function_error: None,
    };
    // fan-0 received at 0.2 s, written at 0.5 s; fan-1 received at 1.0 s (and its duplicate at
    // 2.5 s), written at 3.0 s; fan-4 only seen by another function: not counted.
    w.invocations = vec![
        invocation("ticket-processor", 1.0, &[1]),
        invocation("ticket-processor", 0.2, &[0, 2]),
        invocation("ticket-processor", 2.5, &[1]),
        invocation("notification-sender", 0.1, &[4]),
    ];
    let obs = observations(&w);
    let (endings, _) = outcomes(&obs);
    let mut workers = receive_to_ticket(&obs, &endings, "ticket-processor");
    workers.sort_by(f64::total_cmp);
    assert_eq!(workers.len(), 2, "{workers:?}");
    assert!(
        (workers[0] - 0.3).abs() < 1e-9 && (workers[1] - 2.0).abs() < 1e-9,
        "{workers:?}"
    );
}

#[test]
fn a_refusal_is_unfair_when_someone_admitted_more_than_the_window_later_got_a_ticket() {
    let w = world();
    let (endings, _) = outcomes(&observations(&w));
    // The last ticket went to the person admitted at 4 s; fan-2 (2 s) and fan-3 (3 s) were told
    // sold out, fan-5 (5 s) dead-lettered.
    assert_eq!(fairness(&w.sale, &endings, 2.0), (0, 3));
    assert_eq!(fairness(&w.sale, &endings, 1.0), (1, 3));
    assert_eq!(fairness(&w.sale, &endings, 0.5), (2, 3));
}

#[test]
fn sends_count_repeats_missing_emails_and_ses_attempts_per_second() {
    let w = world();
    let obs = observations(&w);
    let (endings, _) = outcomes(&obs);
    let counts: ModelCounts = BTreeMap::from([(
        "SES.SendEmail".to_owned(),
        BTreeMap::from([(Verdict::Admitted, 3), (Verdict::Throttled, 2)]),
    )]);
    let sends = sends(&obs, &endings, &counts, 14.0);
    assert_eq!((sends.emails, sends.people_emailed, sends.repeated_emails), (5, 4, 1));
    assert_eq!((sends.pushes, sends.people_pushed, sends.repeated_pushes), (3, 2, 1));
    // fan-4 has a ticket and no email.
    assert_eq!(sends.missing_emails, 1);
    assert_eq!((sends.ses_throttled, sends.ses_attempts_max_per_second), (2, 3));
    assert_eq!(sends.notifications, 2);
}

#[test]
fn receives_tell_redeliveries_from_the_emulators_double_deliveries() {
    let w = world();
    let receives = receives(&w.invocations, "ticket-processor", Duration::from_secs(210));
    assert_eq!((receives.messages, receives.received_again), (3, 2));
    assert_eq!(receives.by_receive_count, BTreeMap::from([(1, 1), (2, 2)]));
    assert_eq!(receives.emulator_double_deliveries, 1, "m2, received again 0.5 s later");
    assert_eq!((receives.invocations, receives.failed_records), (3, 3));
    assert_eq!(
        super::receives(&w.invocations, "notification-sender", Duration::from_secs(1)).messages,
        0
    );
}

#[test]
fn a_failed_record_back_after_its_retry_delay_is_a_redelivery_not_a_double_delivery() {
    let t0 = Instant::now();
    let invocation = |s: f64, ids: &[&str], failed: &[&str]| InvocationRecord {
        function: "notification-sender".into(),
        started: at(t0, s),
        finished: at(t0, s + 0.1),
        records: ids
            .iter()
            .map(|id| Received {
                message_id: (*id).into(),
                receive_count: 1,
                body: String::new(),
            })
            .collect(),
        failed: failed.iter().map(|id| (*id).to_string()).collect(),
        function_error: None,
    };
    let invocations = vec![
        // n1 failed; its retry delay brought it back 2 s later. n2 succeeded and came back anyway.
        invocation(0.0, &["n1", "n2"], &["n1"]),
        invocation(2.0, &["n1"], &[]),
        invocation(2.5, &["n2"], &[]),
    ];
    let receives = receives(&invocations, "notification-sender", Duration::from_secs(210));
    assert_eq!((receives.messages, receives.failed_records), (2, 1));
    assert_eq!(receives.emulator_double_deliveries, 1, "n2 only");
}

#[test]
fn throughput_is_tickets_per_second_until_sold_out_against_the_ceiling() {
    let w = world();
    let obs = observations(&w);
    let ceiling = Ceiling {
        partition_write_units_per_second: 1_000.0,
        mean_hold_s: 0.02,
    };
    let throughput = throughput(&obs, &ceiling, Some(1.0));
    assert_eq!(throughput.per_second, [1, 0, 0, 2, 0, 0, 1]);
    assert_eq!(throughput.units_per_ticket, 4.0);
    assert_eq!(
        (
            throughput.write_ceiling,
            throughput.conflict_ceiling,
            throughput.ceiling
        ),
        (250.0, 50.0, 50.0)
    );
    // The third seat's write (of four seen) at 3.5 s: three tickets in 3.5 s.
    assert!((throughput.selling_s - 3.5).abs() < 1e-9);
    assert!((throughput.mean - 3.0 / 3.5).abs() < 1e-9);
    assert_eq!(throughput.peak, 2.0);
    assert_eq!(throughput.mean_to_admission, Some(throughput.mean));
}

#[test]
fn operations_count_calls_and_how_often_moto_was_slower_than_the_model() {
    let w = world();
    let counts: ModelCounts = BTreeMap::from([(
        "DynamoDB.TransactWriteItems".to_owned(),
        BTreeMap::from([(Verdict::Conflict, 7)]),
    )]);
    let operations = operations(&w.record, &counts);
    let transactions = &operations["DynamoDB.TransactWriteItems"];
    assert_eq!(
        (transactions.calls, transactions.conflicts, transactions.forwarded),
        (2, 7, 2)
    );
    assert_eq!(transactions.emulator_slower, 1, "30 ms of moto against 10 ms modelled");
    assert_eq!(operations["SES.SendEmail"].emulator_slower, 3);
}

#[test]
fn dead_letters_without_a_kind_were_moved_by_the_redrive_policy() {
    let w = world();
    let mut kinded = w.dead[0].clone();
    kinded
        .attributes
        .insert(shared::attributes::ERROR_KIND.to_owned(), "invalid-field".to_owned());
    let kinds = dead_letter_kinds(&[&w.dead[0], &kinded]);
    assert_eq!(kinds["retries-exhausted"], 1);
    assert_eq!(kinds["invalid-field"], 1);
}
