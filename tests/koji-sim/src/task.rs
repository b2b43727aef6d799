//! The Koji task record ([`Task`]) and its `getTaskInfo` view; [`crate::tasks`] runs
//! the task trees of scratch builds.

use std::sync::Arc;

use koschei_koji::model::TaskState;
use koschei_koji::xmlrpc::{Fault, Value};
use koschei_koji::xstruct;

use crate::new_binary::NewBinary;
use crate::time::{koji_time, now_ts};

/// A task.
#[derive(Debug, Clone)]
pub struct Task {
    /// Id.
    pub id: i64,
    /// Method.
    pub method: String,
    /// State.
    pub state: TaskState,
    /// Parent task.
    pub parent: Option<i64>,
    /// Canonical arch.
    pub arch: String,
    /// Label.
    pub label: Option<String>,
    /// Owner.
    pub owner_id: i64,
    /// Priority.
    pub priority: i64,
    /// Host.
    pub host_id: Option<i64>,
    /// Creation timestamp.
    pub create_ts: f64,
    /// Start timestamp.
    pub start_ts: Option<f64>,
    /// Completion timestamp.
    pub completion_ts: Option<f64>,
    /// Call arguments.
    pub request: Vec<Value>,
    /// Result or fault, once finished.
    pub result: Option<Result<Value, Fault>>,
    /// Load weight.
    pub weight: f64,
    /// Whether waiting for children.
    pub waiting: Option<bool>,
    /// Whether the parent awaits it.
    pub awaited: Option<bool>,
    /// Child task ids.
    pub children: Vec<i64>,
    /// The binary rpms it produced (a successful `buildArch`), by file name.
    pub outputs: Vec<(String, Arc<NewBinary>)>,
}

/// Koji's channel id of the default channel.
pub const DEFAULT_CHANNEL: i64 = 1;

fn opt_ts(ts: Option<f64>) -> Value {
    ts.map_or(Value::Nil, Value::Double)
}

fn opt_time(ts: Option<f64>) -> Value {
    ts.map_or(Value::Nil, |t| Value::String(koji_time(t)))
}

impl Task {
    /// A new task in state OPEN (picked up at once), started now.
    pub fn open(
        id: i64,
        method: &str,
        parent: Option<i64>,
        arch: &str,
        request: Vec<Value>,
    ) -> Task {
        let now = now_ts();
        Task {
            id,
            method: method.to_owned(),
            state: TaskState::Open,
            parent,
            arch: arch.to_owned(),
            label: None,
            owner_id: 0,
            priority: 20,
            host_id: None,
            create_ts: now,
            start_ts: Some(now),
            completion_ts: None,
            request,
            result: None,
            weight: if parent.is_some() { 1.5 } else { 0.2 },
            waiting: None,
            awaited: parent.map(|_| false),
            children: Vec::new(),
            outputs: Vec::new(),
        }
    }

    /// Marks the task finished with an outcome.
    pub fn finish(&mut self, state: TaskState, result: Result<Value, Fault>) {
        self.state = state;
        self.result = Some(result);
        self.completion_ts = Some(now_ts());
        if self.parent.is_none() {
            self.waiting = Some(false);
        }
    }

    /// The `getTaskInfo` struct (with `request` when asked).
    pub fn info(&self, request: bool) -> Value {
        let mut m = xstruct! {
            "id" => self.id,
            "method" => self.method.as_str(),
            "state" => i64::from(self.state),
            "parent" => self.parent,
            "arch" => self.arch.as_str(),
            "label" => self.label.clone(),
            "owner" => self.owner_id,
            "priority" => self.priority,
            "channel_id" => DEFAULT_CHANNEL,
            "host_id" => self.host_id,
            "create_time" => koji_time(self.create_ts),
            "create_ts" => self.create_ts,
            "start_time" => opt_time(self.start_ts),
            "start_ts" => opt_ts(self.start_ts),
            "completion_time" => opt_time(self.completion_ts),
            "completion_ts" => opt_ts(self.completion_ts),
            "weight" => self.weight,
            "waiting" => self.waiting,
            "awaited" => self.awaited,
        };
        if request {
            m.insert("request".into(), Value::Array(self.request.clone()));
        }
        Value::Struct(m)
    }

    /// Its files, as `listTaskOutput` names them: the rpms it produced, then its logs.
    pub fn output_files(&self) -> Vec<String> {
        self.outputs
            .iter()
            .map(|(file, _)| file.clone())
            .chain(["build.log".to_owned(), "root.log".to_owned()])
            .collect()
    }

    /// The directory of its files under the topurl (`work/tasks/<id % 10000>/<id>`).
    pub fn work_dir(id: i64) -> String {
        format!("work/tasks/{}/{}", id % 10000, id)
    }
}
