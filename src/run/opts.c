/* src/run/opts.c: the configuration turned into each module's options. ENUM keys arrive as the index of
   their value in the key's choices; the modules' C enums list their values in the same order
   (tests/config/test_config_enums.c checks every pair). */
#include <string.h>
#include "mc/run.h"

PetscErrorCode mc_run_model_read_opts(const MCConfig *cfg, const char *path, MCModelReadOpts *o)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(o, sizeof(*o)));
  PetscCall(PetscStrncpy(o->path, path, sizeof(o->path)));
  o->format = (MCModelFormat)cfg->model_format;
  o->layout = (MCTensorLayout)cfg->model_layout;
  PetscCall(PetscStrncpy(o->input_shape, cfg->model_input_shape, sizeof(o->input_shape)));
  o->infer         = (MCModelInfer)cfg->model_infer;
  o->n_layer_specs = cfg->n_layer_specs;
  o->layer_specs   = cfg->layer_specs;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_graph_opts(const MCConfig *cfg, MCGraphOpts *o)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(o, sizeof(*o)));
  o->kind               = (MCGraphKind)cfg->graph_kind;
  o->conv_norm          = (MCConvNorm)cfg->graph_conv_norm;
  o->fold_batchnorm     = cfg->graph_fold_batchnorm;
  o->bn_negative        = (MCBNNegative)cfg->graph_bn_negative;
  o->include_dense_head = cfg->graph_include_dense_head;
  o->act_samples        = (PetscInt)cfg->graph_act_samples;
  o->act_norm           = (MCSpatialNorm)cfg->graph_act_spatial_norm;
  o->act_corr           = (MCCorr)cfg->graph_act_corr;
  o->act_include_io     = cfg->graph_act_include_io;
  o->act_knn            = (PetscInt)cfg->graph_act_knn;
  o->keep_activations   = cfg->output_save_graph;
  o->seed               = (uint64_t)cfg->cluster_seed;
  PetscCall(mc_dense_options(&o->dense));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_dataset_opts(const MCConfig *cfg, const MCModel *model, MCDatasetOpts *o)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(o, sizeof(*o)));
  PetscCall(PetscArraycpy(o->shape, model->input_shape, 3));
  o->preprocess = (MCPreprocess)cfg->data_preprocess;
  o->crop       = cfg->data_crop_fraction;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_cluster_opts(const MCConfig *cfg, MCClusterOpts *o)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(o, sizeof(*o)));
  o->k              = (PetscInt)cfg->cluster_k;
  o->n_init         = (PetscInt)cfg->cluster_n_init;
  o->max_iter       = (PetscInt)cfg->cluster_max_iter;
  o->tol            = cfg->cluster_tol;
  o->eig_tol        = cfg->cluster_eig_tol;
  o->eig_max_it     = (PetscInt)cfg->cluster_eig_max_it;
  o->seed           = (uint64_t)cfg->cluster_seed;
  o->options_prefix = NULL;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_null_opts(const MCConfig *cfg, MCNullOpts *o)
{
  static const char *const depends_on[] = {"model", "graph", "cluster", "layer", "clusterability.shuffle"};

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(o, sizeof(*o)));
  o->n_shuffles         = (PetscInt)cfg->clusterability_n_shuffles;
  o->shuffle            = (MCShuffleKind)cfg->clusterability_shuffle;
  o->ties               = (MCTies)cfg->clusterability_p_ties;
  o->group_size         = (PetscInt)cfg->clusterability_group_size;
  o->random_init_trials = (PetscInt)cfg->clusterability_random_init_trials;
  PetscCall(mc_run_graph_opts(cfg, &o->graph));
  o->graph.kind = MC_GRAPH_WEIGHTS; /* the random-initialisation baseline's graphs */
  PetscCall(mc_run_cluster_opts(cfg, &o->cluster));
  o->checkpoint = cfg->clusterability_checkpoint;
  PetscCall(PetscStrncpy(o->dir, cfg->output_dir, sizeof(o->dir)));
  PetscCall(mc_config_hash(cfg, (PetscInt)(sizeof(depends_on) / sizeof(depends_on[0])), depends_on, &o->config_hash));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_lesion_opts(const MCConfig *cfg, PetscInt replicate, MCLesionOpts *o)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(o, sizeof(*o)));
  o->n_random = (PetscInt)cfg->importance_n_random;
  o->mode     = (MCLesionMode)cfg->importance_lesion;
  o->min_size = (PetscInt)cfg->importance_min_size;
  o->max_prop = cfg->importance_max_prop;
  o->ties     = (MCTies)cfg->importance_p_ties;
  o->seed     = (uint64_t)cfg->cluster_seed;
  o->stream   = (uint64_t)replicate << 32;
  o->batch    = (PetscInt)cfg->importance_batch;
  o->cache_mb = (PetscReal)cfg->importance_cache_mb;
  o->checkpoint_dir = cfg->importance_checkpoint ? cfg->output_dir : NULL;
  o->label    = "lesion";
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_report_opts(const MCConfig *cfg, MCReportOpts *o)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(o, sizeof(*o)));
  PetscCall(PetscStrncpy(o->dir, cfg->output_dir, sizeof(o->dir)));
  o->overwrite    = cfg->output_overwrite;
  o->save_graph   = cfg->output_save_graph;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_run_partitionings(MPI_Comm comm, const MCConfig *cfg, PetscInt *n, MCGraphKind kind[], MCScope scope[])
{
  char  buf[PETSC_MAX_PATH_LEN], *tok, *save = NULL;

  PetscFunctionBeginUser;
  *n = 0;
  PetscCall(PetscStrncpy(buf, cfg->graph_partitionings, sizeof(buf)));
  for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
    MCGraphKind k;
    MCScope     s;

    PetscCheck(mc_graph_partitioning_parse(tok, &k, &s), comm, PETSC_ERR_USER_INPUT,
               "[graph] partitionings: '%s' is not a partitioning; choose from weights_global, weights_local, activations_global, activations_local", tok);
    for (PetscInt i = 0; i < *n; ++i)
      PetscCheck(kind[i] != k || scope[i] != s, comm, PETSC_ERR_USER_INPUT, "[graph] partitionings: '%s' is listed twice", tok);
    PetscCheck(*n < MC_MAX_PARTITIONINGS, comm, PETSC_ERR_PLIB, "too many partitionings");
    kind[*n]    = k;
    scope[*n]   = s;
    (*n)++;
  }
  if (*n == 0) {
    kind[0]  = (MCGraphKind)cfg->graph_kind;
    scope[0] = (MCScope)cfg->graph_scope;
    *n       = 1;
  }
  PetscFunctionReturn(0);
}
