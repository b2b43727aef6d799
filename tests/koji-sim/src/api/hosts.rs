//! Build hosts and channels: `listHosts` and `getChannel` (one channel, `default`).

use std::sync::Arc;

use koschei_koji::xmlrpc::Value;
use koschei_koji::xstruct;

use super::values::{arch_filter, Res};
use crate::args::Args;
use crate::sim::Sim;

pub(super) fn list_hosts(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let arches = arch_filter(args.get(0, "arches"));
    let channel = args.int(1, "channelID")?;
    if channel.is_some_and(|c| c != 1) {
        return Ok(Value::Array(Vec::new()));
    }
    Ok(Value::Array(
        st.hosts
            .iter()
            .filter(|h| {
                arches.as_ref().is_none_or(|a| {
                    a.iter()
                        .any(|x| h.arches.split_whitespace().any(|y| y == x))
                })
            })
            .map(|h| {
                Value::Struct(xstruct! {
                    "id" => h.id,
                    "name" => h.name.as_str(),
                    "arches" => h.arches.as_str(),
                    "capacity" => h.capacity,
                    "task_load" => st.host_load(h.id),
                    "ready" => true,
                    "enabled" => true,
                    "user_id" => 100 + h.id,
                    "comment" => Value::Nil,
                    "description" => Value::Nil,
                })
            })
            .collect(),
    ))
}

/// `getChannel(channelInfo)`: the `default` channel (id 1), nil for any other.
pub(super) fn get_channel(args: &Args) -> Res {
    let info = args.req(0, "channelInfo")?;
    Ok(
        if matches!(info, Value::Int(1)) || info.as_str() == Some("default") {
            Value::Struct(
                xstruct! {"id" => 1, "name" => "default", "description" => Value::Nil, "enabled" => true, "comment" => Value::Nil},
            )
        } else {
            Value::Nil
        },
    )
}
