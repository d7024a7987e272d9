//! PostgreSQL: several writes as one statement, so a decision and everything
//! it records cost one round trip (ADR 0024).
//!
//! Each write is a data-modifying common table expression
//! (`WITH a AS (UPDATE … RETURNING …), b AS (INSERT …) SELECT …`). One
//! statement is atomic on its own: a failing part (a unique key) undoes every
//! part, as a transaction would, without `BEGIN` and `COMMIT` round trips.
//! The parts see one snapshot and not each other's rows; a part that must
//! depend on another reads that part's `RETURNING` rows (`FROM won`), never
//! the table.
//!
//! The parts are built with sea-query for PostgreSQL (values bound as `$n`);
//! [`Chain`] renumbers each part's parameters after the ones before it.

use sea_orm::{DbBackend, Statement, Value};

use crate::StoreError;

/// A statement made of parts, in order.
#[derive(Default)]
pub(crate) struct Chain {
    ctes: Vec<String>,
    values: Vec<Value>,
}

impl Chain {
    /// Adds `name AS (part)`.
    pub(crate) fn with(mut self, name: &str, part: Statement) -> Self {
        let sql = self.take(part);
        self.ctes.push(format!("{name} AS ({sql})"));
        self
    }

    /// The whole statement: the parts, then `last` (the statement whose rows
    /// the caller reads).
    pub(crate) fn then(mut self, last: Statement) -> Statement {
        let last = self.take(last);
        let sql = if self.ctes.is_empty() {
            last
        } else {
            format!("WITH {} {last}", self.ctes.join(", "))
        };
        Statement::from_sql_and_values(DbBackend::Postgres, sql, self.values)
    }

    /// `part`'s SQL with its parameters numbered after those taken before;
    /// its values join them.
    fn take(&mut self, part: Statement) -> String {
        let sql = renumber(&part.sql, self.values.len());
        if let Some(v) = part.values {
            self.values.extend(v.0);
        }
        sql
    }
}

/// A statement of SQL alone, with `values` bound to its `$1`, `$2`, ….
pub(crate) fn sql(text: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, text, values)
}

/// `statement … RETURNING columns`.
pub(crate) fn returning(mut statement: Statement, columns: &str) -> Statement {
    statement.sql.push_str(" RETURNING ");
    statement.sql.push_str(columns);
    statement
}

/// A one-row `INSERT … VALUES (…)` made `INSERT … SELECT … FROM source`:
/// it inserts the row once for each row of the part `source`.
pub(crate) fn insert_from(statement: Statement, source: &str) -> Result<Statement, StoreError> {
    crate::batch::values_as_select(statement, &format!(" FROM {source}"))
}

/// `sql` with every parameter `$n` outside quotes made `$(n + offset)`.
fn renumber(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, '$') if chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut n = 0_usize;
                while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    n = n * 10 + d as usize;
                    chars.next();
                }
                out.push('$');
                out.push_str(&(n + offset).to_string());
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn parameters_are_numbered_after_the_parts_before() {
        let a = sql(
            "UPDATE \"t\" SET \"a\" = $1 WHERE \"b\" = $2 RETURNING 1",
            vec![1_i64.into(), 2_i64.into()],
        );
        let b = sql(
            "INSERT INTO \"u\" (\"x\", \"y\") SELECT $1, '$1' || \"$2\" FROM a",
            vec![3_i64.into()],
        );
        let all = Chain::default().with("a", a).then(b);
        assert_eq!(
            all.sql,
            "WITH a AS (UPDATE \"t\" SET \"a\" = $1 WHERE \"b\" = $2 RETURNING 1) \
             INSERT INTO \"u\" (\"x\", \"y\") SELECT $3, '$1' || \"$2\" FROM a"
        );
        assert_eq!(all.values.unwrap().0.len(), 3);
    }

    #[test]
    fn two_digit_parameters_are_renumbered_whole() {
        assert_eq!(renumber("$9, $10, $11", 3), "$12, $13, $14");
    }
}
