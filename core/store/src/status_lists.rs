//! Token Status Lists: each tenant's lists, the indices reserved in them
//! (never handed out twice, across any number of instances) and the
//! entries a list is built from (ADR 0019).

use std::collections::{BTreeSet, HashMap};

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Statement, TransactionTrait, Value,
};
use sigil_issuer::model::{CredentialStatus, StatusChange, StatusList};

use crate::batch::BatchOutcome;
use crate::credentials::list_number;
use crate::entities::{credential, status_list};
use crate::events::insert_event;
use crate::{Backend, Store, StoreError};

/// Candidates reserved per statement (3 bound values each: far below both
/// backends' limits on bound values).
const RESERVE_CHUNK: usize = 1000;
/// Credential ids looked up per statement by [`Store::change_status`].
const KEY_CHUNK: usize = 500;
/// How often [`Store::open_status_list`] tries again when the open list it
/// raced with was closed before it could read it.
const OPEN_ATTEMPTS: usize = 8;

/// `sql` with `?` placeholders, for `backend` (PostgreSQL numbers them).
fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 16);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                } else {
                    out.push(c);
                }
            }
            out
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

fn list_of(m: status_list::Model) -> Result<StatusList, StoreError> {
    Ok(StatusList {
        number: u32::try_from(m.number)
            .map_err(|_| StoreError::Corrupt(format!("status list number {}", m.number)))?,
        size: u64::try_from(m.size)
            .map_err(|_| StoreError::Corrupt(format!("status list size {}", m.size)))?,
        bits: u8::try_from(m.bits)
            .map_err(|_| StoreError::Corrupt(format!("status list bits {}", m.bits)))?,
        tenant: m.tenant,
        version: m.version,
        open: m.open,
        created_at: m.created_at,
    })
}

impl Store {
    /// The open status list of `tenant`; when it has none, create one with
    /// `size` entries of `bits` bits, numbered one past its highest list.
    ///
    /// Concurrent creators (any instance) agree on one list: the insert
    /// computes the number and checks that no list is open in one statement,
    /// and a partial unique index allows one open list per tenant; the loser
    /// of a race inserts nothing and reads the winner's list.
    pub async fn open_status_list(
        &self,
        tenant: &str,
        size: u64,
        bits: u8,
        now: i64,
    ) -> Result<StatusList, StoreError> {
        let backend = self.db.get_database_backend();
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        for _ in 0..OPEN_ATTEMPTS {
            if let Some(open) = self.open_list(tenant).await? {
                return list_of(open);
            }
            // The WHERE clause also keeps SQLite from reading `ON CONFLICT`
            // as a join constraint.
            let insert = statement(
                backend,
                "INSERT INTO status_lists (tenant, number, size, bits, version, \"open\", created_at) \
                 SELECT ?, COALESCE(MAX(number), 0) + 1, ?, ?, 0, TRUE, ? \
                 FROM status_lists WHERE tenant = ? \
                 HAVING NOT EXISTS (SELECT 1 FROM status_lists WHERE tenant = ? AND \"open\") \
                 ON CONFLICT DO NOTHING",
                vec![
                    tenant.into(),
                    size.into(),
                    i32::from(bits).into(),
                    now.into(),
                    tenant.into(),
                    tenant.into(),
                ],
            );
            self.db.execute_raw(insert).await?;
        }
        // Every list opened meanwhile was closed before it could be read.
        Err(StoreError::Database(DbErr::Custom(format!(
            "no open status list of tenant {tenant} after {OPEN_ATTEMPTS} attempts"
        ))))
    }

    async fn open_list(&self, tenant: &str) -> Result<Option<status_list::Model>, StoreError> {
        Ok(status_list::Entity::find()
            .filter(status_list::Column::Tenant.eq(tenant))
            .filter(status_list::Column::Open.eq(true))
            .all(&self.db)
            .await?
            .into_iter()
            .next())
    }

    /// Reserves for good those of `candidates` (indices of list `list` of
    /// `tenant`) that nobody reserved before, and returns them: one
    /// `INSERT … ON CONFLICT DO NOTHING RETURNING idx` per thousand
    /// candidates, so the primary key decides across instances. On a SQLite
    /// file the inserts are one batch of the group-commit writer (this is on
    /// the credential endpoint's path, once per pool refill), not a write of
    /// a pooled connection competing with the writer for SQLite's lock.
    pub async fn reserve_status_indices(
        &self,
        tenant: &str,
        list: u32,
        candidates: &[u64],
    ) -> Result<Vec<u64>, StoreError> {
        let backend = self.db.get_database_backend();
        let unique: BTreeSet<i64> = candidates
            .iter()
            .filter_map(|&c| i64::try_from(c).ok())
            .collect();
        let unique: Vec<i64> = unique.into_iter().collect();
        let statements: Vec<Statement> = unique
            .chunks(RESERVE_CHUNK)
            .map(|chunk| {
                let mut sql =
                    String::from("INSERT INTO status_indices (tenant, list, idx) VALUES ");
                let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 3);
                for (n, &idx) in chunk.iter().enumerate() {
                    if n > 0 {
                        sql.push(',');
                    }
                    sql.push_str("(?, ?, ?)");
                    values.extend([tenant.into(), list_number(list).into(), idx.into()]);
                }
                sql.push_str(" ON CONFLICT DO NOTHING RETURNING idx");
                statement(backend, &sql, values)
            })
            .collect();
        let reserved: Vec<i64> = match self.backend() {
            Backend::Sqlite if statements.is_empty() => Vec::new(),
            Backend::Sqlite => match self.write_batch(statements).await? {
                BatchOutcome::Committed(reserved) => reserved,
                BatchOutcome::RolledBack => {
                    return Err(StoreError::Corrupt(
                        "a status index reservation hit a unique key".to_owned(),
                    ));
                }
            },
            Backend::Postgres => {
                let mut reserved = Vec::with_capacity(unique.len());
                for s in statements {
                    for row in self.db.query_all_raw(s).await? {
                        reserved.push(row.try_get_by_index(0)?);
                    }
                }
                reserved
            }
        };
        reserved
            .into_iter()
            .map(|idx| {
                u64::try_from(idx).map_err(|_| StoreError::Corrupt(format!("status index {idx}")))
            })
            .collect()
    }

    /// Closes list `list` of `tenant` to new reservations; the next
    /// [`Store::open_status_list`] creates another.
    pub async fn close_status_list(&self, tenant: &str, list: u32) -> Result<(), StoreError> {
        status_list::Entity::update_many()
            .col_expr(status_list::Column::Open, Expr::value(false))
            .filter(status_list::Column::Tenant.eq(tenant))
            .filter(status_list::Column::Number.eq(list_number(list)))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// List `number` of `tenant`.
    pub async fn status_list(
        &self,
        tenant: &str,
        number: u32,
    ) -> Result<Option<StatusList>, StoreError> {
        status_list::Entity::find_by_id((tenant.to_owned(), list_number(number)))
            .all(&self.db)
            .await?
            .into_iter()
            .next()
            .map(list_of)
            .transpose()
    }

    /// The entries of list `number` of `tenant` whose credential is not
    /// valid, as (index, status): read from the partial index that holds
    /// only those.
    pub async fn status_entries(
        &self,
        tenant: &str,
        number: u32,
    ) -> Result<Vec<(u64, CredentialStatus)>, StoreError> {
        use credential::Column as C;
        let rows: Vec<(Option<i64>, String)> = credential::Entity::find()
            .select_only()
            .column(C::StatusIdx)
            .column(C::Status)
            .filter(C::Tenant.eq(tenant))
            .filter(C::StatusList.eq(list_number(number)))
            // A literal, as in the partial index's own WHERE clause.
            .filter(Expr::col(C::Status).ne(Expr::cust("'valid'")))
            .into_tuple()
            .all(&self.db)
            .await?;
        rows.into_iter()
            .filter_map(|(idx, status)| idx.map(|idx| (idx, status)))
            .map(|(idx, status)| {
                let status = CredentialStatus::parse(&status)
                    .ok_or_else(|| StoreError::Corrupt(format!("credential status {status:?}")))?;
                let idx = u64::try_from(idx)
                    .map_err(|_| StoreError::Corrupt(format!("status index {idx}")))?;
                Ok((idx, status))
            })
            .collect()
    }

    /// Applies each change whose credential (of `tenant`) still has status
    /// `from`, stores its event and raises the version of the status lists
    /// it touched, all in one transaction; returns, per change, whether it
    /// was applied.
    ///
    /// Rows are changed in the order of their ids and lists in the order of
    /// their numbers, so two concurrent calls cannot deadlock on PostgreSQL;
    /// the events are stored in the order of `changes`.
    pub async fn change_status(
        &self,
        tenant: &str,
        changes: &[StatusChange],
    ) -> Result<Vec<bool>, StoreError> {
        let mut applied = vec![false; changes.len()];
        if changes.is_empty() {
            return Ok(applied);
        }
        let keys = self.credential_keys(tenant, changes).await?;
        if keys.is_empty() {
            return Ok(applied);
        }
        let mut order: Vec<usize> = (0..changes.len()).collect();
        order.sort_by(|&a, &b| changes[a].credential_id.cmp(&changes[b].credential_id));
        let mut lists = BTreeSet::new();
        // On SQLite the first statement is a write, so the transaction
        // takes the write lock before it reads (no stale-snapshot upgrade).
        let txn = self.db.begin().await?;
        for at in order {
            let change = &changes[at];
            let Some((offer_id, notification_id)) = keys.get(&change.credential_id) else {
                continue;
            };
            use credential::Column as C;
            let rows = credential::Entity::update_many()
                .col_expr(C::Status, Expr::value(change.to.as_str()))
                .filter(C::OfferId.eq(offer_id.as_str()))
                .filter(C::NotificationId.eq(notification_id.as_str()))
                .filter(C::Id.eq(change.credential_id.as_str()))
                .filter(C::Tenant.eq(tenant))
                .filter(C::Status.eq(change.from.as_str()))
                .exec_with_returning(&txn)
                .await?;
            let Some(row) = rows.into_iter().next() else {
                continue;
            };
            applied[at] = true;
            if let Some(list) = row.status_list {
                lists.insert(list);
            }
        }
        // The events in the caller's order.
        for (change, _) in changes.iter().zip(&applied).filter(|(_, a)| **a) {
            insert_event(&txn, change.event.clone()).await?;
        }
        for list in lists {
            status_list::Entity::update_many()
                .col_expr(
                    status_list::Column::Version,
                    Expr::col(status_list::Column::Version).add(1),
                )
                .filter(status_list::Column::Tenant.eq(tenant))
                .filter(status_list::Column::Number.eq(list))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(applied)
    }

    /// The primary keys (offer, response) of the credentials `changes` name,
    /// by credential id: one pass over the tenant's entries of the
    /// `(tenant, created_at, id)` index for all of them (there is no index
    /// on the random id, ADR 0019), so each update then finds its row by key.
    async fn credential_keys(
        &self,
        tenant: &str,
        changes: &[StatusChange],
    ) -> Result<HashMap<String, (String, String)>, StoreError> {
        use credential::Column as C;
        let ids: BTreeSet<&str> = changes.iter().map(|c| c.credential_id.as_str()).collect();
        let ids: Vec<&str> = ids.into_iter().collect();
        let mut keys = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(KEY_CHUNK) {
            let rows: Vec<(String, String, String)> = credential::Entity::find()
                .select_only()
                .columns([C::Id, C::OfferId, C::NotificationId])
                .filter(C::Tenant.eq(tenant))
                .filter(C::Id.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(&self.db)
                .await?;
            keys.extend(rows.into_iter().map(|(id, o, n)| (id, (o, n))));
        }
        Ok(keys)
    }
}
