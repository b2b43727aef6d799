//! HTTP for cheap clients, from outside: the application served on a
//! loopback port and asked with real requests — `ETag`s and `304 Not
//! Modified`, `Cache-Control`, compression as the client accepts it, and
//! keyset pages of `/api/v1/packages` walked while the list changes.

mod common;

use std::collections::BTreeSet;
use std::io::Read;

use common::{world, World, MIGRATIONS};
use koschei_core::fixtures;
use regex::Regex;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::StatusCode;
use sqlx::PgPool;

/// A client that neither asks for nor decodes compression on its own.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// An answer with its body as bytes.
struct Got {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn etag(&self) -> &str {
        self.header("etag")
            .unwrap_or_else(|| panic!("no ETag ({}): {:?}", self.status, self.headers))
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    /// The URL of the `Link` with `rel="next"`.
    fn next(&self) -> Option<String> {
        let link = self.header("link")?;
        let re = Regex::new(r#"<([^>]*)>; rel="next""#).unwrap();
        re.captures(link).map(|c| c[1].to_string())
    }

    /// Whether `Vary` names `Accept-Encoding`.
    fn varies_by_encoding(&self) -> bool {
        self.headers
            .get_all("vary")
            .iter()
            .flat_map(|v| v.to_str().unwrap().split(','))
            .any(|v| v.trim().eq_ignore_ascii_case("accept-encoding"))
    }
}

/// `method url` with the given request headers.
async fn ask(method: &str, url: &str, headers: &[(&str, &str)]) -> Got {
    let mut req = client().request(method.parse().unwrap(), url);
    for (name, value) in headers {
        req = req.header(*name, HeaderValue::from_str(value).unwrap());
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.bytes().await.unwrap().to_vec();
    Got {
        status,
        headers,
        body,
    }
}

async fn get(url: &str, headers: &[(&str, &str)]) -> Got {
    ask("GET", url, headers).await
}

/// The weak tag of a body: `W/"` and 32 hex digits of xxh3-128.
fn is_weak_hash_tag(etag: &str) -> bool {
    Regex::new(r#"^W/"[0-9a-f]{32}"$"#).unwrap().is_match(etag)
}

/// A page and an API answer get a weak `ETag` and `no-cache`; asked again
/// with the tag (alone, in a list, or `*`), they are `304` without a body,
/// keeping the tag, `Cache-Control` and `Vary`. HEAD has the same tag.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn pages_and_api_answers_revalidate(pool: PgPool) {
    world(&pool).await;
    let base = common::serve(&pool, common::config()).await;
    for path in [
        "/packages",
        "/package/rnv?collection=f25",
        "/collections",
        "/api/v1/packages?after=&per_page=2",
        "/api/v1/collections/f25",
        "/api/v1/groups/java",
    ] {
        let url = format!("{base}{path}");
        let first = get(&url, &[]).await;
        assert_eq!(first.status, StatusCode::OK, "{path}");
        let etag = first.etag().to_string();
        assert!(is_weak_hash_tag(&etag), "{path}: {etag}");
        assert_eq!(first.header("cache-control"), Some("no-cache"), "{path}");
        assert!(first.varies_by_encoding(), "{path}");
        let again = get(&url, &[]).await;
        assert_eq!(again.etag(), etag, "{path}: the same answer, the same tag");

        for if_none_match in [
            etag.clone(),
            etag.trim_start_matches("W/").to_string(),
            format!("\"other\", {etag}"),
            "*".to_string(),
        ] {
            let res = get(&url, &[("if-none-match", &if_none_match)]).await;
            assert_eq!(
                res.status,
                StatusCode::NOT_MODIFIED,
                "{path} {if_none_match}"
            );
            assert!(res.body.is_empty(), "{path}");
            assert_eq!(res.etag(), etag, "{path}");
            assert_eq!(res.header("cache-control"), Some("no-cache"), "{path}");
            assert!(res.varies_by_encoding(), "{path}");
            assert_eq!(res.header("content-type"), None, "{path}");
        }
        let other = get(&url, &[("if-none-match", "W/\"0123\"")]).await;
        assert_eq!(other.status, StatusCode::OK, "{path}");
        assert_eq!(other.body, first.body, "{path}");

        let head = ask("HEAD", &url, &[]).await;
        assert_eq!(head.status, StatusCode::OK, "{path}");
        assert!(head.body.is_empty(), "{path}");
        assert_eq!(head.etag(), etag, "{path}: HEAD");
        let head = ask("HEAD", &url, &[("if-none-match", &etag)]).await;
        assert_eq!(head.status, StatusCode::NOT_MODIFIED, "{path}: HEAD");
    }
}

/// A change in the database changes the answers: the old tag gets a 200
/// with the new answer and a new tag.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_change_gives_a_new_etag(pool: PgPool) {
    let w: World = world(&pool).await;
    let base = common::serve(&pool, common::config()).await;
    let paths = [
        "/packages",
        "/package/eclipse?collection=f25",
        "/api/v1/packages?after=&per_page=10",
        "/api/v1/collections/f25",
    ];
    let mut before = Vec::new();
    for path in paths {
        before.push(get(&format!("{base}{path}"), &[]).await);
    }
    sqlx::query("UPDATE package SET tracked = false WHERE id = $1")
        .bind(w.eclipse)
        .execute(&pool)
        .await
        .unwrap();
    for (path, old) in paths.iter().zip(before) {
        let res = get(&format!("{base}{path}"), &[("if-none-match", old.etag())]).await;
        assert_eq!(res.status, StatusCode::OK, "{path}");
        assert_ne!(res.etag(), old.etag(), "{path}");
        assert_ne!(res.body, old.body, "{path}");
    }
}

/// Static files and badges keep their own caching policy, with a tag.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn own_cache_policies_are_kept(pool: PgPool) {
    world(&pool).await;
    let base = common::serve(&pool, common::config()).await;
    for (path, policy) in [
        ("/static/koschei.css", "public, max-age=3600"),
        ("/badge/f25/rnv.svg", "max-age=300"),
    ] {
        let url = format!("{base}{path}");
        let res = get(&url, &[]).await;
        assert_eq!(res.status, StatusCode::OK, "{path}");
        assert_eq!(res.header("cache-control"), Some(policy), "{path}");
        let res = get(&url, &[("if-none-match", res.etag())]).await;
        assert_eq!(res.status, StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(res.header("cache-control"), Some(policy), "{path}");
    }
    // A logged-in session's page is never stored, so never revalidated.
    let login = client()
        .get(format!("{base}/login"))
        .header("X-Remote-User", "alice")
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let res = get(&format!("{base}/packages"), &[("cookie", &cookie)]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("cache-control"), Some("private, no-store"));
    assert_eq!(res.header("etag"), None);
}

fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn unbrotli(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli_decompressor::Decompressor::new(body, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// gzip, or brotli for a client that takes brotli but not gzip, the same
/// content decoded; the plain body for a client that takes neither;
/// `Vary: Accept-Encoding` always. Images are not compressed.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn compression_as_accepted(pool: PgPool) {
    world(&pool).await;
    let base = common::serve(&pool, common::config()).await;
    for path in [
        "/packages",
        "/api/v1/packages",
        "/api/v1/packages?after=&per_page=2",
        "/static/koschei.css",
    ] {
        let url = format!("{base}{path}");
        let plain = get(&url, &[]).await;
        assert_eq!(plain.status, StatusCode::OK, "{path}");
        assert_eq!(plain.header("content-encoding"), None, "{path}");
        assert!(plain.varies_by_encoding(), "{path}");
        for (accept, encoding, decode) in [
            ("gzip", "gzip", gunzip as fn(&[u8]) -> Vec<u8>),
            ("br", "br", unbrotli),
            // Both accepted: gzip, the cheaper at its fastest level.
            ("gzip, deflate, br, zstd", "gzip", gunzip),
            ("br;q=1, gzip;q=0.5", "gzip", gunzip),
            ("br, identity;q=0.5", "br", unbrotli),
        ] {
            let res = get(&url, &[("accept-encoding", accept)]).await;
            assert_eq!(res.status, StatusCode::OK, "{path}");
            assert_eq!(
                res.header("content-encoding"),
                Some(encoding),
                "{path} {accept}"
            );
            assert!(res.varies_by_encoding(), "{path}");
            assert!(res.body.len() < plain.body.len(), "{path} {accept}");
            assert!(
                decode(&res.body) == plain.body,
                "{path} {accept}: decoded differs"
            );
            // One representation, one weak tag, however it is sent (the
            // whole list has one only when the page cache kept it).
            if let (Some(tag), Some(plain_tag)) = (res.header("etag"), plain.header("etag")) {
                assert_eq!(tag, plain_tag, "{path}");
            } else {
                assert_eq!(path, "/api/v1/packages");
            }
        }
        let refused = get(&url, &[("accept-encoding", "identity")]).await;
        assert_eq!(refused.header("content-encoding"), None, "{path}");
        assert_eq!(refused.body, plain.body, "{path}");
    }
    let png = get(
        &format!("{base}/badge/f25/rnv.png"),
        &[("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(png.status, StatusCode::OK);
    assert_eq!(png.header("content-encoding"), None);
}

/// The whole list is streamed as it is read: no `ETag`, no
/// `Content-Length` (nothing waits for the whole body), compressed while
/// streaming, and the same rows. (Each request has its own URL, so none is
/// answered from a copy the page cache keeps in memory.)
#[sqlx::test(migrator = "MIGRATIONS")]
async fn whole_lists_are_streamed_untagged(pool: PgPool) {
    let w = world(&pool).await;
    // More than one 64 KiB chunk of JSON.
    sqlx::raw_sql(&format!(
        "INSERT INTO base_package (name) SELECT 'bulk-' || lpad(i::text, 5, '0') FROM generate_series(1, 1500) i;
         INSERT INTO package (base_id, name, collection_id, tracked, resolved)
             SELECT id, name, {}, true, true FROM base_package WHERE name LIKE 'bulk-%';",
        w.f25
    ))
    .execute(&pool)
    .await
    .unwrap();
    let base = common::serve(&pool, common::config()).await;
    let url = format!("{base}/api/v1/packages");
    let plain = get(&format!("{url}?request=1"), &[]).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(plain.body.len() > 100 * 1024, "{}", plain.body.len());
    assert_eq!(plain.json().as_array().unwrap().len(), 1505);
    assert_eq!(plain.header("etag"), None);
    assert_eq!(plain.header("content-length"), None);
    assert_eq!(plain.header("transfer-encoding"), Some("chunked"));
    assert_eq!(plain.header("cache-control"), Some("no-cache"));
    // A tag from elsewhere cannot make it a 304.
    let res = get(&format!("{url}?request=2"), &[("if-none-match", "*")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body, plain.body);
    let gzipped = get(&format!("{url}?request=3"), &[("accept-encoding", "gzip")]).await;
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    assert_eq!(gzipped.header("etag"), None);
    assert_eq!(gunzip(&gzipped.body), plain.body);
    // A page is answered whole, with a tag.
    let page = get(&format!("{url}?after=&per_page=1000"), &[]).await;
    assert!(page.header("content-length").is_some());
    assert!(is_weak_hash_tag(page.etag()));
}

/// `(name, collection)` of a list answer.
fn rows(list: &serde_json::Value) -> Vec<(String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["collection"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Follows `rel="next"` from `first`, calling `between` after each page;
/// returns every row in the order received.
async fn walk(
    base: &str,
    first: &str,
    mut between: impl AsyncFnMut(usize),
) -> Vec<(String, String)> {
    let mut all = Vec::new();
    let mut next = Some(first.to_string());
    let mut pages = 0;
    while let Some(path) = next {
        let res = get(&format!("{base}{path}"), &[]).await;
        assert_eq!(res.status, StatusCode::OK, "{path}: {:?}", res.body);
        assert_eq!(res.header("x-total-count"), None);
        let page = rows(&res.json());
        assert!(page.len() <= 4, "{path}");
        next = res.next();
        if next.is_some() {
            assert_eq!(page.len(), 4, "{path}: only the last page is short");
        }
        all.extend(page);
        pages += 1;
        assert!(pages < 100, "no end");
        between(pages).await;
    }
    all
}

/// Walking the keyset pages gives the whole list, in order, each row
/// once — also while packages are added between two pages (each then
/// appears at most once).
#[sqlx::test(migrator = "MIGRATIONS")]
async fn keyset_pages_walk_the_whole_list(pool: PgPool) {
    let w = world(&pool).await;
    let rawhide = fixtures::collection(&pool, "rawhide").await;
    sqlx::query("UPDATE collection SET \"order\" = 300 WHERE id = $1")
        .bind(rawhide)
        .execute(&pool)
        .await
        .unwrap();
    // Names shared by collections of every order, so page breaks fall
    // between the rows of one name.
    for name in ["a", "b", "c", "d", "e", "f", "g"] {
        for c in [w.f25, w.f26, rawhide] {
            fixtures::package(&pool, c, &format!("pkg-{name}")).await;
        }
    }
    let base = common::serve(&pool, common::config()).await;
    let whole = rows(&get(&format!("{base}/api/v1/packages"), &[]).await.json());
    assert_eq!(whole.len(), 26);
    let first = "/api/v1/packages?per_page=4&after=";
    let walked = walk(&base, first, async |_| {}).await;
    assert_eq!(walked, whole);

    // Filters go along in the links.
    let filtered = walk(
        &base,
        "/api/v1/packages?collection=f25,rawhide&per_page=4&after=",
        async |_| {},
    )
    .await;
    let expected: Vec<_> = whole
        .iter()
        .filter(|(_, c)| c == "f25" || c == "rawhide")
        .cloned()
        .collect();
    assert_eq!(filtered, expected);

    // Packages added while walking: before the pages read, within the
    // page being read, and ahead.
    let walked = walk(&base, first, async |page| {
        for name in [
            format!("pkg-a{page}"),
            format!("pkg-d{page}"),
            format!("zzz-{page}"),
        ] {
            fixtures::package(&pool, rawhide, &name).await;
        }
    })
    .await;
    let unique: BTreeSet<_> = walked.iter().collect();
    assert_eq!(
        unique.len(),
        walked.len(),
        "a row answered twice: {walked:?}"
    );
    let mut sorted = walked.clone();
    sorted.sort_by_key(|(name, c)| {
        (
            name.clone(),
            match c.as_str() {
                "rawhide" => 0,
                "f26" => 1,
                _ => 2,
            },
        )
    });
    assert_eq!(walked, sorted, "out of order");
    let old: Vec<_> = walked
        .iter()
        .filter(|r| whole.contains(r))
        .cloned()
        .collect();
    assert_eq!(old, whole, "rows that were there all along");
    assert!(walked.iter().any(|(name, _)| name.starts_with("zzz-")));
}

/// A text that is not a cursor, `page` with `after`, a bad `per_page`:
/// 400 with a JSON error.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn bad_keyset_requests_are_refused(pool: PgPool) {
    world(&pool).await;
    let base = common::serve(&pool, common::config()).await;
    let cursor = get(&format!("{base}/api/v1/packages?after=&per_page=1"), &[])
        .await
        .next()
        .unwrap();
    assert_eq!(
        get(&format!("{base}{cursor}"), &[]).await.status,
        StatusCode::OK
    );
    for (query, message) in [
        ("after=not-a-cursor", "after must be a cursor"),
        ("after=WzEsMiwzXQ", "after must be a cursor"),
        ("after=%E2%9C%93", "after must be a cursor"),
        ("after=&page=1", "page and after cannot be used together"),
        ("after=&per_page=0", "per_page must be between 1 and"),
    ] {
        let res = get(&format!("{base}/api/v1/packages?{query}"), &[]).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(res.header("content-type"), Some("application/json"));
        let error = res.json()["error"].as_str().unwrap().to_string();
        assert!(error.starts_with(message), "{query}: {error}");
    }
    let res = get(
        &format!("{base}/api/v1/packages?after=&collection=nope"),
        &[],
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}
