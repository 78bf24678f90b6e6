/* src/io/results_importance.c: the /importance group of results.h5: one row per sub-cluster, the random
   draws as M x n_random matrices, the combination and Benjamini-Hochberg as attributes. */
#include <hdf5.h>
#include "mc/lesion.h"
#include "results_importance.h"

#define H5CALL(expr, what) \
  do { \
    if ((expr) < 0) SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s in %s (HDF5 error)", what, path); \
  } while (0)

static PetscErrorCode attr(hid_t loc, const char *path, const char *name, hid_t type, const void *v)
{
  hid_t s, a;

  PetscFunctionBeginUser;
  H5CALL(s = H5Screate(H5S_SCALAR), name);
  H5CALL(a = H5Acreate2(loc, name, type, s, H5P_DEFAULT, H5P_DEFAULT), name);
  H5CALL(H5Awrite(a, type, v), name);
  H5CALL(H5Aclose(a), name);
  H5CALL(H5Sclose(s), name);
  PetscFunctionReturn(0);
}

static PetscErrorCode attr_real(hid_t loc, const char *path, const char *name, PetscReal v)
{
  double d = (double)v;

  PetscFunctionBeginUser;
  PetscCall(attr(loc, path, name, H5T_NATIVE_DOUBLE, &d));
  PetscFunctionReturn(0);
}

static PetscErrorCode attr_int(hid_t loc, const char *path, const char *name, PetscInt64 v)
{
  long long d = (long long)v;

  PetscFunctionBeginUser;
  PetscCall(attr(loc, path, name, H5T_NATIVE_LLONG, &d));
  PetscFunctionReturn(0);
}

static PetscErrorCode attr_string(hid_t loc, const char *path, const char *name, const char *value)
{
  hid_t t;

  PetscFunctionBeginUser;
  H5CALL(t = H5Tcopy(H5T_C_S1), name);
  H5CALL(H5Tset_size(t, H5T_VARIABLE), name);
  H5CALL(H5Tset_cset(t, H5T_CSET_UTF8), name);
  PetscCall(attr(loc, path, name, t, &value));
  H5CALL(H5Tclose(t), name);
  PetscFunctionReturn(0);
}

/* A rows x cols dataset (cols = 0: 1-D of rows entries); PetscInt as int64, reals as float64. */
static PetscErrorCode dataset(hid_t loc, const char *path, const char *name, PetscBool is_int, hsize_t rows, hsize_t cols, const void *v)
{
  hsize_t dims[2] = {rows, cols};
  hid_t   s, d, mt = is_int ? (sizeof(PetscInt) == 8 ? H5T_NATIVE_INT64 : H5T_NATIVE_INT32) : H5T_NATIVE_DOUBLE;

  PetscFunctionBeginUser;
  H5CALL(s = H5Screate_simple(cols ? 2 : 1, dims, NULL), name);
  H5CALL(d = H5Dcreate2(loc, name, is_int ? H5T_STD_I64LE : H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name);
  if (rows > 0) H5CALL(H5Dwrite(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), name);
  H5CALL(H5Dclose(d), name);
  H5CALL(H5Sclose(s), name);
  PetscFunctionReturn(0);
}

/* The rows and attributes of one network's test in group `g`. */
static PetscErrorCode write_net(hid_t g, const char *path, const MCLesionResult *r)
{
  hsize_t M = (hsize_t)r->n_sub;

  PetscFunctionBeginUser;
  PetscCall(dataset(g, path, "layer", PETSC_TRUE, M, 0, r->layer));
  PetscCall(dataset(g, path, "cluster", PETSC_TRUE, M, 0, r->cluster));
  PetscCall(dataset(g, path, "size", PETSC_TRUE, M, 0, r->size));
  PetscCall(dataset(g, path, "mean_acc", PETSC_FALSE, M, 0, r->mean_acc));
  PetscCall(dataset(g, path, "range", PETSC_FALSE, M, 0, r->range));
  PetscCall(dataset(g, path, "mean_acc_random", PETSC_FALSE, M, (hsize_t)r->n_random, r->mean_acc_random));
  PetscCall(dataset(g, path, "range_random", PETSC_FALSE, M, (hsize_t)r->n_random, r->range_random));
  PetscCall(dataset(g, path, "p_mean", PETSC_FALSE, M, 0, r->p_mean));
  PetscCall(dataset(g, path, "p_range", PETSC_FALSE, M, 0, r->p_range));
  PetscCall(dataset(g, path, "effect_mean", PETSC_FALSE, M, 0, r->effect_mean));
  PetscCall(dataset(g, path, "effect_range", PETSC_FALSE, M, 0, r->effect_range));
  PetscCall(dataset(g, path, "class_acc", PETSC_FALSE, M, (hsize_t)r->n_classes, r->class_acc));
  PetscCall(dataset(g, path, "baseline_class_acc", PETSC_FALSE, (hsize_t)r->n_classes, 0, r->baseline_class_acc));
  PetscCall(attr_string(g, path, "model_path", r->model_path));
  PetscCall(attr_int(g, path, "n_random", r->n_random));
  PetscCall(attr_int(g, path, "n_test", r->n_test));
  PetscCall(attr_real(g, path, "baseline_mean_acc", r->baseline_mean_acc));
  PetscCall(attr_real(g, path, "fisher_p_mean", r->fisher_p_mean));
  PetscCall(attr_real(g, path, "fisher_p_range", r->fisher_p_range));
  PetscCall(attr_real(g, path, "fisher_stat_mean", r->fisher_stat_mean));
  PetscCall(attr_real(g, path, "fisher_stat_range", r->fisher_stat_range));
  PetscCall(attr_real(g, path, "effect_mean_2e", r->effect_mean_avg));
  PetscCall(attr_real(g, path, "effect_mean_2e_sem", r->effect_mean_sem));
  PetscCall(attr_real(g, path, "effect_range_2e", r->effect_range_avg));
  PetscCall(attr_real(g, path, "effect_range_2e_sem", r->effect_range_sem));
  PetscCall(attr_real(g, path, "seconds", r->seconds));
  PetscCall(attr_real(g, path, "gflop", r->gflop));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__results_write_importance(hid_t file, const char *path, const MCRun *run)
{
  const MCImportance *imp = run->importance;
  hid_t               g, sub;
  char                name[64];

  PetscFunctionBeginUser;
  if (!imp) PetscFunctionReturn(0);
  H5CALL(g = H5Gcreate2(file, "importance", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "importance");
  PetscCall(write_net(g, path, imp->net[0]));
  PetscCall(attr_string(g, path, "lesion", imp->lesion));
  PetscCall(attr_int(g, path, "n_networks", imp->n_nets));
  PetscCall(attr_string(g, path, "combination", imp->n_nets > 1 ? "bates" : "fisher"));
  PetscCall(attr_real(g, path, "combined_p_mean", imp->p_mean));
  PetscCall(attr_real(g, path, "combined_p_range", imp->p_range));
  PetscCall(attr_real(g, path, "combined_fisher_stat_mean", imp->fisher_stat_mean));
  PetscCall(attr_real(g, path, "combined_fisher_stat_range", imp->fisher_stat_range));
  PetscCall(attr_real(g, path, "bh_q", imp->fdr_q));
  PetscCall(attr_real(g, path, "bh_threshold", imp->bh_threshold));
  PetscCall(attr_int(g, path, "bh_reject_mean", imp->bh_reject_mean ? 1 : 0));
  PetscCall(attr_int(g, path, "bh_reject_range", imp->bh_reject_range ? 1 : 0));
  PetscCall(attr_real(g, path, "bh_qval_mean", imp->bh_qval_mean));
  PetscCall(attr_real(g, path, "bh_qval_range", imp->bh_qval_range));
  for (PetscInt i = 1; i < imp->n_nets; ++i) {
    PetscCall(PetscSNPrintf(name, sizeof(name), "replicate_%" PetscInt_FMT, i));
    H5CALL(sub = H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name);
    PetscCall(write_net(sub, path, imp->net[i]));
    H5CALL(H5Gclose(sub), name);
  }
  if (imp->control) {
    H5CALL(sub = H5Gcreate2(g, "control", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "importance/control");
    PetscCall(write_net(sub, path, imp->control));
    PetscCall(attr_string(sub, path, "partition", "random_partition"));
    H5CALL(H5Gclose(sub), "importance/control");
  }
  H5CALL(H5Gclose(g), "importance");
  PetscFunctionReturn(0);
}
