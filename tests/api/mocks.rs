//! Bloc fixtures for wiremock: records in Bloc's exact shape and the envelope around them.

use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

/// A 24-hex id from a small number, e.g. `id(3)` = `000000000000000000000003`.
pub fn id(n: u32) -> String {
    format!("{n:024x}")
}

/// A tier-1 customer as Bloc returns it (quirks included: string tier, stray spaces).
pub fn customer(id: &str) -> Value {
    json!({
        "id": id, "full_name": "Okafor  Adaeze", "phone_number": "08033225577",
        "organization_id": "640b045929eb9cf45bc720c9", "environment": "test",
        "email": "adaeze.okafor@example.ng", "country": "Nigeria", "group": "main",
        "status": "active", "created_at": "2023-03-14T11:57:32.567Z",
        "updated_at": "2023-03-14T12:17:10.991Z", "SyncData": { "Provider": "" },
        "first_name": "Adaeze ", "last_name": "Okafor", "kyc_tier": "1", "bvn": "22403240419",
        "place_of_birth": "Lagos", "gender": "Female",
        "image_url": "https://kyc.example.invalid/photo.png",
        "date_of_birth": "1994-06-22T00:00:00Z", "customer_type": "Personal", "source": "Banking",
        "address": { "street": "10c Pinnock Estate", "city": "Lekki", "state": "Lagos",
                     "country": "Nigeria", "postal_code": "100101" }
    })
}

/// A tier-0 customer full of Bloc's "unset" markers.
pub fn tier0_customer(id: &str) -> Value {
    json!({
        "id": id, "full_name": "eratti mas", "phone_number": "09174839247",
        "organization_id": "640b045929eb9cf45bc720c9", "environment": "test",
        "email": "maserati@example.ng", "country": "", "group": "main", "status": "active",
        "created_at": "2023-03-14T11:49:49.839735959Z", "updated_at": "0001-01-01T00:00:00Z",
        "SyncData": { "Provider": "" }, "first_name": "mas", "last_name": "eratti",
        "kyc_tier": "0", "bvn": "22303240817", "date_of_birth": "0001-01-01T00:00:00Z",
        "customer_type": "retail", "source": "Banking", "address": {}
    })
}

pub fn envelope(data: Value) -> Value {
    json!({ "success": true, "data": data, "message": "customer" })
}

pub fn list_envelope(data: Value) -> Value {
    json!({
        "success": true, "data": data, "message": "get customers",
        "metadata": { "has_next": false, "has_previous": false }
    })
}

/// `GET /v1/customers/{id}` answers `body` with 200, expected exactly `times` times.
pub async fn mount_customer(bloc: &MockServer, record: Value, times: u64) {
    let id = record["id"].as_str().unwrap().to_owned();
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{id}")))
        .and(header(
            "authorization",
            format!("Bearer {}", crate::helpers::TEST_KEY).as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(record)))
        .expect(times)
        .mount(bloc)
        .await;
}

/// `GET /v1/customers` answers these records, expected exactly `times` times.
pub async fn mount_list(bloc: &MockServer, records: Value, times: u64) {
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list_envelope(records)))
        .expect(times)
        .mount(bloc)
        .await;
}

/// `GET /v1/customers/{id}` answers `status` with Bloc's error envelope.
pub async fn mount_status(bloc: &MockServer, id: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(format!("/v1/customers/{id}")))
        .respond_with(response)
        .mount(bloc)
        .await;
}

pub fn bloc_error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({ "success": false, "message": message }))
}

/// A customer's virtual account as Bloc returns it (string tier, capitalised status, an
/// embedded customer the facade does not read), with `balance` in kobo.
pub fn account(id: &str, customer_id: &str, number: &str, balance: Value) -> Value {
    json!({
        "id": id, "name": "Adaeze Okafor - savings", "bvn": "22403240419", "kyc_tier": "1",
        "created_at": "2023-03-14T11:57:32.567Z", "updated_at": "0001-01-01T00:00:00Z",
        "deleted_at": "0001-01-01T00:00:00Z", "status": "Open", "environment": "test",
        "organization_id": "640b045929eb9cf45bc720c9", "balance": balance, "currency": "NGN",
        "frequency": 0, "frequency_count": 0, "meta_data": {}, "customer_id": customer_id,
        "customer": customer(customer_id), "account_number": number, "bank_name": "Banc Corp",
        "type": "Virtual", "collection_account": false, "hide_account": false,
        "SkipNumber": false, "external_account": {}, "alias": "savings"
    })
}

/// A card as Bloc lists it.
pub fn card(id: &str, customer_id: &str) -> Value {
    json!({
        "id": id, "customer_id": customer_id, "organisation_id": "640b045929eb9cf45bc720c9",
        "environment": "test", "type": "virtual", "name": "Adaeze Okafor", "currency": "NGN",
        "brand": "Verve", "status": "active",
        "billing_address": { "city": "Lekki", "state": "Lagos", "country": "Nigeria" },
        "expiry_month": 3, "expiry_year": 2027,
        "created_at": "2023-03-13T11:34:26.577469+01:00", "updated_at": "2023-03-13T11:34:26Z"
    })
}

/// A transaction of `customer_id` on `account_id`, as Bloc lists it.
pub fn transaction(n: u32, customer_id: &str, account_id: &str, drcr: &str) -> Value {
    json!({
        "id": id(0x7000 + n), "created_at": "2023-03-14T11:57:32.567Z",
        "updated_at": "2023-03-14T11:57:32.567Z", "amount": 150000, "reference": format!("ref-{n}"),
        "status": "successful", "shared": false, "currency": "NGN", "environment": "test",
        "payment_method": "bank_transfer", "provider": "banc", "payment_type": "payin",
        "source": "Banking", "meta_data": {}, "organization_id": "640b045929eb9cf45bc720c9",
        "customer_id": customer_id, "fee": 0, "billing_id": "",
        "customer_detail": { "full_name": "Okafor Adaeze", "phone_number": "08033225577", "country": "Nigeria" },
        "reversal": false, "previous_account_balance": 0, "current_account_balance": 150000,
        "account_id": account_id, "drcr": drcr, "narration": "transfer"
    })
}

/// Bloc's envelope around a list of `data` with paging metadata.
pub fn page_envelope(data: Value, has_next: bool) -> Value {
    json!({
        "success": true, "data": data, "message": "found",
        "metadata": { "has_next": has_next, "has_previous": false }
    })
}

/// `GET /v1{path}` answers `body` with 200 (after `delay`), expected exactly `times` times.
pub async fn mount_path(
    bloc: &MockServer,
    path_: &str,
    body: Value,
    delay: std::time::Duration,
    times: u64,
) {
    Mock::given(method("GET"))
        .and(path(format!("/v1{path_}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(body)
                .set_delay(delay),
        )
        .expect(times)
        .mount(bloc)
        .await;
}

/// A wallet of `customer_id` as Bloc lists it, with `balance` in kobo.
pub fn wallet(id: &str, customer_id: &str, number: &str, balance: Value) -> Value {
    json!({
        "id": id, "customer_id": customer_id, "organization_id": "640b045929eb9cf45bc720c9",
        "environment": "test", "alias": "spend", "account_number": number,
        "bank_name": "Banc Corp", "balance": balance, "currency": "NGN", "status": "active",
        "created_at": "2023-03-15T09:12:44.102Z", "updated_at": "2023-03-15T09:12:44.102Z"
    })
}
