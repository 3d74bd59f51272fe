//! One customer with its related records, rendered in Bloc's JSON ([`super::wire`]) from the
//! customer's served record and its [`Plan`]. Only the records an answer holds are rendered.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    data::{FIRST_FEMALE, FIRST_MALE, LAST, ORGANIZATION_ID, PLACES, SplitMix},
    ids::{self, Kind},
    relations::{self, Account, Card, Flow, Plan, Stamp, Transaction, Wallet},
    wire::{
        AccountJson, Address, CardJson, CustomerDetail, Empty, TransactionJson, WalletJson,
        ZERO_TIME, nigeria,
    },
};

/// The all-zero ObjectId: Bloc's "none".
const NO_ID: &str = "000000000000000000000000";
const BANK: &str = "Banc Corp";

/// What rendering needs of a customer's record, borrowed from its bytes.
#[derive(Deserialize)]
struct Facts<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    first_name: Cow<'a, str>,
    #[serde(borrow)]
    last_name: Cow<'a, str>,
    #[serde(borrow)]
    full_name: Cow<'a, str>,
    #[serde(borrow)]
    phone_number: Cow<'a, str>,
    #[serde(borrow)]
    email: Cow<'a, str>,
    #[serde(borrow)]
    bvn: Cow<'a, str>,
    #[serde(borrow)]
    kyc_tier: Cow<'a, str>,
    #[serde(borrow)]
    country: Cow<'a, str>,
    #[serde(borrow)]
    created_at: Cow<'a, str>,
    #[serde(borrow, default)]
    address: Address<'a>,
}

fn borrowed<'b>(text: &'b Option<Cow<'_, str>>) -> Option<Cow<'b, str>> {
    text.as_deref().map(Cow::Borrowed)
}

/// One customer with its related records, ready to render.
pub(super) struct View<'a> {
    pub(super) index: usize,
    pub(super) plan: Plan,
    facts: Facts<'a>,
    record: &'a RawValue,
    /// The time of serving when records change live, else empty.
    now: &'a str,
}

impl<'a> View<'a> {
    /// Customer `index` from its served `record`; `None` if the record is not a customer's,
    /// which construction rules out.
    pub(super) fn new(index: usize, record: &'a [u8], now: &'a str) -> Option<Self> {
        let facts: Facts<'a> = serde_json::from_slice(record).ok()?;
        let created = chrono::DateTime::parse_from_rfc3339(&facts.created_at).ok()?;
        let plan = relations::plan(index, u64::try_from(created.timestamp()).ok()?);
        Some(Self {
            index,
            plan,
            facts,
            record: serde_json::from_slice(record).ok()?,
            now,
        })
    }

    fn updated(&self, stamp: Option<Stamp>) -> String {
        match (self.now, stamp) {
            ("", Some(stamp)) => text(stamp),
            ("", None) => ZERO_TIME.to_owned(),
            (now, _) => now.to_owned(),
        }
    }

    pub(super) fn account_id(&self, account: &Account) -> String {
        let created = account.created.seconds;
        ids::object_id(Kind::Account, created, self.index, account.slot.into())
    }

    pub(super) fn account_number(&self, account: &Account) -> String {
        ids::account_number(self.index, account.slot)
    }

    pub(super) fn reference(&self, transaction: &Transaction) -> String {
        let (slot, place) = (transaction.slot, transaction.place);
        ids::reference(transaction.detail, self.index, slot, place)
    }

    pub(super) fn account(&self, account: &Account) -> AccountJson<'_> {
        let facts = &self.facts;
        AccountJson {
            id: self.account_id(account),
            name: format!(
                "{} {} - {}",
                facts.first_name, facts.last_name, account.alias
            ),
            bvn: &facts.bvn,
            kyc_tier: &facts.kyc_tier,
            created_at: text(account.created),
            updated_at: self.updated(account.updated),
            deleted_at: ZERO_TIME,
            status: account.status,
            environment: "test",
            organization_id: ORGANIZATION_ID,
            balance: account.balance(),
            currency: "NGN",
            frequency: 0,
            frequency_count: 0,
            meta_data: Empty {},
            customer_id: &facts.id,
            customer: self.record,
            account_number: self.account_number(account),
            bank_name: BANK,
            kind: "Virtual",
            collection_account: false,
            hide_account: false,
            skip_number: false,
            external_account: Empty {},
            alias: account.alias,
        }
    }

    pub(super) fn accounts(&self) -> Vec<AccountJson<'_>> {
        self.plan.accounts.iter().map(|a| self.account(a)).collect()
    }

    pub(super) fn cards(&self) -> Vec<CardJson<'_>> {
        self.plan.cards.iter().map(|card| self.card(card)).collect()
    }

    fn card(&self, card: &Card) -> CardJson<'_> {
        let facts = &self.facts;
        CardJson {
            id: ids::object_id(
                Kind::Card,
                card.created.seconds,
                self.index,
                card.sequence.into(),
            ),
            customer_id: &facts.id,
            organisation_id: ORGANIZATION_ID,
            environment: "test",
            kind: "virtual",
            name: format!("{} {}", facts.first_name.trim(), facts.last_name.trim()),
            currency: "NGN",
            brand: card.brand,
            status: card.status,
            billing_address: self.billing_address(card),
            expiry_month: card.expiry_month,
            expiry_year: card.expiry_year,
            created_at: text(card.created),
            updated_at: self.updated(card.updated),
        }
    }

    /// The customer's address; for a customer who gave none, a city of the card's choosing.
    fn billing_address(&self, card: &Card) -> Address<'_> {
        let given = &self.facts.address;
        if given.city.is_some() {
            return Address {
                street: borrowed(&given.street),
                city: borrowed(&given.city),
                state: borrowed(&given.state),
                country: nigeria(),
                postal_code: borrowed(&given.postal_code),
            };
        }
        let (city, state) = SplitMix(card.detail).pick(PLACES);
        Address {
            street: None,
            city: Some(city.into()),
            state: Some(state.into()),
            country: nigeria(),
            postal_code: None,
        }
    }

    pub(super) fn wallets(&self) -> Vec<WalletJson<'_>> {
        self.plan.wallets.iter().map(|w| self.wallet(w)).collect()
    }

    fn wallet(&self, wallet: &Wallet) -> WalletJson<'_> {
        WalletJson {
            id: ids::object_id(
                Kind::Wallet,
                wallet.created.seconds,
                self.index,
                wallet.slot.into(),
            ),
            customer_id: &self.facts.id,
            alias: wallet.alias,
            account_number: ids::account_number(self.index, wallet.slot),
            bank_name: BANK,
            balance: wallet.balance,
            currency: wallet.currency.then_some("NGN"),
            status: "active",
            created_at: text(wallet.created),
            updated_at: self.updated(Some(wallet.updated)),
        }
    }

    /// `transaction` of `account` (one of this customer's).
    pub(super) fn transaction(
        &self,
        account: &Account,
        transaction: &Transaction,
    ) -> TransactionJson<'_> {
        let facts = &self.facts;
        let t = transaction;
        let sequence = u32::from(t.slot) << 8 | u32::from(t.place);
        TransactionJson {
            id: ids::object_id(Kind::Transaction, t.created.seconds, self.index, sequence),
            created_at: text(t.created),
            updated_at: self.updated(Some(t.updated)),
            amount: t.amount,
            reference: self.reference(t),
            status: t.status,
            shared: false,
            currency: "NGN",
            environment: "test",
            payment_method: match t.flow {
                Flow::CardPayment => "card",
                _ => "bank_transfer",
            },
            provider: match t.flow {
                Flow::CardPayment => "Bloc Cards",
                _ => BANK,
            },
            payment_type: match t.flow {
                Flow::Credit => "payin",
                _ => "payout",
            },
            source: "Banking",
            meta_data: Empty {},
            organization_id: ORGANIZATION_ID,
            customer_id: &facts.id,
            fee: t.fee,
            billing_id: NO_ID,
            customer_detail: CustomerDetail {
                full_name: &facts.full_name,
                phone_number: &facts.phone_number,
                // Left out on some, as Bloc does.
                email: (t.detail % 4 != 3).then_some(&*facts.email),
                country: &facts.country,
            },
            reversal: false,
            previous_account_balance: t.previous,
            current_account_balance: t.current,
            account_id: self.account_id(account),
            drcr: drcr(t.flow),
            narration: narration(t),
        }
    }
}

/// Bloc's direction code for a flow.
pub(super) fn drcr(flow: Flow) -> &'static str {
    match flow {
        Flow::Credit => "CR",
        _ => "DR",
    }
}

/// An RFC 3339 UTC timestamp with Bloc's millisecond precision.
fn text(stamp: Stamp) -> String {
    let nanos = u32::from(stamp.millis).saturating_mul(1_000_000);
    i64::try_from(stamp.seconds)
        .ok()
        .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, nanos))
        .map_or_else(
            || ZERO_TIME.to_owned(),
            |at| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        )
}

fn narration(t: &Transaction) -> String {
    let rng = &mut SplitMix(t.detail);
    match t.flow {
        Flow::Credit => match rng.below(4) {
            0 => "Salary payment".to_owned(),
            1 => "Cash deposit".to_owned(),
            _ => format!("Transfer from {}", someone(rng)),
        },
        Flow::Transfer => match rng.below(4) {
            0 => "Rent".to_owned(),
            1 => "School fees".to_owned(),
            _ => format!("Transfer to {}", someone(rng)),
        },
        Flow::CardPayment => format!(
            "POS purchase - {}",
            rng.pick(&[
                "Shoprite Lekki",
                "Chicken Republic Yaba",
                "Jumia",
                "Bolt",
                "DStv",
                "MTN airtime",
                "Total Energies Ikeja",
            ])
        ),
        Flow::Closure => "Account closure - balance transfer".to_owned(),
    }
}

/// A name to send money to or receive it from.
fn someone(rng: &mut SplitMix) -> String {
    let first = if rng.below(2) == 0 {
        rng.pick(FIRST_FEMALE)
    } else {
        rng.pick(FIRST_MALE)
    };
    format!("{} {}", first, rng.pick(LAST))
}
