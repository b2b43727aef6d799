//! Koji's fedora-messaging notifications (those the original's
//! `koschei/plugins/fedmsg_plugin/backend/services/watcher.py` consumes), published to AMQP with
//! fedora-messaging's properties and headers, and kept in memory for inspection.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use koschei_koji::model::TaskState;
use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use serde_json::{json, Value as Json};
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::task::Task;

/// Topic prefix of production Koji messages.
pub const TOPIC_PREFIX: &str = "org.fedoraproject.prod";
/// Exchange Koji publishes to.
pub const EXCHANGE: &str = "amq.topic";
/// How many recent messages are kept for `sim.messages`.
const KEEP: usize = 1000;

/// One message: topic (without prefix), body, schema class and severity.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Topic without the `org.fedoraproject.prod.` prefix, e.g. `buildsys.tag`.
    pub topic: String,
    /// JSON body.
    pub body: Json,
    /// `fedora_messaging_schema` header (entry-point name).
    pub schema: &'static str,
    /// `fedora_messaging_severity` (10 DEBUG, 20 INFO).
    pub severity: i64,
    /// Message priority.
    pub priority: u8,
}

const DEBUG: i64 = 10;
const INFO: i64 = 20;

impl Message {
    /// `buildsys.task.state.change` of a scratch-build parent task.
    pub fn task_state_change(
        task: &Task,
        base_url: &str,
        files_base_url: &str,
        owner: &str,
        srpm: &str,
        old: TaskState,
        info: Json,
    ) -> Message {
        Message {
            topic: "buildsys.task.state.change".to_owned(),
            body: json!({
                "id": task.id,
                "method": task.method,
                "attribute": "state",
                "old": old.name(),
                "new": task.state.name(),
                "owner": owner,
                "srpm": srpm,
                "info": info,
                "base_url": base_url,
                "files_base_url": files_base_url,
                "instance": "primary",
            }),
            schema: "koji_fedoramessaging.task.TaskStateChangeV1",
            severity: INFO,
            priority: 2,
        }
    }

    /// `buildsys.tag` / `buildsys.untag`.
    #[allow(clippy::too_many_arguments)]
    pub fn tagging(
        tagged: bool,
        tag: &str,
        tag_id: i64,
        name: &str,
        version: &str,
        release: &str,
        build_id: i64,
        user: &str,
        owner: &str,
    ) -> Message {
        let priority = if tag.starts_with('f') && tag.ends_with("-rebuild") {
            0
        } else if tag == "eln" || tag.starts_with("eln-") {
            1
        } else {
            2
        };
        Message {
            topic: if tagged {
                "buildsys.tag"
            } else {
                "buildsys.untag"
            }
            .to_owned(),
            body: json!({
                "tag": tag,
                "tag_id": tag_id,
                "name": name,
                "version": version,
                "release": release,
                "build_id": build_id,
                "user": user,
                "owner": owner,
                "instance": "primary",
            }),
            schema: if tagged {
                "koji_fedoramessaging.tag.TagV1"
            } else {
                "koji_fedoramessaging.tag.UntagV1"
            },
            severity: DEBUG,
            priority,
        }
    }

    /// `buildsys.repo.done`.
    pub fn repo_done(tag: &str, tag_id: i64, repo_id: i64) -> Message {
        Message {
            topic: "buildsys.repo.done".to_owned(),
            body: json!({"tag": tag, "tag_id": tag_id, "repo_id": repo_id, "instance": "primary"}),
            schema: "koji_fedoramessaging.repo.DoneV1",
            severity: DEBUG,
            priority: 2,
        }
    }

    /// The routing key.
    pub fn routing_key(&self) -> String {
        format!("{TOPIC_PREFIX}.{}", self.topic)
    }
}

/// Sends messages (in order) to AMQP when configured, and remembers recent ones.
#[derive(Clone)]
pub struct Publisher {
    sender: Option<mpsc::UnboundedSender<Message>>,
    recent: Arc<Mutex<VecDeque<Message>>>,
}

impl Publisher {
    /// A publisher; with an AMQP URL, connects and starts the sending task.
    pub async fn start(amqp_url: Option<&str>) -> anyhow::Result<Publisher> {
        let sender = match amqp_url {
            Some(url) => {
                let conn = Connection::connect(url, ConnectionProperties::default()).await?;
                let channel = conn.create_channel().await?;
                info!(url, "publishing Koji messages to AMQP");
                let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
                tokio::spawn(async move {
                    let _conn = conn;
                    while let Some(m) = rx.recv().await {
                        let payload = serde_json::to_vec(&m.body).unwrap_or_default();
                        let result = channel
                            .basic_publish(
                                EXCHANGE.into(),
                                m.routing_key().as_str().into(),
                                BasicPublishOptions::default(),
                                &payload,
                                properties(&m),
                            )
                            .await;
                        match result {
                            Ok(confirm) => {
                                if let Err(e) = confirm.await {
                                    warn!(topic = m.topic, error = %e, "AMQP publish not confirmed");
                                }
                            }
                            Err(e) => warn!(topic = m.topic, error = %e, "AMQP publish failed"),
                        }
                    }
                });
                Some(tx)
            }
            None => None,
        };
        Ok(Publisher {
            sender,
            recent: Arc::new(Mutex::new(VecDeque::new())),
        })
    }

    /// Queues a message.
    pub fn publish(&self, message: Message) {
        {
            let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
            if recent.len() == KEEP {
                recent.pop_front();
            }
            recent.push_back(message.clone());
        }
        if let Some(tx) = &self.sender {
            let _ = tx.send(message);
        }
    }

    /// The recent messages, oldest first.
    pub fn recent(&self) -> Vec<Message> {
        self.recent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}

/// fedora-messaging's AMQP properties and headers for a message.
fn properties(m: &Message) -> BasicProperties {
    let mut headers = FieldTable::default();
    let s = |v: &str| AMQPValue::LongString(v.into());
    headers.insert(ShortString::from("fedora_messaging_schema"), s(m.schema));
    headers.insert(
        ShortString::from("fedora_messaging_severity"),
        AMQPValue::LongLongInt(m.severity),
    );
    headers.insert(
        ShortString::from("sent-at"),
        s(&chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S+00:00")
            .to_string()),
    );
    headers.insert(
        ShortString::from("priority"),
        AMQPValue::LongLongInt(m.priority.into()),
    );
    for key in ["owner", "user"] {
        if let Some(u) = m.body.get(key).and_then(Json::as_str) {
            headers.insert(
                ShortString::from(format!("fedora_messaging_user_{u}")),
                AMQPValue::Boolean(true),
            );
        }
    }
    if let Some(n) = m.body.get("name").and_then(Json::as_str) {
        headers.insert(
            ShortString::from(format!("fedora_messaging_rpm_{n}")),
            AMQPValue::Boolean(true),
        );
    }
    BasicProperties::default()
        .with_content_type("application/json".into())
        .with_content_encoding("utf-8".into())
        .with_delivery_mode(2)
        .with_priority(m.priority)
        .with_message_id(uuid::Uuid::new_v4().to_string().into())
        .with_headers(headers)
}
