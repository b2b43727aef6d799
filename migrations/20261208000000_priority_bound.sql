-- [koschei-rs] An indexed upper bound of every package's priority, so a
-- scheduling decision reads only the packages near the top instead of
-- computing every package's priority.
--
-- The time priority grows monotonically with the age of the last build (its
-- slope has the sign of the threshold, the priority's that of the threshold
-- times the collection's coefficient). So a package's priority at a moment
-- `horizon` in the future is an upper bound of its priority at every moment
-- until then: `priority_bound >= level` holds for every package whose current
-- priority reaches `level` — with `level` = the threshold, the bound is the
-- threshold-crossing moment turned into an indexable value (crossing before the
-- horizon ⟺ bound >= threshold), and it also serves any higher level, which
-- lets the decision skip the crossed packages that cannot be among the best.
--
-- t0, t1 and the threshold are configuration, not data: they are recorded in
-- priority_bound_horizon with the horizon, and refresh_priority_bounds
-- recomputes every bound when they change or the horizon has passed (the
-- scheduler calls it before each decision; it is a no-op otherwise). Every
-- other input is kept current by triggers, so every writer (resolver, poller,
-- watcher, web, admin) is covered.
--
-- Only the package's own state goes into the bound; the collection's state
-- (resolved buildroot, suspension) and the back-off deadline (retry_after,
-- which passes with time) are checked by the decision itself.

-- The time priority at a given moment; time_priority is it at now().
CREATE FUNCTION time_priority_at(last_build_started timestamp, at timestamp,
                                 t0 double precision, t1 double precision,
                                 threshold double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT greatest(
        threshold / (log(t1) - log(t0))
            * log(greatest(extract(epoch FROM at - last_build_started)::float8 / 3600.0, 1e-6))
        - threshold / (log(t1) - log(t0)) * log(t0),
        -30.0);
$$;

CREATE OR REPLACE FUNCTION time_priority(last_build_started timestamp, t0 double precision,
                                         t1 double precision, threshold double precision)
RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT time_priority_at(last_build_started, now() AT TIME ZONE 'UTC', t0, t1, threshold);
$$;

-- The package's own part of package_schedulable: everything but the
-- collection's buildroot and the back-off deadline.
CREATE FUNCTION package_state_schedulable(p package) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT NOT p.blocked
       AND p.tracked
       AND p.scheduler_skip_reason IS NULL
       AND p.last_build_id IS NOT NULL
       AND p.last_complete_build_id IS NOT DISTINCT FROM p.last_build_id
       AND p.resolved IS NOT FALSE
       AND (p.resolved IS NOT NULL OR p.skip_resolution);
$$;

-- Same meaning as before, now built on package_state_schedulable.
CREATE OR REPLACE FUNCTION package_schedulable(p package, c collection) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT package_state_schedulable(p)
       AND c.latest_repo_resolved IS TRUE
       AND (p.retry_after IS NULL OR p.retry_after <= (now() AT TIME ZONE 'UTC'));
$$;

-- The priority sum: manual + static + coefficient * (dependency + build + time).
CREATE FUNCTION priority_sum(p package, coefficient double precision,
                             time_priority double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p.manual_priority::float8 + p.static_priority::float8
        + coefficient * (p.dependency_priority::float8 + p.build_priority::float8 + time_priority);
$$;

-- Current priority: same meaning and arithmetic as before, built on priority_sum.
CREATE OR REPLACE FUNCTION package_priority(p package, c collection, lb build,
                                            t0 double precision, t1 double precision,
                                            threshold double precision)
RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN package_schedulable(p, c) AND lb.id IS NOT NULL THEN
        priority_sum(p, c.priority_coefficient, time_priority(build_time(lb), t0, t1, threshold))
    END;
$$;

-- The configuration the bounds were computed with, and until when they hold.
CREATE TABLE priority_bound_horizon (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    t0 double precision NOT NULL,
    t1 double precision NOT NULL,
    threshold double precision NOT NULL,
    horizon timestamp NOT NULL
);
-- A horizon in the past: the first refresh computes every bound.
INSERT INTO priority_bound_horizon VALUES (true, 6, 168, 256, '2000-01-01');

-- Upper bound of the package's priority until priority_bound_horizon.horizon;
-- NULL when the package's own state makes it unschedulable.
ALTER TABLE package ADD COLUMN priority_bound double precision;
CREATE INDEX ix_package_priority_bound ON package (collection_id, priority_bound)
    WHERE priority_bound IS NOT NULL;

-- The bound (the one definition): the priority at the horizon when the
-- priority grows with time, at the moment of computing when it shrinks.
CREATE FUNCTION package_priority_bound(p package, coefficient double precision, lb build,
                                       h priority_bound_horizon)
RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN package_state_schedulable(p) AND lb.id IS NOT NULL THEN
        priority_sum(p, coefficient, time_priority_at(
            build_time(lb),
            CASE WHEN coefficient * h.threshold >= 0 THEN h.horizon
                 ELSE now() AT TIME ZONE 'UTC' END,
            h.t0, h.t1, h.threshold))
    END;
$$;

-- A package's inputs changed: recompute its bound.
CREATE FUNCTION package_priority_bound_refresh() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF package_state_schedulable(NEW) THEN
        SELECT package_priority_bound(NEW, c.priority_coefficient, lb, h)
          INTO NEW.priority_bound
          FROM collection c CROSS JOIN priority_bound_horizon h
          LEFT JOIN build lb ON lb.id = NEW.last_build_id
         WHERE c.id = NEW.collection_id;
    ELSE
        NEW.priority_bound := NULL;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER package_priority_bound_insert BEFORE INSERT ON package
    FOR EACH ROW EXECUTE FUNCTION package_priority_bound_refresh();
CREATE TRIGGER package_priority_bound_update BEFORE UPDATE ON package
    FOR EACH ROW
    WHEN ((OLD.manual_priority, OLD.static_priority, OLD.dependency_priority, OLD.build_priority,
           OLD.blocked, OLD.tracked, OLD.scheduler_skip_reason, OLD.last_build_id,
           OLD.last_complete_build_id, OLD.resolved, OLD.skip_resolution, OLD.collection_id)
          IS DISTINCT FROM
          (NEW.manual_priority, NEW.static_priority, NEW.dependency_priority, NEW.build_priority,
           NEW.blocked, NEW.tracked, NEW.scheduler_skip_reason, NEW.last_build_id,
           NEW.last_complete_build_id, NEW.resolved, NEW.skip_resolution, NEW.collection_id))
    EXECUTE FUNCTION package_priority_bound_refresh();

-- The time a package's last build counts from changed (tagged later, K#361).
CREATE FUNCTION build_time_priority_bound_refresh() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE package p
       SET priority_bound = package_priority_bound(p, c.priority_coefficient, NEW, h)
      FROM collection c, priority_bound_horizon h
     WHERE p.id = NEW.package_id AND p.last_build_id = NEW.id AND c.id = p.collection_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER build_priority_bound AFTER UPDATE ON build
    FOR EACH ROW
    WHEN (OLD.tagged IS DISTINCT FROM NEW.tagged OR OLD.started IS DISTINCT FROM NEW.started)
    EXECUTE FUNCTION build_time_priority_bound_refresh();

-- A collection's coefficient changed: recompute its packages' bounds.
CREATE FUNCTION collection_priority_bound_refresh() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE package p
       SET priority_bound = package_priority_bound(p, NEW.priority_coefficient, lb, h)
      FROM build lb, priority_bound_horizon h
     WHERE p.collection_id = NEW.id AND lb.id = p.last_build_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER collection_priority_bound AFTER UPDATE ON collection
    FOR EACH ROW
    WHEN (OLD.priority_coefficient IS DISTINCT FROM NEW.priority_coefficient)
    EXECUTE FUNCTION collection_priority_bound_refresh();

-- Makes the bounds hold for the given configuration now: when it differs from
-- the recorded one or the horizon has passed, records it with a horizon
-- `horizon_hours` ahead and recomputes every bound (returns true); otherwise
-- does nothing (returns false).
CREATE FUNCTION refresh_priority_bounds(t0 double precision, t1 double precision,
                                        threshold double precision,
                                        horizon_hours double precision)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM priority_bound_horizon h
                WHERE h.t0 = refresh_priority_bounds.t0 AND h.t1 = refresh_priority_bounds.t1
                  AND h.threshold = refresh_priority_bounds.threshold
                  AND h.horizon >= now() AT TIME ZONE 'UTC') THEN
        RETURN false;
    END IF;
    UPDATE priority_bound_horizon h
       SET t0 = refresh_priority_bounds.t0, t1 = refresh_priority_bounds.t1,
           threshold = refresh_priority_bounds.threshold,
           horizon = now() AT TIME ZONE 'UTC' + make_interval(secs => horizon_hours * 3600);
    UPDATE package p
       SET priority_bound = package_priority_bound(p, c.priority_coefficient, lb, h)
      FROM collection c, build lb, priority_bound_horizon h
     WHERE c.id = p.collection_id AND lb.id = p.last_build_id
       AND p.priority_bound IS DISTINCT FROM package_priority_bound(p, c.priority_coefficient, lb, h);
    RETURN true;
END
$$;
