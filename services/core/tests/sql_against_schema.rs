//! Every SQL statement the workspace passes to sqlx as a literal is prepared
//! against a freshly migrated database, so a query naming a column, table or
//! function the schema lacks, or with a syntax or type error, fails here
//! instead of at run time.
//!
//! The statements are found by parsing every `.rs` file of the workspace
//! (`services/`, `web/`, `tests/`) with `syn` (module `sql_scan`): calls of
//! `query`, `query_as`, `query_scalar`, their `_with` forms and `raw_sql`,
//! however imported. The SQL argument counts as literal when it is a string
//! literal, a `concat!` of literals, an argument-less `macro_rules!` of the
//! same file expanding to one, a `const`/`static` of the same file holding
//! one, a `let` of the same function bound to one, the variable of a `for`
//! loop over an array of literals, or a `format!` inlining only such names
//! (`{COLUMNS}`). Every other call site is dynamic (built at run time): they
//! are listed when the test runs, and the tests of their modules cover them.
//!
//! Preparing is PostgreSQL's own parse and analysis (the extended protocol's
//! Parse and Describe, as sqlx does before every query): nothing is executed,
//! except the literal `CREATE TEMP TABLE` statements, so that the statements
//! reading those tables can be analysed too.

use std::time::Instant;

use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgDatabaseError, PgTypeInfo};
use sqlx::{Connection, Executor, PgConnection, PgPool};

mod sql_scan;
use sql_scan::{find_sites, workspace_sites, Site, Sql};

use koschei_core::db::MIGRATOR as MIGRATIONS;

/// Call sites whose literal SQL is not checked against our schema: the
/// file, text in the call's SQL argument, and why. An entry matching no call
/// site fails the test (it is stale: remove or update it).
const ALLOWLIST: &[(&str, &str, &str)] = &[
    (
        "services/admin/src/migrate.rs",
        "FROM alembic_version",
        "runs on the original Koschei's database (the source of \
         `koschei-admin migrate-from-koschei`); the admin_migrate tests run it",
    ),
    (
        "services/admin/tests/admin_migrate.rs",
        "ORIGINAL_DATA",
        "rows for the original Koschei's schema (fedora-infra/koschei's \
         koschei/models.py), loaded by the test into such a database",
    ),
];

/// Splits a `raw_sql` script into statements at semicolons outside quotes
/// and `--` comments.
fn split_statements(script: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut chars = script.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '-') if chars.peek() == Some(&'-') => {
                while chars.next_if(|&c| c != '\n').is_some() {}
                continue;
            }
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if q == c => quote = None,
            (None, ';') => {
                statements.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    statements.push(current);
    statements
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The statements a site runs, one per string PostgreSQL can prepare.
fn statements(site: &Site) -> Vec<String> {
    match &site.sql {
        Sql::Literal(values) if site.function == "raw_sql" => {
            values.iter().flat_map(|v| split_statements(v)).collect()
        }
        Sql::Literal(values) => values.clone(),
        Sql::Dynamic => Vec::new(),
    }
}

fn is_temp_table(sql: &str) -> bool {
    let words: Vec<String> = sql
        .split_whitespace()
        .take(3)
        .map(str::to_ascii_uppercase)
        .collect();
    words.len() == 3
        && words[0] == "CREATE"
        && (words[1] == "TEMP" || words[1] == "TEMPORARY")
        && words[2] == "TABLE"
}

/// The highest `$n` parameter of a statement.
fn parameter_count(sql: &str) -> usize {
    sql.split('$')
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .max()
        .unwrap_or(0)
}

/// Parameter types to declare in the next attempt after a failed prepare,
/// or `None` when the error is not about a parameter's unknown type.
///
/// At run time sqlx declares each parameter's type from the bound Rust
/// value; here the server infers them, which fails where only the bound
/// type decides: `$1 IS NULL`, `CASE ... THEN $1`, `$1 = $2`. The retry
/// declares the type the server's error names.
fn declared_types(sql: &str, declared: &[String], error: &PgDatabaseError) -> Vec<Vec<String>> {
    let message = error.message();
    let with = |n: usize, ty: &str| {
        let mut types = declared.to_vec();
        types.resize(types.len().max(n), String::new());
        types[n - 1] = ty.to_owned();
        types
    };
    let parameter = |prefix: &str| -> Option<usize> { message.strip_prefix(prefix)?.parse().ok() };
    if let Some(n) = parameter("could not determine data type of parameter $") {
        return vec![with(n, "text")];
    }
    if let Some(n) = parameter("inconsistent types deduced for parameter $") {
        let detail = error.detail().unwrap_or_default();
        return detail.split(" versus ").map(|ty| with(n, ty)).collect();
    }
    // "column \"x\" is of type T but expression is of type text" (42804).
    if let Some((_, rest)) = message.split_once(" is of type ") {
        if let Some((ty, _)) = rest.split_once(" but expression is of type text") {
            return (1..=parameter_count(sql))
                .filter(|&n| {
                    declared
                        .get(n - 1)
                        .is_none_or(|t| t.is_empty() || t == "text")
                })
                .map(|n| with(n, ty))
                .collect();
        }
    }
    Vec::new()
}

/// Prepares one statement in its own savepoint, with the parameter types
/// declared (empty: inferred); the server's error when it fails.
async fn prepare_with(
    conn: &mut PgConnection,
    sql: &str,
    types: &[String],
) -> Result<(), sqlx::Error> {
    let infos: Vec<PgTypeInfo> = types
        .iter()
        .map(|ty| match ty.as_str() {
            "" => PgTypeInfo::with_oid(Oid(0)),
            ty => PgTypeInfo::with_name(Box::leak(ty.to_owned().into_boxed_str())),
        })
        .collect();
    let mut savepoint = conn.begin().await?;
    let result = savepoint.prepare_with(sql, &infos).await.map(|_| ());
    savepoint.rollback().await?;
    result
}

/// Prepares a statement, declaring parameter types where the server cannot
/// infer them (see [`declared_types`]): whether it had to; the server's
/// message when it fails.
async fn prepare(conn: &mut PgConnection, sql: &str) -> Result<bool, String> {
    let mut attempts = vec![Vec::new()];
    let mut last_error = String::new();
    for _ in 0..32 {
        let Some(types) = attempts.pop() else { break };
        let error = match prepare_with(conn, sql, &types).await {
            Ok(()) => return Ok(!types.is_empty()),
            Err(e) => e,
        };
        last_error = match error.as_database_error() {
            Some(db) => {
                let next = declared_types(sql, &types, db.downcast_ref::<PgDatabaseError>());
                attempts.extend(next.into_iter().rev());
                db.message().to_owned()
            }
            None => error.to_string(),
        };
    }
    Err(last_error)
}

/// What checking the sites found.
#[derive(Default)]
struct Report {
    checked: usize,
    /// The sites of statements prepared with parameter types declared.
    declared: Vec<String>,
    allowed: Vec<(String, &'static str)>,
    /// Allowlist entries that matched a site.
    used: Vec<usize>,
    failures: Vec<String>,
    dynamic: Vec<String>,
}

/// Prepares every literal statement of `sites` on `conn`, in one transaction
/// that is rolled back.
async fn check_sites(conn: &mut PgConnection, sites: &[Site]) -> Report {
    let mut report = Report::default();
    let mut tx = conn.begin().await.unwrap();
    let mut pending = Vec::new();
    let mut temp_tables = Vec::new();
    for site in sites {
        let allowed = ALLOWLIST
            .iter()
            .position(|(file, text, _)| site.file == *file && site.arg.contains(text));
        if let Some(entry) = allowed {
            report.allowed.push((format!("{site}"), ALLOWLIST[entry].2));
            report.used.push(entry);
            continue;
        }
        if let Sql::Dynamic = site.sql {
            let arg: String = site.arg.chars().take(100).collect();
            report
                .dynamic
                .push(format!("{site}: {}({arg})", site.function));
        }
        for sql in statements(site) {
            if is_temp_table(&sql) {
                temp_tables.push((site, sql));
            } else {
                pending.push((site, sql));
            }
        }
    }
    // Temporary tables may be made from each other: create them in rounds.
    while !temp_tables.is_empty() {
        let before = temp_tables.len();
        let mut failed = Vec::new();
        for (site, sql) in std::mem::take(&mut temp_tables) {
            let mut savepoint = tx.begin().await.unwrap();
            match savepoint.execute(sql.as_str()).await {
                Ok(_) => {
                    savepoint.commit().await.unwrap();
                    report.checked += 1;
                }
                Err(e) => {
                    savepoint.rollback().await.unwrap();
                    failed.push((site, sql, e.to_string()));
                }
            }
        }
        if failed.len() == before {
            for (site, sql, message) in failed {
                report.failures.push(failure(site, &sql, &message));
            }
            break;
        }
        temp_tables = failed
            .into_iter()
            .map(|(site, sql, _)| (site, sql))
            .collect();
    }
    for (site, sql) in pending {
        report.checked += 1;
        match prepare(&mut tx, &sql).await {
            Ok(true) => report.declared.push(format!("{site}")),
            Ok(false) => {}
            Err(message) => report.failures.push(failure(site, &sql, &message)),
        }
    }
    tx.rollback().await.unwrap();
    report
}

fn failure(site: &Site, sql: &str, message: &str) -> String {
    let first_line: String = sql
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .chars()
        .take(70)
        .collect();
    format!("{site}: {message}\n    in: {first_line}...")
}

/// The statements of the whole workspace against the migrated schema.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn every_literal_query_prepares_against_the_schema(pool: PgPool) {
    let started = Instant::now();
    let sites = workspace_sites();
    let parsed = started.elapsed();
    let mut conn = pool.acquire().await.unwrap();
    let report = check_sites(&mut conn, &sites).await;
    println!(
        "{} call sites: {} statements prepared ({} with parameter types declared), \
         {} sites allowlisted, {} dynamic (parsing {:.1?}, total {:.1?})",
        sites.len(),
        report.checked,
        report.declared.len(),
        report.allowed.len(),
        report.dynamic.len(),
        parsed,
        started.elapsed()
    );
    println!(
        "parameter types declared at: {}",
        report.declared.join(", ")
    );
    for (site, reason) in &report.allowed {
        println!("allowlisted {site}: {reason}");
    }
    println!("dynamic call sites (SQL built at run time, covered by their own tests):");
    for site in &report.dynamic {
        println!("  {site}");
    }
    let stale: Vec<_> = (0..ALLOWLIST.len())
        .filter(|entry| !report.used.contains(entry))
        .map(|entry| &ALLOWLIST[entry])
        .collect();
    assert!(
        stale.is_empty(),
        "allowlist entries matching no statement (remove them): {stale:?}"
    );
    assert!(
        report.checked > 100,
        "too few statements found: {}",
        report.checked
    );
    assert!(
        report.failures.is_empty(),
        "{} statement(s) do not prepare against the schema (migrations/):\n{}",
        report.failures.len(),
        report.failures.join("\n")
    );
}

/// The checker reports a wrong column, table or type with its line, and
/// nothing for correct statements, including those whose parameter types
/// only the bound values decide.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_wrong_column_is_reported_with_its_line(pool: PgPool) {
    let source = r##"
        macro_rules! from { () => { " FROM package" }; }
        const GOOD_COLUMNS: &str = "id, name";
        const GOOD: &str = concat!("SELECT id, name", from!(), " WHERE collection_id = $1");
        async fn f(pool: &sqlx::PgPool, name: &str) {
            sqlx::query_scalar::<_, i32>("SELECT no_such_column FROM package")
                .fetch_one(pool).await;
            query(GOOD).bind(1).execute(pool).await;
            for sql in ["SELECT 1", "SELECT * FROM no_such_table"] {
                sqlx::query(sql).execute(pool).await;
            }
            sqlx::query(&format!("SELECT {name}")).execute(pool).await;
            sqlx::query(&format!("SELECT '{{}}'::int[], {GOOD_COLUMNS} FROM package")).execute(pool).await;
            sqlx::query("UPDATE build SET tagged = CASE WHEN $1 THEN $2 END WHERE $3 IS NULL");
            sqlx::query("UPDATE package SET tracked = 2");
        }
    "##;
    let sites = find_sites("snippet.rs", source).unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let report = check_sites(&mut conn, &sites).await;
    assert_eq!(report.checked, 7);
    assert_eq!(
        report.declared,
        ["snippet.rs:14"],
        "the CASE ... THEN $2 statement"
    );
    assert_eq!(report.dynamic.len(), 1, "{:?}", report.dynamic);
    assert!(
        report.dynamic[0].starts_with("snippet.rs:12: query(& format !"),
        "{:?}",
        report.dynamic
    );
    let failures = &report.failures;
    assert_eq!(failures.len(), 3, "{failures:#?}");
    assert!(
        failures[0].starts_with("snippet.rs:6: ")
            && failures[0].contains("column \"no_such_column\" does not exist"),
        "{failures:#?}"
    );
    assert!(
        failures[1].starts_with("snippet.rs:10: ")
            && failures[1].contains("relation \"no_such_table\" does not exist"),
        "{failures:#?}"
    );
    assert!(
        failures[2].starts_with("snippet.rs:15: ")
            && failures[2].contains("is of type boolean but expression is of type integer"),
        "{failures:#?}"
    );
}

#[test]
fn raw_scripts_split_at_semicolons_outside_quotes() {
    assert_eq!(
        split_statements("SET a = 'x;y'; -- it's\nSELECT \"b;\" FROM t;\n"),
        ["SET a = 'x;y'", "SELECT \"b;\" FROM t"]
    );
}
