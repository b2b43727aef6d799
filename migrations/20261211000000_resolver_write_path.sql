-- [koschei-rs] The two costs that dominated writing a whole-distribution
-- resolver pass (issue 16; measured on the corpus, 34,288 packages).
--
-- 1. The priority-bound trigger. Its SELECT passed the row to the SQL
--    functions package_priority_bound → priority_sum, time_priority_at,
--    package_state_schedulable as a query of the trigger; called per row that
--    way they are not inlined and each call plans its body again: 0.5 ms a
--    row, 1.5 s for 3,000 packages against 0.12 s without the trigger. The
--    inputs are now read into variables and the bound is one assignment, a
--    PL/pgSQL simple expression planned once per session with the SQL
--    functions inlined: 0.29 s for the same 3,000 rows. Same definition
--    (package_priority_bound), same result, also when the collection, the
--    last build or the horizon row is missing (NULL).
CREATE OR REPLACE FUNCTION package_priority_bound_refresh() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    coefficient double precision;
    lb build;
    h priority_bound_horizon;
BEGIN
    IF package_state_schedulable(NEW) THEN
        SELECT c.priority_coefficient INTO coefficient
          FROM collection c WHERE c.id = NEW.collection_id;
        SELECT * INTO lb FROM build b WHERE b.id = NEW.last_build_id;
        SELECT * INTO h FROM priority_bound_horizon;
        NEW.priority_bound := package_priority_bound(NEW, coefficient, lb, h);
    ELSE
        NEW.priority_bound := NULL;
    END IF;
    RETURN NEW;
END
$$;

-- 2. unapplied_change's foreign keys. A pass on a new repo replaces about
--    590,000 rows of the corpus, and the three per-row referential checks cost
--    more than the rows (52,000 rows: 2.0 s with them, 0.34 s without).
--    * prev_dep_id / curr_dep_id: `dependency` is an append-only flyweight
--      table (nothing deletes its rows; build.dependency_keys and
--      resolver_package_deps already hold its ids without a constraint), so
--      the check could never fail for ids the writers got from it.
--    * package_id: its ON DELETE CASCADE is kept by a statement-level trigger
--      (one DELETE per statement, not one per row). The repo resolver, which
--      writes the rows, locks the package rows first (package_persist), so no
--      change is written for a package being deleted.
ALTER TABLE unapplied_change
    DROP CONSTRAINT unapplied_change_prev_dep_id_fkey,
    DROP CONSTRAINT unapplied_change_curr_dep_id_fkey,
    DROP CONSTRAINT unapplied_change_package_id_fkey;

CREATE FUNCTION package_deleted_unapplied_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM unapplied_change WHERE package_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END
$$;

CREATE TRIGGER package_deleted_unapplied_changes AFTER DELETE ON package
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION package_deleted_unapplied_changes();
