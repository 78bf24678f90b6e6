/* src/io/results_importance.c: the /importance group of results.h5: one row per sub-cluster, the random
   draws as M x n_random matrices, the combination and Benjamini-Hochberg as attributes. */
#include <hdf5.h>
#include "mc/lesion.h"
#include "results_impl.h"

/* The rows and attributes of one network's test in group `g`. */
static PetscErrorCode write_net(hid_t g, const char *path, const MCLesionResult *r)
{
  hsize_t M = (hsize_t)r->n_sub;

  PetscFunctionBeginUser;
  PetscCall(mc__results_dataset(g, path, "layer", PETSC_TRUE, M, 0, r->layer));
  PetscCall(mc__results_dataset(g, path, "cluster", PETSC_TRUE, M, 0, r->cluster));
  PetscCall(mc__results_dataset(g, path, "size", PETSC_TRUE, M, 0, r->size));
  PetscCall(mc__results_dataset(g, path, "mean_acc", PETSC_FALSE, M, 0, r->mean_acc));
  PetscCall(mc__results_dataset(g, path, "range", PETSC_FALSE, M, 0, r->range));
  PetscCall(mc__results_dataset(g, path, "mean_acc_random", PETSC_FALSE, M, (hsize_t)r->n_random, r->mean_acc_random));
  PetscCall(mc__results_dataset(g, path, "range_random", PETSC_FALSE, M, (hsize_t)r->n_random, r->range_random));
  PetscCall(mc__results_dataset(g, path, "p_mean", PETSC_FALSE, M, 0, r->p_mean));
  PetscCall(mc__results_dataset(g, path, "p_range", PETSC_FALSE, M, 0, r->p_range));
  PetscCall(mc__results_dataset(g, path, "effect_mean", PETSC_FALSE, M, 0, r->effect_mean));
  PetscCall(mc__results_dataset(g, path, "effect_range", PETSC_FALSE, M, 0, r->effect_range));
  PetscCall(mc__results_dataset(g, path, "class_acc", PETSC_FALSE, M, (hsize_t)r->n_classes, r->class_acc));
  PetscCall(mc__results_dataset(g, path, "baseline_class_acc", PETSC_FALSE, (hsize_t)r->n_classes, 0, r->baseline_class_acc));
  PetscCall(mc__results_attr_string(g, path, "model_path", r->model_path));
  PetscCall(mc__results_attr_int(g, path, "n_random", r->n_random));
  PetscCall(mc__results_attr_int(g, path, "n_test", r->n_test));
  PetscCall(mc__results_attr_real(g, path, "baseline_mean_acc", r->baseline_mean_acc));
  PetscCall(mc__results_attr_real(g, path, "fisher_p_mean", r->fisher_p_mean));
  PetscCall(mc__results_attr_real(g, path, "fisher_p_range", r->fisher_p_range));
  PetscCall(mc__results_attr_real(g, path, "fisher_stat_mean", r->fisher_stat_mean));
  PetscCall(mc__results_attr_real(g, path, "fisher_stat_range", r->fisher_stat_range));
  PetscCall(mc__results_attr_real(g, path, "effect_mean_2e", r->effect_mean_avg));
  PetscCall(mc__results_attr_real(g, path, "effect_mean_2e_sem", r->effect_mean_sem));
  PetscCall(mc__results_attr_real(g, path, "effect_range_2e", r->effect_range_avg));
  PetscCall(mc__results_attr_real(g, path, "effect_range_2e_sem", r->effect_range_sem));
  PetscCall(mc__results_attr_real(g, path, "seconds", r->seconds));
  PetscCall(mc__results_attr_real(g, path, "gflop", r->gflop));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__results_write_importance(hid_t file, const char *path, const MCRun *run)
{
  const MCImportance *imp = run->importance;
  hid_t               g, sub;
  char                name[64];

  PetscFunctionBeginUser;
  if (!imp) PetscFunctionReturn(0);
  PetscCall(mc__results_group(file, path, "importance", &g));
  PetscCall(write_net(g, path, imp->net[0]));
  PetscCall(mc__results_attr_string(g, path, "lesion", imp->lesion));
  PetscCall(mc__results_attr_int(g, path, "n_networks", imp->n_nets));
  PetscCall(mc__results_attr_string(g, path, "combination", imp->n_nets > 1 ? "bates" : "fisher"));
  PetscCall(mc__results_attr_real(g, path, "combined_p_mean", imp->p_mean));
  PetscCall(mc__results_attr_real(g, path, "combined_p_range", imp->p_range));
  PetscCall(mc__results_attr_real(g, path, "combined_fisher_stat_mean", imp->fisher_stat_mean));
  PetscCall(mc__results_attr_real(g, path, "combined_fisher_stat_range", imp->fisher_stat_range));
  PetscCall(mc__results_attr_real(g, path, "bh_q", imp->fdr_q));
  PetscCall(mc__results_attr_real(g, path, "bh_threshold", imp->bh_threshold));
  PetscCall(mc__results_attr_int(g, path, "bh_reject_mean", imp->bh_reject_mean ? 1 : 0));
  PetscCall(mc__results_attr_int(g, path, "bh_reject_range", imp->bh_reject_range ? 1 : 0));
  PetscCall(mc__results_attr_real(g, path, "bh_qval_mean", imp->bh_qval_mean));
  PetscCall(mc__results_attr_real(g, path, "bh_qval_range", imp->bh_qval_range));
  for (PetscInt i = 1; i < imp->n_nets; ++i) {
    PetscCall(PetscSNPrintf(name, sizeof(name), "replicate_%" PetscInt_FMT, i));
    PetscCall(mc__results_group(g, path, name, &sub));
    PetscCall(write_net(sub, path, imp->net[i]));
    H5CALL(H5Gclose(sub), name);
  }
  if (imp->control) {
    PetscCall(mc__results_group(g, path, "control", &sub));
    PetscCall(write_net(sub, path, imp->control));
    PetscCall(mc__results_attr_string(sub, path, "partition", "random_partition"));
    H5CALL(H5Gclose(sub), "importance/control");
  }
  H5CALL(H5Gclose(g), "importance");
  PetscFunctionReturn(0);
}
