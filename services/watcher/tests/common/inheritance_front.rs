//! koji-sim does not serve `getFullInheritance`: an HTTP front of the simulator answers
//! it from the simulator's own tag inheritance (Koji's shape: one entry per ancestor with
//! `parent_id`, `name`, `child_id` and `currdepth`) and forwards every other request to
//! the simulator, one request per connection. Drop it once koji-sim has the call.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use koschei_koji::xmlrpc::{parse_call, write_fault, write_response, Fault, Value};
use koschei_koji::xstruct;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{host_port, Sim};

/// The front; `url` replaces the simulator's hub URL.
pub struct InheritanceFront {
    pub url: String,
    /// `getFullInheritance` calls answered so far.
    pub answered: Arc<AtomicUsize>,
}

impl InheritanceFront {
    pub async fn start(sim: &Sim) -> InheritanceFront {
        let hub = sim.running.hub_url.clone();
        let rest = hub.split_once("://").map_or(hub.as_str(), |(_, r)| r);
        let path = rest.find('/').map_or("", |i| &rest[i..]).to_owned();
        let target = host_port(&hub);
        let state = sim.running.sim.clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let answered = Arc::new(AtomicUsize::new(0));
        let count = answered.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let (target, state, count) = (target.clone(), state.clone(), count.clone());
                tokio::spawn(async move {
                    let Some((head, body)) = read_request(&mut client).await else {
                        return;
                    };
                    match parse_call(&body) {
                        Ok(call) if call.name == "getFullInheritance" => {
                            count.fetch_add(1, Ordering::SeqCst);
                            let xml = answer(&state, call.params.first());
                            let reply = format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
                                 Connection: close\r\n\r\n{xml}",
                                xml.len()
                            );
                            let _ = client.write_all(reply.as_bytes()).await;
                        }
                        _ => {
                            let Ok(mut server) = TcpStream::connect(&target).await else {
                                return;
                            };
                            let mut request: Vec<u8> = head
                                .lines()
                                .filter(|l| !l.to_lowercase().starts_with("connection:"))
                                .flat_map(|l| format!("{l}\r\n").into_bytes())
                                .collect();
                            request.extend_from_slice(b"Connection: close\r\n\r\n");
                            request.extend_from_slice(&body);
                            if server.write_all(&request).await.is_err() {
                                return;
                            }
                            let _ = tokio::io::copy(&mut server, &mut client).await;
                        }
                    }
                    let _ = client.shutdown().await;
                });
            }
        });
        InheritanceFront {
            url: format!("http://{addr}{path}"),
            answered,
        }
    }
}

/// Koji's `getFullInheritance(tag)` answer from the simulator's state.
fn answer(state: &koji_sim::sim::Sim, tag: Option<&Value>) -> String {
    let st = state.lock();
    let Some(tag) = tag.and_then(Value::as_str).and_then(|n| st.tag_by_name(n)) else {
        return write_fault(&Fault::generic(format!("No such tagInfo: {tag:?}")));
    };
    let entries = st
        .inheritance(tag.id)
        .into_iter()
        .skip(1) // the tag itself
        .filter_map(|id| st.tag(id))
        .map(|parent| {
            Value::Struct(xstruct! {
                "parent_id" => parent.id,
                "name" => parent.name.as_str(),
                "child_id" => tag.id,
                "currdepth" => 1i64,
            })
        })
        .collect();
    write_response(&Value::Array(entries))
}

/// Reads one HTTP request: its head (without the blank line) and its body.
async fn read_request(client: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = client.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length").then_some(v)
                })
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return Some((head, buf[end + 4..end + 4 + length].to_vec()));
            }
        }
    }
}
