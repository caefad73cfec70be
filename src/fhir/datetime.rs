//! FHIR's `date`, `dateTime` and `instant` as spans of milliseconds since the Unix epoch, and back.
//!
//! A FHIR date or time names a span as long as its precision: `2015` is the whole year, `2015-02-01` the whole
//! day, `2016-06-23T17:02:33+10:00` one second. A period's `start` is its span's first instant and its `end`
//! its span's last (FHIR: "the end value includes any matching date/time"), so `end` maps to the exclusive
//! bound just after that span. A date has no time zone in FHIR; the caller names the offset it is read in
//! (UTC by default, [`super::consent::ReadOptions`]). Spans are kept in whole milliseconds, exactly: a
//! question's instant (a whole millisecond) is in the span if and only if `start <= at < end`, whatever the
//! number of fraction digits.

/// The whole milliseconds a FHIR date or time names: `[start, end)` since 1970-01-01T00:00:00Z (negative
/// before). A span shorter than a millisecond may hold none (`start == end`), as does a leap second (`:60`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// The first instant.
    pub start: i64,
    /// Just after the last instant.
    pub end: i64,
}

const MS_PER_DAY: i128 = 86_400_000;

/// Days from 1970-01-01 to the civil date (proleptic Gregorian; H. Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date of a day count from 1970-01-01 (inverse of [`days_from_civil`]).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A fixed number of ASCII digits.
fn digits(text: &[u8]) -> Option<u32> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    text.iter().try_fold(0u32, |n, d| n.checked_mul(10)?.checked_add(u32::from(d - b'0')))
}

/// Parses a FHIR `date` or `dateTime` (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, or `YYYY-MM-DDThh:mm:ss[.f+](Z|±hh:mm)`),
/// reading a date without a time at `date_offset_minutes` east of UTC. `None` if it is not one.
pub fn parse(text: &str, date_offset_minutes: i32) -> Option<Span> {
    let b = text.as_bytes();
    let year = i64::from(digits(b.get(0..4)?)?);
    if year == 0 {
        return None;
    }
    let mut month = 1;
    let mut day = 1;
    let precision = match b.len() {
        4 => Precision::Year,
        7 if b.get(4) == Some(&b'-') => {
            month = digits(b.get(5..7)?)?;
            Precision::Month
        }
        10 if b.get(4) == Some(&b'-') && b.get(7) == Some(&b'-') => {
            month = digits(b.get(5..7)?)?;
            day = digits(b.get(8..10)?)?;
            Precision::Day
        }
        _ => return parse_time(b, year),
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let offset = i128::from(date_offset_minutes) * 60_000;
    let start_day = days_from_civil(year, month, day);
    let end_day = match precision {
        Precision::Year => days_from_civil(year + 1, 1, 1),
        Precision::Month if month == 12 => days_from_civil(year + 1, 1, 1),
        Precision::Month => days_from_civil(year, month + 1, 1),
        Precision::Day => start_day + 1,
    };
    let at = |days: i64| i64::try_from(i128::from(days) * MS_PER_DAY - offset).ok();
    Some(Span { start: at(start_day)?, end: at(end_day)? })
}

enum Precision {
    Year,
    Month,
    Day,
}

/// `YYYY-MM-DDThh:mm:ss[.f+](Z|±hh:mm)`: a time always has a zone.
fn parse_time(b: &[u8], year: i64) -> Option<Span> {
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if b.len() < 20 || separators.iter().any(|&(at, c)| b.get(at) != Some(&c)) {
        return None;
    }
    let field = |from: usize| digits(b.get(from..from + 2)?);
    let (month, day, hour, minute, second) = (field(5)?, field(8)?, field(11)?, field(14)?, field(17)?);
    let valid_date = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
    // A leap second (`:60`) is the last second of its minute, read as the next minute's first.
    if !valid_date || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = b.get(19..)?;
    // The fraction: its millisecond digits, its length, and whether a digit below the millisecond is not 0.
    let (mut millis, mut length, mut below_ms) = (0i128, 0u32, false);
    if let Some(fraction) = rest.strip_prefix(b".") {
        let count = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        let (digits, after) = (fraction.get(..count)?, fraction.get(count..)?);
        if digits.is_empty() {
            return None;
        }
        for (i, d) in digits.iter().enumerate() {
            match i {
                0..=2 => millis = millis * 10 + i128::from(d - b'0'),
                _ => below_ms |= *d != b'0',
            }
        }
        length = u32::try_from(count).unwrap_or(u32::MAX);
        rest = after;
    }
    let offset_minutes = match rest {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = digits(&[*h1, *h2])?;
            let minutes = digits(&[*m1, *m2])?;
            if hours > 14 || minutes > 59 || (hours == 14 && minutes > 0) {
                return None;
            }
            let total = i128::from(hours * 60 + minutes);
            if *sign == b'-' { -total } else { total }
        }
        _ => return None,
    };
    // With `:60` this is the next minute's first second.
    let seconds = i128::from(days_from_civil(year, month, day)) * 86_400
        + i128::from(hour * 3_600 + minute * 60 + second)
        - offset_minutes * 60;
    let ms = |value: i128| i64::try_from(value).ok();
    if second == 60 {
        // A leap second has no instant on the Unix time line: an empty span where the next minute starts.
        return Some(Span { start: ms(seconds * 1_000)?, end: ms(seconds * 1_000)? });
    }
    if length < 3 {
        millis *= 10i128.pow(3 - length);
    }
    let floor = seconds * 1_000 + millis;
    // The whole milliseconds the text names: `.1` names 100 of them, `.1234` (from 123.4 to 123.5) none.
    let (start, end) = match length {
        0..=3 => (floor, floor + 10i128.pow(3 - length.min(3))),
        _ => (floor + i128::from(below_ms), floor + 1),
    };
    Some(Span { start: ms(start)?, end: ms(end)? })
}

/// `ms` as a FHIR `instant` in UTC with milliseconds (`2016-06-23T07:02:33.000Z`), for years 1 to 9999.
pub fn format_instant(ms: i64) -> Option<String> {
    if !(-62_135_596_800_000..=253_402_300_799_999).contains(&ms) {
        return None;
    }
    let days = ms.div_euclid(MS_PER_DAY as i64);
    let in_day = ms.rem_euclid(MS_PER_DAY as i64);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute) = (in_day / 3_600_000, in_day / 60_000 % 60);
    let (second, milli) = (in_day / 1_000 % 60, in_day % 1_000);
    Some(format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Milliseconds since the epoch of these instants, computed with Python's `datetime` (an independent
    /// implementation), e.g. `int(datetime.fromisoformat("2016-06-23T17:02:33+10:00").timestamp() * 1000)`.
    #[test]
    fn instants_match_an_independent_calendar() {
        let cases = [
            ("1970-01-01T00:00:00Z", 0),
            ("2016-06-23T17:02:33+10:00", 1_466_665_353_000),
            ("2000-03-01T00:00:00+00:00", 951_868_800_000),
            ("2024-02-29T23:59:59Z", 1_709_251_199_000),
            ("2000-02-29T12:00:00Z", 951_825_600_000),
            ("9999-12-31T23:59:59-14:00", 253_402_351_199_000),
            ("0001-01-01T00:00:00Z", -62_135_596_800_000),
        ];
        for (text, ms) in cases {
            assert_eq!(parse(text, 0), Some(Span { start: ms, end: ms + 1_000 }), "{text}");
        }
        // Dates are whole days, months and years (1964-01-01 and 2015-01-01 from the same source).
        assert_eq!(
            parse("2015-01-01", 0),
            Some(Span { start: 1_420_070_400_000, end: 1_420_070_400_000 + 86_400_000 })
        );
        assert_eq!(parse("1964", 0).map(|s| s.start), Some(-189_388_800_000));
        assert_eq!(parse("2015-01", 0).map(|s| s.end), Some(1_422_748_800_000));
        // A date read in a zone ten hours east starts ten hours earlier.
        assert_eq!(parse("2015-01-01", 600).map(|s| s.start), Some(1_420_070_400_000 - 36_000_000));
    }

    #[test]
    fn fractions_keep_their_precision_and_round_inwards() {
        let base = 1_466_665_353_000;
        assert_eq!(parse("2016-06-23T17:02:33.5+10:00", 0), Some(Span { start: base + 500, end: base + 600 }));
        assert_eq!(parse("2016-06-23T17:02:33.250+10:00", 0), Some(Span { start: base + 250, end: base + 251 }));
        // 33.1234 s names [33.1234, 33.1235): no whole millisecond; as an end it excludes 124 ms, includes 123.
        assert_eq!(parse("2016-06-23T17:02:33.1234+10:00", 0), Some(Span { start: base + 124, end: base + 124 }));
        assert_eq!(parse("2016-06-23T17:02:33.1230+10:00", 0), Some(Span { start: base + 123, end: base + 124 }));
        // Any number of digits (R4's regular expression allows them).
        let long = "2016-06-23T17:02:33.99900000000000000000001+10:00";
        assert_eq!(parse(long, 0), Some(Span { start: base + 1_000, end: base + 1_000 }));
        assert_eq!(
            parse("2016-06-23T17:02:33.9990000000000+10:00", 0),
            Some(Span { start: base + 999, end: base + 1_000 })
        );
    }

    #[test]
    fn a_leap_second_holds_no_instant() {
        // 2017-01-01T00:00:00Z, from Python's datetime.
        let new_year = 1_483_228_800_000;
        for text in ["2016-12-31T23:59:60Z", "2016-12-31T23:59:60.5Z"] {
            assert_eq!(parse(text, 0), Some(Span { start: new_year, end: new_year }), "{text}");
        }
    }

    #[test]
    fn malformed_dates_are_refused() {
        for text in [
            "",
            "0000",
            "15",
            "2015-1",
            "2015-13",
            "2015-02-29",
            "2015-00-01",
            "2016-06-23T17:02",
            "2016-06-23T17:02:33",
            "2016-06-23T24:00:00Z",
            "2016-06-23T17:02:33+15:00",
            "2016-06-23T17:02:33.Z",
            "2016-06-23T17:02:61Z",
            "1900-02-29",
            "2100-02-29T00:00:00Z",
            "2016-06-23 17:02:33Z",
            "２０１６",
            "2016-06-23T17:02:33+1000",
            "+2016",
        ] {
            assert_eq!(parse(text, 0), None, "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn civil_dates_round_trip(days in -719_162i64..2_932_897) {
            let (year, month, day) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(year, month, day), days);
            prop_assert!(day >= 1 && day <= days_in_month(year, month));
            let next = civil_from_days(days + 1);
            prop_assert!(next == (year, month, day + 1) || next.2 == 1);
        }

        #[test]
        fn formatted_instants_parse_back(ms in -62_135_596_800_000i64..253_402_300_799_999) {
            let text = format_instant(ms).unwrap();
            prop_assert_eq!(parse(&text, 0), Some(Span { start: ms, end: ms + 1 }));
        }
    }
}
