//! Contact details in logs: never an email address in clear.

/// `kim@example.com` → `k***@example.com`; anything without a local part and a domain → `***`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        _ => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::mask_email;

    #[test]
    fn only_the_first_character_and_the_domain_remain() {
        assert_eq!(mask_email("kim.lee@example.com"), "k***@example.com");
        assert_eq!(mask_email("é@example.com"), "é***@example.com");
        assert_eq!(mask_email("not-an-email"), "***");
        assert_eq!(mask_email("@example.com"), "***");
        assert_eq!(mask_email("kim@"), "***");
    }
}
