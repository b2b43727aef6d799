-- [koschei-rs] History that survives Koji (K#168, K#338): the dependency set
-- each package resolved to in a repo, written by the repo resolver (same
-- encoding as build.dependency_keys; `distances` holds one byte per id of
-- the decoded, ascending id list: the dependency distance 1..4, 0 for none).
-- When Koji has deleted the repo a build ran in before the build resolver got
-- to it, the build takes the set its package resolved to in that very repo.
-- Kept per package: the newest repo, the one before it (builds submitted just
-- before a repo change), and every repo an unresolved build refers to.
CREATE TABLE resolver_package_deps (
    package_id integer NOT NULL REFERENCES package(id) ON DELETE CASCADE,
    repo_id integer NOT NULL,
    dependency_keys bytea NOT NULL,
    distances bytea NOT NULL,
    PRIMARY KEY (package_id, repo_id)
);
