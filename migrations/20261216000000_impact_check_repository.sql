-- [koschei-rs] Impact checks (issue 17), continued.
--
-- 1. The change may be an extra rpm-md repository (Copr-style) layered over the
--    collection's repo instead of a Koji side tag: its URL, one or the other.
--    Such a check resolves only (Koji cannot build against a repository that
--    no tag of it knows).
-- 2. A check's dependency changes are stored once each (impact_check_change)
--    and referenced by the affected packages with their distances: a change
--    such as a new glibc reaches tens of thousands of packages with the same
--    few thousand changes.
ALTER TABLE impact_check ALTER COLUMN side_tag DROP NOT NULL;
ALTER TABLE impact_check
    ADD COLUMN repo_url text CHECK (length(repo_url) <= 2048),
    ADD CONSTRAINT impact_check_one_change CHECK ((side_tag IS NULL) <> (repo_url IS NULL)),
    ADD CONSTRAINT impact_check_builds_need_side_tag CHECK (side_tag IS NOT NULL OR NOT builds);

-- One dependency change of a check: prev/curr "[epoch:]version-release.arch",
-- NULL when absent on that side.
CREATE TABLE impact_check_change (
    check_id integer NOT NULL REFERENCES impact_check(id) ON DELETE CASCADE,
    id integer NOT NULL,
    name text NOT NULL,
    prev text,
    curr text,
    PRIMARY KEY (check_id, id)
);

-- An affected package's changes: ids in impact_check_change, each with its
-- distance from the package's BuildRequires (NULL: removed, or far).
ALTER TABLE impact_check_package
    ADD COLUMN change_ids integer[] NOT NULL DEFAULT '{}',
    ADD COLUMN change_distances smallint[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT impact_check_package_changes
        CHECK (cardinality(change_ids) = cardinality(change_distances));

-- the changes stored before, as jsonb per package, moved over
INSERT INTO impact_check_change (check_id, id, name, prev, curr)
SELECT check_id, row_number() OVER (PARTITION BY check_id ORDER BY name, prev, curr),
       name, prev, curr
FROM (SELECT DISTINCT ip.check_id, c->>'name' AS name, c->>'prev' AS prev, c->>'curr' AS curr
      FROM impact_check_package ip, jsonb_array_elements(ip.changes) c) d;
UPDATE impact_check_package ip
SET change_ids = m.ids, change_distances = m.distances
FROM (SELECT ip.check_id, ip.package_id,
             array_agg(ch.id ORDER BY e.n) AS ids,
             array_agg((e.c->>'distance')::smallint ORDER BY e.n) AS distances
      FROM impact_check_package ip,
           jsonb_array_elements(ip.changes) WITH ORDINALITY e(c, n),
           impact_check_change ch
      WHERE ch.check_id = ip.check_id AND ch.name = e.c->>'name'
        AND ch.prev IS NOT DISTINCT FROM e.c->>'prev'
        AND ch.curr IS NOT DISTINCT FROM e.c->>'curr'
      GROUP BY ip.check_id, ip.package_id) m
WHERE ip.check_id = m.check_id AND ip.package_id = m.package_id;
ALTER TABLE impact_check_package DROP COLUMN changes;
