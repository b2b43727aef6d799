//! fedora-messaging's own configuration file (`config.toml`), read the way
//! `fedora_messaging.config` reads it: the path is `FEDORA_MESSAGING_CONF`,
//! else `/etc/fedora-messaging/config.toml`; a missing default file means
//! "no settings", a missing file named by the variable is an error. Its
//! validation is repeated here (unknown top-level keys, incomplete queues and
//! bindings, reserved client properties are refused), so a file is accepted
//! by both or by neither. Only the keys present in the file are kept:
//! [`crate::bus`] fills the gaps with Koschei's defaults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lapin::types::{AMQPValue, FieldArray, FieldTable, LongString, ShortString};
use serde::Deserialize;

/// The variable naming the file.
pub const ENV_VAR: &str = "FEDORA_MESSAGING_CONF";
/// The file read when the variable is not set.
pub const DEFAULT_PATH: &str = "/etc/fedora-messaging/config.toml";

/// The top-level keys fedora-messaging knows (its `DEFAULTS`); any other is
/// an error there, so here too.
const KNOWN_KEYS: [&str; 15] = [
    "amqp_url",
    "client_properties",
    "publish_exchange",
    "topic_prefix",
    "publish_priority",
    "passive_declares",
    "exchanges",
    "queues",
    "bindings",
    "qos",
    "callback",
    "monitoring",
    "consumer_config",
    "tls",
    "log_config",
];

/// Client properties fedora-messaging sets itself and refuses from the file.
const RESERVED_PROPERTIES: [&str; 3] = ["version", "information", "product"];

/// Why the file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfError {
    #[error("cannot read fedora-messaging configuration {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid fedora-messaging configuration {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// `[tls]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Tls {
    /// CA bundle that verifies the broker (added to the system's roots).
    pub ca_cert: Option<PathBuf>,
    /// Client key; with `certfile`, the client authenticates with its
    /// certificate (SASL EXTERNAL).
    pub keyfile: Option<PathBuf>,
    pub certfile: Option<PathBuf>,
}

/// One `[exchanges.<name>]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Exchange {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub durable: bool,
    #[serde(default)]
    pub auto_delete: bool,
    #[serde(default)]
    pub arguments: toml::Table,
}

/// One `[queues.<name>]` entry; fedora-messaging requires every key.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Queue {
    pub durable: bool,
    pub auto_delete: bool,
    pub exclusive: bool,
    /// Queue arguments: `x-dead-letter-exchange`, `x-message-ttl`,
    /// `x-queue-type`, `x-delivery-limit`…
    pub arguments: toml::Table,
}

/// One `[[bindings]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Binding {
    /// The queue bound; fedora-messaging's default is the server-named
    /// queue `""`.
    #[serde(default)]
    pub queue: String,
    pub exchange: String,
    pub routing_keys: Vec<String>,
}

/// `[qos]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Qos {
    pub prefetch_count: Option<u16>,
    pub prefetch_size: Option<u32>,
}

/// The keys of the file Koschei uses, each `None` when the file does not
/// set it. fedora-messaging's consumer-only keys (`callback`,
/// `consumer_config`, `log_config`, `monitoring`) are accepted and ignored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct FedoraMessagingConf {
    /// Where it was read from.
    #[serde(skip)]
    pub path: PathBuf,
    pub amqp_url: Option<String>,
    pub tls: Option<Tls>,
    pub client_properties: Option<toml::Table>,
    pub exchanges: Option<BTreeMap<String, Exchange>>,
    pub queues: Option<BTreeMap<String, Queue>>,
    pub bindings: Option<Vec<Binding>>,
    pub passive_declares: Option<bool>,
    pub publish_exchange: Option<String>,
    pub topic_prefix: Option<String>,
    pub publish_priority: Option<u8>,
    pub qos: Option<Qos>,
}

impl FedoraMessagingConf {
    /// The file named by `FEDORA_MESSAGING_CONF`, else the default file if
    /// it exists (`None` when it does not).
    pub fn load_from_env() -> Result<Option<FedoraMessagingConf>, ConfError> {
        match std::env::var_os(ENV_VAR) {
            Some(path) => Self::load(Path::new(&path)).map(Some),
            None if Path::new(DEFAULT_PATH).exists() => {
                Self::load(Path::new(DEFAULT_PATH)).map(Some)
            }
            None => Ok(None),
        }
    }

    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<FedoraMessagingConf, ConfError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
            .map_err(|message| ConfError::Invalid {
                path: path.to_owned(),
                message,
            })
            .map(|conf| FedoraMessagingConf {
                path: path.to_owned(),
                ..conf
            })
    }

    /// Parses and validates the text of a file.
    pub fn parse(text: &str) -> Result<FedoraMessagingConf, String> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
        // fedora-messaging lower-cases the top-level keys.
        let mut lowered = toml::Table::new();
        for (key, value) in table {
            let key = key.to_lowercase();
            if !KNOWN_KEYS.contains(&key.as_str()) {
                return Err(format!(
                    "unknown configuration key {key:?}; valid keys are {KNOWN_KEYS:?}"
                ));
            }
            lowered.insert(key, value);
        }
        // Parsing the text again (rather than converting the table) keeps
        // the line and key of a wrong value in the message.
        let text = toml::to_string(&lowered).map_err(|e| e.to_string())?;
        let conf: FedoraMessagingConf = toml::from_str(&text).map_err(|e| e.to_string())?;
        if let Some(properties) = &conf.client_properties {
            if let Some(key) = RESERVED_PROPERTIES
                .iter()
                .find(|k| properties.contains_key(**k))
            {
                return Err(format!(
                    "{key:?} is a reserved keyword in client_properties"
                ));
            }
        }
        Ok(conf)
    }
}

/// A TOML table as AMQP field table (queue, exchange arguments and client
/// properties). Integers become 32-bit when they fit, as pika sends them.
pub fn field_table(table: &toml::Table) -> FieldTable {
    let mut fields = FieldTable::default();
    for (key, value) in table {
        fields.insert(ShortString::from(key.as_str()), amqp_value(value));
    }
    fields
}

fn amqp_value(value: &toml::Value) -> AMQPValue {
    match value {
        toml::Value::String(s) => AMQPValue::LongString(LongString::from(s.as_str())),
        toml::Value::Integer(i) => match i32::try_from(*i) {
            Ok(small) => AMQPValue::LongInt(small),
            Err(_) => AMQPValue::LongLongInt(*i),
        },
        toml::Value::Float(f) => AMQPValue::Double(*f),
        toml::Value::Boolean(b) => AMQPValue::Boolean(*b),
        toml::Value::Datetime(d) => AMQPValue::LongString(LongString::from(d.to_string())),
        toml::Value::Array(items) => AMQPValue::FieldArray(FieldArray::from(
            items.iter().map(amqp_value).collect::<Vec<_>>(),
        )),
        toml::Value::Table(t) => AMQPValue::FieldTable(field_table(t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// fedora-messaging's own `config.toml.example`, keys and layout.
    const EXAMPLE: &str = r##"
amqp_url = "amqp://"
callback = "fedora_messaging.example:printer"
passive_declares = false
publish_exchange = "amq.topic"
topic_prefix = ""

[tls]
ca_cert = "/etc/fedora-messaging/cacert.pem"
keyfile = "/etc/fedora-messaging/fedora-key.pem"
certfile = "/etc/fedora-messaging/fedora-cert.pem"

[client_properties]
app = "Example Application"

[exchanges."amq.topic"]
type = "topic"
durable = true
auto_delete = false
arguments = {}

[queues.my_queue]
durable = true
auto_delete = false
exclusive = false
arguments = {}

[[bindings]]
queue = "my_queue"
exchange = "amq.topic"
routing_keys = ["#"]

[consumer_config]
example_key = "for my consumer"

[qos]
prefetch_size = 0
prefetch_count = 25

[log_config]
version = 1
disable_existing_loggers = true

[log_config.formatters.simple]
format = "[%(levelname)s %(name)s] %(message)s"
"##;

    #[test]
    fn the_upstream_example_is_read_key_by_key() {
        let c = FedoraMessagingConf::parse(EXAMPLE).unwrap();
        assert_eq!(c.amqp_url.as_deref(), Some("amqp://"));
        assert_eq!(c.passive_declares, Some(false));
        assert_eq!(c.publish_exchange.as_deref(), Some("amq.topic"));
        assert_eq!(c.topic_prefix.as_deref(), Some(""));
        let tls = c.tls.unwrap();
        assert_eq!(
            tls.certfile.as_deref(),
            Some(Path::new("/etc/fedora-messaging/fedora-cert.pem"))
        );
        assert_eq!(
            tls.keyfile.as_deref(),
            Some(Path::new("/etc/fedora-messaging/fedora-key.pem"))
        );
        assert_eq!(
            tls.ca_cert.as_deref(),
            Some(Path::new("/etc/fedora-messaging/cacert.pem"))
        );
        assert_eq!(
            c.client_properties.unwrap()["app"].as_str(),
            Some("Example Application")
        );
        let exchange = &c.exchanges.unwrap()["amq.topic"];
        assert_eq!((exchange.kind.as_str(), exchange.durable), ("topic", true));
        let queue = &c.queues.unwrap()["my_queue"];
        assert!(queue.durable && !queue.auto_delete && !queue.exclusive);
        assert_eq!(
            c.bindings.unwrap(),
            [Binding {
                queue: "my_queue".into(),
                exchange: "amq.topic".into(),
                routing_keys: vec!["#".into()],
            }]
        );
        assert_eq!(c.qos.unwrap().prefetch_count, Some(25));
    }

    #[test]
    fn absent_keys_stay_unset_and_top_level_keys_ignore_case() {
        let c = FedoraMessagingConf::parse("AMQP_URL = \"amqps://h/\"").unwrap();
        assert_eq!(c.amqp_url.as_deref(), Some("amqps://h/"));
        assert_eq!(
            c,
            FedoraMessagingConf {
                amqp_url: c.amqp_url.clone(),
                ..FedoraMessagingConf::default()
            }
        );
    }

    #[test]
    fn queue_arguments_and_bindings_without_queue() {
        let c = FedoraMessagingConf::parse(
            r#"
[queues.koschei]
durable = true
auto_delete = false
exclusive = false
arguments = { "x-dead-letter-exchange" = "koschei.dlx", "x-message-ttl" = 86400000, "x-queue-type" = "quorum", "x-big" = 10000000000 }

[[bindings]]
exchange = "amq.topic"
routing_keys = ["org.fedoraproject.prod.buildsys.tag"]
"#,
        )
        .unwrap();
        let args = field_table(&c.queues.unwrap()["koschei"].arguments);
        let get = |k: &str| args.inner().get(k).cloned();
        assert_eq!(
            get("x-dead-letter-exchange"),
            Some(AMQPValue::LongString("koschei.dlx".into()))
        );
        assert_eq!(get("x-message-ttl"), Some(AMQPValue::LongInt(86_400_000)));
        assert_eq!(get("x-big"), Some(AMQPValue::LongLongInt(10_000_000_000)));
        assert_eq!(c.bindings.unwrap()[0].queue, "");
    }

    #[test]
    fn what_fedora_messaging_refuses_is_refused() {
        let refused = [
            ("amqp_urll = \"x\"", "unknown configuration key"),
            (
                "[queues.q]\ndurable = true\nauto_delete = false\nexclusive = false",
                "arguments",
            ),
            (
                "[[bindings]]\nqueue = \"q\"\nexchange = \"amq.topic\"",
                "routing_keys",
            ),
            (
                "[[bindings]]\nexchange = \"amq.topic\"\nrouting_keys = \"#\"",
                "invalid type",
            ),
            ("[client_properties]\nproduct = \"x\"", "reserved keyword"),
            ("amqp_url = ", "TOML parse error"),
        ];
        for (text, expected) in refused {
            let err = FedoraMessagingConf::parse(text).unwrap_err();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_named_missing_file_is_an_error_naming_it() {
        let err = FedoraMessagingConf::load(Path::new("/nonexistent/fm.toml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/fm.toml"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "amqp_url = 1").unwrap();
        let err = FedoraMessagingConf::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("config.toml") && err.contains("amqp_url"),
            "{err}"
        );
    }
}
