//! FHIR's `date`, `dateTime` and `instant` as spans of milliseconds since the Unix epoch, and back.
//!
//! A FHIR date or time names a span as long as its precision: `2015` is the whole year, `2015-02-01` the whole
//! day, `2016-06-23T17:02:33+10:00` one second. A period's `start` is its span's first instant and its `end`
//! its span's last (FHIR: "the end value includes any matching date/time"), so `end` maps to the exclusive
//! bound just after that span. A date has no time zone in FHIR; the caller names the offset it is read in
//! (UTC by default, [`super::ImportOptions`]). Digits below the millisecond round inwards (a later start, an
//! earlier end), never widening a window.

/// The instants a FHIR date or time names: `[start, end)` in milliseconds since 1970-01-01T00:00:00Z (negative
/// before), each rounded inwards, so a span shorter than a millisecond may end before it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// The first instant.
    pub start: i64,
    /// Just after the last instant.
    pub end: i64,
}

const MS_PER_DAY: i128 = 86_400_000;
const NS_PER_MS: i128 = 1_000_000;

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
    let (mut fraction_ns, mut unit_ns) = (0i128, 1_000_000_000i128);
    if let Some(fraction) = rest.strip_prefix(b".") {
        let count = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if count == 0 || count > 9 {
            return None;
        }
        for d in fraction.get(..count)? {
            unit_ns /= 10;
            fraction_ns += i128::from(d - b'0') * unit_ns;
        }
        rest = fraction.get(count..)?;
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
    let seconds = i128::from(days_from_civil(year, month, day)) * 86_400
        + i128::from(hour * 3_600 + minute * 60 + second)
        - offset_minutes * 60;
    let start_ns = seconds * 1_000_000_000 + fraction_ns;
    let end_ns = start_ns + unit_ns;
    // Inwards to whole milliseconds: the start up, the end down (never a wider window).
    let start = i64::try_from(start_ns.div_euclid(NS_PER_MS) + i128::from(start_ns.rem_euclid(NS_PER_MS) != 0)).ok()?;
    let end = i64::try_from(end_ns.div_euclid(NS_PER_MS)).ok()?;
    Some(Span { start, end })
}

/// `ms` as a FHIR `instant` in UTC with milliseconds: `2016-06-23T07:02:33.000Z`.
pub fn format_instant(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY as i64);
    let in_day = ms.rem_euclid(MS_PER_DAY as i64);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute) = (in_day / 3_600_000, in_day / 60_000 % 60);
    let (second, milli) = (in_day / 1_000 % 60, in_day % 1_000);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
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
        // 33.1234 s names [33.1234, 33.1235): as a start, 124 ms (not before it); as an end, 123 ms.
        assert_eq!(parse("2016-06-23T17:02:33.1234+10:00", 0), Some(Span { start: base + 124, end: base + 123 }));
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
            "2016-06-23T17:02:33.1234567890Z",
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
        fn civil_dates_round_trip(days in -800_000i64..3_000_000) {
            let (year, month, day) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(year, month, day), days);
            prop_assert!(day >= 1 && day <= days_in_month(year, month));
            let next = civil_from_days(days + 1);
            prop_assert!(next == (year, month, day + 1) || next.2 == 1);
        }

        #[test]
        fn formatted_instants_parse_back(ms in -62_135_596_800_000i64..253_402_300_799_999) {
            let text = format_instant(ms);
            prop_assert_eq!(parse(&text, 0), Some(Span { start: ms, end: ms + 1 }));
        }
    }
}
