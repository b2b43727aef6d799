//! The fedora-messaging envelope of a state-change message (as
//! `fedora_messaging/message.py` in fedora-infra/fedora-messaging builds it):
//! routing key, AMQP properties and headers, exactly as
//! `fedora_messaging.message.Message` builds them for the `koschei-messages`
//! schema classes, so schema-aware consumers (FMN, the packager dashboard)
//! route and render our messages.

use chrono::{DateTime, Utc};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::BasicProperties;
use serde_json::Value as Json;
use uuid::Uuid;

/// fedora-messaging's INFO severity.
pub const SEVERITY_INFO: i64 = 20;
/// The schema package of the state-change messages as fedora-messaging names it
/// (the normalised distribution name of `koschei-messages`).
pub const SCHEMA_PACKAGE: &str = "koschei_messages";
/// The schema package of the messages `koschei-messages` lacks (ours, in
/// `services/watcher/messages`).
pub const OWN_SCHEMA_PACKAGE: &str = "koschei_rs_messages";
/// The schema of `<modname>.package.installability.change`.
pub const INSTALLABILITY_SCHEMA: &str = "koschei.package.installability.change";
/// The schema of `<modname>.impact-check.state.change`.
pub const IMPACT_CHECK_SCHEMA: &str = "koschei.impact-check.state.change";

/// One row of `message_outbox`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub message_id: Uuid,
    pub topic: String,
    pub body: Json,
}

/// A message ready to publish.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub routing_key: String,
    pub payload: Vec<u8>,
    pub properties: BasicProperties,
}

/// The `fedora_messaging_schema` entry-point name for an outbox topic
/// (`<modname>.package.state.change` …); `base.message` for anything else (Fedora CI's
/// `ci.*` messages too, as the original sent them).
pub fn schema_name(topic: &str) -> &'static str {
    if topic.ends_with(".package.state.change") {
        "koschei.package.state.change"
    } else if topic.ends_with(".collection.state.change") {
        "koschei.collection.state.change"
    } else if topic.ends_with(".package.installability.change") {
        INSTALLABILITY_SCHEMA
    } else if topic.ends_with(".impact-check.state.change") {
        IMPACT_CHECK_SCHEMA
    } else {
        "base.message"
    }
}

/// The distribution (as fedora-messaging names it) holding a schema's class: its own
/// for the base class.
fn schema_package(schema: &str) -> &'static str {
    match schema {
        "base.message" => "fedora_messaging",
        INSTALLABILITY_SCHEMA | IMPACT_CHECK_SCHEMA => OWN_SCHEMA_PACKAGE,
        _ => SCHEMA_PACKAGE,
    }
}

/// The body as the schema wants it. The original sent the collection's
/// `repo_id` as an integer although `koschei-messages` declares a string,
/// so its messages failed validation; we send the string.
pub fn conform_body(schema: &str, body: &Json) -> Json {
    let mut body = body.clone();
    if schema == "koschei.collection.state.change" {
        if let Some(id) = body.get_mut("repo_id") {
            if let Some(n) = id.as_i64() {
                *id = Json::String(n.to_string());
            }
        }
    }
    body
}

fn strings<'a>(body: &'a Json, key: &str) -> impl Iterator<Item = &'a str> {
    body.get(key)
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
}

impl Envelope {
    /// The envelope of an outbox row, published at `now`, with
    /// `topic_prefix` (e.g. `org.fedoraproject.prod`) before the topic.
    pub fn for_row(row: &OutboxRow, topic_prefix: &str, now: DateTime<Utc>) -> Envelope {
        let schema = schema_name(&row.topic);
        let body = conform_body(schema, &row.body);
        let mut headers = FieldTable::default();
        let text = |s: &str| AMQPValue::LongString(s.into());
        headers.insert(ShortString::from("fedora_messaging_schema"), text(schema));
        headers.insert(
            ShortString::from("fedora_messaging_schema_package"),
            text(schema_package(schema)),
        );
        headers.insert(
            ShortString::from("sent-at"),
            text(&now.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()),
        );
        headers.insert(
            ShortString::from("fedora_messaging_severity"),
            AMQPValue::LongLongInt(SEVERITY_INFO),
        );
        headers.insert(ShortString::from("priority"), AMQPValue::LongLongInt(0));
        if schema == "koschei.package.state.change" || schema == INSTALLABILITY_SCHEMA {
            // The filter headers of the schema's `packages` and `groups`.
            if let Some(name) = body.get("name").and_then(Json::as_str) {
                headers.insert(
                    ShortString::from(format!("fedora_messaging_rpm_{name}")),
                    AMQPValue::Boolean(true),
                );
            }
            for group in strings(&body, "groups") {
                headers.insert(
                    ShortString::from(format!("fedora_messaging_group_{group}")),
                    AMQPValue::Boolean(true),
                );
            }
        }
        if schema == IMPACT_CHECK_SCHEMA {
            // its `packages`: the ones the side tag breaks
            let broken =
                strings(&body, "unresolvable_with_change").chain(strings(&body, "regressions"));
            for name in broken {
                headers.insert(
                    ShortString::from(format!("fedora_messaging_rpm_{name}")),
                    AMQPValue::Boolean(true),
                );
            }
        }
        let properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_content_encoding("utf-8".into())
            .with_delivery_mode(2)
            .with_message_id(row.message_id.to_string().into())
            .with_headers(headers);
        let routing_key = if topic_prefix.is_empty() {
            row.topic.clone()
        } else {
            format!("{topic_prefix}.{}", row.topic)
        };
        Envelope {
            routing_key,
            payload: serde_json::to_vec(&body).expect("JSON values serialize"),
            properties,
        }
    }

    /// With fedora-messaging's `publish_priority`: the AMQP priority,
    /// mirrored in the `priority` header.
    pub fn with_priority(mut self, priority: Option<u8>) -> Envelope {
        if let Some(p) = priority {
            let mut headers = self.properties.headers().clone().unwrap_or_default();
            headers.insert(
                ShortString::from("priority"),
                AMQPValue::LongLongInt(p.into()),
            );
            self.properties = self.properties.with_priority(p).with_headers(headers);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn header<'a>(e: &'a Envelope, name: &str) -> Option<&'a AMQPValue> {
        e.properties
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get(name))
    }

    #[test]
    fn package_state_change_envelope() {
        let row = OutboxRow {
            id: 1,
            message_id: Uuid::new_v4(),
            topic: "koschei.package.state.change".into(),
            body: json!({"name": "foo", "old": "ok", "new": "failing", "koji_instance": "primary",
                         "repo": "f25", "collection": "f25", "collection_name": "Fedora Rawhide",
                         "groups": ["bar", "ns/baz"]}),
        };
        let now = DateTime::parse_from_rfc3339("2026-11-23T01:02:03.456Z")
            .unwrap()
            .with_timezone(&Utc);
        let e = Envelope::for_row(&row, "org.fedoraproject.prod", now);
        assert_eq!(
            e.routing_key,
            "org.fedoraproject.prod.koschei.package.state.change"
        );
        let p = &e.properties;
        assert_eq!(
            p.content_type().as_ref().unwrap().as_str(),
            "application/json"
        );
        assert_eq!(p.content_encoding().as_ref().unwrap().as_str(), "utf-8");
        assert_eq!(*p.delivery_mode(), Some(2));
        assert_eq!(
            p.message_id().as_ref().unwrap().as_str(),
            row.message_id.to_string()
        );
        assert_eq!(
            header(&e, "fedora_messaging_schema"),
            Some(&AMQPValue::LongString(
                "koschei.package.state.change".into()
            ))
        );
        assert_eq!(
            header(&e, "sent-at"),
            Some(&AMQPValue::LongString("2026-11-23T01:02:03+00:00".into()))
        );
        assert_eq!(
            header(&e, "fedora_messaging_severity"),
            Some(&AMQPValue::LongLongInt(20))
        );
        for filter in [
            "fedora_messaging_rpm_foo",
            "fedora_messaging_group_bar",
            "fedora_messaging_group_ns/baz",
        ] {
            assert_eq!(
                header(&e, filter),
                Some(&AMQPValue::Boolean(true)),
                "{filter}"
            );
        }
        let body: Json = serde_json::from_slice(&e.payload).unwrap();
        assert_eq!(body, row.body);
    }

    #[test]
    fn collection_repo_id_becomes_a_string() {
        let row = OutboxRow {
            id: 2,
            message_id: Uuid::new_v4(),
            topic: "koschei.collection.state.change".into(),
            body: json!({"old": "ok", "new": "unresolved", "koji_instance": "primary",
                         "collection": "f25", "collection_name": "Fedora Rawhide", "repo_id": 123}),
        };
        let e = Envelope::for_row(&row, "", Utc::now());
        assert_eq!(e.routing_key, "koschei.collection.state.change");
        let body: Json = serde_json::from_slice(&e.payload).unwrap();
        assert_eq!(body["repo_id"], json!("123"));
        assert_eq!(header(&e, "fedora_messaging_rpm_f25"), None);
    }

    #[test]
    fn publish_priority_sets_the_property_and_its_header() {
        let row = OutboxRow {
            id: 4,
            message_id: Uuid::new_v4(),
            topic: "koschei.package.state.change".into(),
            body: json!({"name": "foo"}),
        };
        let plain = Envelope::for_row(&row, "p", Utc::now());
        assert_eq!(*plain.properties.priority(), None);
        let e = plain.with_priority(Some(3));
        assert_eq!(*e.properties.priority(), Some(3));
        assert_eq!(header(&e, "priority"), Some(&AMQPValue::LongLongInt(3)));
        assert_eq!(
            header(&e, "fedora_messaging_schema"),
            Some(&AMQPValue::LongString(
                "koschei.package.state.change".into()
            ))
        );
    }

    #[test]
    fn unknown_topics_are_generic_messages() {
        assert_eq!(schema_name("koschei.something.else"), "base.message");
        let row = OutboxRow {
            id: 3,
            message_id: Uuid::new_v4(),
            topic: "koschei.something.else".into(),
            body: json!({"name": "x"}),
        };
        let e = Envelope::for_row(&row, "p", Utc::now());
        assert_eq!(
            header(&e, "fedora_messaging_schema_package"),
            Some(&AMQPValue::LongString("fedora_messaging".into()))
        );
        assert_eq!(header(&e, "fedora_messaging_rpm_x"), None);
    }
}
