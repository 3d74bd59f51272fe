//! The sandbox's customers: generated once from a fixed seed, identical on every run and
//! machine, in Bloc's exact JSON (string tiers, zero-time dates, `{}` addresses, omitted
//! optional fields, names with stray spaces, surname-first `full_name`).
//!
//! The generator is a hand-written SplitMix64 rather than a PRNG crate on purpose: the data
//! is a fixture that tests and docs quote, and no crate promises its sequence across versions.

// Bounded by construction: every operand is a constant of this file, a customer's index
// (below `MAX_CUSTOMERS`) or `rng.below(n)` (below `n`), and nothing depends on input.
#![allow(
    clippy::arithmetic_side_effects,
    reason = "a fixed fixture generator whose sums stay far below u64::MAX"
)]

use std::sync::LazyLock;

use serde_json::{Value, json};

/// How many customers the sandbox holds unless told otherwise (`bloc-graphql sandbox
/// --customers`); these first records are the ones tests and docs quote.
pub const CUSTOMER_COUNT: usize = 60;

/// Most customers one sandbox can hold: records past [`CUSTOMER_COUNT`] carry their index in
/// an ObjectId's 3-byte counter, which is what keeps their ids unique.
pub const MAX_CUSTOMERS: usize = 1 << 24;

pub(super) const SEED: u64 = 0x0b10_c5a1_dbcf_2023;
pub(super) const ORGANIZATION_ID: &str = "640b045929eb9cf45bc720c9";

/// The default sandbox's customers ([`CUSTOMER_COUNT`] of them), in list order.
pub fn customers() -> &'static [Value] {
    static CUSTOMERS: LazyLock<Vec<Value>> = LazyLock::new(|| generate(CUSTOMER_COUNT));
    &CUSTOMERS
}

/// The first `count` customers of the seeded stream (at most [`MAX_CUSTOMERS`]), in list
/// order: a prefix of every longer run, so the first [`CUSTOMER_COUNT`] are always
/// [`customers`].
pub fn generate(count: usize) -> Vec<Value> {
    let count = count.min(MAX_CUSTOMERS);
    let mut rng = SplitMix(SEED);
    (0..count).map(|n| customer(n, count, &mut rng)).collect()
}

/// The generator behind every value here; relations draw from their own streams of it.
pub(super) struct SplitMix(pub(super) u64);

impl SplitMix {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    #[allow(
        clippy::indexing_slicing,
        reason = "`below(n)` is below `n`, and every list here is a non-empty constant"
    )]
    pub(super) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

pub(super) const FIRST_FEMALE: &[&str] = &[
    "Adaeze",
    "Funmilayo",
    "Aisha",
    "Chiamaka",
    "Ngozi",
    "Temitope",
    "Zainab",
    "Yetunde",
    "Ifeoma",
    "Hauwa",
    "Folake",
    "Amaka",
    "Blessing",
    "Kemi",
    "Halima",
    "Nneka",
];
pub(super) const FIRST_MALE: &[&str] = &[
    "Chukwuemeka",
    "Oluwaseun",
    "Ibrahim",
    "Tunde",
    "Emeka",
    "Babatunde",
    "Musa",
    "Obinna",
    "Segun",
    "Abdullahi",
    "Ikenna",
    "Femi",
    "Yusuf",
    "Chidi",
    "Kayode",
    "Uche",
];
pub(super) const LAST: &[&str] = &[
    "Okafor",
    "Adeyemi",
    "Bello",
    "Okonkwo",
    "Balogun",
    "Eze",
    "Abubakar",
    "Ogunleye",
    "Nwosu",
    "Adebayo",
    "Danjuma",
    "Obi",
    "Afolabi",
    "Lawal",
    "Nwachukwu",
    "Olawale",
    "Ibrahim",
    "Okeke",
    "Oyelaran",
    "Umar",
];
/// (city, state) pairs.
pub(super) const PLACES: &[(&str, &str)] = &[
    ("Ikeja", "Lagos"),
    ("Lekki", "Lagos"),
    ("Yaba", "Lagos"),
    ("Ibadan", "Oyo"),
    ("Abuja", "FCT"),
    ("Kano", "Kano"),
    ("Enugu", "Enugu"),
    ("Port Harcourt", "Rivers"),
    ("Benin City", "Edo"),
    ("Kaduna", "Kaduna"),
    ("Abeokuta", "Ogun"),
    ("Owerri", "Imo"),
];
const STREETS: &[&str] = &[
    "Admiralty Way",
    "Allen Avenue",
    "Awolowo Road",
    "Herbert Macaulay Way",
    "Ogui Road",
    "Aminu Kano Crescent",
    "Ring Road",
    "Trans-Amadi Road",
    "Ahmadu Bello Way",
];
const MEANS_OF_ID: &[&str] = &[
    "Drivers License",
    "International Passport",
    "Voters Card",
    "NIN Slip",
];
const PHONE_PREFIXES: &[&str] = &[
    "0803", "0806", "0813", "0816", "0703", "0705", "0809", "0905",
];

/// When the first customer past [`CUSTOMER_COUNT`] was created: nine days after the last of
/// them, as their own spacing goes.
const LATER_START: u64 = 1_672_531_200 + CUSTOMER_COUNT as u64 * 86_400 * 9;
/// The stretch of time customers past [`CUSTOMER_COUNT`] are spread over, however many there
/// are: nine days each would put the 10,000th two centuries ahead.
const LATER_SPAN: u64 = 2 * 365 * 86_400;

/// When customer `n` of `count` was created, and its 24-hex id.
fn created_and_id(n: usize, count: usize, rng: &mut SplitMix) -> (u64, String) {
    if n < CUSTOMER_COUNT {
        // The quoted records: these draws must stay exactly as they were.
        let created = 1_672_531_200 + n as u64 * 86_400 * 9 + rng.below(86_400);
        let mut id = format!("{:08x}{:016x}", created, rng.next());
        id.truncate(24);
        return (created, id);
    }
    let later = (n - CUSTOMER_COUNT) as u64;
    let spread = (count - CUSTOMER_COUNT).max(1) as u64;
    let created = LATER_START + later * LATER_SPAN / spread + rng.below(3_600);
    // A real ObjectId's layout: 4-byte time, 5 random bytes, 3-byte counter. The counter is the
    // index, so no two ids collide however the random bytes fall.
    let id = format!(
        "{:08x}{:010x}{:06x}",
        created,
        rng.next() & 0xff_ffff_ffff,
        n & 0xff_ffff
    );
    (created, id)
}

fn customer(n: usize, count: usize, rng: &mut SplitMix) -> Value {
    let female = rng.below(2) == 0;
    let first = rng.pick(if female { FIRST_FEMALE } else { FIRST_MALE });
    let last = rng.pick(LAST);
    // Bloc keeps names as typed: some carry stray spaces.
    let first_raw = if n % 7 == 3 {
        format!("{first} ")
    } else {
        first.to_owned()
    };
    let last_raw = if n % 11 == 5 {
        format!(" {last}")
    } else {
        last.to_owned()
    };
    // Every fourth customer is still at tier 0, so "unset" markers are common.
    let tier = if n.is_multiple_of(4) {
        0
    } else {
        1 + rng.below(3)
    };
    let (created, id) = created_and_id(n, count, rng);
    let email = format!(
        "{}.{}{}@example.ng",
        first.to_lowercase(),
        last.to_lowercase(),
        n
    );
    let phone = format!("{}{}", rng.pick(PHONE_PREFIXES), rng.digits(7));
    let bvn = format!("22{}", rng.digits(9));
    let updated = if tier == 0 && n.is_multiple_of(8) {
        "0001-01-01T00:00:00Z".to_owned()
    } else {
        timestamp(created + 3_600 + rng.below(30 * 86_400), rng)
    };

    let mut record = json!({
        "id": id,
        "full_name": format!("{last_raw} {first_raw}"),
        "phone_number": phone,
        "organization_id": ORGANIZATION_ID,
        "environment": "test",
        "email": email,
        "country": "",
        "group": "main",
        "status": if n % 10 == 9 { "archived" } else { "active" },
        "created_at": timestamp(created, rng),
        "updated_at": updated,
        "SyncData": { "Provider": "" },
        "first_name": first_raw,
        "last_name": last_raw,
        "kyc_tier": tier.to_string(),
        "bvn": bvn,
        "date_of_birth": "0001-01-01T00:00:00Z",
        "customer_type": if n % 5 == 2 { "retail" } else { "Personal" },
        "source": if n % 6 == 1 { "Payment" } else { "Banking" },
        "address": {},
    });
    if tier >= 1 {
        let (city, state) = rng.pick(PLACES);
        let (birth_city, _) = rng.pick(PLACES);
        let year = 1965 + rng.below(40);
        let month = 1 + rng.below(12);
        let day = 1 + rng.below(28);
        // Bloc once returned a T1 address with a blank street; keep one such quirk.
        let street = if n % 9 == 2 {
            String::new()
        } else {
            format!("{} {}", 1 + rng.below(120), rng.pick(STREETS))
        };
        let extra = json!({
            "country": "Nigeria",
            "place_of_birth": birth_city,
            "gender": if female { "Female" } else { "Male" },
            "image_url": format!("https://kyc.sandbox.invalid/{id}/photo.png"),
            "date_of_birth": format!("{year}-{month:02}-{day:02}T00:00:00Z"),
            "address": {
                "street": street, "city": city, "state": state,
                "country": "Nigeria", "postal_code": format!("{}", 100_001 + rng.below(900_000)),
            },
        });
        merge(&mut record, extra);
    }
    if tier >= 2 {
        let means = rng.pick(MEANS_OF_ID);
        merge(
            &mut record,
            json!({
                "means_of_identity": means,
                "means_of_identity_url": format!("https://kyc.sandbox.invalid/{id}/id-document.png"),
            }),
        );
    }
    if tier >= 3 {
        merge(
            &mut record,
            json!({
                "identity_url": format!("https://kyc.sandbox.invalid/{id}/proof-of-address.png"),
            }),
        );
    }
    record
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(into), Value::Object(from)) = (into, from) {
        into.extend(from);
    }
}

/// An RFC 3339 UTC timestamp with Bloc's millisecond precision.
#[allow(
    clippy::expect_used,
    reason = "the generator's seconds are dates from 2023 to 2026, well within chrono's range"
)]
fn timestamp(seconds: u64, rng: &mut SplitMix) -> String {
    let at = chrono::DateTime::from_timestamp(seconds as i64, 0).expect("seconds in range");
    format!("{}.{:03}Z", at.format("%Y-%m-%dT%H:%M:%S"), rng.below(1000))
}
