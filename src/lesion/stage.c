/* src/lesion/stage.c: the importance stage: the [model] network, its replicates and the random-partition
   control, combined by Fisher (per network), Bates (across replicates) and Benjamini-Hochberg (METHOD.md 10). */
#include <ctype.h>
#include <string.h>
#include "mc/lesion.h"
#include "mc/run.h"
#include "mc/sys.h"

/* The replicate paths of [importance] replicates: comma-separated, trimmed; relative ones are joined to the
   config file's directory. *paths is one array of n * PETSC_MAX_PATH_LEN chars (caller frees). */
static PetscErrorCode replicate_paths(MPI_Comm comm, const MCConfig *cfg, PetscInt *n, char **paths)
{
  const char *s = cfg->importance_replicates;
  PetscInt    cap = 1;

  PetscFunctionBeginUser;
  for (const char *q = s; *q; ++q) cap += *q == ',';
  PetscCall(PetscCalloc1(cap * PETSC_MAX_PATH_LEN, paths));
  *n = 0;
  while (*s) {
    const char *e = strchr(s, ','), *b = s;
    size_t      len;
    char       *dst = *paths + *n * PETSC_MAX_PATH_LEN;
    if (!e) e = s + strlen(s);
    while (b < e && isspace((unsigned char)*b)) ++b;
    len = (size_t)(e - b);
    while (len > 0 && isspace((unsigned char)b[len - 1])) --len;
    if (len > 0) {
      PetscBool rel = b[0] != '/' ? PETSC_TRUE : PETSC_FALSE;
      size_t    need = len + (rel ? strlen(cfg->dir) + 1 : 0);
      PetscCheck(need < PETSC_MAX_PATH_LEN, comm, PETSC_ERR_USER_INPUT, "[importance] replicates: the path '%.*s' is too long", (int)len, b);
      if (rel) PetscCall(PetscSNPrintf(dst, PETSC_MAX_PATH_LEN, "%s/%.*s", cfg->dir, (int)len, b));
      else PetscCall(PetscSNPrintf(dst, PETSC_MAX_PATH_LEN, "%.*s", (int)len, b));
      (*n)++;
    }
    s = *e ? e + 1 : e;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode lesion_opts(const MCConfig *cfg, PetscInt replicate, MCLesionOpts *o)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(o, sizeof(*o)));
  o->n_random = (PetscInt)cfg->importance_n_random;
  o->mode     = !strcmp(cfg->importance_lesion, "incoming") ? MC_LESION_INCOMING : MC_LESION_OUTGOING;
  o->min_size = (PetscInt)cfg->importance_min_size;
  o->max_prop = cfg->importance_max_prop;
  o->ties     = !strcmp(cfg->importance_p_ties, "strict") ? MC_TIES_STRICT : MC_TIES_INCLUSIVE;
  o->seed     = (uint64_t)cfg->cluster_seed;
  o->stream   = (uint64_t)replicate << 32;
  o->batch    = (PetscInt)cfg->importance_batch;
  o->cache_mb = (PetscReal)cfg->importance_cache_mb;
  o->label    = "lesion";
  PetscFunctionReturn(0);
}

/* Cluster replicate network `path` with the run's [cluster] and [graph] settings and test it. */
static PetscErrorCode replicate_test(MPI_Comm comm, const MCConfig *cfg, const char *path, PetscInt replicate, const MCDataset *test, MCLesionResult **out)
{
  MCConfig      *rc = NULL;
  MCModel       *m  = NULL;
  MCGraph       *g  = NULL;
  MCClustering  *c  = NULL;
  MCClusterOpts  copts;
  MCLesionOpts   lo;

  PetscFunctionBeginUser;
  /* A shallow copy with another [model] path: only read, never destroyed through its pointers. */
  PetscCall(PetscNew(&rc));
  *rc = *cfg;
  PetscCall(PetscStrncpy(rc->model_path, path, sizeof(rc->model_path)));
  PetscCall(PetscPrintf(comm, "importance: replicate %" PetscInt_FMT ": %s\n", replicate, path));
  PetscCall(mc_io_model_read(comm, rc, &m));
  PetscCall(mc_graph_build(comm, rc, m, &g));
  PetscCall(mc_run_cluster_opts(rc, &copts));
  PetscCall(mc_cluster_graph(g->adj, &copts, &c));
  PetscCall(lesion_opts(cfg, replicate, &lo));
  PetscCall(mc_lesion_test(comm, &lo, m, g, c->labels, test, out));
  PetscCall(mc_cluster_destroy(&c));
  PetscCall(mc_graph_destroy(&g));
  PetscCall(mc_model_destroy(&m));
  PetscCall(PetscFree(rc));
  PetscFunctionReturn(0);
}

/* Fisher per network, Bates across networks, BH over the two reported tests (p_mean, p_range). */
static PetscErrorCode combine(MCImportance *imp)
{
  PetscReal *pm, *pr, p[2], q[2];
  PetscBool  rej[2];
  PetscInt   n_rej, nm = 0, nr = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(imp->n_nets, &pm, imp->n_nets, &pr));
  imp->fisher_stat_mean = imp->fisher_stat_range = 0;
  for (PetscInt i = 0; i < imp->n_nets; ++i) {
    pm[i] = imp->net[i]->fisher_p_mean;
    pr[i] = imp->net[i]->fisher_p_range;
    if (!PetscIsNanReal(imp->net[i]->fisher_stat_mean)) {
      imp->fisher_stat_mean += imp->net[i]->fisher_stat_mean;
      nm++;
    }
    if (!PetscIsNanReal(imp->net[i]->fisher_stat_range)) {
      imp->fisher_stat_range += imp->net[i]->fisher_stat_range;
      nr++;
    }
  }
  imp->fisher_stat_mean  = nm ? imp->fisher_stat_mean / (PetscReal)nm : (PetscReal)NAN;
  imp->fisher_stat_range = nr ? imp->fisher_stat_range / (PetscReal)nr : (PetscReal)NAN;
  PetscCall(mc_stats_bates(imp->n_nets, pm, &imp->p_mean));
  PetscCall(mc_stats_bates(imp->n_nets, pr, &imp->p_range));
  p[0] = imp->p_mean;
  p[1] = imp->p_range;
  PetscCall(mc_stats_bh(2, p, imp->fdr_q, &n_rej, &imp->bh_threshold, rej, q));
  imp->bh_reject_mean  = rej[0];
  imp->bh_reject_range = rej[1];
  imp->bh_qval_mean    = q[0];
  imp->bh_qval_range   = q[1];
  PetscCall(PetscFree2(pm, pr));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_lesion_stage(MPI_Comm comm, const MCConfig *cfg, const MCModel *model, const MCGraph *graph, const MCClustering *clustering,
                               MCImportance **out)
{
  MCImportance *imp;
  MCDataset    *test = NULL;
  MCLesionOpts  lo;
  PetscInt      n_rep = 0;
  char         *paths;

  PetscFunctionBeginUser;
  *out = NULL;
  if (!cfg->importance_enabled) PetscFunctionReturn(0);
  PetscCall(mc_sys_stage_push(MC_STAGE_LESION));
  PetscCall(replicate_paths(comm, cfg, &n_rep, &paths));
  PetscCheck(n_rep + 1 <= MC_IRWIN_HALL_MAX_R, comm, PETSC_ERR_USER_INPUT, "[importance] replicates lists %" PetscInt_FMT " networks; at most %d are supported", n_rep,
             MC_IRWIN_HALL_MAX_R - 1);
  PetscCall(mc_io_dataset_read(comm, cfg->data_source, "test", &test));
  PetscCall(PetscNew(&imp));
  imp->n_nets = 1 + n_rep;
  imp->fdr_q  = cfg->importance_fdr_q;
  PetscCall(PetscStrncpy(imp->lesion, cfg->importance_lesion, sizeof(imp->lesion)));
  PetscCall(PetscCalloc1(imp->n_nets, &imp->net));

  PetscCall(lesion_opts(cfg, 0, &lo));
  PetscCall(mc_lesion_test(comm, &lo, model, graph, clustering->labels, test, &imp->net[0]));
  for (PetscInt r = 0; r < n_rep; ++r) PetscCall(replicate_test(comm, cfg, paths + r * PETSC_MAX_PATH_LEN, r + 1, test, &imp->net[r + 1]));
  if (!strcmp(cfg->importance_control, "random_partition")) {
    PetscInt *rl;
    PetscCall(PetscMalloc1(graph->n_nodes, &rl));
    PetscCall(mc_lesion_random_partition(graph, clustering->labels, lo.seed, rl));
    lo.label = "lesion control";
    lo.stream = (uint64_t)1 << 61; /* the control's draws are not the true partition's */
    PetscCall(mc_lesion_test(comm, &lo, model, graph, rl, test, &imp->control));
    PetscCall(PetscFree(rl));
  }
  PetscCall(combine(imp));
  PetscCall(PetscFree(paths));
  PetscCall(mc_io_dataset_destroy(&test));
  PetscCall(mc_sys_stage_pop());
  *out = imp;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_importance_destroy(MCImportance **imp)
{
  PetscFunctionBeginUser;
  if (!*imp) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < (*imp)->n_nets; ++i) PetscCall(mc_lesion_result_destroy(&(*imp)->net[i]));
  PetscCall(PetscFree((*imp)->net));
  PetscCall(mc_lesion_result_destroy(&(*imp)->control));
  PetscCall(PetscFree(*imp));
  PetscFunctionReturn(0);
}
