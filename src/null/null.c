/* src/null/null.c: the clusterability null (docs/method.md section 7): shuffled (and optionally freshly
   initialized) networks re-clustered with the identical pipeline, farmed over groups of ranks; finished
   tasks go to the checkpoint (checkpoint.c), so an interrupted run resumes. */
#include <math.h>
#include "mc/farm.h"
#include "null_impl.h"

/* Non-zeros per rank above which the automatic rule gives a shuffle more than one rank. */
#define MC_NULL_NNZ_PER_RANK 4000000.0

PetscInt mc_null_group_size_auto(PetscInt64 nnz, PetscMPIInt size, PetscInt n_tasks)
{
  PetscInt64 g = (PetscInt64)ceil((double)nnz / MC_NULL_NNZ_PER_RANK);

  if (n_tasks > 0 && (PetscInt64)size / n_tasks > g) g = (PetscInt64)size / n_tasks;
  if (g < 1) g = 1;
  if (g > size) g = size;
  return (PetscInt)g;
}

/* ------------------------------------------------------------------ the tasks */

typedef struct {
  const MCNullOpts    *opts;
  const MCModel       *model;
  const MCShuffleBase *base;
  uint64_t             seed;
  PetscInt             n_shuffles;
  MCCheckpoint        *ck;           /* NULL when checkpointing is off */
  const PetscInt      *local_k;    /* a local partitioning's k per group (the truth's), or NULL */
} NullCtx;

static PetscErrorCode null_task(void *ctx_, MPI_Comm comm, PetscInt t, PetscReal result[])
{
  NullCtx      *ctx = (NullCtx *)ctx_;
  MCGraph      *g   = NULL;
  MCClustering *c   = NULL;
  MCGroups      gr;

  PetscFunctionBeginUser;
  if (t < ctx->n_shuffles) PetscCall(mc_shuffle_graph(comm, ctx->base, ctx->opts->shuffle, ctx->seed, t, &g));
  else {
    MCModel *m = NULL;
    /* Trial i: weight layer w from the stream (seed, MC_STREAM_INIT, (i + 1) * 4096 + w). */
    PetscCall(mc_model_create_initialized(ctx->model, ctx->seed, (uint64_t)(t - ctx->n_shuffles + 1) * MC_SHUFFLE_MAX_BLOCKS, &m));
    PetscCall(mc_graph_build(comm, &ctx->opts->graph, m, &g));
    PetscCall(mc_model_destroy(&m));
  }
  /* A local partitioning's windows get the true network's k: its n-cut, a sum over windows, grows with k. */
  gr = mc_graph_groups(g);
  if (ctx->local_k) PetscCall(mc_cluster_local_given(g, ctx->local_k, &ctx->opts->cluster, &c));
  else PetscCall(mc_cluster_graph(g->adj, &gr, &ctx->opts->cluster, &c));
  result[0] = c->ncut;
  result[1] = 1; /* done: a stopped run leaves the slots of tasks it never ran at zero */
  PetscCall(mc_cluster_destroy(&c));
  PetscCall(mc_graph_destroy(&g));
  PetscFunctionReturn(0);
}

/* Called on each group's first rank after each task: append it to this rank's checkpoint file. */
static PetscErrorCode null_done(void *ctx_, MPI_Comm comm, PetscInt t, PetscReal result[])
{
  NullCtx *ctx = (NullCtx *)ctx_;

  PetscFunctionBeginUser;
  if (ctx->ck && result[1] != 0) PetscCall(mc_io_checkpoint_record(ctx->ck, t, result));
  PetscFunctionReturn(0);
}

/* ------------------------------------------------------------------ the test */

/* Ranks per shuffle: the stored non-zeros of a shuffled graph (both triangles) decide the automatic rule. */
static PetscInt choose_group_size(const MCNullOpts *opts, const MCShuffleBase *base, PetscMPIInt size, PetscInt n_tasks)
{
  PetscInt64 nnz = 0;
  PetscInt   gs;

  for (PetscInt b = 0; b < base->n_blocks; ++b) {
    PetscInt n = mc_shuffle_block_size(base, b);

    for (PetscInt e = 0; e < n; ++e)
      if (base->block[b][e] != 0) nnz += 2;
  }
  gs = opts->group_size > 0 ? opts->group_size : mc_null_group_size_auto(nnz, size, n_tasks);
  return PetscMax(1, PetscMin(gs, (PetscInt)size));
}

/* The statistics of the finished tasks res (2 values per task). */
static PetscErrorCode summarize(const MCNullOpts *opts, const PetscReal res[], MCNull *nul)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(nul->n_shuffles, &nul->ncut_shuffled));
  for (PetscInt t = 0; t < nul->n_shuffles; ++t) nul->ncut_shuffled[t] = res[2 * t];
  PetscCall(mc_stats_perm_pvalue(nul->ncut_true, nul->n_shuffles, nul->ncut_shuffled, MC_TAIL_LOWER, opts->ties, &nul->p_value, NULL));
  PetscCall(mc_stats_zscore(nul->ncut_true, nul->n_shuffles, nul->ncut_shuffled, &nul->z_score, &nul->mean, &nul->std));
  nul->random_init_mean = nul->random_init_std = (PetscReal)NAN;
  if (nul->n_random_init > 0) {
    PetscReal z;

    PetscCall(PetscMalloc1(nul->n_random_init, &nul->ncut_random_init));
    for (PetscInt i = 0; i < nul->n_random_init; ++i) nul->ncut_random_init[i] = res[2 * (nul->n_shuffles + i)];
    PetscCall(mc_stats_zscore(nul->ncut_true, nul->n_random_init, nul->ncut_random_init, &z, &nul->random_init_mean, &nul->random_init_std));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc_null_run(MPI_Comm comm, const MCNullOpts *opts, const MCModel *model, const MCGraph *graph, const MCClustering *truth,
                           MCNull **out)
{
  MCNull        *nul;
  MCShuffleBase *base = NULL;
  NullCtx        ctx;
  MCFarmOpts     fo = {0};
  PetscReal     *res;
  PetscBool     *skip = NULL;
  PetscMPIInt    size;
  PetscInt       n_tasks, n_missing = 0;
  PetscBool      stopped = PETSC_FALSE;
  PetscLogDouble t0, t1;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscNew(&nul));
  nul->shuffle       = opts->shuffle;
  nul->p_ties        = opts->ties;
  nul->n_shuffles    = opts->n_shuffles;
  nul->n_random_init = opts->random_init_trials;
  nul->ncut_true     = truth->ncut;
  PetscCheck(nul->n_shuffles >= 1, comm, PETSC_ERR_USER_INPUT, "clusterability.n_shuffles = %" PetscInt_FMT " must be at least 1 to run the null", nul->n_shuffles);
  n_tasks = nul->n_shuffles + nul->n_random_init;

  PetscCall(PetscMemzero(&ctx, sizeof(ctx)));
  PetscCall(mc_shuffle_base_create(comm, graph, &base));
  ctx.opts       = opts;
  ctx.model      = model;
  ctx.base       = base;
  ctx.local_k    = truth->local_k;
  ctx.seed       = opts->cluster.seed;
  ctx.n_shuffles = nul->n_shuffles;
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-null_stop_after", &fo.stop_after, NULL));
  nul->group_size = choose_group_size(opts, base, size, n_tasks);
  nul->n_groups   = (size + nul->group_size - 1) / nul->group_size;

  PetscCall(PetscCalloc1(2 * n_tasks, &res));
  if (opts->checkpoint) {
    PetscCall(PetscCalloc1(n_tasks, &skip));
    PetscCall(mc__null_checkpoint_open(comm, opts, graph, nul, res, skip, &ctx.ck));
  }
  fo.label    = "null";
  fo.skip     = skip;
  fo.on_done  = null_done;
  fo.done_ctx = &ctx;
  fo.stoppable = PETSC_TRUE;
  fo.stopped   = &stopped;
  ierr = mc_farm_run_groups(comm, nul->group_size, n_tasks, 2, null_task, &ctx, &fo, res);
  /* The records are final: free the lock now, so that no later error (here or in a later stage) leaves it
     behind. The records stay until the run's output is complete, for a rerun to resume from. */
  PetscCall(mc_io_checkpoint_close(&ctx.ck));
  PetscCall(ierr);

  /* res and stopped are identical on every rank. */
  for (PetscInt t = 0; t < n_tasks; ++t) n_missing += res[2 * t + 1] == 0;
  PetscCheck(!stopped, comm, PETSC_ERR_SIG,
             "The clusterability null stopped early (SIGTERM or -null_stop_after) with %" PetscInt_FMT " of %" PetscInt_FMT " tasks done; %s",
             n_tasks - n_missing, n_tasks,
             opts->checkpoint ? "they are saved in the checkpoint next to the output directory: rerun the same command to resume" : "checkpointing is off (clusterability.checkpoint = false), so they are lost");
  PetscCall(summarize(opts, res, nul));
  PetscCall(PetscTime(&t1));
  nul->seconds = t1 - t0;

  PetscCall(PetscFree(skip));
  PetscCall(PetscFree(res));
  PetscCall(mc_shuffle_base_destroy(&base));
  *out = nul;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_null_destroy(MCNull **n)
{
  PetscFunctionBeginUser;
  if (!n || !*n) PetscFunctionReturn(0);
  PetscCall(PetscFree((*n)->ncut_shuffled));
  PetscCall(PetscFree((*n)->ncut_random_init));
  PetscCall(PetscFree(*n));
  PetscFunctionReturn(0);
}
