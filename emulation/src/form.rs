//! `application/x-www-form-urlencoded` bodies: how awsQuery services (SNS, and SQS's older
//! protocol) send their parameters.

use std::collections::BTreeMap;

/// Every field of a form body, decoded.
pub fn form_fields(body: &[u8]) -> BTreeMap<String, String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 2;
            }
            (byte, _) => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_bodies_decode_into_their_fields() {
        let fields = form_fields(b"Action=Publish&Message=Sorry%2C+evt-001+is+sold%20out.&Bad=%zz%4");
        assert_eq!(fields["Action"], "Publish");
        assert_eq!(fields["Message"], "Sorry, evt-001 is sold out.");
        assert_eq!(fields["Bad"], "%zz%4");
        let korean = form_fields("Message=%EC%A3%84%EC%86%A1".as_bytes());
        assert_eq!(korean["Message"], "죄송");
    }
}
