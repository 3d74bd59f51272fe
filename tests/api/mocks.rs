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
