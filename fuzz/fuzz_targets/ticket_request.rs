//! `TicketRequest::parse` on any bytes: never panics; what it accepts obeys the id rules and
//! survives a round trip through its own serialisation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use messages::{TicketRequest, is_valid_id};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    match TicketRequest::parse(body) {
        Ok(request) => {
            assert!(
                is_valid_id(&request.event_id),
                "accepted eventId {:?}",
                request.event_id
            );
            assert!(is_valid_id(&request.user_id), "accepted userId {:?}", request.user_id);
            let again = TicketRequest::parse(&serde_json::to_string(&request).unwrap()).unwrap();
            assert_eq!(again, request);
        }
        Err(invalid) => {
            assert!(!invalid.to_string().is_empty());
            if let Some(field) = &invalid.field {
                assert!(!field.is_empty());
            }
        }
    }
});
