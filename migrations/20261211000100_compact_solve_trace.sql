-- [koschei-rs] The solve trace of a resolved set in one compact bytea column
-- instead of two int4 arrays (koschei-rs#16: the arrays travelled as text and
-- pushed rows over the TOAST threshold, so every row was compressed).
-- trace holds the same positions into the row's ascending dependency id list
-- (the level-1 installs; the requires rules that forced a level-1 decision as
-- (package position, position of the dependency in its requires)) as unsigned
-- LEB128 varints: the level-1 positions as runs of consecutive positions, the
-- reason pairs with the package position delta-encoded
-- (services/resolver/src/stored_trace.rs has the format): 0.26 KB a trace on
-- average on a sample of the corpus, against 2.5 KB of arrays. NULL: no trace.
-- The old arrays are dropped, not converted: rows written before this
-- migration have no trace, so their packages are solved when a grown
-- requirement is in their rule universe (the rule for rows without a trace)
-- and store a trace from then on.
ALTER TABLE resolver_package_deps
    ADD COLUMN trace bytea,
    DROP COLUMN trace_level1,
    DROP COLUMN trace_reasons;
