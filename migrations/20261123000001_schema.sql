-- Koschei schema (spec §4.1). Table and column names follow the original
-- Koschei so that an existing database can be moved over with a plain SQL
-- script. Timestamps are `timestamp without time zone` holding UTC, as in
-- Koschei. Additions over the original are marked "[koschei-rs]".

CREATE TYPE log_environment AS ENUM ('admin', 'backend', 'frontend');
CREATE TYPE rebuild_request_state AS ENUM ('new', 'in progress', 'scheduled', 'finished', 'failed');

CREATE TABLE "user" (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    admin boolean NOT NULL DEFAULT false
);

CREATE TABLE collection (
    id serial PRIMARY KEY,
    "order" integer NOT NULL DEFAULT 100,
    name text NOT NULL UNIQUE,
    display_name text NOT NULL,
    secondary_mode boolean NOT NULL DEFAULT false,
    target text NOT NULL,
    dest_tag text NOT NULL,
    build_tag text NOT NULL,
    bugzilla_product text,
    bugzilla_version text,
    priority_coefficient double precision NOT NULL DEFAULT 1,
    build_group text NOT NULL DEFAULT 'build',
    latest_repo_id integer,
    latest_repo_resolved boolean,
    poll_untracked boolean NOT NULL DEFAULT true,
    -- [koschei-rs] set when Koji reports a permanent fault (e.g. the target is
    -- gone): the scheduler skips the collection until an admin clears it.
    scheduling_suspended text,
    CONSTRAINT collection_latest_repo_consistent
        CHECK ((latest_repo_id IS NULL) = (latest_repo_resolved IS NULL))
);

CREATE TABLE collection_group (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    display_name text NOT NULL
);

CREATE TABLE collection_group_relation (
    group_id integer NOT NULL REFERENCES collection_group(id) ON DELETE CASCADE,
    collection_id integer NOT NULL REFERENCES collection(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, collection_id)
);

CREATE TABLE base_package (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    all_blocked boolean NOT NULL DEFAULT true
);

CREATE TABLE package (
    id serial PRIMARY KEY,
    base_id integer NOT NULL REFERENCES base_package(id) ON DELETE CASCADE,
    name text NOT NULL,
    collection_id integer NOT NULL REFERENCES collection(id) ON DELETE CASCADE,
    arch_override text,
    skip_resolution boolean NOT NULL DEFAULT false,
    last_complete_build_id integer,
    last_complete_build_state integer,
    last_build_id integer,
    resolved boolean,
    static_priority integer NOT NULL DEFAULT 0,
    manual_priority integer NOT NULL DEFAULT 0,
    build_priority integer NOT NULL DEFAULT 0,
    dependency_priority integer NOT NULL DEFAULT 0,
    tracked boolean NOT NULL DEFAULT false,
    blocked boolean NOT NULL DEFAULT false,
    scheduler_skip_reason integer,
    -- [koschei-rs] consecutive infrastructure failures (canceled, timed out,
    -- Koji fault) since the last finished build, and the back-off deadline.
    infra_failures integer NOT NULL DEFAULT 0,
    retry_after timestamp,
    CONSTRAINT package_unique_in_collection UNIQUE (base_id, collection_id),
    CONSTRAINT package_skip_resolution_unresolved CHECK (NOT skip_resolution OR resolved IS NULL),
    CONSTRAINT package_skip_reason_valid CHECK (scheduler_skip_reason IN (1, 2))
);
CREATE INDEX ix_package_name ON package (name);
CREATE INDEX ix_package_collection_tracked ON package (collection_id, tracked) WHERE NOT blocked;

-- Build states: 2 running, 3 complete, 5 failed (Koschei's values) and
-- [koschei-rs] 4 canceled, 6 timed out, 7 infrastructure failure — outcomes
-- Koschei deletes and we keep as history; they never count as the package's
-- last build.
CREATE TABLE build (
    id serial PRIMARY KEY,
    package_id integer NOT NULL REFERENCES package(id) ON DELETE CASCADE,
    state integer NOT NULL,
    task_id integer NOT NULL,
    started timestamp NOT NULL,
    finished timestamp,
    epoch integer,
    version text,
    release text,
    repo_id integer,
    last_complete boolean NOT NULL DEFAULT false,
    cancel_requested boolean NOT NULL DEFAULT false,
    deps_resolved boolean,
    real boolean NOT NULL DEFAULT false,
    untagged boolean NOT NULL DEFAULT false,
    dependency_keys bytea,
    -- [koschei-rs] why the build was submitted: priority components at
    -- submission time (JSON object); NULL for real builds.
    submit_reason jsonb,
    -- [koschei-rs] human-readable cause of an infrastructure failure.
    failure_reason text,
    -- [koschei-rs] when a real build was (last) seen tagged into the
    -- collection's tag. Builds are ordered by COALESCE(tagged, started), so a
    -- build merged from a side tag counts from its tagging, not its build
    -- date (K#361).
    tagged timestamp,
    CONSTRAINT build_state_valid CHECK (state IN (2, 3, 4, 5, 6, 7)),
    CONSTRAINT build_finished_has_nvr_and_repo
        CHECK (state NOT IN (3, 5) OR (version IS NOT NULL AND release IS NOT NULL AND repo_id IS NOT NULL)),
    CONSTRAINT build_real_not_running CHECK (NOT real OR state IN (3, 5))
);
CREATE INDEX ix_build_package_started ON build (package_id, started DESC);
CREATE INDEX ix_build_package_order ON build (package_id, (COALESCE(tagged, started)) DESC);
CREATE INDEX ix_build_running ON build (state) WHERE state = 2;
CREATE INDEX ix_build_task_id ON build (task_id);
CREATE INDEX ix_build_unresolved ON build (task_id) WHERE deps_resolved IS NULL AND repo_id IS NOT NULL;
CREATE INDEX ix_build_last_complete ON build (package_id, task_id) WHERE last_complete;

ALTER TABLE package
    ADD CONSTRAINT fk_package_last_complete_build
        FOREIGN KEY (last_complete_build_id) REFERENCES build(id) ON DELETE SET NULL,
    ADD CONSTRAINT fk_package_last_build
        FOREIGN KEY (last_build_id) REFERENCES build(id) ON DELETE SET NULL;
CREATE INDEX ix_package_last_build ON package (last_build_id);
CREATE INDEX ix_package_last_complete_build ON package (last_complete_build_id);

CREATE TABLE koji_task (
    id serial PRIMARY KEY,
    build_id integer NOT NULL REFERENCES build(id) ON DELETE CASCADE,
    task_id integer NOT NULL,
    arch text NOT NULL,
    state integer NOT NULL,
    started timestamp NOT NULL,
    finished timestamp
);
CREATE INDEX ix_koji_task_build_id ON koji_task (build_id);

CREATE TABLE package_group (
    id serial PRIMARY KEY,
    namespace text,
    name text NOT NULL,
    CONSTRAINT package_group_unique_name UNIQUE NULLS NOT DISTINCT (namespace, name)
);

CREATE TABLE package_group_relation (
    group_id integer NOT NULL REFERENCES package_group(id) ON DELETE CASCADE,
    base_id integer NOT NULL REFERENCES base_package(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, base_id)
);
CREATE INDEX ix_package_group_relation_base ON package_group_relation (base_id);

CREATE TABLE group_acl (
    group_id integer NOT NULL REFERENCES package_group(id) ON DELETE CASCADE,
    user_id integer NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);

CREATE TABLE resolution_change (
    id serial PRIMARY KEY,
    resolved boolean NOT NULL,
    "timestamp" timestamp NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'),
    package_id integer NOT NULL REFERENCES package(id) ON DELETE CASCADE
);
CREATE INDEX ix_resolution_change_package_id ON resolution_change (package_id, "timestamp" DESC);

CREATE TABLE resolution_problem (
    id serial PRIMARY KEY,
    resolution_id integer NOT NULL REFERENCES resolution_change(id) ON DELETE CASCADE,
    problem text NOT NULL
);
CREATE INDEX ix_resolution_problem_resolution_id ON resolution_problem (resolution_id);

CREATE TABLE dependency (
    id serial PRIMARY KEY,
    name text NOT NULL,
    epoch integer,
    version text NOT NULL,
    release text NOT NULL,
    arch text NOT NULL,
    CONSTRAINT dependency_unique_nevra UNIQUE NULLS NOT DISTINCT (name, epoch, version, release, arch)
);

CREATE TABLE applied_change (
    id serial PRIMARY KEY,
    build_id integer NOT NULL REFERENCES build(id) ON DELETE CASCADE,
    prev_dep_id integer REFERENCES dependency(id),
    curr_dep_id integer REFERENCES dependency(id),
    distance integer,
    CONSTRAINT applied_change_changes CHECK (COALESCE(prev_dep_id, 0) <> COALESCE(curr_dep_id, 0))
);
CREATE INDEX ix_applied_change_build_id ON applied_change (build_id);
CREATE INDEX ix_applied_change_prev_dep_id ON applied_change (prev_dep_id);
CREATE INDEX ix_applied_change_curr_dep_id ON applied_change (curr_dep_id);

CREATE TABLE unapplied_change (
    id bigserial PRIMARY KEY,
    package_id integer NOT NULL REFERENCES package(id) ON DELETE CASCADE,
    prev_dep_id integer REFERENCES dependency(id),
    curr_dep_id integer REFERENCES dependency(id),
    distance integer,
    CONSTRAINT unapplied_change_changes CHECK (COALESCE(prev_dep_id, 0) <> COALESCE(curr_dep_id, 0))
);
CREATE INDEX ix_unapplied_change_package_id ON unapplied_change (package_id);

CREATE TABLE buildroot_problem (
    id serial PRIMARY KEY,
    collection_id integer NOT NULL REFERENCES collection(id) ON DELETE CASCADE,
    problem text NOT NULL
);
CREATE INDEX ix_buildroot_problem_collection_id ON buildroot_problem (collection_id);

CREATE TABLE admin_notice (
    key text PRIMARY KEY,
    content text NOT NULL
);

CREATE TABLE log_entry (
    id serial PRIMARY KEY,
    user_id integer REFERENCES "user"(id),
    environment log_environment NOT NULL,
    "timestamp" timestamp NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'),
    message text NOT NULL,
    base_id integer REFERENCES base_package(id) ON DELETE CASCADE,
    CONSTRAINT log_entry_user_or_backend CHECK (user_id IS NOT NULL OR environment = 'backend')
);
CREATE INDEX ix_log_entry_base_id ON log_entry (base_id);

CREATE TABLE repo_mapping (
    secondary_id integer PRIMARY KEY,
    primary_id integer,
    task_id integer NOT NULL
);

-- Copr plugin tables (kept for schema compatibility; the plugin itself is not
-- part of this implementation yet).
CREATE TABLE copr_rebuild_request (
    id serial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES "user"(id),
    collection_id integer NOT NULL REFERENCES collection(id) ON DELETE CASCADE,
    repo_source text NOT NULL,
    yum_repo text,
    "timestamp" timestamp NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'),
    description text,
    repo_id integer,
    schedule_count integer,
    scheduler_queue_index integer,
    state rebuild_request_state NOT NULL DEFAULT 'new',
    error text
);

CREATE TABLE copr_resolution_change (
    request_id integer NOT NULL REFERENCES copr_rebuild_request(id) ON DELETE CASCADE,
    package_id integer NOT NULL REFERENCES package(id) ON DELETE CASCADE,
    prev_resolved boolean NOT NULL,
    curr_resolved boolean NOT NULL,
    problems text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (request_id, package_id)
);

CREATE TABLE copr_rebuild (
    request_id integer NOT NULL REFERENCES copr_rebuild_request(id) ON DELETE CASCADE,
    package_id integer NOT NULL REFERENCES package(id) ON DELETE CASCADE,
    copr_build_id integer,
    prev_state integer NOT NULL,
    state integer,
    approved boolean,
    "order" integer NOT NULL,
    PRIMARY KEY (request_id, package_id),
    CONSTRAINT copr_rebuild_order UNIQUE (request_id, "order") DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT copr_rebuild_state CHECK (state BETWEEN 2 AND 5)
);

-- OSCI plugin table (schema compatibility).
CREATE TABLE build_group (
    id serial PRIMARY KEY,
    repo_id integer,
    collection_id integer REFERENCES collection(id) ON DELETE SET NULL,
    base_collection_id integer REFERENCES collection(id) ON DELETE SET NULL,
    state text
);

-- [koschei-rs] Transactional outbox of bus messages: rows are written in the
-- same transaction as the state change and published by the watcher, which
-- marks them sent only after the broker confirmed them.
CREATE TABLE message_outbox (
    id bigserial PRIMARY KEY,
    message_id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    topic text NOT NULL,
    body jsonb NOT NULL,
    created timestamp NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'),
    sent timestamp
);
CREATE INDEX ix_message_outbox_unsent ON message_outbox (id) WHERE sent IS NULL;

-- Statistics (spec §4.6), "materialised views" emulated by plain tables.
CREATE TABLE scalar_stats (
    refresh_time timestamp NOT NULL,
    packages integer NOT NULL,
    tracked_packages integer NOT NULL,
    blocked_packages integer NOT NULL,
    builds integer NOT NULL,
    real_builds integer NOT NULL,
    scratch_builds integer NOT NULL
);

CREATE TABLE resource_consumption_stats (
    name text NOT NULL,
    arch text NOT NULL,
    "time" interval,
    time_percentage double precision,
    PRIMARY KEY (name, arch)
);
CREATE INDEX ix_resource_consumption_stats_time ON resource_consumption_stats ("time");
