//! Koji load: how busy the builders that would take a build are (the original's
//! `get_koji_load` in `koschei/backend/koji_util.py`).

use crate::arch::canon_arch;
use crate::client::KojiClient;
use crate::error::{KojiError, KojiResult};
use crate::model::Host;
use crate::xmlrpc::Fault;

/// The arches a build on `arches` can use, as the original passes them to `listHosts`
/// (`koschei/backend/koji_util.py`, `get_koji_load`): all of `all_arches` when `noarch` is
/// among them (any builder can take it), else `arches`; not canonicalised, order kept,
/// duplicates dropped.
pub fn host_arches(all_arches: &[String], arches: &[String]) -> Vec<String> {
    let source = if arches.iter().any(|a| a == "noarch") {
        all_arches
    } else {
        arches
    };
    let mut out: Vec<String> = Vec::new();
    for a in source {
        if !out.contains(a) {
            out.push(a.clone());
        }
    }
    out
}

/// The canonical arches whose load is combined: [`host_arches`] through `canonArch`,
/// duplicates dropped.
pub fn load_arches(all_arches: &[String], arches: &[String]) -> Vec<String> {
    let mut canon: Vec<String> = Vec::new();
    for a in host_arches(all_arches, arches) {
        let c = canon_arch(&a);
        if !canon.iter().any(|x| x == c) {
            canon.push(c.to_owned());
        }
    }
    canon
}

/// Load of one canonical arch: Σ(ready ? min(task_load, capacity) : capacity) / Σ capacity
/// over the hosts whose arches contain it; 1.0 without capacity.
pub fn arch_load(hosts: &[Host], arch: &str) -> f64 {
    let mut capacity = 0.0;
    let mut load = 0.0;
    for h in hosts
        .iter()
        .filter(|h| h.arches.split_whitespace().any(|a| a == arch))
    {
        capacity += h.capacity;
        load += if h.ready {
            h.task_load.min(h.capacity)
        } else {
            h.capacity
        };
    }
    if capacity > 0.0 {
        load / capacity
    } else {
        1.0
    }
}

/// Combines per-arch loads: the minimum for noarch builds (the least loaded arch takes
/// it), the maximum otherwise. `canon_arches` must not be empty.
pub fn combine_load(hosts: &[Host], canon_arches: &[String], noarch: bool) -> f64 {
    let loads = canon_arches.iter().map(|a| arch_load(hosts, a));
    if noarch {
        loads.fold(f64::INFINITY, f64::min)
    } else {
        loads.fold(0.0, f64::max)
    }
}

/// `get_koji_load(session, all_arches, arches)`: `getChannel('default')`, then
/// `listHosts(<host arches>, channel_id, enabled=True)` (the arches as given, like the
/// original), each canonical arch's load combined as above.
pub async fn koji_load(
    client: &KojiClient,
    all_arches: &[String],
    arches: &[String],
) -> KojiResult<f64> {
    let canon = load_arches(all_arches, arches);
    if canon.is_empty() {
        return Ok(1.0);
    }
    let channel = client
        .get_channel("default")
        .await?
        .ok_or_else(|| KojiError::Fault {
            method: "getChannel".to_owned(),
            fault: Fault::generic("No such channel: default"),
        })?;
    let hosts = client
        .list_hosts(&host_arches(all_arches, arches), Some(channel.id), true)
        .await?;
    let noarch = arches.iter().any(|a| a == "noarch");
    Ok(combine_load(&hosts, &canon, noarch))
}
