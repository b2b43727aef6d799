-- Triggers maintaining denormalised columns (spec §4.2).
--
-- package.last_build_id: newest (by COALESCE(tagged, started)) build that is not untagged and
-- is running, complete or failed. Canceled, timed-out and infrastructure
-- failures (states 4, 6, 7) are history only and never become the last build.
-- package.last_complete_build_id/_state: the last build itself when it is
-- finished, otherwise the newest finished (3 or 5) build; build.last_complete
-- flags that build.

CREATE FUNCTION update_last_build(pkg_id integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    lb_id integer;
    lb_state integer;
    lcb_id integer;
    lcb_state integer;
BEGIN
    SELECT id, state INTO lb_id, lb_state
        FROM build
        WHERE package_id = pkg_id AND NOT untagged AND state IN (2, 3, 5)
        ORDER BY COALESCE(tagged, started) DESC, id DESC
        LIMIT 1;
    IF lb_state = 2 THEN
        SELECT id, state INTO lcb_id, lcb_state
            FROM build
            WHERE package_id = pkg_id AND NOT untagged AND state IN (3, 5)
            ORDER BY COALESCE(tagged, started) DESC, id DESC
            LIMIT 1;
    ELSE
        lcb_id := lb_id;
        lcb_state := lb_state;
    END IF;

    UPDATE package SET last_build_id = lb_id
        WHERE id = pkg_id AND last_build_id IS DISTINCT FROM lb_id;
    UPDATE package SET last_complete_build_id = lcb_id, last_complete_build_state = lcb_state
        WHERE id = pkg_id
          AND (last_complete_build_id IS DISTINCT FROM lcb_id
               OR last_complete_build_state IS DISTINCT FROM lcb_state);
    IF FOUND THEN
        UPDATE build SET last_complete = false
            WHERE package_id = pkg_id AND last_complete AND id IS DISTINCT FROM lcb_id;
        UPDATE build SET last_complete = true
            WHERE id = lcb_id AND NOT last_complete;
    END IF;
END
$$;

-- Statement-level triggers with transition tables: a bulk insert of real
-- builds recomputes each affected package once.
CREATE FUNCTION build_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM update_last_build(pkg_id)
        FROM (SELECT DISTINCT package_id AS pkg_id FROM new_rows ORDER BY 1) AS affected;
    RETURN NULL;
END
$$;

CREATE FUNCTION build_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM update_last_build(pkg_id)
        FROM (SELECT DISTINCT n.package_id AS pkg_id
                FROM new_rows n JOIN old_rows o ON o.id = n.id
                WHERE o.state IS DISTINCT FROM n.state
                   OR o.untagged IS DISTINCT FROM n.untagged
                   OR o.started IS DISTINCT FROM n.started
                   OR o.tagged IS DISTINCT FROM n.tagged
                ORDER BY 1) AS affected;
    RETURN NULL;
END
$$;

CREATE FUNCTION build_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- The foreign keys already set the pointers of the affected packages to
    -- NULL; recompute them (packages deleted in the same statement are gone
    -- and simply match no row).
    PERFORM update_last_build(pkg_id)
        FROM (SELECT DISTINCT o.package_id AS pkg_id
                FROM old_rows o JOIN package p ON p.id = o.package_id
                WHERE p.last_build_id IS NULL OR p.last_complete_build_id IS NULL
                ORDER BY 1) AS affected;
    RETURN NULL;
END
$$;

CREATE TRIGGER build_inserted AFTER INSERT ON build
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION build_inserted();
CREATE TRIGGER build_updated AFTER UPDATE ON build
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION build_updated();
CREATE TRIGGER build_deleted AFTER DELETE ON build
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION build_deleted();

-- base_package.all_blocked = the package is blocked in every collection (true
-- when it exists in none). Recomputed only for the base packages touched by
-- the statement, not the whole table (the original recomputed everything).
CREATE FUNCTION refresh_all_blocked(base_ids integer[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE base_package b
        SET all_blocked = computed.all_blocked
        FROM (SELECT ids.id,
                     COALESCE((SELECT bool_and(p.blocked) FROM package p WHERE p.base_id = ids.id), true)
                         AS all_blocked
                FROM unnest(base_ids) AS ids(id)) AS computed
        WHERE b.id = computed.id AND b.all_blocked IS DISTINCT FROM computed.all_blocked;
$$;

CREATE FUNCTION package_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_all_blocked(ARRAY(SELECT DISTINCT base_id FROM new_rows));
    RETURN NULL;
END
$$;

CREATE FUNCTION package_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_all_blocked(ARRAY(
        SELECT n.base_id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE o.blocked IS DISTINCT FROM n.blocked OR o.base_id IS DISTINCT FROM n.base_id
        UNION
        SELECT o.base_id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE o.base_id IS DISTINCT FROM n.base_id));
    RETURN NULL;
END
$$;

CREATE FUNCTION package_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_all_blocked(ARRAY(SELECT DISTINCT base_id FROM old_rows));
    RETURN NULL;
END
$$;

CREATE TRIGGER package_inserted AFTER INSERT ON package
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION package_inserted();
CREATE TRIGGER package_updated AFTER UPDATE ON package
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION package_updated();
CREATE TRIGGER package_deleted AFTER DELETE ON package
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION package_deleted();
