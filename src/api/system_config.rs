//! `GET /api/v2/config/`: the system's version, license and options.

use actix_web::HttpResponse;
use serde_json::json;

use super::auth::Authenticated;
use super::headers::PRODUCT_VERSION;

/// The privilege-escalation methods AWX offers, as `[value, label]`.
const BECOME_METHODS: [(&str, &str); 12] = [
    ("sudo", "Sudo"),
    ("su", "Su"),
    ("pbrun", "Pbrun"),
    ("pfexec", "Pfexec"),
    ("dzdo", "DZDO"),
    ("pmrun", "Pmrun"),
    ("runas", "Runas"),
    ("enable", "Enable"),
    ("doas", "Doas"),
    ("ksu", "Ksu"),
    ("machinectl", "Machinectl"),
    ("sesu", "Sesu"),
];

/// What AWX shows any authenticated user.
pub async fn config(Authenticated(_user): Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "time_zone": "UTC",
        "license_info": {
            "license_type": "open",
            "valid_key": true,
            "subscription_name": "OPEN",
            "product_name": "AWX",
        },
        "version": PRODUCT_VERSION,
        "rawx_version": env!("CARGO_PKG_VERSION"),
        "eula": "",
        "analytics_status": "off",
        "analytics_collectors": {},
        "become_methods": BECOME_METHODS.iter().map(|(v, l)| [v, l]).collect::<Vec<_>>(),
        "ui_next": false,
    }))
}
