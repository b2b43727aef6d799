-- [koschei-rs] "A rebuild would fix it" (issue 18).
--
-- When a package's binaries are uninstallable in the collection's checked repo
-- and a scratch build of it completes on a repo at least as new as the breakage,
-- the resolver reads the build's binaries from Koji (their rpm headers) and
-- installs each into an empty root from the checked repo. One row per build and
-- repo checked: installable is NULL when the task had no binaries to check (Koji
-- removed a scratch build's files, or the build produced none), so a build is
-- never checked twice against one repo.
CREATE TABLE rebuild_installability (
    build_id integer NOT NULL REFERENCES build(id) ON DELETE CASCADE,
    repo_id integer NOT NULL,
    "time" timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    installable boolean,
    -- [{name, arch, evr, installable, problems}] of each binary of the build
    binaries jsonb NOT NULL DEFAULT '[]',
    -- why there was nothing to check (Koji's answer), when installable is NULL
    note text,
    PRIMARY KEY (build_id, repo_id)
);
