//! Offer expiry (issue #17): the purge marks each offer still `created` or
//! `resolved` whose `expires_at` has passed as `expired`, once, with its
//! `offer_expired` event (`crate::expiry`).
//!
//! The offers it looks for are read from a partial index holding only the
//! offers still in `created` or `resolved`: `ix_offers_expires_at` also holds
//! every redeemed offer, which is kept for good, so scanning its expired range
//! every minute would read a table's worth of rows that can no longer expire.
//! The index's predicate is raw SQL, the same on both backends; the sweep's
//! query repeats the literal (`status IN ('created', 'resolved')`) so that
//! both planners use it.

use sea_orm_migration::prelude::*;

/// The partial index of the offers that can still expire.
const INDEX: &str = "ix_offers_live_expires_at";

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {INDEX} ON offers (expires_at) \
                 WHERE status IN ('created', 'resolved')"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP INDEX IF EXISTS {INDEX}"))
            .await?;
        Ok(())
    }
}
