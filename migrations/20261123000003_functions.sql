-- SQL functions: RPM version comparison (spec §3.7) and the single
-- definitions of package state, message state, current priority and skip
-- reasons (spec §2.1, §2.2, §4.4) that the scheduler, the web and the CLI
-- all use. The Rust twin of rpmvercmp lives in koschei_core::evr and is
-- tested against the same vectors.

-- rpmvercmp(a, b) -> -1 | 0 | 1, the algorithm of rpm's rpmvercmp(): ASCII
-- alphanumerics form segments (digit runs or letter runs), everything else
-- separates them; '~' sorts before anything (even the end), '^' after the
-- end but before any other segment; numeric segments compare by value
-- (length after stripping zeros, then lexically), digits beat letters.
CREATE FUNCTION rpmvercmp(a text, b text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    la integer := length(a);
    lb integer := length(b);
    i integer := 1;
    j integer := 1;
    ci text;
    cj text;
    si integer;
    sj integer;
    seg1 text;
    seg2 text;
    isnum boolean;
BEGIN
    IF a = b THEN
        RETURN 0;
    END IF;
    WHILE i <= la OR j <= lb LOOP
        WHILE i <= la AND substr(a, i, 1) !~ '^[A-Za-z0-9~^]$' LOOP
            i := i + 1;
        END LOOP;
        WHILE j <= lb AND substr(b, j, 1) !~ '^[A-Za-z0-9~^]$' LOOP
            j := j + 1;
        END LOOP;
        ci := CASE WHEN i <= la THEN substr(a, i, 1) ELSE '' END;
        cj := CASE WHEN j <= lb THEN substr(b, j, 1) ELSE '' END;

        IF ci = '~' OR cj = '~' THEN
            IF ci <> '~' THEN RETURN 1; END IF;
            IF cj <> '~' THEN RETURN -1; END IF;
            i := i + 1;
            j := j + 1;
            CONTINUE;
        END IF;

        IF ci = '^' OR cj = '^' THEN
            IF ci = '' THEN RETURN -1; END IF;
            IF cj = '' THEN RETURN 1; END IF;
            IF ci <> '^' THEN RETURN 1; END IF;
            IF cj <> '^' THEN RETURN -1; END IF;
            i := i + 1;
            j := j + 1;
            CONTINUE;
        END IF;

        IF ci = '' OR cj = '' THEN
            EXIT;
        END IF;

        si := i;
        sj := j;
        IF ci ~ '^[0-9]$' THEN
            isnum := true;
            WHILE i <= la AND substr(a, i, 1) ~ '^[0-9]$' LOOP i := i + 1; END LOOP;
            WHILE j <= lb AND substr(b, j, 1) ~ '^[0-9]$' LOOP j := j + 1; END LOOP;
        ELSE
            isnum := false;
            WHILE i <= la AND substr(a, i, 1) ~ '^[A-Za-z]$' LOOP i := i + 1; END LOOP;
            WHILE j <= lb AND substr(b, j, 1) ~ '^[A-Za-z]$' LOOP j := j + 1; END LOOP;
        END IF;

        seg1 := substr(a, si, i - si);
        seg2 := substr(b, sj, j - sj);
        IF seg2 = '' THEN
            -- segments of different types: the numeric one is newer
            RETURN CASE WHEN isnum THEN 1 ELSE -1 END;
        END IF;
        IF isnum THEN
            seg1 := ltrim(seg1, '0');
            seg2 := ltrim(seg2, '0');
            IF length(seg1) > length(seg2) THEN RETURN 1; END IF;
            IF length(seg2) > length(seg1) THEN RETURN -1; END IF;
        END IF;
        IF seg1 COLLATE "C" < seg2 COLLATE "C" THEN RETURN -1; END IF;
        IF seg1 COLLATE "C" > seg2 COLLATE "C" THEN RETURN 1; END IF;
    END LOOP;
    IF i > la AND j > lb THEN
        RETURN 0;
    END IF;
    RETURN CASE WHEN i > la THEN -1 ELSE 1 END;
END
$$;

-- Compares two (epoch, version, release) triples; a NULL epoch counts as 0.
CREATE FUNCTION rpmvercmp_evr(e1 integer, v1 text, r1 text, e2 integer, v2 text, r2 text)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN COALESCE(e1, 0) < COALESCE(e2, 0) THEN -1
        WHEN COALESCE(e1, 0) > COALESCE(e2, 0) THEN 1
        ELSE COALESCE(NULLIF(rpmvercmp(COALESCE(v1, ''), COALESCE(v2, '')), 0),
                      rpmvercmp(COALESCE(r1, ''), COALESCE(r2, '')))
    END;
$$;

-- Package state string (spec §4.4), first match wins.
CREATE FUNCTION package_state(p package) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p.blocked THEN 'blocked'
        WHEN NOT p.tracked THEN 'untracked'
        WHEN p.resolved IS FALSE THEN 'unresolved'
        WHEN p.last_complete_build_state = 3 THEN 'ok'
        WHEN p.last_complete_build_state = 5 THEN 'failing'
        ELSE 'unknown'
    END;
$$;

-- State used in bus messages: ok / failing / unresolved, anything else ignored.
CREATE FUNCTION package_msg_state(p package) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN package_state(p) IN ('ok', 'failing', 'unresolved')
                THEN package_state(p) ELSE 'ignored' END;
$$;

-- Collection (buildroot) state string.
CREATE FUNCTION collection_state(c collection) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE c.latest_repo_resolved WHEN true THEN 'ok' WHEN false THEN 'unresolved' ELSE 'unknown' END;
$$;

-- Time priority (spec §2.1): 0 at t0 hours after the last build started,
-- the build threshold at t1 hours, floored at -30.
CREATE FUNCTION time_priority(last_build_started timestamp, t0 double precision,
                              t1 double precision, threshold double precision)
RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT greatest(
        threshold / (log(t1) - log(t0))
            * log(greatest(extract(epoch FROM (now() AT TIME ZONE 'UTC') - last_build_started)::float8 / 3600.0,
                           1e-6))
        - threshold / (log(t1) - log(t0)) * log(t0),
        -30.0);
$$;

-- Whether the scheduler may consider the package at all (spec §2.2). The
-- original's NULL pitfall (a NULL last complete build made the running-build
-- test NULL) is fixed with IS DISTINCT FROM. [koschei-rs] A package the
-- scheduler found without SRPM or allowed arch waits for a new real build
-- or arch override (instead of the original's nulled build pointers), and a
-- package in back-off after an infrastructure failure waits until
-- retry_after.
CREATE FUNCTION package_schedulable(p package, c collection) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT NOT p.blocked
       AND p.tracked
       AND p.scheduler_skip_reason IS NULL
       AND p.last_build_id IS NOT NULL
       AND p.last_complete_build_id IS NOT DISTINCT FROM p.last_build_id
       AND p.resolved IS NOT FALSE
       AND (p.resolved IS NOT NULL OR p.skip_resolution)
       AND c.latest_repo_resolved IS TRUE
       AND (p.retry_after IS NULL OR p.retry_after <= (now() AT TIME ZONE 'UTC'));
$$;

-- The time a build counts from: when it was tagged (real builds merged
-- later, K#361), else when it started.
CREATE FUNCTION build_time(b build) RETURNS timestamp
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(b.tagged, b.started);
$$;

-- Current priority (spec §2.1–2.2): NULL when the package cannot be
-- scheduled, otherwise manual + static + coefficient * (dependency + build +
-- time priority). `lb` is the package's last build (a NULL row when it has
-- none); time counts from build_time(lb).
CREATE FUNCTION package_priority(p package, c collection, lb build,
                                 t0 double precision, t1 double precision,
                                 threshold double precision)
RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN package_schedulable(p, c) AND lb.id IS NOT NULL THEN
        p.manual_priority + p.static_priority
        + c.priority_coefficient * (p.dependency_priority + p.build_priority
                                    + time_priority(build_time(lb), t0, t1, threshold))
    END;
$$;

-- Human-readable reasons why a package is not schedulable (spec §2.2
-- wording and order); empty when it is.
CREATE FUNCTION package_skip_reasons(p package, c collection) RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT array_remove(ARRAY[
        CASE WHEN p.scheduler_skip_reason = 1 THEN 'No suitable SRPM was found' END,
        CASE WHEN p.scheduler_skip_reason = 2 THEN 'No build architecture allowed for SRPM' END,
        CASE WHEN NOT p.tracked THEN 'Package is not tracked' END,
        CASE WHEN p.blocked THEN 'Package is blocked in koji' END,
        CASE WHEN p.last_build_id IS NOT NULL
                  AND p.last_complete_build_id IS DISTINCT FROM p.last_build_id
             THEN 'Package has a running build' END,
        CASE WHEN p.resolved IS FALSE THEN 'Package dependencies are not resolvable' END,
        CASE WHEN p.resolved IS NULL AND NOT p.skip_resolution
             THEN 'Package dependencies were not resolved yet' END,
        CASE WHEN p.last_build_id IS NULL THEN 'Package has no known build' END,
        CASE WHEN c.latest_repo_resolved IS FALSE
             THEN 'Base buildroot for ' || c.display_name || ' is not resolvable' END,
        CASE WHEN c.latest_repo_resolved IS NULL
             THEN 'Base buildroot for ' || c.display_name || ' was not resolved yet' END,
        CASE WHEN p.retry_after > (now() AT TIME ZONE 'UTC')
             THEN 'Package is waiting until ' || to_char(p.retry_after, 'YYYY-MM-DD HH24:MI:SS')
                  || ' UTC to retry after ' || p.infra_failures || ' infrastructure failure(s)' END
    ], NULL);
$$;
