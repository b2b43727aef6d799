/* The libsolv headers the safe wrapper in src/ffi.rs binds to (system libsolv only). */
#include <stdio.h>
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/repo.h>
#include <solv/repo_solv.h>
#include <solv/repo_write.h>
#include <solv/repo_rpmmd.h>
#include <solv/solver.h>
#include <solv/problems.h>
#include <solv/rules.h>
#include <solv/selection.h>
#include <solv/evr.h>
#include <solv/solv_xfopen.h>
#include <solv/pool_parserpmrichdep.h>
