/* src/io/results.c: results.h5, the machine-readable record of a run (docs/formats.md). */
#include <string.h>
#include <hdf5.h>
#include "mc/results.h"
#include "mc/sys.h"
#include "results_impl.h"

static PetscErrorCode write_provenance(hid_t file, const char *path, const MCRun *run)
{
  char   versions[1024];
  char  *opts = NULL;
  hid_t  g;

  PetscFunctionBeginUser;
  mc_sys_version_string(versions, sizeof(versions));
  PetscCall(PetscOptionsGetAll(NULL, &opts));
  PetscCall(mc__results_group(file, path, "provenance", &g));
  PetscCall(mc__results_attr_string(g, path, "tool", "modclust-mpi"));
  PetscCall(mc__results_attr_string(g, path, "version", MC_VERSION));
  PetscCall(mc__results_attr_string(g, path, "git_hash", MC_GIT_HASH));
  PetscCall(mc__results_attr_string(g, path, "versions", versions));
  PetscCall(mc__results_attr_int(g, path, "n_ranks", run->n_ranks));
  PetscCall(mc__results_attr_int(g, path, "seed", run->cfg->cluster_seed));
  PetscCall(mc__results_attr_string(g, path, "config", run->cfg->text));
  PetscCall(mc__results_attr_string(g, path, "petsc_options", opts ? opts : ""));
  PetscCall(mc__results_attr_string(g, path, "model_path", run->model->source));
  PetscCall(mc__results_attr_string(g, path, "model_format", run->model->format));
  H5CALL(H5Gclose(g), "provenance");
  PetscCall(PetscFree(opts));
  PetscFunctionReturn(0);
}

static PetscErrorCode write_graph(hid_t file, const char *path, const MCRun *run, const PetscInt *indptr, const PetscInt *indices, const PetscReal *data)
{
  const MCGraph *g = run->graph;
  PetscInt      *layer, *unit;
  hid_t          grp, adj;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(g->n_nodes, &layer, g->n_nodes, &unit));
  for (PetscInt i = 0; i < g->n_nodes; ++i) mc_graph_node_info(g, i, &layer[i], &unit[i]);
  PetscCall(mc__results_group(file, path, "graph", &grp));
  PetscCall(mc__results_attr_int(grp, path, "n_nodes", g->n_nodes));
  PetscCall(mc__results_dataset(grp, path, "node_layer", PETSC_TRUE, (hsize_t)g->n_nodes, 0, layer));
  PetscCall(mc__results_dataset(grp, path, "node_unit", PETSC_TRUE, (hsize_t)g->n_nodes, 0, unit));
  if (indptr) {
    PetscCall(mc__results_group(grp, path, "adjacency", &adj));
    PetscCall(mc__results_attr_string(adj, path, "format", "csr"));
    PetscCall(mc__results_dataset(adj, path, "indptr", PETSC_TRUE, (hsize_t)g->n_nodes + 1, 0, indptr));
    PetscCall(mc__results_dataset(adj, path, "indices", PETSC_TRUE, (hsize_t)indptr[g->n_nodes], 0, indices));
    PetscCall(mc__results_dataset(adj, path, "data", PETSC_FALSE, (hsize_t)indptr[g->n_nodes], 0, data));
    H5CALL(H5Gclose(adj), "graph/adjacency");
  }
  H5CALL(H5Gclose(grp), "graph");
  PetscCall(PetscFree2(layer, unit));
  PetscFunctionReturn(0);
}

static PetscErrorCode write_clusters(hid_t file, const char *path, const MCRun *run)
{
  const MCClustering *c = run->clustering;
  hid_t               grp;

  PetscFunctionBeginUser;
  PetscCall(mc__results_group(file, path, "spectral", &grp));
  PetscCall(mc__results_dataset(grp, path, "eigenvalues", PETSC_FALSE, (hsize_t)c->k, 0, c->eigenvalues));
  PetscCall(mc__results_attr_int(grp, path, "n_converged", c->n_converged));
  PetscCall(mc__results_attr_real(grp, path, "max_residual", c->max_residual));
  PetscCall(mc__results_attr_real(grp, path, "eig_tol", run->cfg->cluster_eig_tol));
  H5CALL(H5Gclose(grp), "spectral");

  PetscCall(mc__results_group(file, path, "clusters", &grp));
  PetscCall(mc__results_dataset(grp, path, "labels", PETSC_TRUE, (hsize_t)c->n_nodes, 0, c->labels));
  PetscCall(mc__results_attr_int(grp, path, "k", c->k));
  PetscCall(mc__results_attr_real(grp, path, "ncut", c->ncut));
  PetscCall(mc__results_attr_int(grp, path, "n_removed", c->n_removed));
  PetscCall(mc__results_attr_real(grp, path, "inertia", c->inertia));
  PetscCall(mc__results_attr_int(grp, path, "best_restart", c->best_restart));
  H5CALL(H5Gclose(grp), "clusters");
  PetscFunctionReturn(0);
}

/* /clusterability: the shuffle null (METHOD.md section 6). */
static PetscErrorCode write_clusterability(hid_t file, const char *path, const MCNull *nul)
{
  hid_t grp;

  PetscFunctionBeginUser;
  PetscCall(mc__results_group(file, path, "clusterability", &grp));
  PetscCall(mc__results_scalar(grp, path, "ncut_true", nul->ncut_true));
  PetscCall(mc__results_dataset(grp, path, "ncut_shuffled", PETSC_FALSE, (hsize_t)nul->n_shuffles, 0, nul->ncut_shuffled));
  PetscCall(mc__results_scalar(grp, path, "p_value", nul->p_value));
  PetscCall(mc__results_scalar(grp, path, "z_score", nul->z_score));
  PetscCall(mc__results_attr_string(grp, path, "shuffle", nul->shuffle));
  PetscCall(mc__results_attr_string(grp, path, "p_ties", nul->p_ties));
  PetscCall(mc__results_attr_int(grp, path, "n_shuffles", nul->n_shuffles));
  PetscCall(mc__results_attr_int(grp, path, "group_size", nul->group_size));
  PetscCall(mc__results_attr_int(grp, path, "n_groups", nul->n_groups));
  PetscCall(mc__results_attr_int(grp, path, "n_resumed", nul->n_resumed));
  PetscCall(mc__results_attr_real(grp, path, "mean", nul->mean));
  PetscCall(mc__results_attr_real(grp, path, "std", nul->std));
  PetscCall(mc__results_attr_real(grp, path, "seconds", nul->seconds));
  if (nul->n_random_init > 0) PetscCall(mc__results_dataset(grp, path, "ncut_random_init", PETSC_FALSE, (hsize_t)nul->n_random_init, 0, nul->ncut_random_init));
  H5CALL(H5Gclose(grp), "clusterability");
  PetscFunctionReturn(0);
}

PetscErrorCode mc_results_write_h5(const MCRun *run, const char *path, const PetscInt *csr_indptr, const PetscInt *csr_indices, const PetscReal *csr_data)
{
  hid_t fapl, file;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(MC_EVENTS[MC_EVENT_WRITE], 0, 0, 0, 0));
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  H5CALL(fapl = H5Pcreate(H5P_FILE_ACCESS), "file access list");
  if (!strcmp(run->cfg->output_file_locking, "off")) H5CALL(H5Pset_file_locking(fapl, 0, 1), "file locking");
  else if (!strcmp(run->cfg->output_file_locking, "on")) H5CALL(H5Pset_file_locking(fapl, 1, 0), "file locking");
  H5CALL(file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl), "the file");
  PetscCall(mc__results_attr_string(file, path, "format", "modclust-results"));
  PetscCall(mc__results_attr_int(file, path, "format_version", 1));
  PetscCall(write_provenance(file, path, run));
  PetscCall(write_graph(file, path, run, csr_indptr, csr_indices, csr_data));
  PetscCall(write_clusters(file, path, run));
  PetscCall(mc__results_write_importance(file, path, run));
  if (run->clusterability) PetscCall(write_clusterability(file, path, run->clusterability));
  H5CALL(H5Fclose(file), "the file");
  H5CALL(H5Pclose(fapl), "file access list");
  PetscCall(PetscLogEventEnd(MC_EVENTS[MC_EVENT_WRITE], 0, 0, 0, 0));
  PetscFunctionReturn(0);
}
