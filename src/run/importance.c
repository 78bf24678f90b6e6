/* src/run/importance.c: the importance stage: every partitioning of the [model] network, of every
   [importance] replicates network (read, graphed and partitioned with the run's settings) and of the
   random-partition control, each lesion-tested on the test split of [data] source, then combined per
   partitioning (docs/importance.md). */
#include <ctype.h>
#include <string.h>
#include "run_impl.h"

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

/* The progress label of partitioning pt's lesion farm (the partitioning named when the run has several). */
static const char *farm_label(const MCRun *run, const MCPartitioning *pt, char buf[], size_t n)
{
  if (run->n_parts == 1) return "lesion";
  (void)PetscSNPrintf(buf, n, "lesion %s", mc_graph_partitioning_name(pt->kind, pt->scope));
  return buf;
}

/* Read replicate network `path`, build its graphs and partitionings as the run's, and lesion-test each. */
static PetscErrorCode replicate_test(MCRun *run, const char *path, PetscInt replicate, const MCDataset *test)
{
  MPI_Comm        comm = run->comm;
  MCModel        *m    = NULL;
  MCGraph        *graphs[2] = {NULL, NULL};
  MCPartitioning  part[MC_MAX_PARTITIONINGS];
  MCModelReadOpts mo;
  char            label[64];

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(comm, "importance: replicate %" PetscInt_FMT ": %s\n", replicate, path));
  PetscCall(mc_run_model_read_opts(run->cfg, path, &mo));
  PetscCall(mc_io_model_read(comm, &mo, &m));
  PetscCall(PetscMemzero(part, sizeof(part)));
  for (PetscInt p = 0; p < run->n_parts; ++p) {
    part[p].kind  = run->part[p].kind;
    part[p].scope = run->part[p].scope;
  }
  PetscCall(mc__run_graphs(comm, run->cfg, run->n_parts, part, m, graphs));
  PetscCall(mc__run_partitions(run->cfg, run->n_parts, part));
  for (PetscInt p = 0; p < run->n_parts; ++p) {
    MCLesionOpts lo;

    PetscCall(mc_run_lesion_opts(run->cfg, replicate, &lo));
    lo.label = farm_label(run, &part[p], label, sizeof(label));
    PetscCall(mc_lesion_test(comm, &lo, m, part[p].graph, part[p].clustering->labels, test, &run->part[p].importance->net[replicate]));
    PetscCall(mc_cluster_destroy(&part[p].clustering));
    PetscCall(mc_cluster_destroy(&part[p].global));
  }
  for (int k = 0; k < 2; ++k) PetscCall(mc_graph_destroy(&graphs[k]));
  PetscCall(mc_model_destroy(&m));
  PetscFunctionReturn(0);
}

/* The lesion test of partitioning pt of the [model] network, and its random-partition control. */
static PetscErrorCode network_test(MCRun *run, MCPartitioning *pt, const MCDataset *test)
{
  MCLesionOpts lo;
  MCImportance *imp = pt->importance;
  char          label[64];

  PetscFunctionBeginUser;
  PetscCall(mc_run_lesion_opts(run->cfg, 0, &lo));
  lo.label = farm_label(run, pt, label, sizeof(label));
  PetscCall(mc_lesion_test(run->comm, &lo, run->model, pt->graph, pt->clustering->labels, test, &imp->net[0]));
  if ((MCLesionControl)run->cfg->importance_control == MC_CONTROL_RANDOM_PARTITION) {
    PetscInt *rl;

    PetscCall(PetscMalloc1(pt->graph->n_nodes, &rl));
    PetscCall(mc_lesion_random_partition(pt->graph, pt->clustering->labels, lo.seed, rl));
    lo.label  = "lesion control";
    lo.stream = (uint64_t)1 << 61; /* the control's draws are not the true partition's */
    PetscCall(mc_lesion_test(run->comm, &lo, run->model, pt->graph, rl, test, &imp->control));
    PetscCall(PetscFree(rl));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_importance(MCRun *run)
{
  const MCConfig *cfg  = run->cfg;
  MPI_Comm        comm = run->comm;
  MCDataset      *test = NULL;
  MCLesionOpts    lo;
  MCDatasetOpts   dopts;
  PetscInt        n_rep = 0;
  char           *paths;

  PetscFunctionBeginUser;
  if (!cfg->importance_enabled) PetscFunctionReturn(0);
  PetscCall(mc_sys_stage_push(run->comm, MC_STAGE_LESION));
  PetscCall(replicate_paths(comm, cfg, &n_rep, &paths));
  PetscCheck(n_rep + 1 <= MC_IRWIN_HALL_MAX_R, comm, PETSC_ERR_USER_INPUT, "[importance] replicates lists %" PetscInt_FMT " networks; at most %d are supported", n_rep,
             MC_IRWIN_HALL_MAX_R - 1);
  PetscCall(mc_run_dataset_opts(cfg, run->model, &dopts));
  PetscCall(mc_io_dataset_read(comm, cfg->data_source, "test", &dopts, &test));
  PetscCall(mc_run_lesion_opts(cfg, 0, &lo));
  for (PetscInt p = 0; p < run->n_parts; ++p) {
    PetscCall(mc_importance_create(1 + n_rep, cfg->importance_fdr_q, lo.mode, &run->part[p].importance));
    PetscCall(network_test(run, &run->part[p], test));
  }
  for (PetscInt r = 0; r < n_rep; ++r) PetscCall(replicate_test(run, paths + r * PETSC_MAX_PATH_LEN, r + 1, test));
  for (PetscInt p = 0; p < run->n_parts; ++p) PetscCall(mc_importance_combine(run->part[p].importance));
  PetscCall(PetscFree(paths));
  PetscCall(mc_io_dataset_destroy(&test));
  PetscCall(mc_sys_stage_pop());
  PetscFunctionReturn(0);
}
