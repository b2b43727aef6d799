//! Sessions: `sslLogin`, `getLoggedInUser` and the login that some calls demand.

use std::sync::Arc;

use koschei_koji::xmlrpc::{Fault, FaultKind, Value};
use koschei_koji::xstruct;

use super::caller::Caller;
use super::values::Res;
use crate::sim::Sim;

pub(super) fn ssl_login(sim: &Arc<Sim>, caller: Caller) -> Res {
    let mut st = sim.lock();
    let user = caller.login_user.unwrap_or_else(|| st.add_user("koschei"));
    let id = st.sessions.len() as i64 + 1;
    let key = format!(
        "{id}-{:016x}",
        (id as u64).wrapping_mul(0x2545_f491_4f6c_dd1d)
    );
    st.sessions.insert(id, (key.clone(), user));
    Ok(Value::Struct(
        xstruct! {"session-id" => id, "session-key" => key, "header-auth" => true},
    ))
}

/// `getLoggedInUser()`: the session's user, or nil without a login.
pub(super) fn logged_in_user(sim: &Arc<Sim>, caller: Caller) -> Value {
    caller.user_id.map_or(Value::Nil, |id| {
        let st = sim.lock();
        Value::Struct(
            xstruct! {"id" => id, "name" => st.user_name(id), "status" => 0, "usertype" => 0},
        )
    })
}

/// The logged-in user; without a login an `ActionNotAllowed` fault, as Koji's
/// `assertLogin` raises.
pub(super) fn assert_login(caller: Caller) -> Result<i64, Fault> {
    caller.user_id.ok_or_else(|| {
        Fault::koji(
            FaultKind::ActionNotAllowed,
            "you must be logged in for this operation",
        )
    })
}
