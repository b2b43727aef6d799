//! The audit log (`log_entry`) and the users it names.

use sqlx::PgConnection;

use crate::model::LogEnvironment;

/// Returns the id of user `name`, creating the user when missing.
pub async fn get_or_create_user(conn: &mut PgConnection, name: &str) -> sqlx::Result<i32> {
    sqlx::query_scalar(
        r#"INSERT INTO "user" (name) VALUES ($1)
           ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
           RETURNING id"#,
    )
    .bind(name)
    .fetch_one(conn)
    .await
}

/// Who performs an audited action.
#[derive(Debug, Clone)]
pub struct Actor {
    pub environment: LogEnvironment,
    /// `None` only for the backend.
    pub user_id: Option<i32>,
}

impl Actor {
    /// The backend services (no user).
    pub fn backend() -> Self {
        Actor {
            environment: LogEnvironment::Backend,
            user_id: None,
        }
    }

    /// Writes one audit-log entry, optionally about a base package.
    pub async fn log(
        &self,
        conn: &mut PgConnection,
        message: &str,
        base_id: Option<i32>,
    ) -> sqlx::Result<()> {
        self.log_all(conn, &[(message.to_owned(), base_id)]).await
    }

    /// Writes many audit entries `(message, base package)` in one statement.
    pub async fn log_all(
        &self,
        conn: &mut PgConnection,
        entries: &[(String, Option<i32>)],
    ) -> sqlx::Result<()> {
        match entries {
            [] => return Ok(()),
            [(only, _)] => tracing::info!(environment = %self.environment, "{only}"),
            [(first, _), rest @ ..] => tracing::info!(
                environment = %self.environment,
                "{first} (and {} more audit entries)",
                rest.len()
            ),
        }
        let (messages, base_ids): (Vec<&str>, Vec<Option<i32>>) =
            entries.iter().map(|(m, b)| (m.as_str(), *b)).unzip();
        sqlx::query(
            "INSERT INTO log_entry (user_id, environment, message, base_id)
             SELECT $1, $2::log_environment, m, b FROM unnest($3::text[], $4::int[]) AS u(m, b)",
        )
        .bind(self.user_id)
        .bind(self.environment.as_str())
        .bind(&messages)
        .bind(&base_ids)
        .execute(conn)
        .await?;
        Ok(())
    }
}
