//! The ids, account numbers and references of a customer's related records. Each one carries
//! its customer's index, so a lookup regenerates that one customer's records instead of
//! searching a table: the sandbox holds nothing per record however many customers it serves,
//! and a lookup costs what one customer's records cost to derive.
//!
//! A decoded index only says whose record it would be; the caller regenerates that customer's
//! records and compares the whole id, so a made-up id that decodes is still unknown.

// Bounded by construction: every operand is below 10^10 (a slot code, an account number) or
// a masked ObjectId part, and `NUMBERS` is a non-zero constant.
#![allow(
    clippy::arithmetic_side_effects,
    reason = "operands are below 10^10, so products stay far below u128::MAX"
)]

/// What an ObjectId names: its two bytes after the creation time. Customer ids carry random
/// bytes there, so one could match a related record's id only by a chance of about 2^-40
/// for ids of the same second (and none of the default sandbox's do: a test checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Account = 0xa1c0,
    Card = 0xca7d,
    Wallet = 0x3a11,
    Transaction = 0x7a5e,
}

/// A real ObjectId's shape, 24 lowercase hex: 4-byte creation time, then the kind, the
/// customer's index and a sequence within that customer (3 bytes each for the last two,
/// scrambled by the time so that ids do not show them).
pub(super) fn object_id(kind: Kind, created: u64, index: usize, sequence: u32) -> String {
    let created = created & 0xffff_ffff;
    let (index_mask, sequence_mask) = masks(created);
    format!(
        "{created:08x}{:04x}{:06x}{:06x}",
        kind as u16,
        (index ^ index_mask) & 0xff_ffff,
        (sequence ^ sequence_mask) & 0xff_ffff,
    )
}

/// What an id's index and sequence are scrambled with: a mix of its creation time.
fn masks(created: u64) -> (usize, u32) {
    let mixed = created.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (
        (mixed >> 40) as usize & 0xff_ffff,
        (mixed >> 16) as u32 & 0xff_ffff,
    )
}

/// The customer index and sequence an id of `kind` would carry; `None` when it cannot be one.
pub(super) fn object_owner(kind: Kind, id: &str) -> Option<(usize, u32)> {
    if id.len() != 24 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let tag = u16::from_str_radix(id.get(8..12)?, 16).ok()?;
    if tag != kind as u16 {
        return None;
    }
    let (index_mask, sequence_mask) = masks(u64::from_str_radix(id.get(..8)?, 16).ok()?);
    let index = usize::from_str_radix(id.get(12..18)?, 16).ok()?;
    let sequence = u32::from_str_radix(id.get(18..24)?, 16).ok()?;
    Some((index ^ index_mask, sequence ^ sequence_mask))
}

/// How many 10-digit numbers there are; account numbers are a permutation of them.
const NUMBERS: u128 = 10_000_000_000;
/// The permutation: `number = (code * MULTIPLIER + OFFSET) mod 10^10`, a bijection because
/// the multiplier is coprime with 10; `INVERSE` undoes the multiplication.
const MULTIPLIER: u128 = 3_644_187_153;
const INVERSE: u128 = 2_633_432_817;
const OFFSET: u128 = 2_193_571_046;
/// Number slots per customer: two accounts, then two wallets.
pub(super) const SLOTS: usize = 4;

/// The 10-digit account number of a customer's account (slots 0 and 1) or wallet (2 and 3):
/// distinct for every (index, slot), and random-looking, as NUBANs are.
pub(super) fn account_number(index: usize, slot: u8) -> String {
    let code = index as u128 * SLOTS as u128 + u128::from(slot);
    format!("{:010}", (code * MULTIPLIER + OFFSET) % NUMBERS)
}

/// The customer index and slot a 10-digit account number would belong to.
pub(super) fn number_owner(number: &str) -> Option<(usize, u8)> {
    if number.len() != 10 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u128 = number.parse().ok()?;
    let code = (value + NUMBERS - OFFSET) % NUMBERS * INVERSE % NUMBERS;
    let index = usize::try_from(code / SLOTS as u128).ok()?;
    let slot = u8::try_from(code % SLOTS as u128).ok()?;
    Some((index, slot))
}

/// A transaction's reference, 20 lowercase hex: 11 of noise, then the customer's index, the
/// account's slot and the transaction's place in that account, each scrambled by the noise.
pub(super) fn reference(noise: u64, index: usize, slot: u8, place: u8) -> String {
    let noise = noise & 0xfff_ffff_ffff;
    let (index_mask, slot_mask, place_mask) = reference_masks(noise);
    format!(
        "{noise:011x}{:06x}{:x}{:02x}",
        (index ^ index_mask) & 0xff_ffff,
        (slot ^ slot_mask) & 0xf,
        place ^ place_mask,
    )
}

/// What a reference's index, slot and place are scrambled with: a mix of its noise.
fn reference_masks(noise: u64) -> (usize, u8, u8) {
    let mixed = noise.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (
        (mixed >> 40) as usize & 0xff_ffff,
        (mixed >> 36) as u8 & 0xf,
        (mixed >> 28) as u8,
    )
}

/// The customer index, account slot and place a reference would carry.
pub(super) fn reference_owner(reference: &str) -> Option<(usize, u8, u8)> {
    if reference.len() != 20 || !reference.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let masks = reference_masks(u64::from_str_radix(reference.get(..11)?, 16).ok()?);
    let index = usize::from_str_radix(reference.get(11..17)?, 16).ok()?;
    let slot = u8::from_str_radix(reference.get(17..18)?, 16).ok()?;
    let place = u8::from_str_radix(reference.get(18..20)?, 16).ok()?;
    Some((index ^ masks.0, slot ^ masks.1, place ^ masks.2))
}

/// Whether `id` has an ObjectId's shape: 24 hex digits. Anything else is a 400 at Bloc.
pub(super) fn well_formed(id: &str) -> bool {
    id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit())
}
