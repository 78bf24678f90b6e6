/* src/run/stages.c: which stages a configuration asks for, and their options. */
#include "mc/run.h"

PetscErrorCode mc_run_check_stages(MPI_Comm comm, const MCConfig *cfg)
{
  PetscFunctionBeginUser;
  PetscCheck(!cfg->importance_enabled || cfg->data_source[0], comm, PETSC_ERR_USER_INPUT,
             "[importance] enabled = true needs the test set: set [data] source (e.g. data.source=/usr/share/datasets/fashion-mnist)");
  PetscCheck(!cfg->coherence_enabled, comm, PETSC_ERR_SUP, "[coherence] enabled = true: the coherence tests are not implemented yet; set it to false");
  PetscCheck(cfg->clusterability_random_init_trials == 0 || cfg->clusterability_n_shuffles > 0, comm, PETSC_ERR_USER_INPUT,
             "[clusterability] random_init_trials = %" PetscInt64_FMT " runs with the shuffle null only: set n_shuffles >= 1 too", cfg->clusterability_random_init_trials);
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_cluster_opts(const MCConfig *cfg, MCClusterOpts *opts)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(opts, sizeof(*opts)));
  opts->k              = (PetscInt)cfg->cluster_k;
  opts->n_init         = (PetscInt)cfg->cluster_n_init;
  opts->max_iter       = (PetscInt)cfg->cluster_max_iter;
  opts->tol            = cfg->cluster_tol;
  opts->eig_tol        = cfg->cluster_eig_tol;
  opts->eig_max_it     = (PetscInt)cfg->cluster_eig_max_it;
  opts->seed           = (uint64_t)cfg->cluster_seed;
  opts->options_prefix = NULL;
  PetscFunctionReturn(0);
}
