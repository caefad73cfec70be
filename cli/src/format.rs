//! Text formatting shared by the commands: times, numbers, short ids and aligned tables.

use healthchain::Role;
use std::fmt::Write as _;

/// How many hex digits of an id the text output shows unless `--full-ids` is given (the id commands accept
/// them back as prefixes).
pub const SHORT_ID_DIGITS: usize = 12;

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC) for a time in ms since the Unix epoch.
pub fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let (year, month, day) = civil_from_days(secs / 86_400);
    let rest = secs % 86_400;
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// The proleptic Gregorian date of a day number since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so that leap days end each 400-year era.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097; // day of era [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1 [0, 365]
    let mp = (5 * doy + 2) / 153; // month from March [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// `1234567` → `1,234,567`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `3 providers`, `1 authority`, `2 authorities`.
pub fn counted(n: u64, role: Role) -> String {
    let name = role.name();
    match (n, name.strip_suffix('y')) {
        (1, _) => format!("1 {name}"),
        (_, Some(stem)) => format!("{} {stem}ies", group(n)),
        _ => format!("{} {name}s", group(n)),
    }
}

/// The first [`SHORT_ID_DIGITS`] hex digits of an id, unless `full`.
pub fn short(hex: &str, full: bool) -> &str {
    if full { hex } else { hex.get(..SHORT_ID_DIGITS).unwrap_or(hex) }
}

/// Seconds with one decimal.
pub fn seconds(elapsed: std::time::Duration) -> String {
    format!("{:.1} s", elapsed.as_secs_f64())
}

/// Per-second rate of `count` over `elapsed`.
pub fn rate(count: u64, elapsed: std::time::Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

/// Milliseconds of `elapsed`, saturating.
pub fn millis(elapsed: std::time::Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

/// `header` and `rows` as left-aligned columns two spaces apart (the last column unpadded), one line each.
pub fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut text = String::new();
    let header = header.map(str::to_owned);
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ");
            }
        }
        let _ = writeln!(text, "{}", line.trim_end());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_matches_known_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(951_868_799_999), "2000-02-29T23:59:59Z");
        assert_eq!(iso8601(1_767_225_600_000), "2026-01-01T00:00:00Z");
        assert_eq!(iso8601(1_795_424_400_000), "2026-11-23T09:00:00Z");
        assert_eq!(iso8601(4_107_456_000_000), "2100-02-28T00:00:00Z");
        assert_eq!(iso8601(4_107_542_400_000), "2100-03-01T00:00:00Z");
        assert_eq!(iso8601(253_402_300_799_000), "9999-12-31T23:59:59Z");
        // Never panics, even at the end of time.
        assert!(iso8601(u64::MAX).ends_with('Z'));
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1_234_567), "1,234,567");
    }

    #[test]
    fn roles_are_counted_in_english() {
        assert_eq!(counted(1, Role::Authority), "1 authority");
        assert_eq!(counted(2, Role::Authority), "2 authorities");
        assert_eq!(counted(1_000, Role::Patient), "1,000 patients");
    }

    #[test]
    fn tables_align_every_column_but_the_last() {
        let rows =
            [["a".to_owned(), "bbb".to_owned(), "x".to_owned()], ["cc".to_owned(), "d".to_owned(), String::new()]];
        assert_eq!(table(["h1", "h2", "h3"], &rows), "h1  h2   h3\na   bbb  x\ncc  d\n");
    }

    #[test]
    fn short_ids_are_twelve_digits_unless_full() {
        let id = "0123456789abcdef".repeat(4);
        assert_eq!(short(&id, false), "0123456789ab");
        assert_eq!(short(&id, true), id);
        assert_eq!(short("abc", false), "abc");
    }
}
