//! Each customer's accounts, cards, wallets and transactions, derived on demand from the
//! customer's index and creation time: nothing is stored per record, so a sandbox of 2^24
//! customers holds no more than one of 60, and one customer's records cost microseconds.
//!
//! What a customer has follows its index (so the first sixty show every case: no accounts,
//! two, frozen and closed ones, no cards, blocked cards, no wallets); the amounts, times and
//! names come from the customer's own stream of the customers' seed. Balances add up as
//! Bloc's do: a successful credit adds `amount - fee`, a successful debit takes
//! `amount + fee`, a failed or pending one changes nothing, and the account's balance is its
//! newest transaction's `current_account_balance`.

// Bounded by construction: amounts are below 10^10 kobo, counts below 31, times below 2^33
// seconds; a debit never takes more than the balance holds (see `debit`).
#![allow(
    clippy::arithmetic_side_effects,
    reason = "a fixture generator whose sums stay far below u64::MAX and never go negative"
)]

use chrono::Datelike;

use super::data::{SEED, SplitMix};

const DAY: u64 = 86_400;
/// Below this many kobo an account only receives money (₦2,000).
const LOW_BALANCE: u64 = 200_000;
/// The largest ordinary credit or debit (₦500,000): thirty credits stay below 2^31 kobo, so
/// only the first customer's opening deposit takes a balance past it.
const LARGEST: u64 = 50_000_000;

/// A moment as Bloc writes it: whole seconds and milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Stamp {
    pub(super) seconds: u64,
    pub(super) millis: u16,
}

/// One customer's related records, before rendering.
pub(super) struct Plan {
    pub(super) accounts: Vec<Account>,
    pub(super) cards: Vec<Card>,
    pub(super) wallets: Vec<Wallet>,
}

pub(super) struct Account {
    /// 0 or 1: its place among the customer's accounts.
    pub(super) slot: u8,
    pub(super) created: Stamp,
    /// `None` is Bloc's zero time.
    pub(super) updated: Option<Stamp>,
    pub(super) status: &'static str,
    pub(super) alias: &'static str,
    /// Oldest first.
    pub(super) transactions: Vec<Transaction>,
}

impl Account {
    /// The newest transaction's balance after it, 0 without any.
    pub(super) fn balance(&self) -> u64 {
        self.transactions.last().map_or(0, |t| t.current)
    }
}

/// Which way money moved, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    /// An inbound bank transfer (CR).
    Credit,
    /// An outbound bank transfer (DR).
    Transfer,
    /// A card payment (DR).
    CardPayment,
    /// The transfer that emptied a closed account (DR).
    Closure,
}

pub(super) struct Transaction {
    /// The account's slot, and this transaction's place in it (0 is the oldest).
    pub(super) slot: u8,
    pub(super) place: u8,
    pub(super) created: Stamp,
    pub(super) updated: Stamp,
    pub(super) flow: Flow,
    pub(super) status: &'static str,
    pub(super) amount: u64,
    pub(super) fee: u64,
    pub(super) previous: u64,
    pub(super) current: u64,
    /// Seeds what only rendering needs (narration, reference noise).
    pub(super) detail: u64,
}

pub(super) struct Card {
    pub(super) sequence: u8,
    pub(super) created: Stamp,
    pub(super) updated: Option<Stamp>,
    pub(super) brand: &'static str,
    pub(super) status: &'static str,
    pub(super) expiry_month: u32,
    pub(super) expiry_year: i32,
    /// Seeds the billing address of a customer who gave none.
    pub(super) detail: u64,
}

pub(super) struct Wallet {
    /// 2 or 3: account numbers share their space with the accounts'.
    pub(super) slot: u8,
    pub(super) created: Stamp,
    pub(super) updated: Stamp,
    pub(super) alias: &'static str,
    pub(super) balance: u64,
    /// Bloc leaves `currency` out on some wallets.
    pub(super) currency: bool,
}

pub(super) const SUCCESSFUL: &str = "successful";
pub(super) const FAILED: &str = "failed";
pub(super) const PENDING: &str = "pending";

/// Customer `index`'s related records; `created` is the customer's creation time (seconds).
pub(super) fn plan(index: usize, created: u64) -> Plan {
    let n = index;
    let mut rng = SplitMix(SEED ^ (n as u64 + 1).wrapping_mul(0xd1b5_4a32_d192_ed03));
    let cards = (0..card_count(n))
        .map(|sequence| card(n, sequence, created, &mut rng))
        .collect::<Vec<_>>();
    let accounts = (0..account_count(n))
        .map(|slot| account(n, slot, created, !cards.is_empty(), &mut rng))
        .collect();
    let wallets = (0..wallet_count(n))
        .map(|w| wallet(n, w, created, &mut rng))
        .collect();
    Plan {
        accounts,
        cards,
        wallets,
    }
}

fn account_count(n: usize) -> u8 {
    match n {
        0 => 1,
        _ if n % 9 == 4 => 0,
        _ if n % 7 == 3 => 2,
        _ => 1,
    }
}

fn card_count(n: usize) -> u8 {
    match n {
        _ if n % 6 == 5 => 0,
        _ if n % 5 == 1 => 2,
        _ => 1,
    }
}

fn wallet_count(n: usize) -> u8 {
    match n {
        _ if n % 4 == 3 => 0,
        _ if n % 10 == 6 => 2,
        _ => 1,
    }
}

fn stamp(seconds: u64, rng: &mut SplitMix) -> Stamp {
    Stamp {
        seconds,
        millis: rng.below(1000) as u16,
    }
}

fn account(n: usize, slot: u8, customer: u64, cards: bool, rng: &mut SplitMix) -> Account {
    // A second account that was later closed is common; a few close or freeze their only one.
    let status = match slot {
        1 if n % 2 == 1 => "Closed",
        0 if n % 29 == 12 => "Closed",
        0 if n % 8 == 5 => "Frozen",
        _ => "Open",
    };
    let alias = if slot == 0 {
        rng.pick(&["main", "savings", "salary", "business"])
    } else {
        rng.pick(&["savings", "school fees", "rent", "ajo"])
    };
    let created = stamp(customer + 3_600 + rng.below(20 * DAY), rng);
    let updated = if (n + usize::from(slot)) % 5 == 2 {
        rng.next();
        None
    } else {
        Some(stamp(created.seconds + rng.below(40 * DAY), rng))
    };
    let count = if n == 0 && slot == 0 {
        12 + rng.below(19)
    } else {
        3 + rng.below(28)
    } as u8;
    let mut transactions = Vec::with_capacity(usize::from(count));
    let mut at = created.seconds + 600 + rng.below(3 * DAY);
    let mut balance = 0;
    for place in 0..count {
        if place > 0 {
            at += 1_800 + rng.below(6 * DAY);
        }
        let newest = place + 1 == count;
        let (flow, amount, outcome) = if place == 0 {
            let amount = if n == 0 && slot == 0 {
                // The first customer's opening deposit: past 2^31 kobo (Bloc's int32 schema).
                6_000_000_000 + 100 * rng.below(10_000_000)
            } else {
                credit(rng)
            };
            (Flow::Credit, amount, SUCCESSFUL)
        } else if status == "Closed" && newest {
            (Flow::Closure, balance, SUCCESSFUL)
        } else {
            let outcome = match rng.below(100) {
                0..6 => FAILED,
                6..18 if status != "Closed" && place + 3 > count => PENDING,
                _ => SUCCESSFUL,
            };
            if balance < LOW_BALANCE || rng.below(5) < 2 {
                (Flow::Credit, credit(rng), outcome)
            } else if cards && rng.below(10) < 3 {
                (Flow::CardPayment, debit(balance, rng), outcome)
            } else {
                (Flow::Transfer, debit(balance, rng), outcome)
            }
        };
        let fee = match (flow, outcome) {
            (_, FAILED) | (Flow::CardPayment | Flow::Closure, _) => 0,
            // The ₦50 electronic money transfer levy on inflows of ₦10,000 or more.
            (Flow::Credit, _) if amount >= 1_000_000 => 5_000,
            (Flow::Credit, _) => 0,
            (Flow::Transfer, _) => transfer_fee(amount),
        };
        let previous = balance;
        if outcome == SUCCESSFUL {
            balance = match flow {
                Flow::Credit => balance + amount - fee,
                _ => balance - amount - fee,
            };
        }
        let created = stamp(at, rng);
        let updated = if outcome == PENDING {
            created
        } else {
            stamp(at + rng.below(5), rng)
        };
        transactions.push(Transaction {
            slot,
            place,
            created,
            updated,
            flow,
            status: outcome,
            amount,
            fee,
            previous,
            current: balance,
            detail: rng.next(),
        });
    }
    Account {
        slot,
        created,
        updated,
        status,
        alias,
        transactions,
    }
}

/// An inbound amount in kobo, whole naira: mostly small, sometimes up to [`LARGEST`].
fn credit(rng: &mut SplitMix) -> u64 {
    100 * match rng.below(10) {
        0..5 => 500 + rng.below(19_500),
        5..9 => 20_000 + rng.below(180_000),
        _ => 200_000 + rng.below(300_000),
    }
}

/// An outbound amount in kobo for an account holding `balance` (at least [`LOW_BALANCE`]):
/// at most 60 % of it, so with the largest fee (₦53.75) it never overdraws.
fn debit(balance: u64, rng: &mut SplitMix) -> u64 {
    let most = (balance / 10 * 6).min(LARGEST) / 100;
    100 * (1 + rng.below(most.max(1)))
}

/// NIBSS transfer charges with VAT, in kobo.
fn transfer_fee(amount: u64) -> u64 {
    match amount {
        0..=500_000 => 1_075,
        500_001..=5_000_000 => 2_688,
        _ => 5_375,
    }
}

fn card(n: usize, sequence: u8, customer: u64, rng: &mut SplitMix) -> Card {
    let key = n * 2 + usize::from(sequence);
    let status = match key {
        _ if key % 13 == 9 => "blocked",
        _ if key % 7 == 4 => "frozen",
        _ => "active",
    };
    let brand = if rng.below(3) < 2 {
        "Verve"
    } else {
        "MasterCard"
    };
    let created = stamp(customer + DAY + rng.below(60 * DAY), rng);
    let updated = if n % 7 == 1 {
        rng.next();
        None
    } else {
        Some(stamp(created.seconds + rng.below(30 * DAY), rng))
    };
    // Five years from issue: the sandbox's cards (issued 2023 to 2024) are still valid when
    // docs and demos show them.
    let (expiry_month, expiry_year) = chrono::DateTime::from_timestamp(created.seconds as i64, 0)
        .map_or((12, 2030), |at| (at.month(), at.year() + 5));
    Card {
        sequence,
        created,
        updated,
        brand,
        status,
        expiry_month,
        expiry_year,
        detail: rng.next(),
    }
}

fn wallet(n: usize, w: u8, customer: u64, rng: &mut SplitMix) -> Wallet {
    let created = stamp(customer + 3_600 + rng.below(90 * DAY), rng);
    let updated = stamp(created.seconds + rng.below(30 * DAY), rng);
    Wallet {
        slot: 2 + w,
        created,
        updated,
        alias: rng.pick(&["wallet", "spend", "savings pot", "travel"]),
        balance: 100 * rng.below(2_000_000),
        currency: (n + usize::from(w)) % 3 != 2,
    }
}
