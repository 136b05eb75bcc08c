//! Human wording of durations, shared so the portal and the broker's messages agree.

/// "45 s", "15 min", "4 h", "1 h 30 min", "2 d 3 h": the two largest non-zero units.
pub fn duration(secs: i64) -> String {
    if secs < 0 {
        return format!("-{}", duration(secs.saturating_neg()));
    }
    const UNITS: [(i64, &str); 4] = [(86_400, "d"), (3_600, "h"), (60, "min"), (1, "s")];
    let mut rest = secs;
    let mut parts = Vec::new();
    for (size, name) in UNITS {
        let n = rest / size;
        if n > 0 {
            parts.push(format!("{n} {name}"));
            rest -= n * size;
        }
        if parts.len() == 2 || (parts.len() == 1 && rest == 0) {
            break;
        }
    }
    if parts.is_empty() {
        "0 s".to_string()
    } else {
        parts.join(" ")
    }
}

/// A message as a person reads it: the broker's errors start lower-case (Rust's custom),
/// a sentence on a page starts with a capital.
pub fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A countdown clock: "3:59:07" or "14:05".
pub fn countdown(secs: i64) -> String {
    let secs = secs.max(0);
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_sentences() {
        assert_eq!(
            sentence("task must be at least 20 characters"),
            "Task must be at least 20 characters"
        );
        assert_eq!(
            sentence("`x` is not a valid name"),
            "`x` is not a valid name"
        );
        assert_eq!(sentence("élan"), "Élan");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(0), "0 s");
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(900), "15 min");
        assert_eq!(duration(4 * 3600), "4 h");
        assert_eq!(duration(5400), "1 h 30 min");
        assert_eq!(duration(86_400 * 2 + 3 * 3600 + 7), "2 d 3 h");
    }

    #[test]
    fn countdowns_pad_minutes_and_seconds() {
        assert_eq!(countdown(3 * 3600 + 59 * 60 + 7), "3:59:07");
        assert_eq!(countdown(845), "14:05");
        assert_eq!(countdown(-5), "0:00");
    }
}

/// Relative wording of a moment `secs` away: "in 14 min", "3 h ago", "just now".
pub fn relative(secs: i64) -> String {
    let magnitude = secs.unsigned_abs() as i64;
    if magnitude < 5 {
        return "just now".into();
    }
    const UNITS: [(i64, &str); 4] = [(86_400, "d"), (3_600, "h"), (60, "min"), (1, "s")];
    let (size, name) = UNITS
        .into_iter()
        .find(|(size, _)| magnitude >= *size)
        .unwrap_or((1, "s"));
    let amount = format!("{} {name}", magnitude / size);
    if secs > 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

#[cfg(test)]
mod relative_tests {
    #[test]
    fn relative_times_use_the_largest_unit() {
        assert_eq!(super::relative(0), "just now");
        assert_eq!(super::relative(14 * 60 + 30), "in 14 min");
        assert_eq!(super::relative(-3 * 3600 - 59), "3 h ago");
        assert_eq!(super::relative(-40), "40 s ago");
        assert_eq!(super::relative(2 * 86_400), "in 2 d");
    }
}

/// How often a grant was used, as its card says it: "never used", "used once", "used 14
/// times".
pub fn times_used(uses: i64) -> String {
    match uses {
        i64::MIN..=0 => "never used".into(),
        1 => "used once".into(),
        n => format!("used {n} times"),
    }
}

/// What its uses were: "12 introspections, 2 credential fetches".
pub fn uses_detail(introspections: i64, credential_fetches: i64) -> String {
    let count = |n: i64, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    format!(
        "{}, {}",
        count(introspections, "introspection", "introspections"),
        count(credential_fetches, "credential fetch", "credential fetches")
    )
}

#[cfg(test)]
mod usage_tests {
    #[test]
    fn uses_are_counted_in_words() {
        assert_eq!(super::times_used(0), "never used");
        assert_eq!(super::times_used(1), "used once");
        assert_eq!(super::times_used(14), "used 14 times");
        assert_eq!(
            super::uses_detail(1, 2),
            "1 introspection, 2 credential fetches"
        );
    }
}
