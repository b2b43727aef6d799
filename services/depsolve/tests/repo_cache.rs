//! Repodata download and the multi-process on-disk cache (the original's
//! `koschei/backend/repo_cache.py`), against a local HTTP server serving the fixture
//! repository as a Koji topurl.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use koschei_depsolve::{
    DepsolveError, LoadOptions, RepoCache, RepoDescriptor, ResolveOptions, Sack,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves `<root>/repos/<tag>/<id>/x86_64/...` from a directory, counting requests.
async fn serve(root: PathBuf) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let (root, counter) = (root.clone(), counter.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
                counter.fetch_add(1, Ordering::SeqCst);
                let file = root.join(path.trim_start_matches('/'));
                let (status, body) = match std::fs::read(&file) {
                    Ok(b) if !path.contains("..") => ("200 OK", b),
                    _ => ("404 Not Found", b"missing".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
            });
        }
    });
    (format!("http://{addr}"), hits)
}

/// A topurl tree with the f25 fixture published as repos/f25-build/<id>/x86_64.
fn topurl_tree(ids: &[i64]) -> tempfile::TempDir {
    let top = tempfile::tempdir().unwrap();
    let src = common::fixture_repo("primary-f25-build-123").join("repodata");
    for id in ids {
        let dst = top
            .path()
            .join(format!("repos/f25-build/{id}/x86_64/repodata"));
        std::fs::create_dir_all(&dst).unwrap();
        for f in std::fs::read_dir(&src).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), dst.join(f.file_name())).unwrap();
        }
    }
    top
}

fn descriptor(id: i64) -> RepoDescriptor {
    RepoDescriptor {
        koji_id: "primary".into(),
        build_tag: "f25-build".into(),
        repo_id: id,
    }
}

#[tokio::test]
async fn downloads_once_and_reuses_across_instances() {
    let top = topurl_tree(&[123]);
    let (url, hits) = serve(top.path().to_path_buf()).await;
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = RepoCache::new(cache_dir.path(), 10).unwrap();
    let repo = cache
        .get(&descriptor(123), &url, "x86_64")
        .await
        .unwrap()
        .unwrap();
    let downloaded = hits.load(Ordering::SeqCst);
    assert_eq!(downloaded, 4, "repomd + primary + filelists + comps");
    let mut sack = Sack::load(&repo.repo_dir().unwrap(), &LoadOptions::default()).unwrap();
    assert!(
        sack.resolve(&["R"], &["A"], &ResolveOptions::default())
            .resolved
    );
    drop(repo);
    // a new cache instance (another process) finds it ready on disk
    let again = RepoCache::new(cache_dir.path(), 10).unwrap();
    let repo = again
        .get(&descriptor(123), &url, "x86_64")
        .await
        .unwrap()
        .unwrap();
    assert!(repo.root().join("repodata/primary.xml").is_file());
    assert_eq!(hits.load(Ordering::SeqCst), downloaded);
}

#[tokio::test]
async fn missing_repo_is_none() {
    let top = topurl_tree(&[]);
    let (url, _) = serve(top.path().to_path_buf()).await;
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = RepoCache::new(cache_dir.path(), 10).unwrap();
    assert!(cache
        .get(&descriptor(7), &url, "x86_64")
        .await
        .unwrap()
        .is_none());
    assert!(!cache_dir.path().join("primary-f25-build-7").exists());
}

#[tokio::test]
async fn evicts_oldest_unused_entry_and_never_one_in_use() {
    let top = topurl_tree(&[1, 2, 3]);
    let (url, _) = serve(top.path().to_path_buf()).await;
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = RepoCache::new(cache_dir.path(), 2).unwrap();
    let first = cache
        .get(&descriptor(1), &url, "x86_64")
        .await
        .unwrap()
        .unwrap();
    drop(first);
    let second = cache
        .get(&descriptor(2), &url, "x86_64")
        .await
        .unwrap()
        .unwrap();
    let third = cache
        .get(&descriptor(3), &url, "x86_64")
        .await
        .unwrap()
        .unwrap();
    assert!(
        !cache_dir.path().join("primary-f25-build-1").exists(),
        "oldest evicted"
    );
    assert!(second.root().is_dir() && third.root().is_dir());
    // both remaining entries are in use: a fourth repository cannot be cached
    let err = cache.get(&descriptor(1), &url, "x86_64").await.unwrap_err();
    assert!(
        matches!(err, DepsolveError::CacheExhausted { capacity: 2 }),
        "{err}"
    );
}

#[tokio::test]
async fn checksum_mismatch_is_rejected() {
    let top = topurl_tree(&[5]);
    let repomd = top
        .path()
        .join("repos/f25-build/5/x86_64/repodata/repomd.xml");
    let text = std::fs::read_to_string(&repomd).unwrap().replace(
        "<location href=\"repodata/primary.xml\"/>",
        "<checksum type=\"sha256\">00</checksum><location href=\"repodata/primary.xml\"/>",
    );
    std::fs::write(&repomd, text).unwrap();
    let (url, _) = serve(top.path().to_path_buf()).await;
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = RepoCache::new(cache_dir.path(), 10).unwrap();
    let err = cache.get(&descriptor(5), &url, "x86_64").await.unwrap_err();
    assert!(matches!(err, DepsolveError::Checksum { .. }), "{err}");
    assert!(!cache_dir.path().join("primary-f25-build-5").exists());
}

/// A server that accepts connections, reads the request and then answers with
/// `reply` (headers and maybe part of a body) and stays silent, connection open.
async fn stalling_server(reply: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let _ = sock.write_all(reply.as_bytes()).await;
            open.push(sock);
        }
    });
    format!("http://{addr}")
}

fn short_policy() -> koschei_koji::http::HttpPolicy {
    koschei_koji::http::HttpPolicy {
        read_timeout: std::time::Duration::from_millis(500),
        ..koschei_koji::http::HttpPolicy::default()
    }
}

/// One stalled connection must not stop resolution forever: the download fails
/// after the read timeout (and the resolver tries again later).
#[tokio::test]
async fn a_stalled_download_fails_after_the_read_timeout() {
    for reply in [
        "",
        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<?xml version=",
    ] {
        let url = stalling_server(reply).await;
        let cache_dir = tempfile::tempdir().unwrap();
        let cache = RepoCache::new(cache_dir.path(), 10)
            .unwrap()
            .with_http_policy(short_policy())
            .unwrap();
        let result = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            cache.get(&descriptor(123), &url, "x86_64"),
        )
        .await
        .expect("the download gives up instead of hanging");
        assert!(
            matches!(result, Err(DepsolveError::Http { .. })),
            "{result:?}"
        );
    }
}

/// A body beyond the size limit is refused (here one announced as 10 GB).
#[tokio::test]
async fn a_download_over_the_size_limit_is_refused() {
    let url = stalling_server("HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n<?xml").await;
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = RepoCache::new(cache_dir.path(), 10)
        .unwrap()
        .with_http_policy(koschei_koji::http::HttpPolicy {
            max_body: 1 << 20,
            ..short_policy()
        })
        .unwrap();
    let err = cache
        .get(&descriptor(123), &url, "x86_64")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("larger than"), "{err}");
}
