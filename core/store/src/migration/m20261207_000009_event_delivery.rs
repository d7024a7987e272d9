//! Webhook delivery of the event log (ADR 0021): one cursor per event
//! endpoint (its position in the log and who holds its lease) and the
//! deliveries not done yet (retrying or dead).
//!
//! - `event_cursors` is keyed by the endpoint id: taking a lease is one
//!   conditional `UPDATE` of that row, so instances sharing a database
//!   agree on one holder.
//! - `event_deliveries` is keyed by (endpoint, event): a pending row is
//!   inserted once (`ON CONFLICT DO NOTHING`) and deleted when delivered.
//!   Its index `(endpoint_id, state, event_id)` serves the engine's read of
//!   the retrying rows in event order, the operator's dead letters and the
//!   counts per endpoint and state.
//!
//! No foreign keys: an event's offer may be purged, and a pending row keeps
//! its offer (and so the event) from the purge instead (module `purge`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .if_not_exists()
                    .col(string(C::EndpointId).primary_key())
                    .col(big_integer(C::Position))
                    .col(string_null(C::Holder))
                    .col(big_integer(C::LeaseUntilMs).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(D::Table)
                    .if_not_exists()
                    .col(string(D::EndpointId))
                    .col(big_integer(D::EventId))
                    .col(string(D::OfferId))
                    .col(string(D::Tenant))
                    .col(string(D::State))
                    .col(integer(D::Attempts))
                    .col(big_integer(D::NextAttemptMs))
                    .col(big_integer(D::Since))
                    .col(text_null(D::LastError))
                    .primary_key(Index::create().col(D::EndpointId).col(D::EventId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("ix_event_deliveries_endpoint_state_event")
                    .table(D::Table)
                    .col(D::EndpointId)
                    .col(D::State)
                    .col(D::EventId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [D::Table.into_iden(), C::Table.into_iden()] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

use self::{EventCursors as C, EventDeliveries as D};

#[derive(DeriveIden)]
enum EventCursors {
    Table,
    EndpointId,
    Position,
    Holder,
    LeaseUntilMs,
}

#[derive(DeriveIden)]
enum EventDeliveries {
    Table,
    EndpointId,
    EventId,
    OfferId,
    Tenant,
    State,
    Attempts,
    NextAttemptMs,
    Since,
    LastError,
}
