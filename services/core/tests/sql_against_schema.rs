//! Every SQL statement the workspace passes to sqlx as a literal is prepared
//! against a freshly migrated database, so a query naming a column, table or
//! function the schema lacks, or with a syntax or type error, fails here
//! instead of at run time.
//!
//! The statements are found by parsing every `.rs` file of the workspace
//! (`services/`, `web/`, `tests/`) with `syn`: calls of `query`, `query_as`,
//! `query_scalar`, their `_with` forms and `raw_sql`, however imported. The
//! SQL argument counts as literal when it is a string literal, a `concat!` of
//! literals, a `const`/`static` of the same file holding one, a `let` of the
//! same function bound to one, or the variable of a `for` loop over an array
//! of literals. Every other call site is dynamic (built at run time): they
//! are listed when the test runs, and the tests of their modules cover them.
//!
//! Preparing is PostgreSQL's own parse and analysis (the extended protocol's
//! Parse and Describe, as sqlx does before every query): nothing is executed,
//! except the literal `CREATE TEMP TABLE` statements, so that the statements
//! reading those tables can be analysed too.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use quote::ToTokens;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgDatabaseError, PgTypeInfo};
use sqlx::{Connection, Executor, PgConnection, PgPool};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Expr, Lit, Pat, Token};

use koschei_core::db::MIGRATOR as MIGRATIONS;

/// The sqlx functions whose first argument is the SQL text.
const QUERY_FUNCTIONS: &[&str] = &[
    "query",
    "query_as",
    "query_scalar",
    "query_with",
    "query_as_with",
    "query_scalar_with",
    "raw_sql",
];

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

/// Where the workspace's Rust sources are, relative to its root.
const SOURCE_ROOTS: &[&str] = &["services", "web", "tests"];

/// One call of a query function.
#[derive(Debug, Clone)]
struct Site {
    /// The file, relative to the workspace root.
    file: String,
    line: usize,
    /// The function called (`query_as`, `raw_sql`, ...).
    function: String,
    /// The SQL argument's source text, whitespace collapsed.
    arg: String,
    sql: Sql,
}

/// What a call site passes as its SQL.
#[derive(Debug, Clone)]
enum Sql {
    /// The statement(s) known at compile time (several for a `for` loop
    /// over literals).
    Literal(Vec<String>),
    /// Built at run time.
    Dynamic,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The string literal(s) an expression stands for, without looking at
/// variables: a literal, `&literal`, or `concat!` of literals.
fn literal_value(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.value()),
        Expr::Reference(r) => literal_value(&r.expr),
        Expr::Paren(p) => literal_value(&p.expr),
        Expr::Group(g) => literal_value(&g.expr),
        Expr::Macro(m) if m.mac.path.is_ident("concat") => {
            let parts = m
                .mac
                .parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
                .ok()?;
            parts.iter().map(literal_value).collect()
        }
        _ => None,
    }
}

/// The literals of an array expression (`[a, b]`, `&[a, b]`, `[a, b].iter()`).
fn literal_array(expr: &Expr) -> Option<Vec<String>> {
    match expr {
        Expr::Array(a) => a.elems.iter().map(literal_value).collect(),
        Expr::Reference(r) => literal_array(&r.expr),
        Expr::MethodCall(m) if m.method == "iter" || m.method == "into_iter" => {
            literal_array(&m.receiver)
        }
        _ => None,
    }
}

/// Names bound to known literals; `None` when a name is bound to anything
/// else (a parameter, a computed value, two different literals).
#[derive(Default)]
struct Bindings(HashMap<String, Option<Vec<String>>>);

impl Bindings {
    fn bind(&mut self, name: String, value: Option<Vec<String>>) {
        self.0
            .entry(name)
            .and_modify(|old| {
                if *old != value {
                    *old = None;
                }
            })
            .or_insert(value);
    }
}

/// The names bound in one function body.
struct BindingCollector(Bindings);

impl<'ast> Visit<'ast> for BindingCollector {
    fn visit_local(&mut self, local: &'ast syn::Local) {
        let ident = match &local.pat {
            Pat::Ident(p) => Some(&p.ident),
            Pat::Type(t) => match &*t.pat {
                Pat::Ident(p) => Some(&p.ident),
                _ => None,
            },
            _ => None,
        };
        match (ident, &local.init) {
            (Some(ident), Some(init)) if init.diverge.is_none() => {
                let value = literal_value(&init.expr).map(|v| vec![v]);
                self.0.bind(ident.to_string(), value);
                self.visit_expr(&init.expr);
            }
            _ => visit::visit_local(self, local),
        }
    }

    fn visit_expr_for_loop(&mut self, for_loop: &'ast syn::ExprForLoop) {
        match (&*for_loop.pat, literal_array(&for_loop.expr)) {
            (Pat::Ident(p), Some(values)) => {
                self.0.bind(p.ident.to_string(), Some(values));
                self.visit_expr(&for_loop.expr);
                self.visit_block(&for_loop.body);
            }
            _ => visit::visit_expr_for_loop(self, for_loop),
        }
    }

    fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
        self.0.bind(pat.ident.to_string(), None);
        visit::visit_pat_ident(self, pat);
    }
}

/// The file's `const` and `static` string literals, wherever declared.
struct ConstCollector(Bindings);

impl<'ast> Visit<'ast> for ConstCollector {
    fn visit_item_const(&mut self, item: &'ast syn::ItemConst) {
        let value = literal_value(&item.expr).map(|v| vec![v]);
        self.0.bind(item.ident.to_string(), value);
        visit::visit_item_const(self, item);
    }

    fn visit_item_static(&mut self, item: &'ast syn::ItemStatic) {
        let value = literal_value(&item.expr).map(|v| vec![v]);
        self.0.bind(item.ident.to_string(), value);
        visit::visit_item_static(self, item);
    }

    fn visit_impl_item_const(&mut self, item: &'ast syn::ImplItemConst) {
        let value = literal_value(&item.expr).map(|v| vec![v]);
        self.0.bind(item.ident.to_string(), value);
        visit::visit_impl_item_const(self, item);
    }
}

/// Finds the query calls of one file.
struct SiteFinder<'a> {
    file: &'a str,
    consts: Bindings,
    /// The bindings of the enclosing functions, innermost last.
    scopes: Vec<Bindings>,
    sites: Vec<Site>,
}

impl SiteFinder<'_> {
    fn resolve(&self, expr: &Expr) -> Sql {
        if let Some(value) = literal_value(expr) {
            return Sql::Literal(vec![value]);
        }
        let mut inner = expr;
        while let Expr::Reference(r) = inner {
            inner = &r.expr;
        }
        if let Expr::Path(p) = inner {
            if let Some(ident) = p.path.get_ident() {
                let name = ident.to_string();
                let local = self.scopes.last().and_then(|s| s.0.get(&name));
                let found = match local {
                    Some(value) => value.clone(),
                    None => self.consts.0.get(&name).cloned().flatten(),
                };
                if let Some(values) = found {
                    return Sql::Literal(values);
                }
            }
        }
        Sql::Dynamic
    }

    fn push(&mut self, line: usize, function: String, arg: &dyn ToTokens, sql: Sql) {
        let text = arg.to_token_stream().to_string();
        self.sites.push(Site {
            file: self.file.to_owned(),
            line,
            function,
            arg: text.split_whitespace().collect::<Vec<_>>().join(" "),
            sql,
        });
    }

    fn in_scope(
        &mut self,
        body: impl FnOnce(&mut BindingCollector),
        visit: impl FnOnce(&mut Self),
    ) {
        let mut collector = BindingCollector(Bindings::default());
        body(&mut collector);
        self.scopes.push(collector.0);
        visit(self);
        self.scopes.pop();
    }
}

impl<'ast> Visit<'ast> for SiteFinder<'_> {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.in_scope(|c| c.visit_item_fn(item), |s| visit::visit_item_fn(s, item));
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.in_scope(
            |c| c.visit_impl_item_fn(item),
            |s| visit::visit_impl_item_fn(s, item),
        );
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        self.in_scope(
            |c| c.visit_trait_item_fn(item),
            |s| visit::visit_trait_item_fn(s, item),
        );
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let Expr::Path(callee) = &*call.func {
            let segments = &callee.path.segments;
            let last = segments.last().map(|s| s.ident.to_string());
            let is_builder = segments.len() >= 2
                && segments[segments.len() - 2].ident == "QueryBuilder"
                && last.as_deref() == Some("new");
            if let Some(function) = last.filter(|f| QUERY_FUNCTIONS.contains(&f.as_str())) {
                if let Some(arg) = call.args.first() {
                    let sql = self.resolve(arg);
                    self.push(callee.span().start().line, function, arg, sql);
                }
            } else if is_builder {
                // A builder's prefix alone is not a statement: dynamic.
                let function = "QueryBuilder::new".to_owned();
                self.push(
                    callee.span().start().line,
                    function,
                    &call.args,
                    Sql::Dynamic,
                );
            }
        }
        visit::visit_expr_call(self, call);
    }

    /// Macro bodies are token streams to `syn`: those that are lists of
    /// expressions (`tokio::join!`, `vec!`, `assert!`) are searched too.
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if let Ok(exprs) = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            for expr in &exprs {
                self.visit_expr(expr);
            }
        }
        visit::visit_macro(self, mac);
    }
}

/// The query calls of one file's source.
fn find_sites(file: &str, source: &str) -> Result<Vec<Site>, String> {
    let ast = syn::parse_file(source).map_err(|e| format!("{file}: cannot parse: {e}"))?;
    let mut consts = ConstCollector(Bindings::default());
    consts.visit_file(&ast);
    let mut finder = SiteFinder {
        file,
        consts: consts.0,
        scopes: Vec::new(),
        sites: Vec::new(),
    };
    finder.visit_file(&ast);
    Ok(finder.sites)
}

/// The `.rs` files under `dir`, skipping build output.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if !matches!(name.to_str(), Some("target" | "node_modules") | None)
                && !name.to_string_lossy().starts_with('.')
            {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every query call of the workspace.
fn workspace_sites() -> Vec<Site> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in SOURCE_ROOTS {
        rust_files(&root.join(dir), &mut files);
    }
    files.sort();
    assert!(files.len() > 50, "too few sources found under {root:?}");
    let mut sites = Vec::new();
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        sites.extend(find_sites(&rel, &source).unwrap());
    }
    sites
}

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
        if let Some(db) = error.as_database_error() {
            let next = declared_types(sql, &types, db.downcast_ref::<PgDatabaseError>());
            attempts.extend(next.into_iter().rev());
        }
        last_error = error.to_string();
    }
    Err(last_error)
}

/// What checking the sites found.
#[derive(Default)]
struct Report {
    checked: usize,
    /// Statements prepared with parameter types declared.
    declared: usize,
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
            Ok(declared) => report.declared += usize::from(declared),
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
        report.declared,
        report.allowed.len(),
        report.dynamic.len(),
        parsed,
        started.elapsed()
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
        const GOOD: &str = "SELECT id, name FROM package WHERE collection_id = $1";
        async fn f(pool: &sqlx::PgPool, name: &str) {
            sqlx::query_scalar::<_, i32>("SELECT no_such_column FROM package")
                .fetch_one(pool).await;
            query(GOOD).bind(1).execute(pool).await;
            for sql in ["SELECT 1", "SELECT * FROM no_such_table"] {
                sqlx::query(sql).execute(pool).await;
            }
            sqlx::query(&format!("SELECT {name}")).execute(pool).await;
            sqlx::query("UPDATE build SET tagged = CASE WHEN $1 THEN $2 END WHERE $3 IS NULL");
            sqlx::query("UPDATE package SET tracked = 2");
        }
    "##;
    let sites = find_sites("snippet.rs", source).unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let report = check_sites(&mut conn, &sites).await;
    assert_eq!(report.checked, 6);
    assert_eq!(report.declared, 1, "the CASE ... THEN $2 statement");
    assert_eq!(report.dynamic.len(), 1, "{:?}", report.dynamic);
    assert!(
        report.dynamic[0].starts_with("snippet.rs:10: query(& format !"),
        "{:?}",
        report.dynamic
    );
    let failures = &report.failures;
    assert_eq!(failures.len(), 3, "{failures:#?}");
    assert!(
        failures[0].starts_with("snippet.rs:4: ")
            && failures[0].contains("column \"no_such_column\" does not exist"),
        "{failures:#?}"
    );
    assert!(
        failures[1].starts_with("snippet.rs:8: ")
            && failures[1].contains("relation \"no_such_table\" does not exist"),
        "{failures:#?}"
    );
    assert!(
        failures[2].starts_with("snippet.rs:12: ")
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
