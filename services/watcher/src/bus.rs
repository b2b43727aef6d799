//! The effective message-bus settings: Koschei's `[fedmsg]` and
//! `[fedmsg-publisher]` keys over fedora-messaging's configuration file,
//! over Koschei's defaults. Key by key:
//!
//! | setting | `[fedmsg]` / `[fedmsg-publisher]` | fedora-messaging file | default |
//! |---|---|---|---|
//! | broker | `amqp_url` | `amqp_url` | none: the watcher does not start |
//! | client certificate, key, CA | `tls_cert`, `tls_key`, `tls_ca` | `[tls]` certfile, keyfile, ca_cert | none; system roots |
//! | client properties | | `[client_properties]` | `app = "Koschei"` |
//! | exchanges declared | | `[exchanges]` | none |
//! | queues consumed | `queue`, `queue_durable` | `[queues]` | `koschei`, durable |
//! | bindings of a queue | | `[[bindings]]` of that queue | `<topic>.{task.state.change,tag,untag,repo.done}` on the exchange |
//! | exchange | `exchange` | `publish_exchange` | `amq.topic` |
//! | published topic prefix | `topic_prefix` | `topic_prefix` | `org.fedoraproject.prod` |
//! | priority of published messages | | `publish_priority` | none |
//! | passive declarations | | `passive_declares` | false |
//!
//! With a client certificate and key on an `amqps://` URL the client
//! authenticates with SASL EXTERNAL, as fedora-messaging does.

use std::path::PathBuf;

use koschei_core::config::{FedmsgConfig, PublisherConfig};
use lapin::types::FieldTable;

use crate::fedora_messaging_conf::{field_table, FedoraMessagingConf, Queue as FileQueue};
use crate::koji_message::binding_keys;

/// Koschei's default queue.
pub const DEFAULT_QUEUE: &str = "koschei";
/// Koschei's default exchange.
pub const DEFAULT_EXCHANGE: &str = "amq.topic";
/// Koschei's default prefix of published topics.
pub const DEFAULT_TOPIC_PREFIX: &str = "org.fedoraproject.prod";

/// An exchange to declare.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeDecl {
    pub name: String,
    pub kind: String,
    pub durable: bool,
    pub auto_delete: bool,
    pub arguments: FieldTable,
}

/// A queue to declare, bind and consume.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueDecl {
    /// Empty: a server-named queue.
    pub name: String,
    pub durable: bool,
    pub auto_delete: bool,
    pub exclusive: bool,
    pub arguments: FieldTable,
    /// `(exchange, routing key)` pairs.
    pub bindings: Vec<(String, String)>,
}

/// TLS files, each from `[fedmsg]` or the file's `[tls]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsPaths {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub ca: Option<PathBuf>,
}

/// Everything the consumer and the publisher need to know about the bus.
#[derive(Debug, Clone, PartialEq)]
pub struct BusSettings {
    pub amqp_url: Option<String>,
    pub tls: TlsPaths,
    pub client_properties: FieldTable,
    pub exchanges: Vec<ExchangeDecl>,
    pub queues: Vec<QueueDecl>,
    pub passive_declares: bool,
    pub exchange: String,
    pub topic_prefix: String,
    pub publish_priority: Option<u8>,
    /// The file's `qos.prefetch_count`.
    pub prefetch: Option<u16>,
}

impl BusSettings {
    /// Merges `[fedmsg]`, `[fedmsg-publisher]` and the file (if any).
    pub fn resolve(
        fedmsg: &FedmsgConfig,
        publisher: &PublisherConfig,
        file: Option<&FedoraMessagingConf>,
    ) -> BusSettings {
        let empty = FedoraMessagingConf::default();
        let file = file.unwrap_or(&empty);
        let file_tls = file.tls.clone().unwrap_or_default();
        let exchange = fedmsg
            .exchange
            .clone()
            .or_else(|| file.publish_exchange.clone())
            .unwrap_or_else(|| DEFAULT_EXCHANGE.into());
        let mut client_properties = toml::Table::new();
        client_properties.insert("app".into(), "Koschei".into());
        client_properties.extend(file.client_properties.clone().unwrap_or_default());

        let file_queues = file.queues.clone().unwrap_or_default();
        let names: Vec<String> = match (&fedmsg.queue, &file.queues) {
            (Some(name), _) => vec![name.clone()],
            (None, Some(queues)) => queues.keys().cloned().collect(),
            (None, None) => vec![DEFAULT_QUEUE.into()],
        };
        let own_bindings: Vec<(String, String)> = binding_keys(fedmsg)
            .into_iter()
            .map(|key| (exchange.clone(), key))
            .collect();
        let queues = names
            .into_iter()
            .map(|name| {
                let options = file_queues.get(&name).cloned().unwrap_or(FileQueue {
                    durable: !name.is_empty(),
                    auto_delete: name.is_empty(),
                    exclusive: name.is_empty(),
                    arguments: toml::Table::new(),
                });
                let file_bindings: Vec<(String, String)> = file
                    .bindings
                    .iter()
                    .flatten()
                    .filter(|b| b.queue == name)
                    .flat_map(|b| {
                        b.routing_keys
                            .iter()
                            .map(|k| (b.exchange.clone(), k.clone()))
                    })
                    .collect();
                QueueDecl {
                    durable: fedmsg.queue_durable.unwrap_or(options.durable),
                    auto_delete: options.auto_delete,
                    exclusive: options.exclusive,
                    arguments: field_table(&options.arguments),
                    bindings: if file_bindings.is_empty() {
                        own_bindings.clone()
                    } else {
                        file_bindings
                    },
                    name,
                }
            })
            .collect();
        let exchanges = file
            .exchanges
            .iter()
            .flatten()
            .map(|(name, e)| ExchangeDecl {
                name: name.clone(),
                kind: e.kind.clone(),
                durable: e.durable,
                auto_delete: e.auto_delete,
                arguments: field_table(&e.arguments),
            })
            .collect();
        BusSettings {
            amqp_url: fedmsg.amqp_url.clone().or_else(|| file.amqp_url.clone()),
            tls: TlsPaths {
                cert: fedmsg.tls_cert.clone().or(file_tls.certfile),
                key: fedmsg.tls_key.clone().or(file_tls.keyfile),
                ca: fedmsg.tls_ca.clone().or(file_tls.ca_cert),
            },
            client_properties: field_table(&client_properties),
            exchanges,
            queues,
            passive_declares: file.passive_declares.unwrap_or(false),
            exchange,
            topic_prefix: publisher
                .topic_prefix
                .clone()
                .or_else(|| file.topic_prefix.clone())
                .unwrap_or_else(|| DEFAULT_TOPIC_PREFIX.into()),
            publish_priority: file.publish_priority,
            prefetch: file.qos.as_ref().and_then(|q| q.prefetch_count),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::AMQPValue;

    fn file(text: &str) -> FedoraMessagingConf {
        FedoraMessagingConf::parse(text).unwrap()
    }

    const FILE: &str = r##"
amqp_url = "amqps://koschei@rabbitmq.example.org/%2Fpubsub"
publish_exchange = "zmq.topic"
topic_prefix = "org.fedoraproject.stg"
publish_priority = 3
passive_declares = true
[tls]
ca_cert = "/etc/fm/ca.pem"
certfile = "/etc/fm/cert.pem"
keyfile = "/etc/fm/key.pem"
[client_properties]
app = "Koschei"
app_contacts_email = ["koschei-admins@example.org"]
[exchanges.koschei-dlx]
type = "fanout"
durable = true
[queues.koschei_fm]
durable = false
auto_delete = false
exclusive = false
arguments = { "x-dead-letter-exchange" = "koschei-dlx" }
[queues.other]
durable = true
auto_delete = false
exclusive = false
arguments = {}
[[bindings]]
queue = "koschei_fm"
exchange = "amq.topic"
routing_keys = ["org.fedoraproject.stg.buildsys.#"]
[qos]
prefetch_count = 7
"##;

    #[test]
    fn without_a_file_koschei_defaults_apply() {
        let s = BusSettings::resolve(&FedmsgConfig::default(), &PublisherConfig::default(), None);
        assert_eq!(s.amqp_url, None);
        assert_eq!(s.exchange, "amq.topic");
        assert_eq!(s.topic_prefix, "org.fedoraproject.prod");
        assert_eq!(s.queues.len(), 1);
        let q = &s.queues[0];
        assert_eq!(
            (q.name.as_str(), q.durable, q.exclusive),
            ("koschei", true, false)
        );
        assert_eq!(
            q.bindings[3],
            (
                "amq.topic".to_string(),
                "org.fedoraproject.prod.buildsys.repo.done".to_string()
            )
        );
        assert!(s.exchanges.is_empty() && !s.passive_declares);
    }

    #[test]
    fn the_file_fills_what_fedmsg_leaves_unset() {
        let f = file(FILE);
        let s = BusSettings::resolve(
            &FedmsgConfig::default(),
            &PublisherConfig::default(),
            Some(&f),
        );
        assert_eq!(
            s.amqp_url.as_deref(),
            Some("amqps://koschei@rabbitmq.example.org/%2Fpubsub")
        );
        assert_eq!(s.tls.cert, Some(PathBuf::from("/etc/fm/cert.pem")));
        assert_eq!(s.tls.key, Some(PathBuf::from("/etc/fm/key.pem")));
        assert_eq!(s.tls.ca, Some(PathBuf::from("/etc/fm/ca.pem")));
        assert_eq!(s.exchange, "zmq.topic");
        assert_eq!(s.topic_prefix, "org.fedoraproject.stg");
        assert_eq!(s.publish_priority, Some(3));
        assert!(s.passive_declares);
        assert_eq!(s.prefetch, Some(7));
        assert_eq!(s.exchanges[0].name, "koschei-dlx");
        assert_eq!(s.exchanges[0].kind, "fanout");
        let names: Vec<_> = s.queues.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(names, ["koschei_fm", "other"]);
        let fm = &s.queues[0];
        assert!(!fm.durable);
        assert_eq!(
            fm.arguments.inner().get("x-dead-letter-exchange"),
            Some(&AMQPValue::LongString("koschei-dlx".into()))
        );
        assert_eq!(
            fm.bindings,
            [(
                "amq.topic".to_string(),
                "org.fedoraproject.stg.buildsys.#".to_string()
            )]
        );
        // A queue without bindings in the file gets Koschei's.
        assert_eq!(s.queues[1].bindings.len(), 4);
        assert_eq!(s.queues[1].bindings[0].0, "zmq.topic");
        assert!(s
            .client_properties
            .inner()
            .contains_key("app_contacts_email"));
    }

    #[test]
    fn fedmsg_keys_override_the_file() {
        let f = file(FILE);
        let fedmsg = FedmsgConfig {
            amqp_url: Some("amqp://local/".into()),
            exchange: Some("ex".into()),
            queue: Some("koschei_fm".into()),
            queue_durable: Some(true),
            tls_cert: Some("/c".into()),
            tls_key: Some("/k".into()),
            tls_ca: Some("/a".into()),
            ..FedmsgConfig::default()
        };
        let publisher = PublisherConfig {
            topic_prefix: Some("p".into()),
            ..PublisherConfig::default()
        };
        let s = BusSettings::resolve(&fedmsg, &publisher, Some(&f));
        assert_eq!(s.amqp_url.as_deref(), Some("amqp://local/"));
        assert_eq!(
            s.tls,
            TlsPaths {
                cert: Some("/c".into()),
                key: Some("/k".into()),
                ca: Some("/a".into())
            }
        );
        assert_eq!((s.exchange.as_str(), s.topic_prefix.as_str()), ("ex", "p"));
        // One queue: the named one, its file arguments kept, durability overridden.
        assert_eq!(s.queues.len(), 1);
        assert!(s.queues[0].durable);
        assert!(s.queues[0]
            .arguments
            .inner()
            .contains_key("x-dead-letter-exchange"));
    }
}
