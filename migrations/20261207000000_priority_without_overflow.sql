-- Current priority without integer overflow: the integer components are
-- summed as double precision, so extreme stored values (int4 limits) give
-- a large priority instead of "integer out of range" failing every query
-- that orders or filters by priority (the scheduler's candidate query, the
-- sorted package list). Same signature and meaning as before.
CREATE OR REPLACE FUNCTION package_priority(p package, c collection, lb build,
                                            t0 double precision, t1 double precision,
                                            threshold double precision)
RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN package_schedulable(p, c) AND lb.id IS NOT NULL THEN
        p.manual_priority::float8 + p.static_priority::float8
        + c.priority_coefficient * (p.dependency_priority::float8 + p.build_priority::float8
                                    + time_priority(build_time(lb), t0, t1, threshold))
    END;
$$;
