/* src/run/importance.c: the importance stage: the [model] network, every [importance] replicates network
   (read, graphed and clustered with the run's settings) and the random-partition control, each lesion-tested
   on the test split of [data] source, then combined (docs/importance.md). */
#include <ctype.h>
#include <string.h>
#include "mc/run.h"

/* The replicate paths of [importance] replicates: comma-separated, trimmed; relative ones are joined to the
   config file's directory. *paths is one array of n * PETSC_MAX_PATH_LEN chars (caller frees). */
static PetscErrorCode replicate_paths(MPI_Comm comm, const MCConfig *cfg, PetscInt *n, char **paths)
{
  const char *s   = cfg->importance_replicates;
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
      PetscBool rel  = b[0] != '/' ? PETSC_TRUE : PETSC_FALSE;
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

/* Read, graph and cluster replicate network `path` with the run's settings, then lesion-test it. */
static PetscErrorCode replicate_test(MPI_Comm comm, const MCConfig *cfg, const char *path, PetscInt replicate, const MCDataset *test, MCLesionResult **out)
{
  MCModel        *m = NULL;
  MCGraph        *g = NULL;
  MCClustering   *c = NULL;
  MCModelReadOpts mo;
  MCGraphOpts     go;
  MCClusterOpts   co;
  MCLesionOpts    lo;
  MCGroups        gr;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(comm, "importance: replicate %" PetscInt_FMT ": %s\n", replicate, path));
  PetscCall(mc_run_model_read_opts(cfg, path, &mo));
  PetscCall(mc_run_graph_opts(cfg, &go));
  PetscCall(mc_run_cluster_opts(cfg, &co));
  PetscCall(mc_run_lesion_opts(cfg, replicate, &lo));
  PetscCall(mc_io_model_read(comm, &mo, &m));
  PetscCall(mc_graph_build(comm, &go, m, &g));
  gr = mc_graph_groups(g);
  PetscCall(mc_cluster_graph(g->adj, &gr, &co, &c));
  PetscCall(mc_lesion_test(comm, &lo, m, g, c->labels, test, out));
  PetscCall(mc_cluster_destroy(&c));
  PetscCall(mc_graph_destroy(&g));
  PetscCall(mc_model_destroy(&m));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_importance(MCRun *run)
{
  const MCConfig *cfg  = run->cfg;
  MPI_Comm        comm = run->comm;
  MCImportance   *imp;
  MCDataset      *test = NULL;
  MCLesionOpts    lo;
  PetscInt        n_rep = 0;
  char           *paths;

  PetscFunctionBeginUser;
  if (!cfg->importance_enabled) PetscFunctionReturn(0);
  PetscCall(mc_sys_stage_push(MC_STAGE_LESION));
  PetscCall(replicate_paths(comm, cfg, &n_rep, &paths));
  PetscCheck(n_rep + 1 <= MC_IRWIN_HALL_MAX_R, comm, PETSC_ERR_USER_INPUT, "[importance] replicates lists %" PetscInt_FMT " networks; at most %d are supported", n_rep,
             MC_IRWIN_HALL_MAX_R - 1);
  PetscCall(mc_io_dataset_read(comm, cfg->data_source, "test", &test));
  PetscCall(mc_run_lesion_opts(cfg, 0, &lo));
  PetscCall(mc_importance_create(1 + n_rep, cfg->importance_fdr_q, lo.mode, &imp));
  run->importance = imp;

  PetscCall(mc_lesion_test(comm, &lo, run->model, run->graph, run->clustering->labels, test, &imp->net[0]));
  for (PetscInt r = 0; r < n_rep; ++r) PetscCall(replicate_test(comm, cfg, paths + r * PETSC_MAX_PATH_LEN, r + 1, test, &imp->net[r + 1]));
  if ((MCLesionControl)cfg->importance_control == MC_CONTROL_RANDOM_PARTITION) {
    PetscInt *rl;

    PetscCall(PetscMalloc1(run->graph->n_nodes, &rl));
    PetscCall(mc_lesion_random_partition(run->graph, run->clustering->labels, lo.seed, rl));
    lo.label  = "lesion control";
    lo.stream = (uint64_t)1 << 61; /* the control's draws are not the true partition's */
    PetscCall(mc_lesion_test(comm, &lo, run->model, run->graph, rl, test, &imp->control));
    PetscCall(PetscFree(rl));
  }
  PetscCall(mc_importance_combine(imp));
  PetscCall(PetscFree(paths));
  PetscCall(mc_io_dataset_destroy(&test));
  PetscCall(mc_sys_stage_pop());
  PetscFunctionReturn(0);
}
