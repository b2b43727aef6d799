-- [koschei-rs] The outbox as the event log (issue #15, contract B).
--
-- publish: false for rows that are for the event stream only and never sent
--   to the bus (build events; state changes while the bus publisher is
--   disabled).
-- seq: the row's position in the event stream, assigned at COMMIT in commit
--   order, so a reader that has seen seq N and later reads `seq > N` misses
--   nothing. Never NULL once committed; gaps are possible (a transaction that
--   fails at commit after its rows got numbers).

ALTER TABLE message_outbox
    ADD COLUMN publish boolean NOT NULL DEFAULT true,
    ADD COLUMN seq bigint;

CREATE SEQUENCE message_outbox_seq AS bigint;

-- Rows from before this migration: in id order.
UPDATE message_outbox m SET seq = o.n
  FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM message_outbox) o
 WHERE o.id = m.id;
SELECT setval('message_outbox_seq', COALESCE(max(seq), 0) + 1, false) FROM message_outbox;

-- Also finds the uncommitted rows (seq IS NULL) of the committing transaction.
ALTER TABLE message_outbox ADD CONSTRAINT message_outbox_seq_key UNIQUE (seq);

-- The publisher's queue (the bus rows not sent yet).
DROP INDEX ix_message_outbox_unsent;
CREATE INDEX ix_message_outbox_to_publish ON message_outbox (id) WHERE sent IS NULL AND publish;

-- Numbers the committing transaction's rows. Runs as a deferred constraint
-- trigger, i.e. at COMMIT, under the transaction-level advisory lock (4, 0)
-- (namespace 4 = the outbox; 1–3 are the resolvers' and the scheduler's).
-- The lock is held until the transaction has ended, and PostgreSQL releases
-- a transaction's locks only after its commit became visible: so when a
-- second transaction gets the lock and draws later numbers from the
-- sequence, the first one's rows are already visible to every new snapshot.
-- Hence seq order = commit order, and a reader that sees a row sees every
-- row with a lower seq. Only this trigger draws from message_outbox_seq.
--
-- A row trigger fires once per inserted row: the first firing numbers all of
-- the transaction's rows (those still without seq: other transactions' rows
-- are either invisible or numbered), in id order, and records the highest id
-- it numbered in a transaction-local setting so that later firings return at
-- once (rows inserted later, after `SET CONSTRAINTS … IMMEDIATE`, have higher
-- ids and are numbered by their own firing).
CREATE FUNCTION message_outbox_assign_seq() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    numbered_up_to bigint := COALESCE(
        NULLIF(current_setting('koschei.outbox_numbered_up_to', true), ''), '0')::bigint;
    highest bigint;
BEGIN
    IF NEW.id <= numbered_up_to THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(4, 0);
    WITH numbered AS (
        SELECT o.id, nextval('message_outbox_seq') AS seq
          FROM (SELECT id FROM message_outbox WHERE seq IS NULL ORDER BY id) o
    ), updated AS (
        UPDATE message_outbox m SET seq = numbered.seq
          FROM numbered WHERE m.id = numbered.id
        RETURNING m.id
    )
    SELECT max(id) INTO highest FROM updated;
    PERFORM set_config('koschei.outbox_numbered_up_to',
                       greatest(highest, NEW.id)::text, true);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER message_outbox_assign_seq
    AFTER INSERT ON message_outbox
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION message_outbox_assign_seq();

-- Build events (publish = false): `build.started` for a build inserted
-- running, `build.finished` for one inserted finished or leaving running.
-- State names are those of `BuildState::as_str` (services/core/src/model.rs).
CREATE FUNCTION build_state_name(state integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE state
        WHEN 2 THEN 'running'
        WHEN 3 THEN 'complete'
        WHEN 4 THEN 'canceled'
        WHEN 5 THEN 'failed'
        WHEN 6 THEN 'timed out'
        WHEN 7 THEN 'infrastructure failure'
        ELSE 'unknown' END
$$;

-- Queues one build event per id in `build_ids`, in id order.
CREATE FUNCTION queue_build_events(event_topic text, build_ids integer[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO message_outbox (topic, body, publish)
    SELECT event_topic,
           jsonb_build_object(
               'build_id', b.id, 'name', p.name, 'collection', c.name,
               'collection_name', c.display_name,
               'groups', to_jsonb(ARRAY(
                   SELECT CASE WHEN g.namespace IS NULL THEN g.name
                               ELSE g.namespace || '/' || g.name END
                     FROM package_group_relation r JOIN package_group g ON g.id = r.group_id
                    WHERE r.base_id = p.base_id ORDER BY 1)),
               'task_id', b.task_id, 'state', build_state_name(b.state), 'real', b.real,
               'started', b.started, 'finished', b.finished,
               'version', b.version, 'release', b.release),
           false
      FROM build b JOIN package p ON p.id = b.package_id JOIN collection c ON c.id = p.collection_id
     WHERE b.id = ANY(build_ids)
     ORDER BY b.id;
$$;

CREATE FUNCTION build_events() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    started integer[];
    finished integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        started := ARRAY(SELECT id FROM new_rows WHERE state = 2);
        finished := ARRAY(SELECT id FROM new_rows WHERE state <> 2);
    ELSE
        started := '{}';
        finished := ARRAY(SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
                           WHERE o.state = 2 AND n.state <> 2);
    END IF;
    IF cardinality(started) > 0 THEN
        PERFORM queue_build_events('build.started', started);
    END IF;
    IF cardinality(finished) > 0 THEN
        PERFORM queue_build_events('build.finished', finished);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER build_events_insert AFTER INSERT ON build
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION build_events();
CREATE TRIGGER build_events_update AFTER UPDATE ON build
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION build_events();
