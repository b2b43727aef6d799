//! A consistency check of the database: the invariants the services keep in
//! their transactions, re-derived independently. `koschei-admin check` runs it;
//! the crash test runs it after killing the services many times.
//!
//! * last-build pointers: `last_build_id`, `last_complete_build_id`,
//!   `last_complete_build_state` and `build.last_complete` agree with the builds;
//! * builds: at most one running build per package, every Koji task recorded once;
//! * priorities: `dependency_priority` is what the pending dependency changes give;
//! * messages: per package, the state-change messages (written whether or not the
//!   bus publisher is enabled) form a chain in stream order (`seq`: each starts
//!   where the previous ended) that ends in the package's current state. As in
//!   Koschei, edits (tracking, blocking) change states silently, so moves into and
//!   out of `ignored` may break a chain.

use sqlx::PgConnection;

use crate::config::Config;
use crate::model::BuildState;

/// One invariant and the query listing its violations (one text per violation).
struct Invariant {
    name: &'static str,
    sql: &'static str,
    /// What the query's `$1`, `$2`, … are bound to, in order.
    params: &'static [Param],
}

/// A query parameter of an [`Invariant`].
enum Param {
    /// `priorities.package_update` (`float8`).
    PackageUpdate,
    /// A set of build states (`integer[]`).
    States(&'static [BuildState]),
    /// One build state (`integer`).
    State(BuildState),
}

const INVARIANTS: &[Invariant] = &[
    Invariant {
        name: "last-build pointers",
        sql: "SELECT format('%s (package %s): last build %s, expected %s; last complete %s/%s, expected %s/%s',
                            p.name, p.id, p.last_build_id, lb.id, p.last_complete_build_id,
                            p.last_complete_build_state, lcb.id, lcb.state)
              FROM package p
              LEFT JOIN LATERAL (SELECT b.id FROM build b
                  WHERE b.package_id = p.id AND NOT b.untagged AND b.state = ANY($1)
                  ORDER BY COALESCE(b.tagged, b.started) DESC, b.id DESC LIMIT 1) lb ON true
              LEFT JOIN LATERAL (SELECT b.id, b.state FROM build b
                  WHERE b.package_id = p.id AND NOT b.untagged AND b.state = ANY($2)
                  ORDER BY COALESCE(b.tagged, b.started) DESC, b.id DESC LIMIT 1) lcb ON true
              WHERE p.last_build_id IS DISTINCT FROM lb.id
                 OR p.last_complete_build_id IS DISTINCT FROM lcb.id
                 OR p.last_complete_build_state IS DISTINCT FROM lcb.state",
        params: &[
            Param::States(&BuildState::COUNTED),
            Param::States(&BuildState::FINISHED),
        ],
    },
    Invariant {
        name: "last-complete flags",
        sql: "SELECT format('build %s of package %s: last_complete = %s', b.id, b.package_id, b.last_complete)
              FROM build b JOIN package p ON p.id = b.package_id
              WHERE b.last_complete IS DISTINCT FROM (b.id = p.last_complete_build_id)",
        params: &[],
    },
    Invariant {
        name: "one running build per package",
        sql: "SELECT format('package %s has %s running builds', package_id, count(*))
              FROM build WHERE state = $1 GROUP BY package_id HAVING count(*) > 1",
        params: &[Param::State(BuildState::Running)],
    },
    Invariant {
        name: "Koji tasks recorded once",
        sql: "SELECT format('task %s is recorded by %s builds', task_id, count(*))
              FROM build GROUP BY task_id HAVING count(*) > 1",
        params: &[],
    },
    Invariant {
        name: "dependency priorities",
        sql: "SELECT format('%s (package %s): dependency priority %s, its changes give %s',
                            p.name, p.id, p.dependency_priority, COALESCE(u.priority, 0))
              FROM package p
              LEFT JOIN (SELECT package_id,
                                trunc(sum($1::float8 / COALESCE(greatest(distance, 1), 8)))::int AS priority
                         FROM unapplied_change GROUP BY package_id) u ON u.package_id = p.id
              WHERE p.dependency_priority <> COALESCE(u.priority, 0)",
        params: &[Param::PackageUpdate],
    },
    Invariant {
        name: "state-change message chains",
        sql: "WITH m AS (
                  SELECT body->>'collection' AS collection, body->>'name' AS name,
                         body->>'old' AS old, body->>'new' AS new,
                         lag(body->>'new') OVER w AS previous,
                         row_number() OVER (PARTITION BY body->>'collection', body->>'name'
                                            ORDER BY seq DESC) AS from_end
                  FROM message_outbox WHERE topic LIKE '%.package.state.change'
                  WINDOW w AS (PARTITION BY body->>'collection', body->>'name' ORDER BY seq))
              SELECT format('%s in %s: message %s -> %s follows one ending in %s',
                            name, collection, old, new, previous)
              FROM m WHERE previous <> old AND old <> 'ignored'
              UNION ALL
              SELECT format('%s in %s: the last message ends in %s, the state is %s',
                            m.name, m.collection, m.new, package_msg_state(p))
              FROM m JOIN collection c ON c.name = m.collection
                     JOIN package p ON p.collection_id = c.id AND p.name = m.name
              WHERE m.from_end = 1 AND m.new <> package_msg_state(p)
                AND package_msg_state(p) <> 'ignored'",
        params: &[],
    },
];

/// The violations found, as `(invariant, description)`; empty when consistent.
pub async fn check(
    conn: &mut PgConnection,
    config: &Config,
) -> sqlx::Result<Vec<(String, String)>> {
    let mut violations = Vec::new();
    for invariant in INVARIANTS {
        let mut query = sqlx::query_scalar(invariant.sql);
        for param in invariant.params {
            query = match param {
                Param::PackageUpdate => query.bind(config.priorities.package_update),
                Param::States(states) => query.bind(*states),
                Param::State(state) => query.bind(*state),
            };
        }
        let found: Vec<String> = query.fetch_all(&mut *conn).await?;
        violations.extend(found.into_iter().map(|v| (invariant.name.to_owned(), v)));
    }
    Ok(violations)
}
