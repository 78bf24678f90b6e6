/* src/report/results.c: results.h5, the machine-readable record of a run (docs/formats.md), written
   through the io module's HDF5 writer. */
#include <string.h>
#include "mc/sys.h"
#include "report_impl.h"

static PetscErrorCode write_provenance(MCH5Writer *w, const MCReport *run)
{
  char   versions[1024], blas[256];
  char  *opts = NULL;

  PetscFunctionBeginUser;
  mc_sys_version_string(versions, sizeof(versions));
  PetscCall(PetscOptionsGetAll(NULL, &opts));
  PetscCall(mc_io_h5w_group_push(w, "provenance"));
  PetscCall(mc_io_h5w_attr_string(w, "tool", "modclust-mpi"));
  PetscCall(mc_io_h5w_attr_string(w, "version", MC_VERSION));
  PetscCall(mc_io_h5w_attr_string(w, "git_hash", MC_GIT_HASH));
  PetscCall(mc_io_h5w_attr_string(w, "versions", versions));
  mc_sys_blas_describe(blas, sizeof(blas));
  PetscCall(mc_io_h5w_attr_string(w, "blas", blas));
  PetscCall(mc_io_h5w_attr_int(w, "n_ranks", run->n_ranks));
  PetscCall(mc_io_h5w_attr_int(w, "seed", run->seed));
  PetscCall(mc_io_h5w_attr_string(w, "config", run->config_text));
  PetscCall(mc_io_h5w_attr_string(w, "petsc_options", opts ? opts : ""));
  PetscCall(mc_io_h5w_attr_string(w, "model_path", run->model->source));
  PetscCall(mc_io_h5w_attr_string(w, "model_format", run->model->format));
  PetscCall(mc_io_h5w_group_pop(w));
  PetscCall(PetscFree(opts));
  PetscFunctionReturn(0);
}

static PetscErrorCode write_graph(MCH5Writer *w, const MCReport *run, const MCSavedGraph *saved)
{
  const MCGraph *g = run->graph;
  PetscInt      *layer, *unit;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(g->n_nodes, &layer, g->n_nodes, &unit));
  for (PetscInt i = 0; i < g->n_nodes; ++i) mc_graph_node_info(g, i, &layer[i], &unit[i]);
  PetscCall(mc_io_h5w_group_push(w, "graph"));
  PetscCall(mc_io_h5w_attr_int(w, "n_nodes", g->n_nodes));
  PetscCall(mc_io_h5w_ints(w, "node_layer", g->n_nodes, 0, layer));
  PetscCall(mc_io_h5w_ints(w, "node_unit", g->n_nodes, 0, unit));
  PetscCall(mc_io_h5w_attr_string(w, "kind", mc_graph_kind_name(run->graph_kind)));
  PetscCall(mc_io_h5w_ints(w, "group_offset", g->n_groups + 1, 0, g->group_offset));
  if (g->group_site) {
    /* The channel walker's groups: which layer's input (or output) channels each holds, by name. */
    char     *names;
    size_t    len = 1;
    for (PetscInt grp = 0; grp < g->n_groups; ++grp) len += strlen(run->model->layers[g->group_site[grp]].name) + 1;
    PetscCall(PetscCalloc1(len, &names));
    for (PetscInt grp = 0; grp < g->n_groups; ++grp) {
      PetscCall(PetscStrlcat(names, run->model->layers[g->group_site[grp]].name, len));
      if (grp + 1 < g->n_groups) PetscCall(PetscStrlcat(names, "\n", len));
    }
    PetscCall(mc_io_h5w_ints(w, "group_role", g->n_groups, 0, g->group_role));
    PetscCall(mc_io_h5w_attr_string(w, "group_sites", names));
    PetscCall(PetscFree(names));
  }
  if (run->graph_kind == MC_GRAPH_ACTIVATIONS) {
    PetscCall(mc_io_h5w_attr_int(w, "n_dead", g->n_dead));
    PetscCall(mc_io_h5w_attr_int(w, "n_samples", g->n_samples));
  }
  if (saved) {
    PetscCall(mc_io_h5w_group_push(w, "adjacency"));
    PetscCall(mc_io_h5w_attr_string(w, "format", "csr"));
    PetscCall(mc_io_h5w_ints(w, "indptr", g->n_nodes + 1, 0, saved->indptr));
    PetscCall(mc_io_h5w_ints(w, "indices", saved->indptr[g->n_nodes], 0, saved->indices));
    PetscCall(mc_io_h5w_reals(w, "data", saved->indptr[g->n_nodes], 0, saved->data));
    PetscCall(mc_io_h5w_group_pop(w));
    if (saved->activation) {
      PetscCall(mc_io_h5w_ints(w, "samples", g->n_samples, 0, g->sample));
      PetscCall(mc_io_h5w_reals(w, "activations", g->n_samples, g->n_nodes, saved->activation));
    }
  }
  PetscCall(mc_io_h5w_group_pop(w));
  PetscCall(PetscFree2(layer, unit));
  PetscFunctionReturn(0);
}

/* A partitioning's labels and figures in the current group. */
static PetscErrorCode write_partition(MCH5Writer *w, const MCClustering *c)
{
  PetscFunctionBeginUser;
  PetscCall(mc_io_h5w_ints(w, "labels", c->n_nodes, 0, c->labels));
  PetscCall(mc_io_h5w_attr_int(w, "k", c->k));
  PetscCall(mc_io_h5w_attr_real(w, "ncut", c->ncut));
  PetscCall(mc_io_h5w_attr_int(w, "n_removed", c->n_removed));
  PetscFunctionReturn(0);
}

static PetscErrorCode write_clusters(MCH5Writer *w, const MCReport *run)
{
  const MCClustering *c = run->clustering, *spec = mc__report_spectrum(run), *cg = run->clustering_global;

  PetscFunctionBeginUser;
  PetscCall(mc_io_h5w_group_push(w, "spectral"));
  PetscCall(mc_io_h5w_reals(w, "eigenvalues", spec->k, 0, spec->eigenvalues));
  PetscCall(mc_io_h5w_attr_int(w, "n_converged", spec->n_converged));
  PetscCall(mc_io_h5w_attr_real(w, "max_residual", spec->max_residual));
  PetscCall(mc_io_h5w_attr_real(w, "eig_tol", run->eig_tol));
  PetscCall(mc_io_h5w_group_pop(w));

  PetscCall(mc_io_h5w_group_push(w, "clusters"));
  PetscCall(write_partition(w, c));
  PetscCall(mc_io_h5w_attr_real(w, "inertia", c->inertia));
  PetscCall(mc_io_h5w_attr_int(w, "best_restart", c->best_restart));
  PetscCall(mc_io_h5w_attr_string(w, "scope", mc_graph_scope_name(cg ? MC_SCOPE_LOCAL : MC_SCOPE_GLOBAL)));
  if (cg) PetscCall(mc_io_h5w_ints(w, "local_k", c->n_groups, 0, c->local_k));
  PetscCall(mc_io_h5w_group_pop(w));
  if (cg) {
    PetscCall(mc_io_h5w_group_push(w, "clusters_global"));
    PetscCall(write_partition(w, cg));
    PetscCall(mc_io_h5w_group_pop(w));
  }
  PetscFunctionReturn(0);
}

/* /clusterability: the shuffle null (docs/method.md section 7). */
PetscErrorCode mc__report_results_clusterability(MCH5Writer *w, const MCNull *nul)
{

  PetscFunctionBeginUser;
  PetscCall(mc_io_h5w_group_push(w, "clusterability"));
  PetscCall(mc_io_h5w_scalar(w, "ncut_true", nul->ncut_true));
  PetscCall(mc_io_h5w_reals(w, "ncut_shuffled", nul->n_shuffles, 0, nul->ncut_shuffled));
  PetscCall(mc_io_h5w_scalar(w, "p_value", nul->p_value));
  PetscCall(mc_io_h5w_scalar(w, "z_score", nul->z_score));
  PetscCall(mc_io_h5w_attr_string(w, "shuffle", mc_shuffle_kind_name(nul->shuffle)));
  PetscCall(mc_io_h5w_attr_string(w, "p_ties", mc_stats_ties_name(nul->p_ties)));
  PetscCall(mc_io_h5w_attr_int(w, "n_shuffles", nul->n_shuffles));
  PetscCall(mc_io_h5w_attr_int(w, "group_size", nul->group_size));
  PetscCall(mc_io_h5w_attr_int(w, "n_groups", nul->n_groups));
  PetscCall(mc_io_h5w_attr_int(w, "n_resumed", nul->n_resumed));
  PetscCall(mc_io_h5w_attr_real(w, "mean", nul->mean));
  PetscCall(mc_io_h5w_attr_real(w, "std", nul->std));
  PetscCall(mc_io_h5w_attr_real(w, "seconds", nul->seconds));
  if (nul->n_random_init > 0) PetscCall(mc_io_h5w_reals(w, "ncut_random_init", nul->n_random_init, 0, nul->ncut_random_init));
  PetscCall(mc_io_h5w_group_pop(w));
  PetscFunctionReturn(0);
}

static PetscErrorCode write_body(MCH5Writer *w, const MCReport *run, const MCSavedGraph *saved)
{
  PetscFunctionBeginUser;
  PetscCall(mc_io_h5w_attr_string(w, "format", "modclust-results"));
  PetscCall(mc_io_h5w_attr_int(w, "format_version", 1));
  PetscCall(write_provenance(w, run));
  PetscCall(write_graph(w, run, saved));
  PetscCall(write_clusters(w, run));
  PetscCall(mc__report_results_importance(w, run->importance));
  if (run->clusterability) PetscCall(mc__report_results_clusterability(w, run->clusterability));
  if (run->n_parts > 1) PetscCall(mc__report_results_partitionings(w, run));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__report_write_results(const MCReport *run, const char *path, const MCSavedGraph *saved)
{
  MCH5Writer    *w = NULL;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(MC_EVENTS[MC_EVENT_WRITE], 0, 0, 0, 0));
  PetscCall(mc_io_h5w_create(path, &w));
  ierr = write_body(w, run, saved);
  /* A failed write (a full disk) must not leave the file open: HDF5 would close it at exit, in MPI_Finalize,
     and crash there. */
  if (ierr) mc_io_h5w_abandon(&w);
  PetscCall(ierr);
  PetscCall(mc_io_h5w_close(&w));
  PetscCall(PetscLogEventEnd(MC_EVENTS[MC_EVENT_WRITE], 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
