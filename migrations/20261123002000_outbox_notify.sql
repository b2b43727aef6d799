-- Wakes the watcher's outbox publisher (LISTEN koschei_outbox) as soon as a
-- transaction that queued messages commits; one notification per statement.
CREATE FUNCTION notify_message_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('koschei_outbox', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER message_outbox_notify
    AFTER INSERT ON message_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION notify_message_outbox();
