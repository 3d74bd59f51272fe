//! The related records as data: balances that add up, the variety tests and docs rely on, and
//! ids, numbers and references that are unique and carry their customer.

use std::collections::HashSet;

use serde_json::Value;

use super::*;

const TWO_TO_THE_31: u64 = 1 << 31;
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Which of a customer's records a check looks at.
type Records = fn(&Relations) -> &Vec<Value>;

pub(super) fn all() -> Vec<Relations> {
    (0..CUSTOMER_COUNT)
        .map(|index| relations_of(index).unwrap())
        .collect()
}

fn accounts(r: &Relations) -> &Vec<Value> {
    &r.accounts
}

fn cards(r: &Relations) -> &Vec<Value> {
    &r.cards
}

fn transactions(r: &Relations) -> &Vec<Value> {
    &r.transactions
}

pub(super) fn customer_id(index: usize) -> &'static str {
    customers()[index]["id"].as_str().unwrap()
}

pub(super) fn text(value: &Value) -> &str {
    value.as_str().unwrap()
}

#[test]
fn ids_numbers_and_references_carry_any_index_up_to_the_largest() {
    use super::ids::{self, Kind};
    for index in [0, 1, 59, 60, 123_456, MAX_CUSTOMERS - 1] {
        for kind in [Kind::Account, Kind::Card, Kind::Wallet, Kind::Transaction] {
            let id = ids::object_id(kind, 1_700_000_000 + index as u64, index, 0x1_1d);
            assert_eq!(ids::object_owner(kind, &id), Some((index, 0x1_1d)), "{id}");
            let other = if kind == Kind::Card {
                Kind::Wallet
            } else {
                Kind::Card
            };
            assert_eq!(ids::object_owner(other, &id), None);
        }
        for slot in 0..4 {
            let number = ids::account_number(index, slot);
            assert_eq!(ids::number_owner(&number), Some((index, slot)), "{number}");
        }
        let reference = ids::reference(0xdead_beef_cafe + index as u64, index, 1, 29);
        assert_eq!(ids::reference_owner(&reference), Some((index, 1, 29)));
    }
}

#[test]
fn balances_add_up_for_every_account_of_the_sixty() {
    for (index, relations) in all().iter().enumerate() {
        for account in &relations.accounts {
            let mut chain: Vec<&Value> = relations
                .transactions
                .iter()
                .filter(|t| t["account_id"] == account["id"])
                .collect();
            chain.reverse();
            assert!((3..=30).contains(&chain.len()), "customer {index}");
            let mut balance = 0;
            for t in &chain {
                let amount = t["amount"].as_u64().unwrap();
                let fee = t["fee"].as_u64().unwrap();
                let previous = t["previous_account_balance"].as_u64().unwrap();
                let current = t["current_account_balance"].as_u64().unwrap();
                assert_eq!(previous, balance, "customer {index}: {t}");
                let expected = match (text(&t["status"]), text(&t["drcr"])) {
                    ("successful", "CR") => previous + amount - fee,
                    ("successful", "DR") => previous - amount - fee,
                    ("failed" | "pending", "CR" | "DR") => previous,
                    other => panic!("unexpected {other:?}"),
                };
                assert_eq!(current, expected, "customer {index}: {t}");
                balance = current;
            }
            assert_eq!(
                account["balance"].as_u64(),
                Some(balance),
                "customer {index}"
            );
        }
    }
}

#[test]
fn one_account_holds_more_than_2_31_kobo_and_some_hold_none() {
    let relations = all();
    let balances: Vec<(usize, u64)> = relations
        .iter()
        .enumerate()
        .flat_map(|(index, r)| {
            r.accounts
                .iter()
                .map(move |a| (index, a["balance"].as_u64().unwrap()))
        })
        .collect();
    let large: Vec<_> = balances
        .iter()
        .filter(|(_, b)| *b > TWO_TO_THE_31)
        .collect();
    assert_eq!(large.len(), 1);
    assert_eq!(large[0].0, 0, "the first customer's");
    assert!(balances.iter().any(|(_, b)| *b == 0));
}

#[test]
fn the_first_customer_has_a_page_worth_of_everything() {
    let first = relations_of(0).unwrap();
    assert_eq!(first.accounts.len(), 1);
    assert_eq!(first.accounts[0]["status"], "Open");
    assert!(first.accounts[0]["balance"].as_u64().unwrap() >= 5_000_000_000);
    assert!(!first.cards.is_empty());
    assert!(!first.wallets.is_empty());
    assert!(first.transactions.len() >= 8);
    assert_eq!(relations_of(CUSTOMER_COUNT), None);
}

#[test]
fn the_sixty_show_every_case() {
    let relations = all();
    let count = |f: &dyn Fn(&Relations) -> bool| relations.iter().filter(|r| f(r)).count();
    assert!(count(&|r| r.accounts.is_empty()) >= 1);
    assert!(count(&|r| r.cards.is_empty()) >= 1);
    assert!(count(&|r| r.wallets.is_empty()) >= 1);
    assert!(count(&|r| r.accounts.len() == 1) > CUSTOMER_COUNT / 2);
    assert!(count(&|r| r.accounts.len() == 2) >= 1);

    let values = |records: Records, key: &str| -> Vec<String> {
        let all = relations.iter().flat_map(records);
        all.map(|v| v[key].to_string().trim_matches('"').to_owned())
            .collect()
    };
    let statuses = values(accounts, "status");
    let open = statuses.iter().filter(|s| *s == "Open").count();
    assert!(open > statuses.len() / 2);
    let cases: [(Records, &str, &[&str]); 8] = [
        (accounts, "status", &["Frozen", "Closed"]),
        (accounts, "updated_at", &[ZERO_TIME]),
        (cards, "status", &["active", "frozen", "blocked"]),
        (cards, "brand", &["Verve", "MasterCard"]),
        (cards, "updated_at", &[ZERO_TIME]),
        (transactions, "status", &["successful", "failed", "pending"]),
        (transactions, "drcr", &["CR", "DR"]),
        (transactions, "payment_method", &["bank_transfer", "card"]),
    ];
    for (records, key, wanted) in cases {
        let found = values(records, key);
        for wanted in wanted {
            assert!(found.iter().any(|v| v == wanted), "{key} {wanted}");
        }
    }
    for card in relations.iter().flat_map(cards) {
        assert!((1..=12).contains(&card["expiry_month"].as_u64().unwrap()));
        assert!((1000..=9999).contains(&card["expiry_year"].as_u64().unwrap()));
    }
    // Bloc leaves a wallet's currency out at times.
    assert!(
        relations
            .iter()
            .flat_map(|r| &r.wallets)
            .any(|w| w.get("currency").is_none())
    );
}

#[test]
fn ids_numbers_and_references_are_unique_and_well_formed() {
    let relations = all();
    let mut ids: HashSet<String> = customers()
        .iter()
        .map(|c| text(&c["id"]).to_owned())
        .collect();
    let mut numbers = HashSet::new();
    let mut references = HashSet::new();
    for r in &relations {
        let records = r
            .accounts
            .iter()
            .chain(&r.cards)
            .chain(&r.wallets)
            .chain(&r.transactions);
        for record in records {
            let id = text(&record["id"]);
            assert!(
                id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()),
                "{id}"
            );
            assert!(ids.insert(id.to_owned()), "{id} twice");
        }
        for record in r.accounts.iter().chain(&r.wallets) {
            let number = text(&record["account_number"]);
            assert!(number.len() == 10 && number.bytes().all(|b| b.is_ascii_digit()));
            assert!(numbers.insert(number.to_owned()), "{number} twice");
        }
        for t in &r.transactions {
            assert!(references.insert(text(&t["reference"]).to_owned()));
        }
    }
}
