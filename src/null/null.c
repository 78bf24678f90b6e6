/* src/null/null.c: the clusterability null (METHOD.md section 6): shuffled (and optionally freshly
   initialized) networks re-clustered with the identical pipeline, farmed over groups of ranks, with a
   checkpoint that lets an interrupted run resume. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mc/farm.h"
#include "mc/null.h"
#include "mc/pvalue.h"
#include "mc/run.h"
#include "mc/shuffle.h"
#include "mc/sys.h"

/* Non-zeros per rank above which the automatic rule gives a shuffle more than one rank. */
#define MC_NULL_NNZ_PER_RANK 4000000.0

/* Set by the SIGTERM handler while the null runs (Slurm's --signal); the only way a handler can talk to
   the program, hence file scope. */
static volatile sig_atomic_t null_sigterm = 0;

static void on_sigterm(int sig)
{
  (void)sig;
  null_sigterm = 1;
}

PetscInt mc_null_group_size_auto(PetscInt64 nnz, PetscMPIInt size, PetscInt n_tasks)
{
  PetscInt64 g = (PetscInt64)ceil((double)nnz / MC_NULL_NNZ_PER_RANK);

  if (n_tasks > 0 && (PetscInt64)size / n_tasks > g) g = (PetscInt64)size / n_tasks;
  if (g < 1) g = 1;
  if (g > size) g = size;
  return (PetscInt)g;
}

/* ------------------------------------------------------------------ checkpoint files */

typedef struct {
  char      prefix[PETSC_MAX_PATH_LEN]; /* files are <prefix>.<tag> */
  PetscInt  n_shuffles, n_trials;
  PetscReal *mine;                      /* this rank's finished tasks (group leaders), 2 values per task */
  PetscBool *mine_set;
  PetscMPIInt world_rank;
} Checkpoint;

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
  const unsigned char *p = (const unsigned char *)data;
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

/* Whether PETSc option `name` (without its dash, perhaps behind an options prefix) can change a shuffle's
   n-cut: the eigensolver's (SLEPc's eps, st, bv, ds, rg objects) and the choice of eigenproblem. */
static PetscBool option_matters(const char *name)
{
  static const char *const keys[] = {"eps_", "st_", "bv_", "ds_", "rg_", "mc_bipartite"};
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); ++i)
    if (strstr(name, keys[i])) return PETSC_TRUE;
  return PETSC_FALSE;
}

/* Hash of everything the null's n-cuts depend on: the [model], [graph], [cluster] and [layer.N] sections,
   the shuffle method, the eigensolver's PETSc options, and the true graph's blocks (so a changed model
   file invalidates the checkpoint). The number of shuffles and trials, the group size, the output keys and
   PETSc's reporting options (-log_view, -info...) are left out: a shuffle's n-cut does not depend on them. */
static PetscErrorCode config_hash(const MCConfig *cfg, const MCGraph *g, uint64_t *hash)
{
  uint64_t    h = 14695981039346656037ULL;
  const char *p = cfg->text;
  char        section[512] = "", *opts, *tok, *save = NULL;
  PetscBool   keep_value = PETSC_FALSE;

  PetscFunctionBeginUser;

  while (*p) {
    const char *e = strchr(p, '\n');
    size_t      n = e ? (size_t)(e - p) : strlen(p);
    char        line[512];
    size_t      m = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
    memcpy(line, p, m);
    line[m] = 0;
    if (line[0] == '[') {
      char *close = strchr(line, ']');
      if (close) *close = 0;
      snprintf(section, sizeof(section), "%s", line + 1);
    } else if (line[0] && line[0] != ';' && line[0] != '#') {
      PetscBool use = (!strcmp(section, "model") || !strcmp(section, "graph") || !strcmp(section, "cluster") || !strncmp(section, "layer.", 6)) ? PETSC_TRUE : PETSC_FALSE;
      if (!strcmp(section, "clusterability") && !strncmp(line, "shuffle ", 8)) use = PETSC_TRUE;
      if (use) {
        h = fnv1a(h, section, strlen(section));
        h = fnv1a(h, p, n);
      }
    }
    p += n;
    if (*p == '\n') p++;
  }
  for (PetscInt b = 0; b < g->n_blocks; ++b) {
    PetscInt n = (g->group_offset[b + 1] - g->group_offset[b]) * (g->group_offset[b + 2] - g->group_offset[b + 1]);
    h = fnv1a(h, g->block[b], (size_t)n * sizeof(PetscReal));
  }
  /* "-name value -name ...": an option's name starts with a dash and a letter; a value may be negative. */
  PetscCall(PetscOptionsGetAll(NULL, &opts));
  for (tok = strtok_r(opts, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
    PetscBool is_name = tok[0] == '-' && tok[1] && !isdigit((unsigned char)tok[1]) && tok[1] != '.' ? PETSC_TRUE : PETSC_FALSE;
    if (is_name) keep_value = option_matters(tok + 1);
    if (keep_value) h = fnv1a(h, tok, strlen(tok) + 1);
  }
  PetscCall(PetscFree(opts));
  *hash = h;
  PetscFunctionReturn(0);
}

/* Parse one checkpoint file into res (2 values per task: n-cut, 1 = done). Lines "s <index> <hex float>"
   (shuffle) and "r <index> <hex float>" (random-init trial); the header and unknown lines are ignored,
   entries beyond this run's counts too. A truncated last line cannot happen (files are renamed into
   place), but a malformed line is skipped anyway. */
static void ckpt_read_file(const char *path, const Checkpoint *ck, PetscReal res[])
{
  FILE *fp = fopen(path, "r");
  char  line[256];

  if (!fp) return;
  while (fgets(line, sizeof(line), fp)) {
    char     *end, *end2;
    long      idx;
    double    v;
    PetscInt  t;
    if ((line[0] != 's' && line[0] != 'r') || line[1] != ' ') continue;
    idx = strtol(line + 2, &end, 10);
    if (end == line + 2 || idx < 0) continue;
    v = strtod(end, &end2);
    if (end2 == end) continue;
    if (line[0] == 's') {
      if (idx >= ck->n_shuffles) continue;
      t = (PetscInt)idx;
    } else {
      if (idx >= ck->n_trials) continue;
      t = ck->n_shuffles + (PetscInt)idx;
    }
    res[2 * t]     = (PetscReal)v;
    res[2 * t + 1] = 1;
  }
  fclose(fp);
}

/* Write the finished tasks of res (flag set) to <prefix>.<tag> through a temporary file and rename(), so
   a reader never sees half a file. Hex floats keep every bit. */
static PetscErrorCode ckpt_write_file(const Checkpoint *ck, const char *tag, const PetscReal res[], const PetscBool *set)
{
  char  path[PETSC_MAX_PATH_LEN], tmp[PETSC_MAX_PATH_LEN + 16];
  FILE *fp;

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s.%s", ck->prefix, tag));
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", path));
  fp = fopen(tmp, "w");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write the clusterability checkpoint %s: %s", tmp, strerror(errno));
  fprintf(fp, "modclust-null-checkpoint 1\n");
  for (PetscInt t = 0; t < ck->n_shuffles + ck->n_trials; ++t) {
    if (set ? !set[t] : res[2 * t + 1] == 0) continue;
    if (t < ck->n_shuffles) fprintf(fp, "s %" PetscInt_FMT " %a\n", t, (double)res[2 * t]);
    else fprintf(fp, "r %" PetscInt_FMT " %a\n", t - ck->n_shuffles, (double)res[2 * t]);
  }
  PetscCheck(!ferror(fp) && fclose(fp) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write the clusterability checkpoint %s", tmp);
  PetscCheck(rename(tmp, path) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
  PetscFunctionReturn(0);
}

/* Visit the checkpoint files <prefix>.* (not the .tmp ones): read them into res, or remove them (keeping
   `keep_tag`, may be NULL). Rank 0 only. */
static PetscErrorCode ckpt_scan(const Checkpoint *ck, PetscBool remove, const char *keep_tag, PetscReal res[])
{
  char        dir[PETSC_MAX_PATH_LEN], base[PETSC_MAX_PATH_LEN], path[2 * PETSC_MAX_PATH_LEN + 2];
  const char *slash = strrchr(ck->prefix, '/');
  size_t      nb;
  DIR        *d;
  struct dirent *e;

  PetscFunctionBeginUser;
  if (slash) {
    size_t n = (size_t)(slash - ck->prefix);
    if (n == 0) n = 1; /* "/name": the root directory */
    PetscCall(PetscSNPrintf(dir, sizeof(dir), "%.*s", (int)n, ck->prefix));
    PetscCall(PetscSNPrintf(base, sizeof(base), "%s.", slash + 1));
  } else {
    PetscCall(PetscStrncpy(dir, ".", sizeof(dir)));
    PetscCall(PetscSNPrintf(base, sizeof(base), "%s.", ck->prefix));
  }
  nb = strlen(base);
  d  = opendir(dir);
  if (!d) PetscFunctionReturn(0);
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (strncmp(e->d_name, base, nb) != 0) continue;
    if (len >= 5 && !strcmp(e->d_name + len - 5, ".lock")) continue; /* mc_sys_lock_release removes it */
    if (len >= 4 && !strcmp(e->d_name + len - 4, ".tmp")) {
      if (remove) {
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        (void)unlink(path);
      }
      continue;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    if (remove) {
      if (!keep_tag || strcmp(e->d_name + nb, keep_tag) != 0) (void)unlink(path);
    } else ckpt_read_file(path, ck, res);
  }
  closedir(d);
  PetscFunctionReturn(0);
}

/* ------------------------------------------------------------------ the tasks */

typedef struct {
  const MCConfig      *cfg;
  const MCModel       *model;
  const MCShuffleBase *base;
  MCShuffleKind        kind;
  MCClusterOpts        opts;
  uint64_t             seed;
  PetscInt             n_shuffles;
  PetscInt             stop_after; /* test-only: computed tasks per group before stopping; 0 = never */
  PetscInt             n_done;     /* tasks computed by this rank's group in this run */
  Checkpoint          *ck;         /* NULL when checkpointing is off */
} NullCtx;

/* A freshly initialized network of m's architecture: Glorot-uniform kernels U(-a, a),
   a = sqrt(6 / (fan_in + fan_out)) (conv fans times kh * kw), zero biases, BatchNorm at its initial state
   (gamma 1, moving variance 1). Stream (seed, MC_STREAM_INIT, (trial + 1) * 4096 + weight layer). */
static PetscErrorCode random_init_model(const MCModel *m, uint64_t seed, PetscInt trial, MCModel **out)
{
  MCModel *c;
  PetscInt wl = 0;

  PetscFunctionBeginUser;
  PetscCall(mc_model_create(m->n_layers, m->input_shape, &c));
  PetscCall(PetscStrncpy(c->source, m->source, sizeof(c->source)));
  PetscCall(PetscStrncpy(c->format, m->format, sizeof(c->format)));
  for (PetscInt l = 0; l < m->n_layers; ++l) {
    MCLayer *L = &c->layers[l];
    *L          = m->layers[l];
    L->weight = L->bias = L->gamma = L->beta = L->moving_mean = L->moving_var = NULL;
    if (L->type == MC_LAYER_DENSE || L->type == MC_LAYER_CONV2D) {
      PetscInt count = mc_model_weight_count(L), fan_in = L->n_in, fan_out = L->n_out;
      double   a;
      MCRng    r;
      if (L->type == MC_LAYER_CONV2D) {
        fan_in *= L->kh * L->kw;
        fan_out *= L->kh * L->kw;
      }
      a = sqrt(6.0 / (double)(fan_in + fan_out));
      mc_rng_init(&r, seed, MC_STREAM_INIT, (uint64_t)(trial + 1) * MC_SHUFFLE_MAX_BLOCKS + (uint64_t)wl);
      PetscCall(PetscMalloc1(count, &L->weight));
      for (PetscInt j = 0; j < count; ++j) L->weight[j] = (float)(a * (2.0 * mc_rng_uniform(&r) - 1.0));
      wl++;
    } else if (L->type == MC_LAYER_BATCHNORM) {
      PetscInt n = PetscMax(PetscMax(L->n_out, L->out_shape[2]), 1);
      PetscCall(PetscMalloc1(n, &L->moving_var));
      for (PetscInt j = 0; j < n; ++j) L->moving_var[j] = 1.0f;
    }
  }
  *out = c;
  PetscFunctionReturn(0);
}

static PetscErrorCode null_task(void *ctx_, MPI_Comm comm, PetscInt t, PetscReal result[])
{
  NullCtx      *ctx = (NullCtx *)ctx_;
  MCGraph      *g   = NULL;
  MCClustering *c   = NULL;
  int           stop, any;

  PetscFunctionBeginUser;
  /* The whole group agrees to stop (a signal reaches its ranks at different times). */
  stop = (null_sigterm || (ctx->stop_after > 0 && ctx->n_done >= ctx->stop_after)) ? 1 : 0;
  PetscCallMPI(MPI_Allreduce(&stop, &any, 1, MPI_INT, MPI_LOR, comm));
  if (any) {
    result[0] = result[1] = 0;
    PetscFunctionReturn(0);
  }
  if (t < ctx->n_shuffles) PetscCall(mc_shuffle_graph(comm, ctx->base, ctx->kind, ctx->seed, t, &g));
  else {
    MCModel *m = NULL;
    PetscCall(random_init_model(ctx->model, ctx->seed, t - ctx->n_shuffles, &m));
    PetscCall(mc_graph_build(comm, ctx->cfg, m, &g));
    PetscCall(mc_model_destroy(&m));
  }
  PetscCall(mc_cluster_graph(g->adj, &ctx->opts, &c));
  result[0] = c->ncut;
  result[1] = 1;
  ctx->n_done++;
  PetscCall(mc_cluster_destroy(&c));
  PetscCall(mc_graph_destroy(&g));
  PetscFunctionReturn(0);
}

/* Called on each group's first rank after each task: rewrite this rank's checkpoint file. */
static PetscErrorCode null_done(void *ctx_, MPI_Comm comm, PetscInt t, PetscReal result[])
{
  NullCtx *ctx = (NullCtx *)ctx_;
  char     tag[32];

  PetscFunctionBeginUser;
  if (!ctx->ck || result[1] == 0) PetscFunctionReturn(0);
  ctx->ck->mine[2 * t]     = result[0];
  ctx->ck->mine[2 * t + 1] = 1;
  ctx->ck->mine_set[t]     = PETSC_TRUE;
  PetscCall(PetscSNPrintf(tag, sizeof(tag), "r%d", (int)ctx->ck->world_rank));
  PetscCall(ckpt_write_file(ctx->ck, tag, ctx->ck->mine, ctx->ck->mine_set));
  PetscFunctionReturn(0);
}

/* ------------------------------------------------------------------ the test */

PetscErrorCode mc_null_run(MPI_Comm comm, const MCConfig *cfg, const MCModel *model, const MCGraph *graph, const MCClustering *truth,
                           MCNull **out)
{
  MCNull          *nul;
  MCShuffleBase   *base = NULL;
  NullCtx          ctx;
  Checkpoint       ck;
  MCFarmOpts       fo = {0};
  PetscReal       *res;
  PetscBool       *skip = NULL;
  PetscMPIInt      rank, size;
  PetscInt         n_tasks, n_missing = 0, gs;
  PetscInt64       nnz = 0;
  PetscLogDouble   t0, t1;
  PetscErrorCode   ierr = 0;
  struct sigaction sa, old_sa;
  MCTies           ties;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&t0));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscNew(&nul));
  PetscCall(PetscStrncpy(nul->shuffle, cfg->clusterability_shuffle, sizeof(nul->shuffle)));
  PetscCall(PetscStrncpy(nul->p_ties, cfg->clusterability_p_ties, sizeof(nul->p_ties)));
  nul->n_shuffles    = (PetscInt)cfg->clusterability_n_shuffles;
  nul->n_random_init = (PetscInt)cfg->clusterability_random_init_trials;
  nul->ncut_true     = truth->ncut;
  PetscCheck(nul->n_shuffles >= 1, comm, PETSC_ERR_USER_INPUT, "clusterability.n_shuffles = %" PetscInt_FMT " must be at least 1 to run the null", nul->n_shuffles);
  ties = strcmp(nul->p_ties, "strict") ? MC_TIES_INCLUSIVE : MC_TIES_STRICT;

  PetscCall(PetscMemzero(&ctx, sizeof(ctx)));
  PetscCall(mc_shuffle_parse(comm, nul->shuffle, &ctx.kind));
  PetscCall(mc_shuffle_base_create(comm, graph, &base));
  PetscCall(mc_run_cluster_opts(cfg, &ctx.opts)); /* the very options of the true clustering */
  ctx.cfg        = cfg;
  ctx.model      = model;
  ctx.base       = base;
  ctx.seed       = (uint64_t)cfg->cluster_seed;
  ctx.n_shuffles = nul->n_shuffles;
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-null_stop_after", &ctx.stop_after, NULL));
  n_tasks = nul->n_shuffles + nul->n_random_init;

  /* Group size: stored non-zeros of a shuffled graph (both triangles) decide the automatic rule. */
  for (PetscInt b = 0; b < base->n_blocks; ++b) {
    PetscInt n = base->group_size[b] * base->group_size[b + 1];
    for (PetscInt e = 0; e < n; ++e)
      if (base->block[b][e] != 0) nnz += 2;
  }
  gs = cfg->clusterability_group_size > 0 ? (PetscInt)cfg->clusterability_group_size : mc_null_group_size_auto(nnz, size, n_tasks);
  nul->group_size = PetscMax(1, PetscMin(gs, (PetscInt)size));
  nul->n_groups   = (size + nul->group_size - 1) / nul->group_size;

  PetscCall(PetscCalloc1(2 * n_tasks, &res));
  PetscCall(PetscMemzero(&ck, sizeof(ck)));
  if (cfg->clusterability_checkpoint) {
    char     dir[PETSC_MAX_PATH_LEN];
    size_t   n;
    uint64_t h = 0;
    PetscCall(config_hash(cfg, graph, &h));
    PetscCall(PetscStrncpy(dir, cfg->output_dir, sizeof(dir)));
    n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') dir[--n] = 0;
    PetscCall(PetscSNPrintf(ck.prefix, sizeof(ck.prefix), "%s.ckpt-%016llx", dir, (unsigned long long)h));
    PetscCall(PetscStrncpy(nul->checkpoint_prefix, ck.prefix, sizeof(nul->checkpoint_prefix)));
    ck.n_shuffles = nul->n_shuffles;
    ck.n_trials   = nul->n_random_init;
    ck.world_rank = rank;
    PetscCall(PetscCalloc2(2 * n_tasks, &ck.mine, n_tasks, &ck.mine_set));
    ctx.ck = &ck;
    PetscCall(PetscCalloc1(n_tasks, &skip));
    {
      char lock[PETSC_MAX_PATH_LEN + 8], what[PETSC_MAX_PATH_LEN + 64];
      PetscCall(PetscSNPrintf(lock, sizeof(lock), "%s.lock", ck.prefix));
      PetscCall(PetscSNPrintf(what, sizeof(what), "the clusterability checkpoint %s.*", ck.prefix));
      PetscCall(mc_sys_lock_acquire(comm, lock, what, &nul->lock));
    }
    if (rank == 0) {
      /* Merge every earlier file into one, written before the others are removed, so a crash in between
         loses nothing. */
      ierr = ckpt_scan(&ck, PETSC_FALSE, NULL, res);
      if (!ierr) {
        for (PetscInt t = 0; t < n_tasks; ++t) nul->n_resumed += res[2 * t + 1] != 0;
        if (nul->n_resumed > 0) ierr = ckpt_write_file(&ck, "merged", res, NULL);
        if (!ierr && nul->n_resumed > 0) ierr = ckpt_scan(&ck, PETSC_TRUE, "merged", NULL);
      }
      for (PetscInt t = 0; t < n_tasks; ++t) skip[t] = res[2 * t + 1] != 0 ? PETSC_TRUE : PETSC_FALSE;
    }
    PetscCall(mc_sys_rank0_status(comm, ierr));
    PetscCallMPI(MPI_Bcast(skip, (PetscMPIInt)n_tasks, MPIU_BOOL, 0, comm));
    PetscCallMPI(MPI_Bcast(&nul->n_resumed, 1, MPIU_INT, 0, comm));
    if (nul->n_resumed > 0)
      PetscCall(PetscPrintf(comm, "clusterability: resuming from checkpoint %s.*: %" PetscInt_FMT " of %" PetscInt_FMT " tasks already done\n", ck.prefix,
                            nul->n_resumed, n_tasks));
  }

  fo.label    = "null";
  fo.skip     = skip;
  fo.on_done  = null_done;
  fo.done_ctx = &ctx;
  null_sigterm = 0;
  PetscCall(PetscMemzero(&sa, sizeof(sa)));
  sa.sa_handler = on_sigterm;
  sigemptyset(&sa.sa_mask);
  PetscCheck(sigaction(SIGTERM, &sa, &old_sa) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot install the SIGTERM handler: %s", strerror(errno));
  PetscCall(mc_farm_run_groups(comm, nul->group_size, n_tasks, 2, null_task, &ctx, &fo, res));
  PetscCheck(sigaction(SIGTERM, &old_sa, NULL) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot restore the SIGTERM handler: %s", strerror(errno));

  /* res is identical on every rank: agree on stopping without communication. */
  for (PetscInt t = 0; t < n_tasks; ++t) n_missing += res[2 * t + 1] == 0;
  if (n_missing) PetscCall(mc_sys_lock_release(&nul->lock));
  PetscCheck(n_missing == 0, comm, PETSC_ERR_SIG,
             "The clusterability null stopped early (SIGTERM or -null_stop_after) with %" PetscInt_FMT " of %" PetscInt_FMT " tasks done; %s",
             n_tasks - n_missing, n_tasks,
             ctx.ck ? "they are saved in the checkpoint next to the output directory: rerun the same command to resume" : "checkpointing is off (clusterability.checkpoint = false), so they are lost");

  PetscCall(PetscMalloc1(nul->n_shuffles, &nul->ncut_shuffled));
  for (PetscInt t = 0; t < nul->n_shuffles; ++t) nul->ncut_shuffled[t] = res[2 * t];
  PetscCall(mc_stats_perm_pvalue(nul->ncut_true, nul->n_shuffles, nul->ncut_shuffled, MC_TAIL_LOWER, ties, &nul->p_value, NULL));
  PetscCall(mc_stats_zscore(nul->ncut_true, nul->n_shuffles, nul->ncut_shuffled, &nul->z_score, &nul->mean, &nul->std));
  nul->random_init_mean = nul->random_init_std = (PetscReal)NAN;
  if (nul->n_random_init > 0) {
    PetscReal z;
    PetscCall(PetscMalloc1(nul->n_random_init, &nul->ncut_random_init));
    for (PetscInt i = 0; i < nul->n_random_init; ++i) nul->ncut_random_init[i] = res[2 * (nul->n_shuffles + i)];
    PetscCall(mc_stats_zscore(nul->ncut_true, nul->n_random_init, nul->ncut_random_init, &z, &nul->random_init_mean, &nul->random_init_std));
  }
  PetscCall(PetscTime(&t1));
  nul->seconds = t1 - t0;

  if (ctx.ck) PetscCall(PetscFree2(ck.mine, ck.mine_set));
  PetscCall(PetscFree(skip));
  PetscCall(PetscFree(res));
  PetscCall(mc_shuffle_base_destroy(&base));
  *out = nul;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_null_stage(MPI_Comm comm, const MCConfig *cfg, const MCModel *model, const MCGraph *graph, const MCClustering *truth,
                             MCNull **out)
{
  PetscFunctionBeginUser;
  *out = NULL;
  if (cfg->clusterability_n_shuffles <= 0) PetscFunctionReturn(0);
  PetscCall(mc_sys_stage_push(MC_STAGE_NULL));
  PetscCall(mc_null_run(comm, cfg, model, graph, truth, out));
  PetscCall(mc_sys_stage_pop());
  PetscFunctionReturn(0);
}

PetscErrorCode mc_null_checkpoint_clear(MPI_Comm comm, const MCNull *nul)
{
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  if (!nul || !nul->checkpoint_prefix[0]) PetscFunctionReturn(0);
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    Checkpoint ck;
    PetscCall(PetscMemzero(&ck, sizeof(ck)));
    PetscCall(PetscStrncpy(ck.prefix, nul->checkpoint_prefix, sizeof(ck.prefix)));
    PetscCall(ckpt_scan(&ck, PETSC_TRUE, NULL, NULL));
  }
  PetscCallMPI(MPI_Barrier(comm));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_null_destroy(MCNull **n)
{
  PetscFunctionBeginUser;
  if (!n || !*n) PetscFunctionReturn(0);
  PetscCall(mc_sys_lock_release(&(*n)->lock));
  PetscCall(PetscFree((*n)->ncut_shuffled));
  PetscCall(PetscFree((*n)->ncut_random_init));
  PetscCall(PetscFree(*n));
  PetscFunctionReturn(0);
}
