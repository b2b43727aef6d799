-- [koschei-rs] Incremental resolution. A resolver_package_deps row now says
-- what a package resolved to from its repo on, until the package's next row:
-- a pass writes a row only when the outcome differs from the newest row at or
-- before its repo, so readers take "the newest row at or before repo X".
--   resolved  TRUE: the set in dependency_keys/distances; FALSE: unresolvable
--             (empty set); NULL: unknown — the package was not resolved in that
--             repo's pass (result discarded, chunk cancelled, not eligible).
--   srpm      'version-release' of the SRPM whose BuildRequires were resolved
--             (NULL on rows written before this migration: never reused).
ALTER TABLE resolver_package_deps
    ADD COLUMN resolved boolean DEFAULT true,
    ADD COLUMN srpm text;
-- A whole-repo pass queued against the previous repo re-solves only what the
-- repo delta can change; NULL = a full pass.
ALTER TABLE resolver_work ADD COLUMN base_repo_id integer;
-- Repos whose whole-repo pass was queued: the stored outcomes describe a
-- package in such a repo (the build resolver's fallback asks only about them).
CREATE TABLE resolver_repo_pass (
    collection_id integer NOT NULL REFERENCES collection(id) ON DELETE CASCADE,
    repo_id integer NOT NULL,
    PRIMARY KEY (collection_id, repo_id)
);
