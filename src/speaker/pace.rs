//! Pacing: where the talk should be by now, from its planned length (`--duration`) and the
//! slides' own budgets (`<!-- time: 2m -->`); slides without one share what the budgets leave.

use crate::deck::Deck;

/// Minutes left at which the speaker window warns.
pub const WARN_SECS: u64 = 5 * 60;

/// How the talk stands against its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// Planned length in seconds.
    pub total: u64,
    /// Seconds left (negative: overtime).
    pub left: i64,
    /// Seconds behind the plan for the current slide (negative: ahead, 0: on time).
    pub behind: i64,
}

impl Pace {
    pub fn warn(&self) -> bool {
        self.left <= WARN_SECS as i64 && self.left >= 0
    }

    pub fn over(&self) -> bool {
        self.left < 0
    }
}

/// The pace at `elapsed` seconds on slide `current` (0-based). `duration` is the planned
/// length, if given; else the budgets' sum is the plan (none without budgets).
pub fn pace(deck: &Deck, current: usize, elapsed: u64, duration: Option<u64>) -> Option<Pace> {
    let budgets: Vec<Option<u64>> = deck
        .slides
        .iter()
        .map(|s| s.notes.budget.map(|d| d.as_secs()))
        .collect();
    let budgeted: u64 = budgets.iter().flatten().sum();
    let total = match duration {
        Some(d) => d,
        None if budgeted > 0 => budgeted,
        None => return None,
    };
    let free = budgets.iter().filter(|b| b.is_none()).count() as u64;
    let share = total
        .saturating_sub(budgeted)
        .checked_div(free)
        .unwrap_or(0);
    let allot: Vec<u64> = budgets.iter().map(|b| b.unwrap_or(share)).collect();
    let start: u64 = allot.iter().take(current).sum();
    let end = start + allot.get(current).copied().unwrap_or(0);
    let behind = if elapsed > end {
        (elapsed - end) as i64
    } else if elapsed < start {
        -((start - elapsed) as i64)
    } else {
        0
    };
    Some(Pace {
        total,
        left: total as i64 - elapsed as i64,
        behind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_and_shares() {
        let deck = Deck::parse(
            std::path::Path::new("t.md"),
            "# A\n<!-- time: 10m -->\n====\nB\n====\nC\n",
        )
        .unwrap();
        // 30 min: A has 10, B and C share 20 (10 each).
        let p = pace(&deck, 1, 5 * 60, Some(1800)).unwrap();
        assert_eq!(p.behind, -5 * 60, "5 min ahead: B starts at 10 min");
        let p = pace(&deck, 1, 25 * 60, Some(1800)).unwrap();
        assert_eq!(p.behind, 5 * 60);
        assert!(p.warn());
        let p = pace(&deck, 2, 31 * 60, Some(1800)).unwrap();
        assert!(p.over());
        // Budgets alone make the plan.
        assert_eq!(pace(&deck, 0, 0, None).unwrap().total, 600);
        let plain = Deck::parse(std::path::Path::new("t.md"), "a\n").unwrap();
        assert_eq!(pace(&plain, 0, 0, None), None);
    }
}
