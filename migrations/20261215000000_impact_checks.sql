-- [koschei-rs] Impact checks (issue 17): "what would this change break?"
--
-- A check layers a change over a collection's latest resolved repo (the base):
-- a Koji side tag, whose build repo inherits the base's content. The resolver
-- analyses the delta between base and change, resolves the tracked packages
-- the delta can affect against both and records the packages whose outcome or
-- dependencies differ. Nothing here changes a package's public state.
--
-- Then the scheduler builds the affected packages within the check's depth (at
-- most max_builds of them) in the side tag's repo, and a baseline in the
-- collection's repo unless the package has a build there already, sharing
-- Koji with ordinary rebuilds (impact_build; never rows of build, so a
-- package's state is never touched).
--
-- States: queued → resolving → building → complete, or error (with the
-- reason). A check waiting for its side tag's first repo stays queued (note
-- says so).
CREATE TABLE impact_check (
    id serial PRIMARY KEY,
    collection_id integer NOT NULL REFERENCES collection(id) ON DELETE CASCADE,
    side_tag text NOT NULL,
    -- packages to build: a changed dependency at most this far from their
    -- BuildRequires (1 = direct), at most max_builds of them; none when not builds
    depth integer NOT NULL DEFAULT 1 CHECK (depth BETWEEN 1 AND 20),
    max_builds integer NOT NULL DEFAULT 20 CHECK (max_builds BETWEEN 0 AND 1000),
    builds boolean NOT NULL DEFAULT true,
    state text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'resolving', 'building', 'complete', 'error')),
    -- the reason of an error, or what a queued check waits for
    note text,
    requested_by text NOT NULL,
    -- the side tag's repo whose repo.done made an automatic check (NULL: asked for)
    trigger_repo_id integer,
    created timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    started timestamp,
    finished timestamp,
    -- the collection's repo and the side tag's repo that were compared
    base_repo_id integer,
    change_repo_id integer,
    -- the side tag's own builds at its repo's event, as Fedora CI's koji-build-group
    -- artifact {type, id, builds, repository} (the messages about it carry it)
    artifact jsonb,
    -- the resolver instance working on it, and until when its claim holds
    claimed_by text,
    claim_until timestamp,
    CONSTRAINT impact_check_claim_consistent CHECK ((claimed_by IS NULL) = (claim_until IS NULL))
);
CREATE INDEX ix_impact_check_open ON impact_check (id)
    WHERE state IN ('queued', 'resolving', 'building');
CREATE INDEX ix_impact_check_collection ON impact_check (collection_id, id);
-- a redelivered repo.done makes no second check
CREATE UNIQUE INDEX ix_impact_check_trigger ON impact_check (collection_id, side_tag, trigger_repo_id)
    WHERE trigger_repo_id IS NOT NULL;

-- The tracked packages whose resolution differs between base and change.
CREATE TABLE impact_check_package (
    check_id integer NOT NULL REFERENCES impact_check(id) ON DELETE CASCADE,
    package_id integer NOT NULL REFERENCES package(id) ON DELETE CASCADE,
    -- smallest distance of a changed dependency (NULL: none, or farther than known)
    distance smallint,
    base_resolved boolean NOT NULL,
    change_resolved boolean NOT NULL,
    base_problems text[] NOT NULL DEFAULT '{}',
    change_problems text[] NOT NULL DEFAULT '{}',
    -- [{name, prev, curr, distance}] (prev/curr: "[epoch:]version-release.arch" or null)
    changes jsonb NOT NULL DEFAULT '[]',
    verdict text NOT NULL CHECK (verdict IN (
        'unresolvable-with-change', 'resolvable-with-change', 'still-unresolvable',
        'dependencies-changed')),
    -- chosen for builds (within depth and max_builds)
    build_planned boolean NOT NULL DEFAULT false,
    -- from its builds: regression (baseline ok, with the change failing), fixed,
    -- still-failing, passes, infrastructure-failure (after the retries)
    build_verdict text CHECK (build_verdict IN (
        'regression', 'fixed', 'still-failing', 'passes', 'infrastructure-failure')),
    PRIMARY KEY (check_id, package_id)
);
CREATE INDEX ix_impact_check_package_package ON impact_check_package (package_id);

-- Each check's state history.
CREATE TABLE impact_check_event (
    id bigserial PRIMARY KEY,
    check_id integer NOT NULL REFERENCES impact_check(id) ON DELETE CASCADE,
    "time" timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    state text NOT NULL,
    note text
);
CREATE INDEX ix_impact_check_event_check ON impact_check_event (check_id, id);

-- The scratch builds of impact checks: against the change (side tag's repo) or
-- the baseline (collection's repo; build_id when an existing build is reused).
-- An infrastructure failure is retried (a new attempt) with back-off.
CREATE TABLE impact_build (
    id serial PRIMARY KEY,
    check_id integer NOT NULL REFERENCES impact_check(id) ON DELETE CASCADE,
    package_id integer NOT NULL REFERENCES package(id) ON DELETE CASCADE,
    side text NOT NULL CHECK (side IN ('base', 'change')),
    attempt integer NOT NULL DEFAULT 1,
    -- NULL when Koji refused the submission (an infrastructure failure)
    task_id bigint,
    build_id integer REFERENCES build(id) ON DELETE SET NULL,
    state text NOT NULL CHECK (state IN ('running', 'ok', 'failed', 'infra-failure')),
    started timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    finished timestamp,
    -- why an infrastructure failure is one
    note text,
    UNIQUE (check_id, package_id, side, attempt),
    CONSTRAINT impact_build_task CHECK (task_id IS NOT NULL OR state = 'infra-failure')
);
CREATE INDEX ix_impact_build_running ON impact_build (task_id) WHERE state = 'running';
CREATE INDEX ix_impact_build_task ON impact_build (task_id);
