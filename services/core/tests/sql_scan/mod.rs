//! Finding the SQL a Rust source passes to sqlx: every call of `query`,
//! `query_as`, `query_scalar`, their `_with` forms and `raw_sql` (however
//! imported), with its SQL argument resolved to literals where the source
//! decides it (see `sql_against_schema.rs`), found with `syn`.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use quote::ToTokens;
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Expr, Lit, Pat, Token};

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

/// Where the workspace's Rust sources are, relative to its root.
const SOURCE_ROOTS: &[&str] = &["services", "web", "tests"];

/// One call of a query function.
#[derive(Debug, Clone)]
pub struct Site {
    /// The file, relative to the workspace root.
    pub file: String,
    pub line: usize,
    /// The function called (`query_as`, `raw_sql`, ...).
    pub function: String,
    /// The SQL argument's source text, whitespace collapsed.
    pub arg: String,
    pub sql: Sql,
}

/// What a call site passes as its SQL.
#[derive(Debug, Clone)]
pub enum Sql {
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

/// A file's argument-less `macro_rules!` that expand to a string literal
/// (`name!()`), by name.
type Macros = HashMap<String, String>;

/// The string literal an expression stands for, without looking at
/// variables: a literal, `&literal`, a literal macro of the file, or
/// `concat!` of those.
fn literal_value(expr: &Expr, macros: &Macros) -> Option<String> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.value()),
        Expr::Reference(r) => literal_value(&r.expr, macros),
        Expr::Paren(p) => literal_value(&p.expr, macros),
        Expr::Group(g) => literal_value(&g.expr, macros),
        Expr::Macro(m) if m.mac.path.is_ident("concat") => {
            let parts = m
                .mac
                .parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
                .ok()?;
            parts
                .iter()
                .map(|part| literal_value(part, macros))
                .collect()
        }
        Expr::Macro(m) if m.mac.tokens.is_empty() => {
            macros.get(&m.mac.path.get_ident()?.to_string()).cloned()
        }
        _ => None,
    }
}

/// The literals of an array expression (`[a, b]`, `&[a, b]`, `[a, b].iter()`).
fn literal_array(expr: &Expr, macros: &Macros) -> Option<Vec<String>> {
    match expr {
        Expr::Array(a) => a.elems.iter().map(|e| literal_value(e, macros)).collect(),
        Expr::Reference(r) => literal_array(&r.expr, macros),
        Expr::MethodCall(m) if m.method == "iter" || m.method == "into_iter" => {
            literal_array(&m.receiver, macros)
        }
        _ => None,
    }
}

/// The body of `macro_rules! name { () => { <expr> }; }`, a single arm
/// without parameters.
fn parse_literal_macro(input: ParseStream) -> syn::Result<Expr> {
    let params;
    syn::parenthesized!(params in input);
    if !params.is_empty() {
        return Err(params.error("parameters"));
    }
    input.parse::<Token![=>]>()?;
    let body;
    syn::braced!(body in input);
    let expr = body.parse()?;
    input.parse::<Option<Token![;]>>()?;
    Ok(expr)
}

/// The file's literal macros, in order of definition.
struct MacroCollector(Macros);

impl<'ast> Visit<'ast> for MacroCollector {
    fn visit_item_macro(&mut self, item: &'ast syn::ItemMacro) {
        if let (true, Some(name)) = (item.mac.path.is_ident("macro_rules"), &item.ident) {
            if let Ok(expr) = item.mac.parse_body_with(parse_literal_macro) {
                if let Some(value) = literal_value(&expr, &self.0) {
                    self.0.insert(name.to_string(), value);
                }
            }
        }
        visit::visit_item_macro(self, item);
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
struct BindingCollector<'m>(Bindings, &'m Macros);

impl<'ast> Visit<'ast> for BindingCollector<'_> {
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
                let value = literal_value(&init.expr, self.1).map(|v| vec![v]);
                self.0.bind(ident.to_string(), value);
                self.visit_expr(&init.expr);
            }
            _ => visit::visit_local(self, local),
        }
    }

    fn visit_expr_for_loop(&mut self, for_loop: &'ast syn::ExprForLoop) {
        match (&*for_loop.pat, literal_array(&for_loop.expr, self.1)) {
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
struct ConstCollector<'m>(Bindings, &'m Macros);

impl<'ast> Visit<'ast> for ConstCollector<'_> {
    fn visit_item_const(&mut self, item: &'ast syn::ItemConst) {
        let value = literal_value(&item.expr, self.1).map(|v| vec![v]);
        self.0.bind(item.ident.to_string(), value);
        visit::visit_item_const(self, item);
    }

    fn visit_item_static(&mut self, item: &'ast syn::ItemStatic) {
        let value = literal_value(&item.expr, self.1).map(|v| vec![v]);
        self.0.bind(item.ident.to_string(), value);
        visit::visit_item_static(self, item);
    }

    fn visit_impl_item_const(&mut self, item: &'ast syn::ImplItemConst) {
        let value = literal_value(&item.expr, self.1).map(|v| vec![v]);
        self.0.bind(item.ident.to_string(), value);
        visit::visit_impl_item_const(self, item);
    }
}

/// Finds the query calls of one file.
struct SiteFinder<'a> {
    file: &'a str,
    macros: &'a Macros,
    consts: Bindings,
    /// The bindings of the enclosing functions, innermost last.
    scopes: Vec<Bindings>,
    sites: Vec<Site>,
}

impl SiteFinder<'_> {
    fn resolve(&self, expr: &Expr) -> Sql {
        if let Some(value) = literal_value(expr, self.macros) {
            return Sql::Literal(vec![value]);
        }
        let mut inner = expr;
        while let Expr::Reference(r) = inner {
            inner = &r.expr;
        }
        match inner {
            Expr::Path(p) => {
                if let Some(values) = p.path.get_ident().and_then(|i| self.lookup(&i.to_string())) {
                    return Sql::Literal(values);
                }
            }
            Expr::Macro(m) => {
                if let Some(value) = self.format_value(&m.mac) {
                    return Sql::Literal(vec![value]);
                }
            }
            _ => {}
        }
        Sql::Dynamic
    }

    /// The literals a name of the enclosing function or the file holds.
    fn lookup(&self, name: &str) -> Option<Vec<String>> {
        match self.scopes.last().and_then(|s| s.0.get(name)) {
            Some(value) => value.clone(),
            None => self.consts.0.get(name).cloned().flatten(),
        }
    }

    /// A `format!` whose only arguments are inline `{NAME}`s of literals
    /// (`format!("SELECT {COLUMNS} FROM build")`), expanded.
    fn format_value(&self, mac: &syn::Macro) -> Option<String> {
        if !mac.path.is_ident("format") {
            return None;
        }
        let args = mac
            .parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
            .ok()?;
        let [template] = args.iter().collect::<Vec<_>>()[..] else {
            return None;
        };
        let template = literal_value(template, self.macros)?;
        let mut out = String::new();
        let mut rest = template.as_str();
        while let Some(i) = rest.find(['{', '}']) {
            out.push_str(&rest[..i]);
            rest = &rest[i..];
            if rest.starts_with("{{") || rest.starts_with("}}") {
                out.push_str(&rest[..1]);
                rest = &rest[2..];
                continue;
            }
            let end = rest.find('}').filter(|_| rest.starts_with('{'))?;
            let [value] = &self.lookup(&rest[1..end])?[..] else {
                return None;
            };
            out.push_str(value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Some(out)
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
        let mut collector = BindingCollector(Bindings::default(), self.macros);
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
pub fn find_sites(file: &str, source: &str) -> Result<Vec<Site>, String> {
    let ast = syn::parse_file(source).map_err(|e| format!("{file}: cannot parse: {e}"))?;
    let mut macros = MacroCollector(Macros::new());
    macros.visit_file(&ast);
    let mut consts = ConstCollector(Bindings::default(), &macros.0);
    consts.visit_file(&ast);
    let mut finder = SiteFinder {
        file,
        macros: &macros.0,
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
pub fn workspace_sites() -> Vec<Site> {
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
