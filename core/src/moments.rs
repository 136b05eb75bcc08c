//! Dates and times written and read in the few fixed shapes Stint uses, by hand.
//!
//! chrono's `format("%Y-%m-%d")` and `parse_from_str` interpret their pattern at run time,
//! which brings chrono's whole pattern interpreter into the portal's wasm, where every byte is
//! carried by an approver's phone before the page is usable. Each shape here is what that
//! pattern writes (a property test holds them to chrono's own output).

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// "2026-11-22" (`%Y-%m-%d`).
pub fn date(d: &impl Datelike) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// "14:05" (`%H:%M`).
pub fn clock(t: &impl Timelike) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// "14:05:09" (`%H:%M:%S`).
pub fn clock_seconds(t: &impl Timelike) -> String {
    format!("{}:{:02}", clock(t), t.second())
}

/// "Sat" (`%a`).
pub fn weekday(d: &impl Datelike) -> &'static str {
    WEEKDAYS[d.weekday().num_days_from_monday() as usize]
}

/// "Dec" (`%b`).
pub fn month(d: &impl Datelike) -> &'static str {
    MONTHS[d.month0() as usize]
}

/// "5 Dec" (`%-d %b`): a day in words no locale reads the other way round.
pub fn day_month(d: &impl Datelike) -> String {
    format!("{} {}", d.day(), month(d))
}

/// "Dec 5" (`%b %-d`): a chart's day label.
pub fn month_day(d: &impl Datelike) -> String {
    format!("{} {}", month(d), d.day())
}

/// "2026-11-22 14:05 UTC" (`%Y-%m-%d %H:%M UTC` of a UTC time): a time as messages say it,
/// whatever the reader's zone.
pub fn utc_minute(at: &chrono::DateTime<chrono::Utc>) -> String {
    format!("{} {} UTC", date(at), clock(at))
}

/// "2026-11-22" as a date (`%Y-%m-%d`), as a date input gives it.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let mut parts = text.splitn(3, '-');
    let year = number(parts.next()?, 4)?;
    let month = number(parts.next()?, 2)?;
    let day = number(parts.next()?, 2)?;
    NaiveDate::from_ymd_opt(year as i32, month, day)
}

/// "2026-11-22T14:05" as a time (`%Y-%m-%dT%H:%M`), as a `datetime-local` input gives it.
pub fn parse_minute(text: &str) -> Option<NaiveDateTime> {
    let (day, time) = text.split_once('T')?;
    let (hour, minute) = time.split_once(':')?;
    parse_date(day)?.and_hms_opt(number(hour, 2)?, number(minute, 2)?, 0)
}

/// Exactly `digits` ASCII digits.
fn number(text: &str, digits: usize) -> Option<u32> {
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, FixedOffset, TimeZone, Utc};
    use proptest::prelude::*;

    /// Any moment from year 1000 to 9999 (where `%Y` is four digits), in any whole-minute
    /// offset a zone may have.
    fn moment() -> impl Strategy<Value = DateTime<FixedOffset>> {
        (
            -30_610_224_000i64..253_402_300_799,
            -(14 * 60)..=(14 * 60i32),
        )
            .prop_map(|(secs, offset_min)| {
                FixedOffset::east_opt(offset_min * 60)
                    .unwrap()
                    .timestamp_opt(secs, 0)
                    .unwrap()
            })
    }

    proptest! {
        #[test]
        fn each_shape_is_what_chronos_pattern_writes(at in moment()) {
            prop_assert_eq!(date(&at), at.format("%Y-%m-%d").to_string());
            prop_assert_eq!(clock(&at), at.format("%H:%M").to_string());
            prop_assert_eq!(clock_seconds(&at), at.format("%H:%M:%S").to_string());
            prop_assert_eq!(weekday(&at), at.format("%a").to_string());
            prop_assert_eq!(month(&at), at.format("%b").to_string());
            prop_assert_eq!(day_month(&at), at.format("%-d %b").to_string());
            prop_assert_eq!(month_day(&at), at.format("%b %-d").to_string());
            prop_assert_eq!(at.offset().to_string(), at.format("%Z").to_string());
            let utc = at.with_timezone(&Utc);
            prop_assert_eq!(utc_minute(&utc), utc.format("%Y-%m-%d %H:%M UTC").to_string());
        }

        #[test]
        fn what_is_written_reads_back(at in moment()) {
            let minute = at.naive_local().with_second(0).unwrap();
            prop_assert_eq!(parse_minute(&format!("{}T{}", date(&at), clock(&at))), Some(minute));
            prop_assert_eq!(parse_date(&date(&at)), Some(at.date_naive()));
        }
    }

    #[test]
    fn what_is_not_a_date_or_a_minute_reads_as_none() {
        for text in [
            "",
            "2026-11",
            "2026-13-01",
            "2026-02-30",
            "2026-1-01",
            "+2026-11-22",
            "2026-11-22T",
            "2026-11-22",
        ] {
            assert_eq!(parse_minute(text), None, "{text}");
        }
        for text in ["2026-11-22T24:00", "2026-11-22T14:5", "2026-11-22T14:05:00"] {
            assert_eq!(parse_minute(text), None, "{text}");
        }
        for text in ["2026-11-2", "2026/11/22", "２０２６-11-22", "2026-11-22 "] {
            assert_eq!(parse_date(text), None, "{text}");
        }
        assert_eq!(
            parse_minute("2026-11-22T14:05"),
            Utc.with_ymd_and_hms(2026, 11, 22, 14, 5, 0)
                .single()
                .map(|t| t.naive_utc())
        );
    }
}
