//! Cron schedules as Kubernetes reads them (robfig/cron's standard parser): five fields
//! (minute, hour, day of month, month, day of week) with `*`, `?`, lists, ranges, steps and
//! month/day names; the `@yearly` … `@hourly` and `@every <duration>` descriptors; an optional
//! `TZ=`/`CRON_TZ=` prefix. Day of month and day of week match when either does, unless one
//! of them starts with `*` (or `?`). Times are matched on the zone's wall clock: a time skipped
//! by a daylight-saving jump does not run that day, a repeated one runs twice.

use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};

/// Set on a field that was given as `*` or `?` (without a step above 1).
const STAR: u64 = 1 << 63;

/// Why a schedule does not parse; the messages are robfig/cron's.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// Nothing to parse.
    #[error("empty spec string")]
    Empty,
    /// The `TZ=` prefix names an unknown zone.
    #[error("provided bad location {name}")]
    BadLocation {
        /// The zone name.
        name: String,
        /// Why it could not be loaded.
        #[source]
        source: jiff::Error,
    },
    /// An `@` word that is not a descriptor.
    #[error("unrecognized descriptor: {0}")]
    UnknownDescriptor(String),
    /// `@every` with a duration that does not parse.
    #[error("failed to parse duration {0}")]
    BadDuration(String),
    /// Not five fields.
    #[error("expected exactly 5 fields, found {found}: [{spec}]")]
    FieldCount {
        /// How many there were.
        found: usize,
        /// The fields.
        spec: String,
    },
    /// A field's range or value is malformed or out of bounds.
    #[error("{0}")]
    Field(String),
}

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Five cron fields, matched in `zone`.
    Fields {
        /// Minutes, hours, days of month, months, days of week, as bit sets.
        bits: [u64; 5],
        /// The zone the wall clock is read in.
        zone: TimeZone,
    },
    /// A fixed interval (`@every`), whole seconds of at least one.
    Every(Duration),
}

/// The bounds of each field and the names it accepts.
const BOUNDS: [(u32, u32, &[&str]); 5] = [
    (0, 59, &[]),
    (0, 23, &[]),
    (1, 31, &[]),
    (
        1,
        12,
        &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
    ),
    (0, 6, &["sun", "mon", "tue", "wed", "thu", "fri", "sat"]),
];

impl Schedule {
    /// Parses `spec`, reading wall-clock times in `zone` unless the spec names its own.
    ///
    /// # Errors
    /// A [`ScheduleError`] saying what is wrong.
    pub fn parse(spec: &str, zone: TimeZone) -> Result<Self, ScheduleError> {
        let mut spec = spec.trim();
        let mut zone = zone;
        if spec.is_empty() {
            return Err(ScheduleError::Empty);
        }
        if let Some(rest) = spec
            .strip_prefix("TZ=")
            .or_else(|| spec.strip_prefix("CRON_TZ="))
        {
            let (name, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            zone = TimeZone::get(name).map_err(|source| ScheduleError::BadLocation {
                name: name.to_owned(),
                source,
            })?;
            spec = tail.trim();
        }
        if spec.starts_with('@') {
            return descriptor(spec, zone);
        }
        let fields: Vec<&str> = spec.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(ScheduleError::FieldCount {
                found: fields.len(),
                spec: fields.join(" "),
            });
        }
        let mut bits = [0u64; 5];
        for (i, field) in fields.iter().enumerate() {
            bits[i] = field_bits(field, BOUNDS[i])?;
        }
        Ok(Self::Fields { bits, zone })
    }

    /// The first activation strictly after `after` (at a whole second), or `None` when there
    /// is none within five years.
    pub fn next(&self, after: Timestamp) -> Option<Timestamp> {
        match self {
            Self::Every(delay) => {
                let whole = Timestamp::from_second(after.as_second()).ok()?;
                whole
                    .checked_add(SignedDuration::try_from(*delay).ok()?)
                    .ok()
            }
            Self::Fields { bits, zone } => next_matching(bits, after.to_zoned(zone.clone())),
        }
    }
}

fn descriptor(spec: &str, zone: TimeZone) -> Result<Schedule, ScheduleError> {
    let fields = match spec {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ => {
            let Some(text) = spec.strip_prefix("@every ") else {
                return Err(ScheduleError::UnknownDescriptor(spec.to_owned()));
            };
            let delay = go_duration(text.trim())
                .ok_or_else(|| ScheduleError::BadDuration(text.to_owned()))?;
            let whole = Duration::from_secs(delay.as_secs().max(1));
            return Ok(Schedule::Every(whole));
        }
    };
    Schedule::parse(fields, zone)
}

/// Parses a Go duration (`1h30m`, `90s`, `1.5h`, `250ms`).
fn go_duration(text: &str) -> Option<Duration> {
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * seconds;
    }
    Duration::try_from_secs_f64(total).ok()
}

fn field_bits(field: &str, bounds: (u32, u32, &[&str])) -> Result<u64, ScheduleError> {
    field
        .split(',')
        .try_fold(0u64, |acc, part| Ok(acc | range_bits(part, bounds)?))
}

fn range_bits(expr: &str, (min, max, names): (u32, u32, &[&str])) -> Result<u64, ScheduleError> {
    let bad = |message: String| ScheduleError::Field(format!("{message}: {expr}"));
    let (range, step) = match expr.split('/').collect::<Vec<_>>()[..] {
        [range] => (range, None),
        [range, step] => (range, Some(step)),
        _ => return Err(bad("too many slashes".to_owned())),
    };
    let bounds: Vec<&str> = range.split('-').collect();
    let (mut start, mut end, mut extra) = if matches!(bounds[0], "*" | "?") {
        (min, max, STAR)
    } else {
        let start = number_or_name(bounds[0], names).map_err(&bad)?;
        let end = match bounds[..] {
            [_] => start,
            [_, high] => number_or_name(high, names).map_err(&bad)?,
            _ => return Err(bad("too many hyphens".to_owned())),
        };
        (start, end, 0)
    };
    let step = match step {
        None => 1,
        Some(text) => {
            let step = number(text).map_err(&bad)?;
            if bounds.len() == 1 {
                end = max;
            }
            if step > 1 {
                extra = 0;
            }
            step
        }
    };
    if start < min {
        return Err(bad(format!(
            "beginning of range ({start}) below minimum ({min})"
        )));
    }
    if end > max {
        return Err(bad(format!("end of range ({end}) above maximum ({max})")));
    }
    if start > end {
        return Err(bad(format!(
            "beginning of range ({start}) beyond end of range ({end})"
        )));
    }
    if step == 0 {
        return Err(bad("step of range should be a positive number".to_owned()));
    }
    let mut bits = extra;
    while start <= end {
        bits |= 1 << start;
        start += step;
    }
    Ok(bits)
}

fn number_or_name(text: &str, names: &[&str]) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    match names.iter().position(|n| *n == lower) {
        // Months count from 1, days of the week from 0.
        Some(i) => Ok(u32::try_from(i).unwrap_or(0) + u32::from(names.len() == 12)),
        None => number(text),
    }
}

fn number(text: &str) -> Result<u32, String> {
    match text.parse::<i64>() {
        Ok(n) if n < 0 => Err(format!("negative number ({n}) not allowed")),
        Ok(n) => u32::try_from(n).map_err(|_| format!("failed to parse int from {text}")),
        Err(e) => Err(format!("failed to parse int from {text}: {e}")),
    }
}

fn has(bits: u64, value: i8) -> bool {
    u8::try_from(value).is_ok_and(|v| v < 63 && bits & (1 << v) != 0)
}

fn day_matches(bits: &[u64; 5], t: &Zoned) -> bool {
    let dom = has(bits[2], t.day());
    let dow = has(bits[4], t.weekday().to_sunday_zero_offset());
    if bits[2] & STAR != 0 || bits[4] & STAR != 0 {
        dom && dow
    } else {
        dom || dow
    }
}

/// Wall-clock midnight (or the first existing time after it) of `t`'s day, `t`'s hour, …
fn at(t: &Zoned, day: Option<i8>, hour: i8) -> Option<Zoned> {
    let civil = t.datetime().date();
    let date = civil.with().day(day.unwrap_or(civil.day())).build().ok()?;
    date.at(hour, 0, 0, 0).to_zoned(t.time_zone().clone()).ok()
}

/// robfig/cron's search: advance month, day, hour, minute in turn, restarting from the month
/// whenever a unit wraps, on the zone's wall clock.
fn next_matching(bits: &[u64; 5], from: Zoned) -> Option<Timestamp> {
    let hour = SignedDuration::from_hours(1);
    let minute = SignedDuration::from_mins(1);
    // The next whole second, then (seconds being 0) the next whole minute.
    let second = from.timestamp().as_second() + 1;
    let up = second + (60 - second.rem_euclid(60)) % 60;
    let mut t = Timestamp::from_second(up)
        .ok()?
        .to_zoned(from.time_zone().clone());
    let year_limit = t.year() + 5;
    let mut added = false;
    'wrap: loop {
        if t.year() > year_limit {
            return None;
        }
        while !has(bits[3], t.month()) {
            if !std::mem::replace(&mut added, true) {
                t = at(&t, Some(1), 0)?;
            }
            t = t.checked_add(1.month()).ok()?;
            if t.month() == 1 {
                continue 'wrap;
            }
        }
        while !day_matches(bits, &t) {
            if !std::mem::replace(&mut added, true) {
                t = at(&t, None, 0)?;
            }
            t = t.checked_add(1.day()).ok()?;
            // A daylight-saving jump can leave the day's start off midnight.
            let h = i64::from(t.hour());
            if h > 12 {
                t = t.checked_add(SignedDuration::from_hours(24 - h)).ok()?;
            } else if h > 0 {
                t = t.checked_sub(SignedDuration::from_hours(h)).ok()?;
            }
            if t.day() == 1 {
                continue 'wrap;
            }
        }
        while !has(bits[1], t.hour()) {
            if !std::mem::replace(&mut added, true) {
                t = at(&t, None, t.hour())?;
            }
            t = t.checked_add(hour).ok()?;
            if t.hour() == 0 {
                continue 'wrap;
            }
        }
        while !has(bits[0], t.minute()) {
            added = true;
            t = t.checked_add(minute).ok()?;
            if t.minute() == 0 {
                continue 'wrap;
            }
        }
        return Some(t.timestamp());
    }
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
