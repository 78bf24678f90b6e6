/* src/spectral/eps.c: leading eigenpairs of D^-1/2 A D^-1/2 over the kept nodes with SLEPc, applied
   matrix-free so the adjacency is never copied (peak memory stays near one matrix); layered graphs go to
   the half-size problem of bipartite.c. */
#include "eps_impl.h"

typedef struct {
  Mat        A;   /* the full adjacency, borrowed */
  Vec        s;   /* d^-1/2 in the kept layout */
  Vec        w;   /* work, kept layout */
  VecScatter sc;  /* full -> kept (forward); NULL when kept = all nodes in the same layout */
  Vec        xf, yf; /* work, full layout (only with sc) */
} ShellCtx;

/* Krylov basis size: SLEPc's default (about 2 k) for graphs up to MC_EPS_LEAN_ROWS rows; beyond,
   k + max(8, k/2) vectors, which on a 1M-node graph converges as fast and keeps the basis below the
   matrix's own size (bench/bench_large). -eps_ncv overrides either. */
static PetscInt basis_size(Mat A, PetscInt k)
{
  PetscInt n = 0;

  if (MatGetSize(A, &n, NULL)) return PETSC_DEFAULT;
  return n > MC_EPS_LEAN_ROWS ? k + PetscMax(8, k / 2) : PETSC_DEFAULT;
}

void mc__eps_sort_descending(PetscInt n, const PetscReal v[], PetscInt order[])
{
  for (PetscInt i = 1; i < n; ++i)
    for (PetscInt j = i; j > 0 && v[order[j]] > v[order[j - 1]]; --j) {
      PetscInt t   = order[j];
      order[j]     = order[j - 1];
      order[j - 1] = t;
    }
}

PetscErrorCode mc__eps_solve_largest(MPI_Comm comm, Mat Op, PetscInt dim, PetscReal tol, PetscInt max_it, Vec v0, const char *options_prefix, EPS *eps,
                                     PetscInt *nconv)
{
  PetscFunctionBeginUser;
  PetscCall(EPSCreate(comm, eps));
  PetscCall(EPSSetOperators(*eps, Op, NULL));
  PetscCall(EPSSetProblemType(*eps, EPS_HEP));
  PetscCall(EPSSetType(*eps, EPSKRYLOVSCHUR));
  PetscCall(EPSSetWhichEigenpairs(*eps, EPS_LARGEST_REAL));
  PetscCall(EPSSetDimensions(*eps, dim, basis_size(Op, dim), PETSC_DEFAULT));
  PetscCall(EPSSetTolerances(*eps, tol, max_it > 0 ? max_it : PETSC_DEFAULT));
  PetscCall(EPSSetInitialSpace(*eps, 1, &v0));
  if (options_prefix && options_prefix[0]) PetscCall(EPSSetOptionsPrefix(*eps, options_prefix));
  PetscCall(EPSSetFromOptions(*eps));
  PetscCall(PetscLogEventBegin(MC_EVENTS[MC_EVENT_EPS_SOLVE], 0, 0, 0, 0));
  PetscCall(EPSSolve(*eps));
  PetscCall(PetscLogEventEnd(MC_EVENTS[MC_EVENT_EPS_SOLVE], 0, 0, 0, 0));
  PetscCall(EPSGetConverged(*eps, nconv));
  PetscCheck(*nconv >= dim, comm, PETSC_ERR_NOT_CONVERGED,
             "The eigensolver converged %" PetscInt_FMT " of the %" PetscInt_FMT " eigenpairs needed; raise cluster.eig_max_it or loosen cluster.eig_tol",
             *nconv, dim);
  PetscFunctionReturn(0);
}

/* y = S P^T A P S x: S = diag(d^-1/2), P embeds the kept nodes into all nodes. */
static PetscErrorCode shell_mult(Mat M, Vec x, Vec y)
{
  ShellCtx *ctx;

  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(M, &ctx));
  PetscCall(VecPointwiseMult(ctx->w, ctx->s, x));
  if (!ctx->sc) PetscCall(MatMult(ctx->A, ctx->w, y));
  else {
    PetscCall(VecScatterBegin(ctx->sc, ctx->w, ctx->xf, INSERT_VALUES, SCATTER_REVERSE));
    PetscCall(VecScatterEnd(ctx->sc, ctx->w, ctx->xf, INSERT_VALUES, SCATTER_REVERSE));
    PetscCall(MatMult(ctx->A, ctx->xf, ctx->yf));
    PetscCall(VecScatterBegin(ctx->sc, ctx->yf, y, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecScatterEnd(ctx->sc, ctx->yf, y, INSERT_VALUES, SCATTER_FORWARD));
  }
  PetscCall(VecPointwiseMult(y, y, ctx->s));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_spectral_embed(Mat adj, const MCGroups *groups, PetscInt n_kept, const PetscInt kept[], PetscInt dim, PetscReal tol, PetscInt max_it,
                                 uint64_t seed, const char *options_prefix, MCEmbedding **out)
{
  MPI_Comm     comm;
  MCEmbedding *e;
  ShellCtx     ctx;
  Mat          M;
  EPS          eps;
  Vec          d, x, v0;
  PetscInt     nk = PETSC_DECIDE, kstart = 0, rstart, rend, N, nconv, *order;
  PetscBool    need_scatter, done = PETSC_FALSE;
  PetscReal   *mu, *res;

  PetscFunctionBeginUser;
  /* The driver may have started PETSc only; SLEPc's classes need SlepcInitialize, which is legal after
     PetscInitialize and is finalized by PetscFinalize through its registered hooks. */
  {
    PetscBool slepc;
    PetscCall(SlepcInitialized(&slepc));
    if (!slepc) PetscCall(SlepcInitialize(NULL, NULL, NULL, NULL));
  }
  PetscCall(PetscObjectGetComm((PetscObject)adj, &comm));
  PetscCall(MatGetSize(adj, &N, NULL));
  PetscCall(MatGetOwnershipRange(adj, &rstart, &rend));
  PetscCall(PetscSplitOwnership(comm, &nk, &n_kept));
  PetscCall(mc_sys_ownership_start(comm, nk, &kstart));
  {
    PetscInt differ = (n_kept != N || nk != rend - rstart) ? 1 : 0;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &differ, 1, MPIU_INT, MPI_MAX, comm));
    need_scatter = differ ? PETSC_TRUE : PETSC_FALSE;
  }

  /* Degrees in the kept layout and the shell operator. */
  PetscCall(PetscMemzero(&ctx, sizeof(ctx)));
  ctx.A = adj;
  {
    /* A faster product the graph may provide (the replicated blocks of a branched network's graph). */
    PetscObject op = NULL;
    PetscCall(PetscObjectQuery((PetscObject)adj, "mc_graph_mult", &op));
    if (op) ctx.A = (Mat)op;
  }
  PetscCall(MatCreateVecs(adj, NULL, &d));
  PetscCall(MatGetRowSum(adj, d));
  PetscCall(VecCreateMPI(comm, nk, n_kept, &ctx.s));
  PetscCall(VecDuplicate(ctx.s, &ctx.w));
  if (need_scatter) {
    IS is;
    PetscCall(ISCreateGeneral(comm, nk, kept + kstart, PETSC_USE_POINTER, &is));
    PetscCall(VecDuplicate(d, &ctx.xf));
    PetscCall(VecDuplicate(d, &ctx.yf));
    PetscCall(VecSet(ctx.xf, 0));
    PetscCall(VecScatterCreate(d, is, ctx.s, NULL, &ctx.sc));
    PetscCall(VecScatterBegin(ctx.sc, d, ctx.s, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecScatterEnd(ctx.sc, d, ctx.s, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(ISDestroy(&is));
  } else PetscCall(VecCopy(d, ctx.s));
  PetscCall(VecDestroy(&d));
  PetscCall(VecSqrtAbs(ctx.s));
  PetscCall(VecReciprocal(ctx.s));
  PetscCall(PetscNew(&e));
  e->n_kept  = n_kept;
  e->n_local = nk;
  e->rstart  = kstart;
  e->dim     = dim;
  PetscCall(PetscMalloc1(nk * dim, &e->U));
  PetscCall(PetscMalloc1(dim, &e->eigenvalues));
  /* k a large part of the nodes: the dense solver. Graphs from layer blocks are bipartite: solve the
     half-size problem (mc__eps_solve_bipartite) unless -[prefix]mc_bipartite false asks for the general path. */
  {
    PetscBool use = PETSC_TRUE, dense = PETSC_FALSE;

    PetscCall(mc__eps_dense_choose(comm, n_kept, dim, options_prefix, &dense));
    if (dense) {
      PetscCall(mc__eps_solve_dense(adj, n_kept, kept, dim, e));
      done = PETSC_TRUE;
    }
    PetscCall(PetscOptionsGetBool(NULL, options_prefix, "-mc_bipartite", &use, NULL));
    if (!done && groups && groups->n_groups > 0 && use) PetscCall(mc__eps_solve_bipartite(adj, groups, ctx.s, n_kept, kept, dim, tol, max_it, seed, options_prefix, e, &done));
  }
  if (!done) {
    PetscCall(MatCreateShell(comm, nk, nk, n_kept, n_kept, &ctx, &M));
    PetscCall(MatShellSetOperation(M, MATOP_MULT, (void (*)(void))shell_mult));

    /* A deterministic start vector, a function of the global node id only (not of the rank count). */
    PetscCall(VecDuplicate(ctx.s, &v0));
    {
      PetscScalar *a;
      PetscCall(VecGetArray(v0, &a));
      for (PetscInt i = 0; i < nk; ++i) {
        MCRng r;
        mc_rng_init(&r, seed, MC_STREAM_KMEANS, ((uint64_t)1 << 62) | (uint64_t)kept[kstart + i]);
        a[i] = 0.5 + mc_rng_uniform(&r);
      }
      PetscCall(VecRestoreArray(v0, &a));
    }

    PetscCall(mc__eps_solve_largest(comm, M, dim, tol, max_it, v0, options_prefix, &eps, &nconv));
    /* Converged pairs are judged by SLEPc's default test (residual relative to |mu|, as ARPACK's); the
       residual reported is ||M x - mu x||, relative to ||M|| = 1, which stays meaningful for mu near 0. */

    e->n_converged = nconv;
    PetscCall(PetscMalloc3(dim, &mu, dim, &res, dim, &order));
    for (PetscInt i = 0; i < dim; ++i) {
      PetscScalar kr;
      PetscCall(EPSGetEigenvalue(eps, i, &kr, NULL));
      PetscCall(EPSComputeError(eps, i, EPS_ERROR_ABSOLUTE, &res[i]));
      mu[i]    = PetscRealPart(kr);
      order[i] = i;
    }
    /* Ascending 1 - mu, i.e. descending mu; the solver's order already is, but do not rely on it. */
    mc__eps_sort_descending(dim, mu, order);
    PetscCall(MatCreateVecs(M, &x, NULL));
    e->max_residual = 0;
    for (PetscInt c = 0; c < dim; ++c) {
      const PetscScalar *xa, *sa;
      e->eigenvalues[c] = 1 - mu[order[c]];
      e->max_residual   = PetscMax(e->max_residual, res[order[c]]);
      PetscCall(EPSGetEigenvector(eps, order[c], x, NULL));
      PetscCall(VecGetArrayRead(x, &xa));
      PetscCall(VecGetArrayRead(ctx.s, &sa));
      for (PetscInt i = 0; i < nk; ++i) e->U[i * dim + c] = PetscRealPart(xa[i] * sa[i]);
      PetscCall(VecRestoreArrayRead(ctx.s, &sa));
      PetscCall(VecRestoreArrayRead(x, &xa));
    }
    PetscCall(PetscFree3(mu, res, order));
    PetscCall(VecDestroy(&x));
    PetscCall(VecDestroy(&v0));
    PetscCall(EPSDestroy(&eps));
    PetscCall(MatDestroy(&M));
  }
  PetscCall(VecDestroy(&ctx.s));
  PetscCall(VecDestroy(&ctx.w));
  PetscCall(VecDestroy(&ctx.xf));
  PetscCall(VecDestroy(&ctx.yf));
  PetscCall(VecScatterDestroy(&ctx.sc));
  PetscCall(mc_spectral_sign_flip(comm, e->n_local, e->rstart, dim, e->U));
  *out = e;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_spectral_embedding_destroy(MCEmbedding **e)
{
  PetscFunctionBeginUser;
  if (!e || !*e) PetscFunctionReturn(0);
  PetscCall(PetscFree((*e)->U));
  PetscCall(PetscFree((*e)->eigenvalues));
  PetscCall(PetscFree(*e));
  PetscFunctionReturn(0);
}
