-- [koschei-rs] Work queue of the repo resolver, shared by every resolver
-- instance on every machine. One row is a chunk of packages of one collection
-- to resolve against one Koji repo. An instance claims a row with
-- SELECT ... FOR UPDATE SKIP LOCKED and sets claimed_by/lease_until, keeps the
-- lease alive while it works (heartbeat) and deletes the row in the same
-- transaction that persists the chunk's results. A row whose lease expired
-- (the instance died) is claimed again by another instance; the late owner's
-- results are then discarded because its row is gone.
CREATE TABLE resolver_work (
    id bigserial PRIMARY KEY,
    collection_id integer NOT NULL REFERENCES collection(id) ON DELETE CASCADE,
    repo_id integer NOT NULL,
    package_ids integer[] NOT NULL,
    created timestamp NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'),
    claimed_by text,
    lease_until timestamp,
    claims integer NOT NULL DEFAULT 0,
    CONSTRAINT resolver_work_claim_consistent CHECK ((claimed_by IS NULL) = (lease_until IS NULL))
);
CREATE INDEX ix_resolver_work_collection ON resolver_work (collection_id, repo_id);
CREATE INDEX ix_resolver_work_lease ON resolver_work (lease_until NULLS FIRST, id);

-- [koschei-rs] Builds needing resolution are looked up per collection; the
-- partial index of the schema is on task_id only.
CREATE INDEX ix_build_unresolved_package ON build (package_id, repo_id)
    WHERE deps_resolved IS NULL AND repo_id IS NOT NULL;
