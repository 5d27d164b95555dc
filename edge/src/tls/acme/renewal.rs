//! When to order: the renewal schedule and the retry backoff, as pure functions of
//! the time passed in (no clock, no sleeping), so they are tested exactly.

use std::time::Duration;

/// First wait after a failed order.
pub const RETRY_MIN: Duration = Duration::from_secs(5);
/// Longest wait between failed orders.
pub const RETRY_MAX: Duration = Duration::from_secs(3600);

/// What the manager does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Order a certificate now.
    Order,
    /// Look again after this long.
    Wait(Duration),
}

/// `renew_before` and `check_interval` of `[tls.acme]`.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Renew when the certificate expires within this many seconds.
    pub renew_before_s: i64,
    /// Longest sleep between looks (the expiry gauge updates at each).
    pub check_interval: Duration,
}

impl Schedule {
    /// The next step at `now_s` (Unix seconds) for a certificate expiring at
    /// `expiry_s`, or none held.
    pub fn next(&self, now_s: i64, expiry_s: Option<i64>) -> Step {
        let Some(expiry) = expiry_s else {
            return Step::Order;
        };
        let until_renewal = expiry - self.renew_before_s - now_s;
        if until_renewal <= 0 {
            return Step::Order;
        }
        Step::Wait(
            self.check_interval
                .min(Duration::from_secs(until_renewal.unsigned_abs())),
        )
    }

    /// The wait right after an order succeeded with a certificate expiring at
    /// `expiry_s`: as [`Schedule::next`] says, except that a certificate living
    /// shorter than `renew_before` waits one `check_interval` instead of ordering
    /// again at once (no tight loop against the CA).
    pub fn after_issuance(&self, now_s: i64, expiry_s: i64) -> Duration {
        match self.next(now_s, Some(expiry_s)) {
            Step::Order => self.check_interval,
            Step::Wait(wait) => wait,
        }
    }
}

/// Doubling waits between failed orders, from [`RETRY_MIN`] to [`RETRY_MAX`].
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: RETRY_MIN }
    }
}

impl Backoff {
    /// The wait after one more failure.
    pub fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(RETRY_MAX);
        wait
    }

    /// An order succeeded: the next failure waits [`RETRY_MIN`] again.
    pub fn reset(&mut self) {
        self.next = RETRY_MIN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn schedule() -> Schedule {
        Schedule {
            renew_before_s: 30 * DAY,
            check_interval: Duration::from_secs(3600),
        }
    }

    #[test]
    fn orders_without_a_certificate_or_inside_the_window() {
        let s = schedule();
        assert_eq!(s.next(1_000, None), Step::Order);
        let expiry = 1_000 + 90 * DAY;
        assert_eq!(
            s.next(1_000, Some(expiry)),
            Step::Wait(Duration::from_secs(3600))
        );
        // 10 s before the window opens: wait exactly that long.
        let opens = expiry - 30 * DAY;
        assert_eq!(
            s.next(opens - 10, Some(expiry)),
            Step::Wait(Duration::from_secs(10))
        );
        assert_eq!(s.next(opens, Some(expiry)), Step::Order);
        assert_eq!(s.next(expiry + 5, Some(expiry)), Step::Order, "expired");
    }

    #[test]
    fn a_certificate_shorter_than_the_window_does_not_loop() {
        let s = schedule();
        let now = 1_000;
        assert_eq!(s.next(now, Some(now + 7 * DAY)), Step::Order);
        assert_eq!(
            s.after_issuance(now, now + 7 * DAY),
            Duration::from_secs(3600)
        );
        assert_eq!(
            s.after_issuance(now, now + 90 * DAY),
            Duration::from_secs(3600)
        );
        let opens_in_10 = now + 30 * DAY + 10;
        assert_eq!(s.after_issuance(now, opens_in_10), Duration::from_secs(10));
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_resets() {
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..12).map(|_| b.failed().as_secs()).collect();
        assert_eq!(&waits[..5], &[5, 10, 20, 40, 80]);
        assert_eq!(*waits.last().unwrap(), 3600);
        b.reset();
        assert_eq!(b.failed(), RETRY_MIN);
    }
}
