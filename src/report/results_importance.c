/* src/report/results_importance.c: the /importance group of results.h5: one row per sub-cluster, the random
   draws as M x n_random matrices, the combination and Benjamini-Hochberg as attributes. */
#include "mc/lesion.h"
#include "report_impl.h"

/* The rows and attributes of one network's test in group `g`. */
static PetscErrorCode write_net(MCH5Writer *w, const MCLesionResult *r)
{
  PetscInt M = r->n_sub;

  PetscFunctionBeginUser;
  PetscCall(mc_io_h5w_ints(w, "layer", M, 0, r->layer));
  PetscCall(mc_io_h5w_ints(w, "group", M, 0, r->group));
  PetscCall(mc_io_h5w_ints(w, "cluster", M, 0, r->cluster));
  PetscCall(mc_io_h5w_ints(w, "size", M, 0, r->size));
  PetscCall(mc_io_h5w_reals(w, "mean_acc", M, 0, r->mean_acc));
  PetscCall(mc_io_h5w_reals(w, "range", M, 0, r->range));
  PetscCall(mc_io_h5w_reals(w, "mean_acc_random", M, r->n_random, r->mean_acc_random));
  PetscCall(mc_io_h5w_reals(w, "range_random", M, r->n_random, r->range_random));
  PetscCall(mc_io_h5w_reals(w, "p_mean", M, 0, r->p_mean));
  PetscCall(mc_io_h5w_reals(w, "p_range", M, 0, r->p_range));
  PetscCall(mc_io_h5w_reals(w, "effect_mean", M, 0, r->effect_mean));
  PetscCall(mc_io_h5w_reals(w, "effect_range", M, 0, r->effect_range));
  PetscCall(mc_io_h5w_reals(w, "class_acc", M, r->n_classes, r->class_acc));
  PetscCall(mc_io_h5w_reals(w, "baseline_class_acc", r->n_classes, 0, r->baseline_class_acc));
  PetscCall(mc_io_h5w_attr_string(w, "model_path", r->model_path));
  PetscCall(mc_io_h5w_attr_int(w, "n_random", r->n_random));
  PetscCall(mc_io_h5w_attr_int(w, "n_test", r->n_test));
  PetscCall(mc_io_h5w_attr_real(w, "baseline_mean_acc", r->baseline_mean_acc));
  PetscCall(mc_io_h5w_attr_real(w, "fisher_p_mean", r->fisher_p_mean));
  PetscCall(mc_io_h5w_attr_real(w, "fisher_p_range", r->fisher_p_range));
  PetscCall(mc_io_h5w_attr_real(w, "fisher_stat_mean", r->fisher_stat_mean));
  PetscCall(mc_io_h5w_attr_real(w, "fisher_stat_range", r->fisher_stat_range));
  PetscCall(mc_io_h5w_attr_real(w, "effect_mean_2e", r->effect_mean_avg));
  PetscCall(mc_io_h5w_attr_real(w, "effect_mean_2e_sem", r->effect_mean_sem));
  PetscCall(mc_io_h5w_attr_real(w, "effect_range_2e", r->effect_range_avg));
  PetscCall(mc_io_h5w_attr_real(w, "effect_range_2e_sem", r->effect_range_sem));
  PetscCall(mc_io_h5w_attr_real(w, "seconds", r->seconds));
  PetscCall(mc_io_h5w_attr_real(w, "gflop", r->gflop));
  PetscCall(mc_io_h5w_attr_int(w, "n_resumed", r->n_resumed));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__report_results_importance(MCH5Writer *w, const MCImportance *imp)
{
  char                name[64];

  PetscFunctionBeginUser;
  if (!imp) PetscFunctionReturn(0);
  PetscCall(mc_io_h5w_group_push(w, "importance"));
  PetscCall(write_net(w, imp->net[0]));
  PetscCall(mc_io_h5w_attr_string(w, "lesion", mc_forward_lesion_mode_name(imp->lesion)));
  PetscCall(mc_io_h5w_attr_int(w, "n_networks", imp->n_nets));
  PetscCall(mc_io_h5w_attr_string(w, "combination", imp->n_nets > 1 ? "bates" : "fisher"));
  PetscCall(mc_io_h5w_attr_real(w, "combined_p_mean", imp->p_mean));
  PetscCall(mc_io_h5w_attr_real(w, "combined_p_range", imp->p_range));
  PetscCall(mc_io_h5w_attr_real(w, "combined_fisher_stat_mean", imp->fisher_stat_mean));
  PetscCall(mc_io_h5w_attr_real(w, "combined_fisher_stat_range", imp->fisher_stat_range));
  PetscCall(mc_io_h5w_attr_real(w, "bh_q", imp->fdr_q));
  PetscCall(mc_io_h5w_attr_real(w, "bh_threshold", imp->bh_threshold));
  PetscCall(mc_io_h5w_attr_int(w, "bh_reject_mean", imp->bh_reject_mean ? 1 : 0));
  PetscCall(mc_io_h5w_attr_int(w, "bh_reject_range", imp->bh_reject_range ? 1 : 0));
  PetscCall(mc_io_h5w_attr_real(w, "bh_qval_mean", imp->bh_qval_mean));
  PetscCall(mc_io_h5w_attr_real(w, "bh_qval_range", imp->bh_qval_range));
  for (PetscInt i = 1; i < imp->n_nets; ++i) {
    PetscCall(PetscSNPrintf(name, sizeof(name), "replicate_%" PetscInt_FMT, i));
    PetscCall(mc_io_h5w_group_push(w, name));
    PetscCall(write_net(w, imp->net[i]));
    PetscCall(mc_io_h5w_group_pop(w));
  }
  if (imp->control) {
    PetscCall(mc_io_h5w_group_push(w, "control"));
    PetscCall(write_net(w, imp->control));
    PetscCall(mc_io_h5w_attr_string(w, "partition", "random_partition"));
    PetscCall(mc_io_h5w_group_pop(w));
  }
  PetscCall(mc_io_h5w_group_pop(w));
  PetscFunctionReturn(0);
}
