-- Triggers maintaining denormalised columns (spec §4.2).
--
-- package.last_build_id: newest (by COALESCE(tagged, started)) build that is not untagged and
-- is running, complete or failed. Canceled, timed-out and infrastructure
-- failures (states 4, 6, 7) are history only and never become the last build.
-- package.last_complete_build_id/_state: the last build itself when it is
-- finished, otherwise the newest finished (3 or 5) build; build.last_complete
-- flags that build.

CREATE FUNCTION update_last_builds(pkg_ids integer[]) RETURNS void
LANGUAGE sql AS $$
    WITH last AS (
        SELECT ids.id AS pkg_id,
               (SELECT b.id FROM build b
                 WHERE b.package_id = ids.id AND NOT b.untagged AND b.state IN (2, 3, 5)
                 ORDER BY COALESCE(b.tagged, b.started) DESC, b.id DESC LIMIT 1) AS lb_id
        FROM unnest(pkg_ids) AS ids(id)
    ), last_complete AS (
        SELECT l.pkg_id, l.lb_id,
               CASE WHEN lb.state = 2 THEN
                   (SELECT b.id FROM build b
                     WHERE b.package_id = l.pkg_id AND NOT b.untagged AND b.state IN (3, 5)
                     ORDER BY COALESCE(b.tagged, b.started) DESC, b.id DESC LIMIT 1)
               ELSE l.lb_id END AS lcb_id
        FROM last l LEFT JOIN build lb ON lb.id = l.lb_id
    ), computed AS (
        SELECT lc.pkg_id, lc.lb_id, lc.lcb_id, lcb.state AS lcb_state
        FROM last_complete lc LEFT JOIN build lcb ON lcb.id = lc.lcb_id
    ), changed AS (
        UPDATE package p
           SET last_build_id = c.lb_id, last_complete_build_id = c.lcb_id,
               last_complete_build_state = c.lcb_state
          FROM computed c
         WHERE p.id = c.pkg_id
           AND (p.last_build_id IS DISTINCT FROM c.lb_id
                OR p.last_complete_build_id IS DISTINCT FROM c.lcb_id
                OR p.last_complete_build_state IS DISTINCT FROM c.lcb_state)
        RETURNING p.id, c.lcb_id
    ), cleared AS (
        UPDATE build b SET last_complete = false
          FROM changed ch
         WHERE b.package_id = ch.id AND b.last_complete AND b.id IS DISTINCT FROM ch.lcb_id
        RETURNING b.id
    )
    UPDATE build b SET last_complete = true
      FROM changed ch
     WHERE b.id = ch.lcb_id AND NOT b.last_complete;
$$;

-- Statement-level triggers with transition tables: a bulk insert of real
-- builds recomputes each affected package once.
CREATE FUNCTION build_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids integer[] := ARRAY(SELECT DISTINCT package_id FROM new_rows ORDER BY 1);
BEGIN
    IF cardinality(ids) > 0 THEN
        PERFORM update_last_builds(ids);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION build_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids integer[] := ARRAY(
        SELECT DISTINCT n.package_id
          FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE o.state IS DISTINCT FROM n.state
            OR o.untagged IS DISTINCT FROM n.untagged
            OR o.started IS DISTINCT FROM n.started
            OR o.tagged IS DISTINCT FROM n.tagged
         ORDER BY 1);
BEGIN
    -- Statement triggers fire even for zero rows: the guard also ends the
    -- recursion through update_last_builds' own UPDATEs of build.
    IF cardinality(ids) > 0 THEN
        PERFORM update_last_builds(ids);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION build_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    -- The foreign keys already set the pointers of the affected packages to
    -- NULL; recompute them (packages deleted in the same statement are gone
    -- and simply match no row).
    ids integer[] := ARRAY(
        SELECT DISTINCT o.package_id
          FROM old_rows o JOIN package p ON p.id = o.package_id
         WHERE p.last_build_id IS NULL OR p.last_complete_build_id IS NULL
         ORDER BY 1);
BEGIN
    IF cardinality(ids) > 0 THEN
        PERFORM update_last_builds(ids);
    END IF;
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
