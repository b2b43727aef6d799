//! End-to-end test in headless Chromium (Debian's `chromium`), driven over
//! the DevTools protocol: package list → package page → log in through the
//! proxy identity header → edit a group → see the change. Pages are used
//! as a person would: links are followed and forms submitted by the
//! browser itself (no JavaScript in the pages).

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{world, MIGRATIONS};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

const CHROMIUM: &str = "/usr/bin/chromium";
const TIMEOUT: Duration = Duration::from_secs(20);

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A minimal DevTools-protocol client attached to one page.
struct Browser {
    child: tokio::process::Child,
    profile: PathBuf,
    outgoing: mpsc::UnboundedSender<Message>,
    pending: Pending,
    next_id: AtomicU64,
    session: String,
    target: String,
}

impl Browser {
    async fn launch() -> Browser {
        assert!(
            std::path::Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: run scripts/test, which installs Debian's chromium"
        );
        let profile =
            std::env::temp_dir().join(format!("koschei-web-e2e-{}", uuid::Uuid::new_v4()));
        let mut child = tokio::process::Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
                // No name lookups: a page leaving the test server fails at once.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromium");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let ws_url = tokio::time::timeout(TIMEOUT, async {
            while let Some(line) = lines.next_line().await.expect("chromium stderr") {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    return url.trim().to_string();
                }
            }
            panic!("chromium exited without a DevTools endpoint");
        })
        .await
        .expect("chromium DevTools endpoint");
        // Keep draining stderr so chromium never blocks on it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let (ws, _) = tokio_tungstenite::connect_async(ws_url.as_str())
            .await
            .expect("CDP websocket");
        let (mut sink, mut stream) = ws.split();
        let (outgoing, mut rx) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(m) = rx.recv().await {
                if sink.send(m).await.is_err() {
                    break;
                }
            }
        });
        let pending: Pending = Arc::default();
        let responses = pending.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(text) = msg else { continue };
                let v: Value = serde_json::from_str(&text).expect("CDP JSON");
                if let Some(id) = v["id"].as_u64() {
                    if let Some(tx) = responses.lock().unwrap().remove(&id) {
                        let _ = tx.send(v);
                    }
                }
            }
        });
        let mut browser = Browser {
            child,
            profile,
            outgoing,
            pending,
            next_id: AtomicU64::new(1),
            session: String::new(),
            target: String::new(),
        };
        let target = browser
            .call_browser("Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = browser
            .call_browser(
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        browser.session = attached["sessionId"].as_str().unwrap().to_string();
        browser.target = target["targetId"].as_str().unwrap().to_string();
        browser.call("Page.enable", json!({})).await;
        browser.call("Network.enable", json!({})).await;
        browser
    }

    async fn send(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        let reply = self.send_reply(session, method, params).await;
        assert!(reply["error"].is_null(), "{method} failed: {reply}");
        reply["result"].clone()
    }

    /// The whole reply of a DevTools call, errors included.
    async fn send_reply(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.outgoing
            .send(Message::Text(msg.to_string().into()))
            .unwrap();
        let reply = tokio::time::timeout(TIMEOUT, rx)
            .await
            .unwrap_or_else(|_| panic!("no answer to {method}"))
            .unwrap();
        reply
    }

    async fn call_browser(&self, method: &str, params: Value) -> Value {
        self.send(None, method, params).await
    }

    async fn call(&self, method: &str, params: Value) -> Value {
        self.send(Some(&self.session.clone()), method, params).await
    }

    /// Evaluates a JavaScript expression in the page.
    async fn eval(&self, expression: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            )
            .await;
        r["result"]["value"].clone()
    }

    /// Like [`Browser::eval`], but `None` when the page navigated away while the
    /// expression ran (DevTools: "Inspected target navigated or closed").
    async fn try_eval(&self, expression: &str) -> Option<Value> {
        let reply = self
            .send_reply(
                Some(&self.session.clone()),
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            )
            .await;
        let navigated = reply["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("navigated or closed"));
        if navigated {
            return None;
        }
        assert!(reply["error"].is_null(), "Runtime.evaluate failed: {reply}");
        Some(reply["result"]["result"]["value"].clone())
    }

    async fn goto(&self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).await;
    }

    /// The URL the tab shows once a navigation from `about:blank` to `url`
    /// (and its redirects) has committed, error pages included.
    async fn final_url(&self, url: &str) -> String {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            let info = self
                .call_browser("Target.getTargetInfo", json!({"targetId": self.target}))
                .await;
            let current = info["targetInfo"]["url"].as_str().unwrap().to_string();
            // Empty while the tab changes renderer.
            if ![url, "about:blank", ""].contains(&current.as_str()) {
                return current;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "navigation to {url} never ended (at {current})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Shows `about:blank` (a known start for [`Self::final_url`]).
    async fn blank(&self) {
        self.goto("about:blank").await;
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            let info = self
                .call_browser("Target.getTargetInfo", json!({"targetId": self.target}))
                .await;
            if info["targetInfo"]["url"] == json!("about:blank") {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "about:blank never shown"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the loaded page's text contains `text`.
    async fn wait_for_text(&self, text: &str) {
        let check = format!(
            "document.readyState === 'complete' && document.body !== null && document.body.innerText.includes({})",
            json!(text)
        );
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        // A click's navigation may replace the page while the check runs: try again.
        while self.try_eval(&check).await != Some(json!(true)) {
            if tokio::time::Instant::now() > deadline {
                let body = self.eval("document.body && document.body.innerText").await;
                panic!("page never showed {text:?}; it shows:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the element matching a CSS selector (following the link or
    /// submitting the form as a user's click does).
    async fn click(&self, selector: &str) {
        let found = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({}); if (!e) return false; e.click(); return true; }})()",
                json!(selector)
            ))
            .await;
        assert_eq!(found, json!(true), "no element {selector}");
    }

    /// Types into a form field (replacing its value).
    async fn fill(&self, selector: &str, value: &str) {
        let found = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({}); if (!e) return false; e.value = {}; return true; }})()",
                json!(selector),
                json!(value)
            ))
            .await;
        assert_eq!(found, json!(true), "no field {selector}");
    }

    /// Saves a screenshot when `KOSCHEI_SCREENSHOTS` names a directory.
    async fn screenshot(&self, name: &str) {
        let Ok(dir) = std::env::var("KOSCHEI_SCREENSHOTS") else {
            return;
        };
        let shot = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), png).unwrap();
    }

    async fn close(mut self) {
        let _ = self.child.kill().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn browse_log_in_and_edit_a_group(pool: PgPool) {
    world(&pool).await;
    let base = common::serve(&pool, common::config()).await;

    let browser = Browser::launch().await;
    // Package list.
    browser.goto(&format!("{base}/packages")).await;
    browser.wait_for_text("Package summary").await;
    browser.screenshot("1-package-list").await;
    // Package page (unified view links to the first collection with it).
    browser.click("a[href='/package/rnv']").await;
    browser.wait_for_text("Package information").await;
    // rnv is shown in Fedora 26, the first collection that has it.
    browser
        .wait_for_text("The last complete build failed.")
        .await;
    browser.click("a[href='/package/rnv?collection=f25']").await;
    browser
        .wait_for_text("Infrastructure problem, not a package failure")
        .await;
    browser.screenshot("2-package-page").await;
    assert_eq!(
        browser.eval("document.querySelector('h1').innerText").await,
        json!("rnv")
    );
    // Log in: the test proxy sets the identity header, as httpd would.
    browser
        .call(
            "Network.setExtraHTTPHeaders",
            json!({"headers": {"X-Remote-User": "bob"}}),
        )
        .await;
    browser.click("a[href^='/login']").await;
    browser
        .wait_for_text("Logged in as user \"bob\" with identity \"bob\".")
        .await;
    browser
        .call("Network.setExtraHTTPHeaders", json!({"headers": {}}))
        .await;
    // Back on the package page, now with edit forms.
    browser.wait_for_text("Force re-resolution").await;
    // Group page, then its edit form.
    browser.click("#groups a[href='/groups/java']").await;
    browser.wait_for_text("Group java").await;
    browser.click("a[href='/groups/java/edit']").await;
    browser.wait_for_text("Edit group java").await;
    browser
        .fill("textarea[name=packages]", "rnv\neclipse\nfoo")
        .await;
    browser.click("form.group-form button[type=submit]").await;
    browser.wait_for_text("Group modified").await;
    browser.screenshot("3-group-modified").await;
    // The change is visible: foo is now listed in the group.
    let listed = browser
        .eval("[...document.querySelectorAll('table.packages td:first-child a')].map(a => a.innerText)")
        .await;
    let listed: Vec<String> = serde_json::from_value(listed).unwrap();
    assert!(listed.contains(&"foo".to_string()), "{listed:?}");
    // Log out with the header's button (a form POST, no JavaScript needed).
    browser.click("form.logout button[type=submit]").await;
    browser.wait_for_text("Successfully logged out.").await;
    browser.close().await;

    let members: Vec<String> = sqlx::query_scalar(
        "SELECT b.name FROM package_group_relation r JOIN base_package b ON b.id = r.base_id
         JOIN package_group g ON g.id = r.group_id WHERE g.name = 'java' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(members, ["eclipse", "foo", "rnv"]);
}

/// After login the browser stays on this site whatever `next` says
/// (browsers drop tabs and newlines from URLs and read `\\` as `/`).
#[sqlx::test(migrator = "MIGRATIONS")]
async fn login_redirect_stays_on_the_host(pool: PgPool) {
    world(&pool).await;
    let base = common::serve(&pool, common::config()).await;
    let browser = Browser::launch().await;
    browser
        .call(
            "Network.setExtraHTTPHeaders",
            json!({"headers": {"X-Remote-User": "bob"}}),
        )
        .await;
    for next in [
        "/%09/evil.example/",
        "/%0A/evil.example/",
        "/%5Cevil.example/",
        "%2F%2Fevil.example/",
    ] {
        let url = format!("{base}/login?next={next}");
        browser.blank().await;
        browser.goto(&url).await;
        let landed = browser.final_url(&url).await;
        assert!(
            landed.starts_with(&format!("{base}/")),
            "next={next} led to {landed}"
        );
    }
    browser.close().await;
}

/// `static/live.js`: an open package list follows the event stream and
/// swaps a state icon for the one the server renders for the new state
/// (`ignored` looked up in the API).
#[sqlx::test(migrator = "MIGRATIONS")]
async fn state_icons_follow_the_event_stream(pool: PgPool) {
    use koschei_core::model::MessageState;
    let w = world(&pool).await;
    let mut config = common::config();
    config.fedmsg_publisher.enabled = true;
    let base = common::serve(&pool, config.clone()).await;
    let browser = Browser::launch().await;
    browser
        .goto(&format!("{base}/packages?collection=f25"))
        .await;
    browser.wait_for_text("eclipse").await;
    let open = "document.body.dataset.live === 'on'";
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while browser.eval(open).await != json!(true) {
        assert!(tokio::time::Instant::now() < deadline, "no event stream");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let icon = |name: &str| {
        format!("document.querySelector('[data-package=\"{name}\"][data-collection=\"f25\"] .state').outerHTML")
    };
    // A change as the services write it; rnv blocked meanwhile (`ignored`).
    sqlx::query("UPDATE package SET blocked = true WHERE id = $1")
        .bind(w.rnv)
        .execute(&pool)
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    koschei_core::outbox::packages_state_changed(
        &mut tx,
        &config,
        &[
            (w.eclipse, MessageState::Failing, MessageState::Ok),
            (w.rnv, MessageState::Ok, MessageState::Ignored),
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    for (name, state) in [("eclipse", "ok"), ("rnv", "blocked")] {
        let want = json!(koschei_web::render::state_badges::state_icon(state).into_string());
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        while browser.eval(&icon(name)).await != want {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name}: {} instead of {want}",
                browser.eval(&icon(name)).await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    browser.close().await;
}

/// Installability as a user finds it: the collection page's uninstallable binaries, a
/// link to the package page with its problems, the verdict on a rebuild and the install
/// size chart (drawn, with the page's styles applied), and the statistics page's chart.
#[sqlx::test(migrator = "MIGRATIONS")]
async fn installability_from_the_collection_page_to_the_package_page(pool: PgPool) {
    let w = world(&pool).await;
    common::installability_with_chart(&pool, w.f25).await;
    let config = common::config();
    let weburl = config.koji_config.weburl.clone();
    let base = common::serve(&pool, config).await;
    let browser = Browser::launch().await;

    browser.goto(&format!("{base}/collection/f25")).await;
    browser
        .wait_for_text("1 of 2 binary packages of repo 7 cannot be installed.")
        .await;
    browser.wait_for_text("rnv-extras-1.0-1.noarch").await;
    browser.screenshot("installability-1-collection").await;
    browser
        .click("#installability a[href='/package/rnv?collection=f25']")
        .await;
    browser
        .wait_for_text("1 of 2 binary packages installable in repo 7")
        .await;
    browser
        .wait_for_text("nothing provides libgone.so.1 needed by rnv-extras-1.0-1.noarch")
        .await;
    browser
        .wait_for_text("A rebuild would fix it: the binaries of scratch build task 9007")
        .await;
    browser
        .eval("document.querySelector('#installability').scrollIntoView()")
        .await;
    browser.screenshot("installability-2-package").await;
    let page = browser
        .eval(
            "(() => {
                const card = document.querySelector('#installability');
                const chart = card.querySelector('svg');
                const box = chart ? chart.getBoundingClientRect() : null;
                const bad = card.querySelector('tr.uninstallable td');
                const verdict = card.querySelector('div.rebuild.fixes');
                return {
                    chart: box ? [box.width > 100, box.height > 50] : null,
                    title: chart ? chart.getAttribute('aria-label') : null,
                    bars: chart ? chart.querySelectorAll('rect').length : 0,
                    bad: bad ? getComputedStyle(bad).backgroundColor : null,
                    verdict: verdict ? getComputedStyle(verdict).borderLeftColor : null,
                    task: verdict ? verdict.querySelector('a').href : null,
                };
            })()",
        )
        .await;
    assert_eq!(page["chart"], json!([true, true]), "{page}");
    assert_eq!(
        page["title"], "Install size of rnv.x86_64 over time",
        "{page}"
    );
    assert!(page["bars"].as_u64().unwrap() >= 4, "{page}");
    assert_eq!(page["bad"], "rgb(253, 236, 234)", "{page}");
    assert_eq!(page["verdict"], "rgb(78, 154, 6)", "{page}");
    assert_eq!(
        page["task"],
        format!("{weburl}/taskinfo?taskID=9007"),
        "{page}"
    );

    browser.goto(&format!("{base}/stats")).await;
    browser
        .wait_for_text("Uninstallable binary packages per checked repo")
        .await;
    let drawn = browser
        .eval(
            "[...document.querySelectorAll('svg')].some(s => \
               s.getAttribute('aria-label') === 'Uninstallable binary packages per checked repo' \
               && s.getBoundingClientRect().width > 100)",
        )
        .await;
    assert_eq!(drawn, json!(true));
    browser.screenshot("installability-3-stats").await;
    browser.close().await;
}
