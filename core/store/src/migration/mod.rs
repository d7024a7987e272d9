//! Schema migrations, one per file, applied in order by [`Migrator`].
//!
//! A migration is named after its module (`DeriveMigrationName`): never rename a file that has shipped.

use sea_orm_migration::prelude::*;

mod m20261123_000001_create_offers;
mod m20261123_000002_create_access_tokens;
mod m20261123_000003_create_nonces;
mod m20261123_000004_create_issuances;
mod m20261123_000005_create_events;
mod m20261207_000006_authorization_code_flow;
mod m20261207_000007_credentials;
mod m20261207_000008_lifecycle;
mod m20261207_000009_event_delivery;
mod m20261207_000010_offer_expiry;
mod m20261208_000011_leases;
mod m20261208_000012_unredeemed_offers;

/// All migrations of the store.
pub(crate) struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_offers::Migration),
            Box::new(m20261123_000002_create_access_tokens::Migration),
            Box::new(m20261123_000003_create_nonces::Migration),
            Box::new(m20261123_000004_create_issuances::Migration),
            Box::new(m20261123_000005_create_events::Migration),
            Box::new(m20261207_000006_authorization_code_flow::Migration),
            Box::new(m20261207_000007_credentials::Migration),
            Box::new(m20261207_000008_lifecycle::Migration),
            Box::new(m20261207_000009_event_delivery::Migration),
            Box::new(m20261207_000010_offer_expiry::Migration),
            Box::new(m20261208_000011_leases::Migration),
            Box::new(m20261208_000012_unredeemed_offers::Migration),
        ]
    }
}
