//! Every API endpoint answers exactly as it did before its answers were
//! typed: `api_shapes/*.txt` hold answers recorded from the earlier
//! implementation (request, status, content type, paging headers and
//! body) on the fixture world, and each is asked again and compared byte
//! for byte. Times and time-dependent priorities are masked; the lists
//! PostgreSQL used to write (`groups`, `diff`) were recorded without the
//! spaces of its `json_build_object` (`"a" : 1, "b"`), which serde's
//! compact form does not have.

mod common;

use common::{world, Client, MIGRATIONS};
use regex::Regex;
use sqlx::PgPool;

/// The recorded form of an answer.
fn record(url: &str, res: &common::Resp) -> String {
    let mut out = format!("GET {url}\n{}\n", res.status.as_u16());
    for h in ["content-type", "x-total-count", "link"] {
        if let Some(v) = res.headers.get(h) {
            out.push_str(&format!("{h}: {}\n", v.to_str().unwrap()));
        }
    }
    out + "\n" + &res.body
}

/// Masks what depends on the time the fixture was made.
fn mask(text: &str) -> String {
    let time = Regex::new(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?").unwrap();
    let priority = Regex::new(r#"("(?:current|time)":|priority )-?\d+\.\d+"#).unwrap();
    let text = time.replace_all(text, "<time>");
    priority.replace_all(&text, "${1}<number>").into_owned()
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn answers_as_recorded(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api_shapes");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    // Every endpoint, its errors and its paged form.
    assert!(files.len() >= 25, "{files:?}");
    for file in files {
        let expected = std::fs::read_to_string(&file).unwrap();
        let url = expected
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("GET "))
            .unwrap_or_else(|| panic!("{}: no request line", file.display()));
        let res = c.get(url).await;
        assert_eq!(
            mask(&record(url, &res)),
            mask(&expected),
            "{}",
            file.display()
        );
    }
}

#[test]
fn mask_hides_times_and_priorities_only() {
    assert_eq!(
        mask(
            r#"{"current":92.4965,"id":5,"time":"2026-12-05T17:56:59.741073","v":"priority 92.50"}"#
        ),
        r#"{"current":<number>,"id":5,"time":"<time>","v":"priority <number>"}"#
    );
}
