//! Forced re-resolution (koschei#325, koschei#326, koschei#361: "a button to force re-checking
//! dependencies"): resetting `package.resolved` to NULL makes the resolver resolve the
//! package again against the collection's latest repo at its next iteration, and a
//! notification on [`RESOLVE_REQUESTED_CHANNEL`] wakes it at once. Packages with
//! `skip_resolution` are left alone (their `resolved` is NULL already). The same is done
//! by the web's button (one package) and the admin CLI (a package or a collection).

use sqlx::PgConnection;

/// The notification channel the resolver listens on besides `koschei_repo_done`; the
/// payload is the collection id.
pub const RESOLVE_REQUESTED_CHANNEL: &str = "koschei_resolve_requested";

/// Resets the resolution of the given packages of a collection (all its packages when
/// `package_ids` is `None`) and wakes the resolvers when the caller's transaction
/// commits. Returns the number of packages reset.
pub async fn request_reresolution(
    conn: &mut PgConnection,
    collection_id: i32,
    package_ids: Option<&[i32]>,
) -> sqlx::Result<u64> {
    let reset = sqlx::query(
        "UPDATE package SET resolved = NULL
         WHERE collection_id = $1 AND ($2::int[] IS NULL OR id = ANY($2))
           AND NOT skip_resolution AND resolved IS NOT NULL",
    )
    .bind(collection_id)
    .bind(package_ids)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // Delivered when the transaction commits.
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(RESOLVE_REQUESTED_CHANNEL)
        .bind(collection_id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(reset)
}
