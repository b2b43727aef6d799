-- [koschei-rs] Installability of binary packages (issue 18).
--
-- On each new repo of a collection the resolver installs every binary package
-- of the repo alone into an empty root: installable or not (with libsolv's
-- problems), and when installable the install set's package count, download
-- size and installed size.
--
-- binary_installability holds the current outcome, one row per binary
-- (name, arch) of the collection's latest checked repo. installability_change
-- keeps the history small: a row only when a binary appears, disappears or
-- changes version, its outcome or problems change, its install set's package
-- count changes, or a size moves by 1 % or more since the binary's last row
-- (a dependency's rebuild changes the sizes of all its dependents by a few
-- bytes; those are not history). binary_installability remembers the sizes of
-- that last row (recorded_*), so slow drifts are recorded too.
-- installability_pass gives the collection's counts over time, one row per
-- checked repo.
CREATE TABLE binary_installability (
    collection_id integer NOT NULL REFERENCES collection(id) ON DELETE CASCADE,
    name text NOT NULL,
    arch text NOT NULL,
    evr text NOT NULL,
    source_name text NOT NULL,
    installable boolean NOT NULL,
    problems text[] NOT NULL DEFAULT '{}',
    install_count integer NOT NULL,
    download_size bigint NOT NULL,
    install_size bigint NOT NULL,
    recorded_download_size bigint NOT NULL,
    recorded_install_size bigint NOT NULL,
    -- the repo of the first check that gave this outcome
    since_repo_id integer NOT NULL,
    PRIMARY KEY (collection_id, name, arch),
    CONSTRAINT binary_installability_consistent CHECK (
        installable = (cardinality(problems) = 0)
        AND (installable OR (install_count = 0 AND download_size = 0 AND install_size = 0)))
);
CREATE INDEX ix_binary_installability_source
    ON binary_installability (collection_id, source_name);
CREATE INDEX ix_binary_installability_broken
    ON binary_installability (collection_id, source_name) WHERE NOT installable;

CREATE TABLE installability_change (
    id bigserial PRIMARY KEY,
    collection_id integer NOT NULL REFERENCES collection(id) ON DELETE CASCADE,
    repo_id integer NOT NULL,
    "time" timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    name text NOT NULL,
    arch text NOT NULL,
    source_name text NOT NULL,
    -- NULL: the binary left the repo (and the columns below are NULL too)
    evr text,
    installable boolean,
    problems text[],
    install_count integer,
    download_size bigint,
    install_size bigint
);
CREATE INDEX ix_installability_change_source
    ON installability_change (collection_id, source_name, id);

CREATE TABLE installability_pass (
    collection_id integer NOT NULL REFERENCES collection(id) ON DELETE CASCADE,
    repo_id integer NOT NULL,
    "time" timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    binaries integer NOT NULL,
    uninstallable integer NOT NULL,
    changes integer NOT NULL,
    -- wall time of the check and of the write
    solve_seconds real NOT NULL,
    write_seconds real NOT NULL,
    PRIMARY KEY (collection_id, repo_id)
);

-- The repo whose binaries were checked last; the resolver checks the
-- collection's latest repo when this differs.
ALTER TABLE collection ADD COLUMN installability_repo_id integer;
