//! Koji's fedora-messaging messages (published by fedora-infra/koji-fedoramessaging,
//! schemas in `koji_fedoramessaging_messages/{task,tag,repo}.py`) as the
//! watcher understands them: which routing keys it binds, and how a delivery
//! becomes a [`KojiEvent`] or is ignored.

use koschei_core::config::FedmsgConfig;
use koschei_koji::model::TaskState;
use serde_json::Value as Json;

/// The routing-key suffixes (after `<fedmsg.topic>.`) the watcher binds.
pub const BOUND_SUFFIXES: [&str; 4] = ["task.state.change", "tag", "untag", "repo.done"];

/// The routing keys to bind for the configured topic prefix.
pub fn binding_keys(config: &FedmsgConfig) -> Vec<String> {
    BOUND_SUFFIXES
        .iter()
        .map(|s| format!("{}.{s}", config.topic))
        .collect()
}

/// What a Koji message asks the watcher to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KojiEvent {
    /// `task.state.change`: the Koji task `task_id` reached `new`.
    TaskState { task_id: i64, new: TaskState },
    /// `tag` (`untagged == false`) or `untag`: a build of `package` was
    /// (un)tagged in `tag`.
    Tagging {
        tag: String,
        package: String,
        untagged: bool,
    },
    /// `repo.done`: Koji finished repo `repo_id` of `tag`.
    RepoDone { tag: String, repo_id: i64 },
}

/// The verdict on one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Act on it.
    Handle(KojiEvent),
    /// Well-formed but not for us (other topic or instance, other attribute).
    Ignore(String),
}

/// A message that cannot be understood; it is rejected (dead-lettered when
/// the queue has a dead-letter exchange) and never retried.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MalformedMessage {
    #[error("body is not a JSON object: {0}")]
    NotJson(String),
    #[error("field `{0}` is missing or has the wrong type")]
    Field(&'static str),
    /// An unknown task state (its first 64 characters: the error is logged).
    #[error("unknown Koji task state {0:?}")]
    TaskState(String),
}

/// Classifies a delivery by routing key and body.
pub fn classify(
    config: &FedmsgConfig,
    routing_key: &str,
    body: &[u8],
) -> Result<Verdict, MalformedMessage> {
    let Some(suffix) = routing_key
        .strip_prefix(config.topic.as_str())
        .and_then(|rest| rest.strip_prefix('.'))
    else {
        return Ok(Verdict::Ignore(format!("foreign topic {routing_key:?}")));
    };
    if !BOUND_SUFFIXES.contains(&suffix) {
        return Ok(Verdict::Ignore(format!("unhandled topic {routing_key:?}")));
    }
    let json: Json =
        serde_json::from_slice(body).map_err(|e| MalformedMessage::NotJson(e.to_string()))?;
    let Some(body) = json.as_object() else {
        return Err(MalformedMessage::NotJson("not an object".into()));
    };
    let str_field = |name: &'static str| {
        body.get(name)
            .and_then(Json::as_str)
            .ok_or(MalformedMessage::Field(name))
    };
    let int_field = |name: &'static str| {
        body.get(name)
            .and_then(Json::as_i64)
            .ok_or(MalformedMessage::Field(name))
    };
    let instance = str_field("instance")?;
    if instance != config.instance {
        return Ok(Verdict::Ignore(format!("Koji instance {instance:?}")));
    }
    let event = match suffix {
        "task.state.change" => {
            let attribute = str_field("attribute")?;
            if attribute != "state" {
                return Ok(Verdict::Ignore(format!("task attribute {attribute:?}")));
            }
            let task_id = int_field("id")?;
            let new = str_field("new")?;
            let new = TaskState::from_name(new)
                .ok_or_else(|| MalformedMessage::TaskState(new.chars().take(64).collect()))?;
            KojiEvent::TaskState { task_id, new }
        }
        "tag" | "untag" => KojiEvent::Tagging {
            tag: str_field("tag")?.to_owned(),
            package: str_field("name")?.to_owned(),
            untagged: suffix == "untag",
        },
        _ => KojiEvent::RepoDone {
            tag: str_field("tag")?.to_owned(),
            repo_id: int_field("repo_id")?,
        },
    };
    Ok(Verdict::Handle(event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> FedmsgConfig {
        FedmsgConfig::default()
    }

    fn classify_json(key: &str, body: Json) -> Result<Verdict, MalformedMessage> {
        classify(&config(), key, body.to_string().as_bytes())
    }

    const PREFIX: &str = "org.fedoraproject.prod.buildsys";

    #[test]
    fn bindings_follow_the_topic() {
        assert_eq!(
            binding_keys(&config()),
            [
                "org.fedoraproject.prod.buildsys.task.state.change",
                "org.fedoraproject.prod.buildsys.tag",
                "org.fedoraproject.prod.buildsys.untag",
                "org.fedoraproject.prod.buildsys.repo.done",
            ]
        );
    }

    #[test]
    fn task_state_change() {
        let v = classify_json(
            &format!("{PREFIX}.task.state.change"),
            json!({"id": 123, "attribute": "state", "old": "OPEN", "new": "CLOSED",
                   "instance": "primary", "method": "build"}),
        );
        assert_eq!(
            v,
            Ok(Verdict::Handle(KojiEvent::TaskState {
                task_id: 123,
                new: TaskState::Closed
            }))
        );
    }

    #[test]
    fn tag_untag_and_repo_done() {
        let tag = json!({"tag": "f25", "tag_id": 1, "name": "rnv", "version": "1", "release": "1",
                         "build_id": 5, "user": "u", "owner": "o", "instance": "primary"});
        assert_eq!(
            classify_json(&format!("{PREFIX}.tag"), tag.clone()),
            Ok(Verdict::Handle(KojiEvent::Tagging {
                tag: "f25".into(),
                package: "rnv".into(),
                untagged: false
            }))
        );
        assert_eq!(
            classify_json(&format!("{PREFIX}.untag"), tag),
            Ok(Verdict::Handle(KojiEvent::Tagging {
                tag: "f25".into(),
                package: "rnv".into(),
                untagged: true
            }))
        );
        assert_eq!(
            classify_json(
                &format!("{PREFIX}.repo.done"),
                json!({"tag": "f25-build", "tag_id": 2, "repo_id": 77, "instance": "primary"})
            ),
            Ok(Verdict::Handle(KojiEvent::RepoDone {
                tag: "f25-build".into(),
                repo_id: 77
            }))
        );
    }

    #[test]
    fn foreign_instances_topics_and_attributes_are_ignored() {
        let other = json!({"id": 1, "attribute": "state", "new": "CLOSED", "instance": "s390"});
        assert!(matches!(
            classify_json(&format!("{PREFIX}.task.state.change"), other),
            Ok(Verdict::Ignore(r)) if r.contains("s390")
        ));
        let weight = json!({"id": 1, "attribute": "weight", "new": 2, "instance": "primary"});
        assert!(matches!(
            classify_json(&format!("{PREFIX}.task.state.change"), weight),
            Ok(Verdict::Ignore(_))
        ));
        assert!(matches!(
            classify_json(&format!("{PREFIX}.rpm.sign"), json!({})),
            Ok(Verdict::Ignore(_))
        ));
        // A prefix that merely starts like ours is not ours.
        assert!(matches!(
            classify_json(&format!("{PREFIX}x.tag"), json!({})),
            Ok(Verdict::Ignore(_))
        ));
    }

    #[test]
    fn malformed_messages_are_errors() {
        let key = format!("{PREFIX}.task.state.change");
        assert!(matches!(
            classify(&config(), &key, b"{not json"),
            Err(MalformedMessage::NotJson(_))
        ));
        assert!(matches!(
            classify(&config(), &key, b"[1]"),
            Err(MalformedMessage::NotJson(_))
        ));
        assert_eq!(
            classify_json(
                &key,
                json!({"attribute": "state", "new": "CLOSED", "instance": "primary"})
            ),
            Err(MalformedMessage::Field("id"))
        );
        assert_eq!(
            classify_json(
                &key,
                json!({"id": 1, "attribute": "state", "new": "DONE", "instance": "primary"})
            ),
            Err(MalformedMessage::TaskState("DONE".into()))
        );
        assert_eq!(
            classify_json(&format!("{PREFIX}.tag"), json!({"instance": "primary"})),
            Err(MalformedMessage::Field("tag"))
        );
    }
}
