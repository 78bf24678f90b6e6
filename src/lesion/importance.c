/* src/lesion/importance.c: the importance results of a run: the [model] network, its replicates and the
   random-partition control, combined by Fisher (per network), Bates (across replicates) and
   Benjamini-Hochberg (docs/importance.md). */
#include "mc/lesion.h"

PetscErrorCode mc_importance_combine(MCImportance *imp)
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

PetscErrorCode mc_importance_create(PetscInt n_nets, PetscReal fdr_q, MCLesionMode mode, MCImportance **out)
{
  MCImportance *imp;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&imp));
  imp->n_nets = n_nets;
  imp->fdr_q  = fdr_q;
  imp->lesion = mode;
  PetscCall(PetscCalloc1(n_nets, &imp->net));
  *out = imp;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_importance_checkpoint_clear(MPI_Comm comm, const MCImportance *imp)
{
  PetscFunctionBeginUser;
  if (!imp) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < imp->n_nets; ++i)
    if (imp->net[i]) PetscCall(mc_io_checkpoint_clear(comm, imp->net[i]->checkpoint_prefix));
  if (imp->control) PetscCall(mc_io_checkpoint_clear(comm, imp->control->checkpoint_prefix));
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
