-- [koschei-rs] A package's unapplied changes in one row (issue 16).
--
-- A repo that updates a few build-group members changes the unapplied
-- changes of nearly every package. On the corpus (34,288 packages) the
-- incremental pass replaced 590,211 unapplied_change rows: deleting and
-- inserting them took PostgreSQL 2.0 s in one statement, and about 5 s spread
-- over the pass's 150-package chunks. As arrays, one row per package that has
-- changes, the same pass writes 34,272 rows.
--
-- unapplied_change stays for the readers (the web, the API, `koschei-admin
-- inspect`, the consistency checks, the original's own web): a view with the
-- original's columns, one row per change in stored order, and an id unique
-- per change. Inserting into the view appends to the package's row, one row
-- at a time (for tools and tests; the resolver writes unapplied_changes).
-- Deletes go to unapplied_changes.
CREATE TABLE unapplied_changes (
    package_id integer PRIMARY KEY,
    prev_dep_ids integer[] NOT NULL,
    curr_dep_ids integer[] NOT NULL,
    distances integer[] NOT NULL,
    CONSTRAINT unapplied_changes_aligned CHECK (
        cardinality(prev_dep_ids) = cardinality(curr_dep_ids)
        AND cardinality(curr_dep_ids) = cardinality(distances))
);

INSERT INTO unapplied_changes (package_id, prev_dep_ids, curr_dep_ids, distances)
SELECT package_id, array_agg(prev_dep_id ORDER BY id), array_agg(curr_dep_id ORDER BY id),
       array_agg(distance ORDER BY id)
  FROM unapplied_change GROUP BY package_id;

DROP TABLE unapplied_change;

CREATE VIEW unapplied_change AS
SELECT (u.package_id::bigint << 32) | c.n AS id, u.package_id, c.prev_dep_id, c.curr_dep_id,
       c.distance
  FROM unapplied_changes u,
       unnest(u.prev_dep_ids, u.curr_dep_ids, u.distances)
           WITH ORDINALITY AS c(prev_dep_id, curr_dep_id, distance, n);

CREATE FUNCTION unapplied_change_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF COALESCE(NEW.prev_dep_id, 0) = COALESCE(NEW.curr_dep_id, 0) THEN
        RAISE check_violation USING MESSAGE = 'an unapplied change must change something';
    END IF;
    INSERT INTO unapplied_changes AS u (package_id, prev_dep_ids, curr_dep_ids, distances)
    VALUES (NEW.package_id, ARRAY[NEW.prev_dep_id], ARRAY[NEW.curr_dep_id], ARRAY[NEW.distance])
    ON CONFLICT (package_id) DO UPDATE
        SET prev_dep_ids = u.prev_dep_ids || EXCLUDED.prev_dep_ids,
            curr_dep_ids = u.curr_dep_ids || EXCLUDED.curr_dep_ids,
            distances = u.distances || EXCLUDED.distances;
    RETURN NEW;
END
$$;

CREATE TRIGGER unapplied_change_insert INSTEAD OF INSERT ON unapplied_change
    FOR EACH ROW EXECUTE FUNCTION unapplied_change_insert();

-- A deleted package's changes (no foreign key, as before: one statement per
-- statement, not a check per row).
CREATE OR REPLACE FUNCTION package_deleted_unapplied_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM unapplied_changes WHERE package_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END
$$;

-- Change notifications, as for the other package tables. Rows are keyed by
-- package, so an UPDATE names the packages of the rows it changed.
CREATE FUNCTION package_key_change_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM koschei_change_packages(ARRAY(
        SELECT n.package_id FROM new_rows n JOIN old_rows o ON o.package_id = n.package_id
         WHERE n IS DISTINCT FROM o));
    RETURN NULL;
END
$$;

CREATE TRIGGER unapplied_changes_change_insert AFTER INSERT ON unapplied_changes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION package_id_change_notify();
CREATE TRIGGER unapplied_changes_change_update AFTER UPDATE ON unapplied_changes
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION package_key_change_notify();
CREATE TRIGGER unapplied_changes_change_delete AFTER DELETE ON unapplied_changes
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION package_id_change_notify();
CREATE TRIGGER unapplied_changes_change_truncate AFTER TRUNCATE ON unapplied_changes
    FOR EACH STATEMENT EXECUTE FUNCTION kind_change_notify('packages');
