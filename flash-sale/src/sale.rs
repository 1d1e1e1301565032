//! The sale: one event with S seats, N distinct people, the producer's duplicates, and when the
//! waiting room admits each person. A pure function of the seed and the parameters.

use emulation::rng::Rng;
use serde_json::json;

/// How the waiting room admits people, in the model's time.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Admission {
    /// Everyone at once.
    Burst,
    /// This many people per second, in the order of the line.
    PerSecond(f64),
}

impl Admission {
    /// When the `index`-th person of the line is admitted, in seconds of the model's time.
    pub fn at(&self, index: usize) -> f64 {
        match self {
            Admission::Burst => 0.0,
            Admission::PerSecond(rate) => index as f64 / rate,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Admission::Burst => "a burst (everyone at once)".to_owned(),
            Admission::PerSecond(rate) => format!("{rate:.0} people per second"),
        }
    }
}

/// One person in the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub user_id: String,
    pub email: String,
    /// The ticket request the producer sends for them.
    pub body: String,
}

/// One message the producer sends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outgoing {
    pub person: usize,
    /// A producer duplicate: the person's request sent a second time, as a new message.
    pub duplicate: bool,
    /// When it is due, seconds of the model's time after the sale opened.
    pub due: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sale {
    pub event_id: String,
    pub seats: u64,
    pub admission: Admission,
    pub people: Vec<Person>,
    /// In sending order (by `due`).
    pub messages: Vec<Outgoing>,
}

/// A duplicate follows its original within this many people of the line.
const DUPLICATE_SPREAD: u64 = 40;

impl Sale {
    pub fn plan(seed: u64, seats: u64, requests: usize, duplicate_rate: f64, admission: Admission) -> Self {
        let event_id = format!("flash-sale-{seed}");
        let people: Vec<Person> = (0..requests)
            .map(|i| {
                let user_id = format!("fan-{i:06}");
                let email = format!("{user_id}@example.com");
                let body = json!({"eventId": event_id, "userId": user_id, "contact": {"email": email}}).to_string();
                Person { user_id, email, body }
            })
            .collect();
        let mut rng = Rng::fork(seed, "flash-sale-duplicates");
        // Sort keys: an original at 10·i, its duplicate a few people later.
        let mut keyed: Vec<(u64, Outgoing)> = Vec::with_capacity(requests + requests / 10);
        for i in 0..requests {
            keyed.push((
                10 * i as u64,
                Outgoing {
                    person: i,
                    duplicate: false,
                    due: admission.at(i),
                },
            ));
            if rng.chance(duplicate_rate) {
                let later = i as u64 + rng.between(1, DUPLICATE_SPREAD);
                keyed.push((
                    10 * later + 5,
                    Outgoing {
                        person: i,
                        duplicate: true,
                        due: admission.at(later.min(requests as u64 - 1) as usize),
                    },
                ));
            }
        }
        keyed.sort_by_key(|(key, _)| *key);
        Self {
            event_id,
            seats,
            admission,
            people,
            messages: keyed.into_iter().map(|(_, outgoing)| outgoing).collect(),
        }
    }

    pub fn duplicates(&self) -> usize {
        self.messages.iter().filter(|m| m.duplicate).count()
    }

    /// When person `index` is admitted, seconds of the model's time after the sale opened.
    pub fn admitted_at(&self, index: usize) -> f64 {
        self.admission.at(index)
    }

    /// The person a user id names.
    pub fn person_of(&self, user_id: &str) -> Option<usize> {
        let index: usize = user_id.strip_prefix("fan-")?.parse().ok()?;
        (self.people.get(index)?.user_id == user_id).then_some(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_reproduces_the_plan_with_duplicates_after_their_originals() {
        let sale = Sale::plan(3, 100, 2_000, 0.05, Admission::PerSecond(100.0));
        assert_eq!(sale, Sale::plan(3, 100, 2_000, 0.05, Admission::PerSecond(100.0)));
        assert_ne!(
            sale.messages,
            Sale::plan(4, 100, 2_000, 0.05, Admission::PerSecond(100.0)).messages
        );
        let duplicates = sale.duplicates();
        assert!(
            (60..140).contains(&duplicates),
            "{duplicates} duplicates of 2,000 at 5%"
        );
        assert_eq!(sale.messages.len(), 2_000 + duplicates);
        for (position, message) in sale.messages.iter().enumerate() {
            if message.duplicate {
                let original = sale
                    .messages
                    .iter()
                    .position(|m| m.person == message.person && !m.duplicate)
                    .unwrap();
                assert!(original < position, "a duplicate follows its original");
                assert!(message.due >= sale.admitted_at(message.person));
            }
        }
        assert!(
            sale.messages.windows(2).all(|w| w[0].due <= w[1].due),
            "sent in order of due time"
        );
    }

    #[test]
    fn people_are_distinct_valid_requests_and_admission_follows_the_line() {
        let sale = Sale::plan(1, 10, 50, 0.0, Admission::PerSecond(10.0));
        assert_eq!(sale.admitted_at(25), 2.5);
        assert_eq!(Admission::Burst.at(25), 0.0);
        for (i, person) in sale.people.iter().enumerate() {
            let request = messages::TicketRequest::parse(&person.body).unwrap();
            assert_eq!(
                (request.event_id.as_str(), request.user_id.as_str()),
                (sale.event_id.as_str(), person.user_id.as_str())
            );
            assert_eq!(sale.person_of(&person.user_id), Some(i));
        }
        assert_eq!(sale.person_of("fan-999999"), None);
        assert_eq!(sale.person_of("someone"), None);
    }
}
