//! Leases on background work: the instance that takes a lease runs the work
//! until the lease expires; the others skip it. The decision is one upsert
//! whose returned row picks the holder, on either backend.

use sea_orm::{ConnectionTrait, Statement, Value};

use crate::{Store, StoreError};

impl Store {
    /// Takes the lease `name` for `holder` until `now + seconds`, if no one
    /// holds it at `now` (it never existed, or expired). `true` when taken:
    /// of instances asking at once, exactly one gets it.
    ///
    /// A holder asking again before its lease expired does not get it: a
    /// lease taken for one period of periodic work is not renewed early, so
    /// the work runs once per period across every instance.
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        seconds: i64,
    ) -> Result<bool, StoreError> {
        let sql = "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
                   ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                   WHERE leases.expires_at <= $4 RETURNING 1";
        let backend = self.db.get_database_backend();
        let sql = match backend {
            sea_orm::DbBackend::Sqlite => sql.replace('$', "?"),
            _ => sql.to_owned(),
        };
        let values: Vec<Value> = vec![
            name.into(),
            holder.into(),
            now.saturating_add(seconds).into(),
            now.into(),
        ];
        let statement = Statement::from_sql_and_values(backend, sql, values);
        Ok(!self.db.query_all_raw(statement).await?.is_empty())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::Store;

    async fn one_holder_per_period(store: &Store) {
        assert!(store.take_lease("purge", "a", 100, 60).await.unwrap());
        assert!(!store.take_lease("purge", "b", 100, 60).await.unwrap());
        assert!(!store.take_lease("purge", "a", 159, 60).await.unwrap());
        assert!(store.take_lease("purge", "b", 160, 60).await.unwrap());
        assert!(store.take_lease("other", "a", 160, 60).await.unwrap());
    }

    #[tokio::test]
    async fn a_lease_has_one_holder_per_period_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/l.db?mode=rwc", dir.path().display());
        one_holder_per_period(&Store::connect(&url).await.unwrap()).await;
    }

    #[tokio::test]
    async fn a_lease_has_one_holder_per_period_on_postgres() {
        let Some(url) = crate::testing::fresh_postgres_url().await else {
            return;
        };
        let store = Store::connect(&url).await.unwrap();
        one_holder_per_period(&store).await;
        // Racing takers: one wins.
        let takers = (0..8).map(|n| {
            let store = store.clone();
            tokio::spawn(async move { store.take_lease("race", &n.to_string(), 500, 60).await })
        });
        let mut won = 0;
        for t in takers {
            if t.await.unwrap().unwrap() {
                won += 1;
            }
        }
        assert_eq!(won, 1);
        crate::testing::drop_postgres_schema(&url).await.unwrap();
    }
}
