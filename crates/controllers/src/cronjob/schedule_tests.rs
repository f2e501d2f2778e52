#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn next_after(spec: &str, zone: &str, after: &str) -> Option<Timestamp> {
    let zone = TimeZone::get(zone).unwrap();
    Schedule::parse(spec, zone).unwrap().next(ts(after))
}

fn utc(spec: &str, after: &str) -> Option<Timestamp> {
    next_after(spec, "UTC", after)
}

#[test]
fn five_field_schedules_find_the_next_wall_clock_match() {
    let cases = [
        (
            "*/1 * * * *",
            "2024-01-01T10:00:30Z",
            "2024-01-01T10:01:00Z",
        ),
        ("* * * * *", "2024-01-01T10:00:00Z", "2024-01-01T10:01:00Z"),
        (
            "*/15 * * * *",
            "2024-01-01T10:16:00Z",
            "2024-01-01T10:30:00Z",
        ),
        (
            "5,35 * * * *",
            "2024-01-01T10:06:00Z",
            "2024-01-01T10:35:00Z",
        ),
        (
            "0 */6 * * *",
            "2024-01-01T13:00:00Z",
            "2024-01-01T18:00:00Z",
        ),
        (
            "10-20/5 3 * * *",
            "2024-01-01T03:16:00Z",
            "2024-01-01T03:20:00Z",
        ),
        (
            "0 9 * * 1-5",
            "2024-01-05T10:00:00Z",
            "2024-01-08T09:00:00Z",
        ),
        (
            "0 0 1 JAN-MAR *",
            "2024-03-02T00:00:00Z",
            "2025-01-01T00:00:00Z",
        ),
        (
            "0 12 * * sun",
            "2024-01-01T00:00:00Z",
            "2024-01-07T12:00:00Z",
        ),
        ("0 0 29 2 *", "2024-03-01T00:00:00Z", "2028-02-29T00:00:00Z"),
        (
            "30 23 31 * *",
            "2024-04-01T00:00:00Z",
            "2024-05-31T23:30:00Z",
        ),
        ("0 0 ? * 3", "2024-01-01T00:00:00Z", "2024-01-03T00:00:00Z"),
    ];
    for (spec, after, want) in cases {
        assert_eq!(utc(spec, after), Some(ts(want)), "{spec} after {after}");
    }
}

#[test]
fn descriptors_stand_for_their_fields() {
    let cases = [
        ("@hourly", "2024-01-01T10:20:00Z", "2024-01-01T11:00:00Z"),
        ("@daily", "2024-01-01T10:20:00Z", "2024-01-02T00:00:00Z"),
        ("@midnight", "2024-01-01T10:20:00Z", "2024-01-02T00:00:00Z"),
        ("@weekly", "2024-01-01T10:20:00Z", "2024-01-07T00:00:00Z"),
        ("@monthly", "2024-01-01T10:20:00Z", "2024-02-01T00:00:00Z"),
        ("@yearly", "2024-01-01T10:20:00Z", "2025-01-01T00:00:00Z"),
        ("@annually", "2024-01-01T10:20:00Z", "2025-01-01T00:00:00Z"),
        (
            "@every 90s",
            "2024-01-01T10:20:00.5Z",
            "2024-01-01T10:21:30Z",
        ),
        (
            "@every 1h30m",
            "2024-01-01T10:20:00Z",
            "2024-01-01T11:50:00Z",
        ),
    ];
    for (spec, after, want) in cases {
        assert_eq!(utc(spec, after), Some(ts(want)), "{spec}");
    }
}

#[test]
fn day_of_month_and_day_of_week_match_either_unless_one_is_a_star() {
    // 2024-01-01 is a Monday; the 5th a Friday.
    let cases = [
        // Either the 13th or a Friday.
        ("0 0 13 * 5", "2024-01-01T00:00:00Z", "2024-01-05T00:00:00Z"),
        ("0 0 13 * 5", "2024-01-12T00:00:00Z", "2024-01-13T00:00:00Z"),
        // A star day of month: Fridays only.
        ("0 0 * * 5", "2024-01-06T00:00:00Z", "2024-01-12T00:00:00Z"),
        // `*/1` is still a star …
        (
            "0 0 */1 * 5",
            "2024-01-06T00:00:00Z",
            "2024-01-12T00:00:00Z",
        ),
        // … but a step above 1 is not: odd days or Fridays.
        (
            "0 0 */2 * 5",
            "2024-01-06T00:00:00Z",
            "2024-01-07T00:00:00Z",
        ),
    ];
    for (spec, after, want) in cases {
        assert_eq!(utc(spec, after), Some(ts(want)), "{spec} after {after}");
    }
}

#[test]
fn impossible_dates_have_no_next_time() {
    assert_eq!(utc("0 0 31 2 *", "2024-01-01T00:00:00Z"), None);
    assert_eq!(utc("0 0 30 2 *", "2024-01-01T00:00:00Z"), None);
}

#[test]
fn malformed_schedules_are_refused_with_robfig_messages() {
    let cases = [
        ("", "empty spec string"),
        ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
        ("61 * * * *", "end of range (61) above maximum (59): 61"),
        ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
        (
            "5-1 * * * *",
            "beginning of range (5) beyond end of range (1): 5-1",
        ),
        (
            "*/0 * * * *",
            "step of range should be a positive number: */0",
        ),
        ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
        ("*/2/3 * * * *", "too many slashes: */2/3"),
        ("0 0 * * 7", "end of range (7) above maximum (6): 7"),
        ("x * * * *", "failed to parse int from x"),
        ("@fortnightly", "unrecognized descriptor: @fortnightly"),
        (
            "TZ=Nowhere/Else 0 * * * *",
            "provided bad location Nowhere/Else",
        ),
    ];
    for (spec, want) in cases {
        let err = Schedule::parse(spec, TimeZone::UTC)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(want), "{spec:?}: {err}");
    }
}

#[test]
fn a_time_skipped_by_spring_forward_does_not_run_that_day() {
    let got = next_after("30 2 11 3 *", "America/New_York", "2012-03-11T05:00:00Z");
    assert_eq!(
        got,
        Some(ts("2013-03-11T06:30:00Z")),
        "02:30 EDT the next year"
    );
    let hourly = next_after("0 * * * *", "America/New_York", "2012-03-11T06:30:00Z");
    assert_eq!(
        hourly,
        Some(ts("2012-03-11T07:00:00Z")),
        "01:30 EST is followed by 03:00 EDT"
    );
}

#[test]
fn a_time_repeated_by_fall_back_runs_twice() {
    // 01:30 EDT (05:30Z), then 01:30 EST (06:30Z).
    let first = next_after("30 1 4 11 *", "America/New_York", "2012-11-04T04:00:00Z");
    assert_eq!(first, Some(ts("2012-11-04T05:30:00Z")));
    let second = next_after("30 1 4 11 *", "America/New_York", "2012-11-04T05:45:00Z");
    assert_eq!(second, Some(ts("2012-11-04T06:30:00Z")));
}

#[test]
fn daily_schedules_keep_their_wall_clock_time_across_a_dst_change() {
    // Berlin moves from +01:00 to +02:00 on 2024-03-31.
    let got = next_after("0 9 * * *", "Europe/Berlin", "2024-03-30T08:00:00Z");
    assert_eq!(got, Some(ts("2024-03-31T07:00:00Z")));
}

#[test]
fn a_tz_prefix_overrides_the_default_zone() {
    let got = utc("TZ=Asia/Tokyo 0 9 * * *", "2024-01-01T00:00:00Z");
    assert_eq!(got, Some(ts("2024-01-02T00:00:00Z")));
    let got = utc("CRON_TZ=Asia/Kolkata 0 * * * *", "2024-01-01T00:00:00Z");
    assert_eq!(
        got,
        Some(ts("2024-01-01T00:30:00Z")),
        "a half-hour offset zone"
    );
}
