/* src/io/results.c: results.h5, the machine-readable record of a run (docs/formats.md). */
#include <string.h>
#include <hdf5.h>
#include "mc/results.h"
#include "mc/sys.h"
#include "results_importance.h"

/* Raise a PETSc error naming the file and object when an HDF5 call fails. */
#define H5CALL(expr, what) \
  do { \
    if ((expr) < 0) SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s in %s (HDF5 error)", what, path); \
  } while (0)

static PetscErrorCode attr_string(hid_t loc, const char *path, const char *name, const char *value)
{
  hid_t t, s, a;

  PetscFunctionBeginUser;
  H5CALL(t = H5Tcopy(H5T_C_S1), name);
  H5CALL(H5Tset_size(t, H5T_VARIABLE), name);
  H5CALL(H5Tset_cset(t, H5T_CSET_UTF8), name);
  H5CALL(s = H5Screate(H5S_SCALAR), name);
  H5CALL(a = H5Acreate2(loc, name, t, s, H5P_DEFAULT, H5P_DEFAULT), name);
  H5CALL(H5Awrite(a, t, &value), name);
  H5CALL(H5Aclose(a), name);
  H5CALL(H5Sclose(s), name);
  H5CALL(H5Tclose(t), name);
  PetscFunctionReturn(0);
}

static PetscErrorCode attr_num(hid_t loc, const char *path, const char *name, hid_t type, const void *value)
{
  hid_t s, a;

  PetscFunctionBeginUser;
  H5CALL(s = H5Screate(H5S_SCALAR), name);
  H5CALL(a = H5Acreate2(loc, name, type, s, H5P_DEFAULT, H5P_DEFAULT), name);
  H5CALL(H5Awrite(a, type, value), name);
  H5CALL(H5Aclose(a), name);
  H5CALL(H5Sclose(s), name);
  PetscFunctionReturn(0);
}

static PetscErrorCode attr_real(hid_t loc, const char *path, const char *name, PetscReal v)
{
  double d = (double)v;

  PetscFunctionBeginUser;
  PetscCall(attr_num(loc, path, name, H5T_NATIVE_DOUBLE, &d));
  PetscFunctionReturn(0);
}

static PetscErrorCode attr_int(hid_t loc, const char *path, const char *name, PetscInt64 v)
{
  long long d = (long long)v;

  PetscFunctionBeginUser;
  PetscCall(attr_num(loc, path, name, H5T_NATIVE_LLONG, &d));
  PetscFunctionReturn(0);
}

/* A 1-D dataset; PetscInt arrays are stored as 64-bit integers, reals as doubles. */
static PetscErrorCode dataset_1d(hid_t loc, const char *path, const char *name, hid_t mem_type, hid_t file_type, hsize_t n, const void *data)
{
  hid_t s, d;

  PetscFunctionBeginUser;
  H5CALL(s = H5Screate_simple(1, &n, NULL), name);
  H5CALL(d = H5Dcreate2(loc, name, file_type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name);
  if (n > 0) H5CALL(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), name);
  H5CALL(H5Dclose(d), name);
  H5CALL(H5Sclose(s), name);
  PetscFunctionReturn(0);
}

static PetscErrorCode dataset_int(hid_t loc, const char *path, const char *name, hsize_t n, const PetscInt *v)
{
  PetscFunctionBeginUser;
  PetscCall(dataset_1d(loc, path, name, sizeof(PetscInt) == 8 ? H5T_NATIVE_INT64 : H5T_NATIVE_INT32, H5T_STD_I64LE, n, v));
  PetscFunctionReturn(0);
}

static PetscErrorCode dataset_real(hid_t loc, const char *path, const char *name, hsize_t n, const PetscReal *v)
{
  PetscFunctionBeginUser;
  PetscCall(dataset_1d(loc, path, name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, n, v));
  PetscFunctionReturn(0);
}

static PetscErrorCode group(hid_t loc, const char *path, const char *name, hid_t *g)
{
  PetscFunctionBeginUser;
  H5CALL(*g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name);
  PetscFunctionReturn(0);
}

static PetscErrorCode write_provenance(hid_t file, const char *path, const MCRun *run)
{
  char   versions[1024];
  char  *opts = NULL;
  hid_t  g;

  PetscFunctionBeginUser;
  mc_sys_version_string(versions, sizeof(versions));
  PetscCall(PetscOptionsGetAll(NULL, &opts));
  PetscCall(group(file, path, "provenance", &g));
  PetscCall(attr_string(g, path, "tool", "modclust-mpi"));
  PetscCall(attr_string(g, path, "version", MC_VERSION));
  PetscCall(attr_string(g, path, "git_hash", MC_GIT_HASH));
  PetscCall(attr_string(g, path, "versions", versions));
  PetscCall(attr_int(g, path, "n_ranks", run->n_ranks));
  PetscCall(attr_int(g, path, "seed", run->cfg->cluster_seed));
  PetscCall(attr_string(g, path, "config", run->cfg->text));
  PetscCall(attr_string(g, path, "petsc_options", opts ? opts : ""));
  PetscCall(attr_string(g, path, "model_path", run->model->source));
  PetscCall(attr_string(g, path, "model_format", run->model->format));
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
  PetscCall(group(file, path, "graph", &grp));
  PetscCall(attr_int(grp, path, "n_nodes", g->n_nodes));
  PetscCall(dataset_int(grp, path, "node_layer", (hsize_t)g->n_nodes, layer));
  PetscCall(dataset_int(grp, path, "node_unit", (hsize_t)g->n_nodes, unit));
  if (indptr) {
    PetscCall(group(grp, path, "adjacency", &adj));
    PetscCall(attr_string(adj, path, "format", "csr"));
    PetscCall(dataset_int(adj, path, "indptr", (hsize_t)g->n_nodes + 1, indptr));
    PetscCall(dataset_int(adj, path, "indices", (hsize_t)indptr[g->n_nodes], indices));
    PetscCall(dataset_real(adj, path, "data", (hsize_t)indptr[g->n_nodes], data));
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
  PetscCall(group(file, path, "spectral", &grp));
  PetscCall(dataset_real(grp, path, "eigenvalues", (hsize_t)c->k, c->eigenvalues));
  PetscCall(attr_int(grp, path, "n_converged", c->n_converged));
  PetscCall(attr_real(grp, path, "max_residual", c->max_residual));
  PetscCall(attr_real(grp, path, "eig_tol", run->cfg->cluster_eig_tol));
  H5CALL(H5Gclose(grp), "spectral");

  PetscCall(group(file, path, "clusters", &grp));
  PetscCall(dataset_int(grp, path, "labels", (hsize_t)c->n_nodes, c->labels));
  PetscCall(attr_int(grp, path, "k", c->k));
  PetscCall(attr_real(grp, path, "ncut", c->ncut));
  PetscCall(attr_int(grp, path, "n_removed", c->n_removed));
  PetscCall(attr_real(grp, path, "inertia", c->inertia));
  PetscCall(attr_int(grp, path, "best_restart", c->best_restart));
  H5CALL(H5Gclose(grp), "clusters");
  PetscFunctionReturn(0);
}

/* A scalar double dataset (h5py: f[name][()]). */
static PetscErrorCode dataset_scalar(hid_t loc, const char *path, const char *name, PetscReal v)
{
  double d = (double)v;
  hid_t  s, ds;

  PetscFunctionBeginUser;
  H5CALL(s = H5Screate(H5S_SCALAR), name);
  H5CALL(ds = H5Dcreate2(loc, name, H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name);
  H5CALL(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &d), name);
  H5CALL(H5Dclose(ds), name);
  H5CALL(H5Sclose(s), name);
  PetscFunctionReturn(0);
}

/* /clusterability: the shuffle null (METHOD.md section 6). */
static PetscErrorCode write_clusterability(hid_t file, const char *path, const MCNull *nul)
{
  hid_t grp;

  PetscFunctionBeginUser;
  PetscCall(group(file, path, "clusterability", &grp));
  PetscCall(dataset_scalar(grp, path, "ncut_true", nul->ncut_true));
  PetscCall(dataset_real(grp, path, "ncut_shuffled", (hsize_t)nul->n_shuffles, nul->ncut_shuffled));
  PetscCall(dataset_scalar(grp, path, "p_value", nul->p_value));
  PetscCall(dataset_scalar(grp, path, "z_score", nul->z_score));
  PetscCall(attr_string(grp, path, "shuffle", nul->shuffle));
  PetscCall(attr_string(grp, path, "p_ties", nul->p_ties));
  PetscCall(attr_int(grp, path, "n_shuffles", nul->n_shuffles));
  PetscCall(attr_int(grp, path, "group_size", nul->group_size));
  PetscCall(attr_int(grp, path, "n_groups", nul->n_groups));
  PetscCall(attr_int(grp, path, "n_resumed", nul->n_resumed));
  PetscCall(attr_real(grp, path, "mean", nul->mean));
  PetscCall(attr_real(grp, path, "std", nul->std));
  PetscCall(attr_real(grp, path, "seconds", nul->seconds));
  if (nul->n_random_init > 0) PetscCall(dataset_real(grp, path, "ncut_random_init", (hsize_t)nul->n_random_init, nul->ncut_random_init));
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
  PetscCall(attr_string(file, path, "format", "modclust-results"));
  PetscCall(attr_int(file, path, "format_version", 1));
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
