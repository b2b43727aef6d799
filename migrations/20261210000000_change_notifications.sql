-- [koschei-rs] Change notifications for the web's cache (issue #15, contract A).
--
-- Statement-level triggers `pg_notify('koschei_change', payload)` in the
-- writing transaction, so a listener gets the notification at commit and
-- never for a rolled-back change. Payloads are compact JSON text:
--   {"kind":"packages","collections":[1,2],"bases":[10,11]}
--   {"kind":"packages","collections":[1,2],"bases":null}   (more than 500 bases)
--   {"kind":"collections"}  {"kind":"groups"}  {"kind":"notices"}
-- One notification per statement and kind; PostgreSQL also drops identical
-- payloads repeated within a transaction.
--
-- PostgreSQL allows transition tables only on single-event triggers: each
-- table has one trigger per event (INSERT, UPDATE, DELETE), sharing one
-- function that branches on TG_OP (a branch names only the transition tables
-- its event has). Deletions cascaded from a package see no package any more
-- and send nothing: the package's own trigger reports them.

-- Sends the "packages" payload for the given collections and base packages
-- (NULLs and duplicates ignored); nothing when both are empty.
CREATE FUNCTION koschei_change_send_packages(collection_ids integer[], base_ids integer[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    collections integer[] := ARRAY(SELECT DISTINCT c FROM unnest(collection_ids) c
                                   WHERE c IS NOT NULL ORDER BY 1);
    bases integer[] := ARRAY(SELECT DISTINCT b FROM unnest(base_ids) b
                             WHERE b IS NOT NULL ORDER BY 1);
BEGIN
    IF cardinality(collections) = 0 AND cardinality(bases) = 0 THEN
        RETURN;
    END IF;
    PERFORM pg_notify('koschei_change',
        '{"kind":"packages","collections":[' || array_to_string(collections, ',') || '],"bases":'
        || CASE WHEN cardinality(bases) > 500 THEN 'null'
                ELSE '[' || array_to_string(bases, ',') || ']' END
        || '}');
END
$$;

-- The "packages" payload of the (existing) packages `package_ids`.
CREATE FUNCTION koschei_change_packages(package_ids integer[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    collections integer[];
    bases integer[];
BEGIN
    IF cardinality(package_ids) = 0 THEN
        RETURN;
    END IF;
    SELECT array_agg(p.collection_id), array_agg(p.base_id) INTO collections, bases
      FROM package p WHERE p.id = ANY(package_ids);
    PERFORM koschei_change_send_packages(collections, bases);
END
$$;

-- The "packages" payload of the base packages `base_ids`, in every collection
-- that has them.
CREATE FUNCTION koschei_change_bases(base_ids integer[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(base_ids) = 0 THEN
        RETURN;
    END IF;
    PERFORM koschei_change_send_packages(
        ARRAY(SELECT DISTINCT p.collection_id FROM package p WHERE p.base_id = ANY(base_ids)),
        base_ids);
END
$$;

-- package: its own collection_id and base_id, of old and new rows. An UPDATE
-- counts only the rows it really changed.
CREATE FUNCTION package_change_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    collections integer[];
    bases integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(collection_id), array_agg(base_id) INTO collections, bases
          FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(collection_id), array_agg(base_id) INTO collections, bases
          FROM old_rows;
    ELSE
        SELECT array_agg(v.collection_id), array_agg(v.base_id) INTO collections, bases
          FROM new_rows n JOIN old_rows o ON o.id = n.id,
               LATERAL (VALUES (n.collection_id, n.base_id), (o.collection_id, o.base_id))
                   v(collection_id, base_id)
         WHERE n IS DISTINCT FROM o;
    END IF;
    PERFORM koschei_change_send_packages(collections, bases);
    RETURN NULL;
END
$$;

-- base_package: the rows' ids are the bases.
CREATE FUNCTION base_package_change_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM koschei_change_bases(ARRAY(SELECT id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM koschei_change_bases(ARRAY(SELECT id FROM old_rows));
    ELSE
        PERFORM koschei_change_bases(ARRAY(SELECT id FROM new_rows));
    END IF;
    RETURN NULL;
END
$$;

-- Tables with a package_id (build, resolution_change, unapplied_change). An
-- UPDATE counts only the rows it really changed.
CREATE FUNCTION package_id_change_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM koschei_change_packages(ARRAY(SELECT DISTINCT package_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM koschei_change_packages(ARRAY(SELECT DISTINCT package_id FROM old_rows));
    ELSE
        PERFORM koschei_change_packages(ARRAY(
            SELECT DISTINCT v.package_id
              FROM new_rows n JOIN old_rows o ON o.id = n.id,
                   LATERAL (VALUES (n.package_id), (o.package_id)) v(package_id)
             WHERE n IS DISTINCT FROM o));
    END IF;
    RETURN NULL;
END
$$;

-- Tables with a build_id (koji_task, applied_change).
CREATE FUNCTION build_id_change_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    build_ids integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        build_ids := ARRAY(SELECT build_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        build_ids := ARRAY(SELECT build_id FROM old_rows);
    ELSE
        build_ids := ARRAY(SELECT build_id FROM new_rows UNION SELECT build_id FROM old_rows);
    END IF;
    PERFORM koschei_change_packages(ARRAY(
        SELECT DISTINCT b.package_id FROM build b WHERE b.id = ANY(build_ids)));
    RETURN NULL;
END
$$;

-- resolution_problem: through its resolution_change.
CREATE FUNCTION resolution_id_change_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    resolution_ids integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        resolution_ids := ARRAY(SELECT resolution_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        resolution_ids := ARRAY(SELECT resolution_id FROM old_rows);
    ELSE
        resolution_ids := ARRAY(SELECT resolution_id FROM new_rows
                                UNION SELECT resolution_id FROM old_rows);
    END IF;
    PERFORM koschei_change_packages(ARRAY(
        SELECT DISTINCT r.package_id FROM resolution_change r WHERE r.id = ANY(resolution_ids)));
    RETURN NULL;
END
$$;

-- Plain statement triggers (no transition tables): TG_ARGV[0] is the kind.
-- "packages" is TRUNCATE of a package table: every collection, all bases.
CREATE FUNCTION kind_change_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_ARGV[0] = 'packages' THEN
        PERFORM pg_notify('koschei_change',
            '{"kind":"packages","collections":['
            || array_to_string(ARRAY(SELECT id FROM collection ORDER BY id), ',')
            || '],"bases":null}');
    ELSE
        PERFORM pg_notify('koschei_change', '{"kind":"' || TG_ARGV[0] || '"}');
    END IF;
    RETURN NULL;
END
$$;

-- The package tables: one trigger per event with its transition tables, and
-- a TRUNCATE trigger.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('package', 'package_change_notify'),
        ('base_package', 'base_package_change_notify'),
        ('build', 'package_id_change_notify'),
        ('resolution_change', 'package_id_change_notify'),
        ('unapplied_change', 'package_id_change_notify'),
        ('koji_task', 'build_id_change_notify'),
        ('applied_change', 'build_id_change_notify'),
        ('resolution_problem', 'resolution_id_change_notify')) v(tab, func)
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION %I()',
                       t.tab || '_change_insert', t.tab, t.func);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I
                        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION %I()',
                       t.tab || '_change_update', t.tab, t.func);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION %I()',
                       t.tab || '_change_delete', t.tab, t.func);
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION kind_change_notify(''packages'')',
                       t.tab || '_change_truncate', t.tab);
    END LOOP;
    -- Tables without interesting ids: every write statement is one notification.
    FOR t IN SELECT * FROM (VALUES
        ('collection', 'collections'),
        ('collection_group', 'collections'),
        ('collection_group_relation', 'collections'),
        ('buildroot_problem', 'collections'),
        ('package_group', 'groups'),
        ('package_group_relation', 'groups'),
        ('group_acl', 'groups'),
        ('admin_notice', 'notices')) v(tab, kind)
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION kind_change_notify(%L)',
                       t.tab || '_change_notify', t.tab, t.kind);
    END LOOP;
END
$$;
