-- [koschei-rs] Incremental passes in the service: with a resolved set, the
-- trace of the solve that produced it, which lets the next repo's pass reuse
-- the set although a requirement in its rule universe gained providers
-- (koschei_depsolve::RepoDelta::plan_traced). Positions are 0-based indices
-- into the row's decoded, ascending dependency id list:
--   trace_level1   the packages installed at decision level 1, ascending;
--   trace_reasons  pairs (package position, position of the dependency in
--                  that package's requires), flattened, ascending: the
--                  requires rules that forced a level-1 decision.
-- NULL (both): no trace (unresolved, a learnt rule shaped the solve, or a row
-- written before this migration); such a set is reused only when no grown
-- requirement is in its rule universe.
ALTER TABLE resolver_package_deps
    ADD COLUMN trace_level1 int4[],
    ADD COLUMN trace_reasons int4[];
