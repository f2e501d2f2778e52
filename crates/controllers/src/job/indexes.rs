//! Completion indexes of Indexed Jobs: the `1,3-5` interval lists of `status.completedIndexes`
//! and `status.failedIndexes`, and the index a pod carries.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use k8s_openapi::api::core::v1::Pod;

/// The annotation (and label) holding a pod's completion index.
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";

/// A set of completion indexes below the Job's `completions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Indexes(BTreeSet<i32>);

impl Indexes {
    /// Parses an interval list (`1,3-5`), keeping only indexes in `0..completions`; malformed
    /// parts are skipped, as upstream does.
    pub fn parse(text: &str, completions: i32) -> Self {
        let mut set = BTreeSet::new();
        for part in text.split(',').filter(|p| !p.is_empty()) {
            let (first, last) = match part.split_once('-') {
                Some((a, b)) => (a.parse::<i32>(), b.parse::<i32>()),
                None => (part.parse::<i32>(), part.parse::<i32>()),
            };
            if let (Ok(first), Ok(last)) = (first, last) {
                set.extend((first.max(0)..=last.min(completions.saturating_sub(1))).take(1 << 20));
            }
        }
        Self(set)
    }

    /// Adds `index`.
    pub fn insert(&mut self, index: i32) {
        self.0.insert(index);
    }

    /// Whether `index` is in the set.
    pub fn contains(&self, index: i32) -> bool {
        self.0.contains(&index)
    }

    /// How many indexes the set holds.
    pub fn total(&self) -> i32 {
        i32::try_from(self.0.len()).unwrap_or(i32::MAX)
    }

    /// The interval list, as upstream writes it (`1,3-5`; empty for none).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut iter = self.0.iter().copied().peekable();
        while let Some(first) = iter.next() {
            let mut last = first;
            while iter.peek() == Some(&(last + 1)) {
                last += 1;
                iter.next();
            }
            if !out.is_empty() {
                out.push(',');
            }
            let _ = if first == last {
                write!(out, "{first}")
            } else {
                write!(out, "{first}-{last}")
            };
        }
        out
    }
}

/// The completion index a pod's annotation names, if it is a valid one.
pub fn of_pod(pod: &Pod) -> Option<i32> {
    pod.metadata
        .annotations
        .as_ref()?
        .get(COMPLETION_INDEX)?
        .parse::<i32>()
        .ok()
        .filter(|i| *i >= 0)
}

/// The first `count` indexes below `completions` that are neither done nor taken.
pub fn first_pending(
    completions: i32,
    done: &Indexes,
    taken: &BTreeSet<i32>,
    count: usize,
) -> Vec<i32> {
    (0..completions)
        .filter(|i| !done.contains(*i) && !taken.contains(i))
        .take(count)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_lists_round_trip() {
        for text in ["", "0", "1,3-5", "0-2,4,6-9"] {
            assert_eq!(Indexes::parse(text, 10).render(), text);
        }
    }

    #[test]
    fn parsing_drops_indexes_beyond_completions_and_garbage() {
        let set = Indexes::parse("1-3,x,7-12", 9);
        assert_eq!(set.render(), "1-3,7-8");
        assert_eq!(set.total(), 5);
    }

    #[test]
    fn adjacent_indexes_merge_into_one_interval() {
        let mut set = Indexes::parse("1,3", 10);
        set.insert(2);
        assert_eq!(set.render(), "1-3");
    }

    #[test]
    fn pending_indexes_skip_done_and_taken_ones_lowest_first() {
        let done = Indexes::parse("0,2", 6);
        let taken = BTreeSet::from([1, 4]);
        assert_eq!(first_pending(6, &done, &taken, 5), vec![3, 5]);
        assert_eq!(first_pending(6, &done, &taken, 1), vec![3]);
    }
}
