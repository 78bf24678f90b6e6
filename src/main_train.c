/* src/main_train.c: modclust-train CONFIG.ini [train.key=value ...] [-petsc_option ...]
   Trains an MLP or the paper's small CNN (see docs/training.md) and writes a native modclust model file. */
#include <stdio.h>
#include <string.h>
#include "mc/forward.h"
#include "mc/io.h"
#include "mc/sys.h"
#include "mc/train.h"

static const char help[] = "modclust-train: train a reference network and write a native modclust HDF5 model.\n";

static void usage(FILE *fp)
{
  fputs("usage: modclust-train [--help|--version|--print-config|--config-reference] CONFIG.ini [train.key=value ...] [-petsc_option ...]\n"
        "  Trains the network described by the [train] section of CONFIG.ini (keys: docs/training.md) on one rank,\n"
        "  evaluates it on the test set across all ranks and writes train.output (native modclust HDF5).\n",
        fp);
}

/* The data of a training run: the variant of the base dataset, or the POLY task (targets tr_t, te_t). */
typedef struct {
  MCDataset *tr, *te;
  float     *tr_t, *te_t; /* regression targets (poly), else NULL */
} TrainData;

static PetscErrorCode data_load(MPI_Comm comm, const MCTrainConfig *tc, TrainData *d)
{
  MCDataset *base_tr = NULL, *base_te = NULL;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(d, sizeof(*d)));
  if (tc->variant == MC_VARIANT_POLY) {
    PetscCall(mc_train_poly_create(tc->n_train ? (PetscInt)tc->n_train : 60000, (uint64_t)tc->seed, 0, &d->tr, &d->tr_t));
    PetscCall(mc_train_poly_create(tc->n_test ? (PetscInt)tc->n_test : 10000, (uint64_t)tc->seed, 1, &d->te, &d->te_t));
  } else {
    PetscCall(mc_io_dataset_read(comm, tc->data, "train", NULL, &base_tr));
    PetscCall(mc_io_dataset_read(comm, tc->data, "test", NULL, &base_te));
    PetscCall(mc_train_dataset_variant(base_tr, mc_train_variant_name(tc->variant), (PetscInt)tc->n_train, (uint64_t)tc->seed, 0, &d->tr));
    PetscCall(mc_train_dataset_variant(base_te, mc_train_variant_name(tc->variant), (PetscInt)tc->n_test, (uint64_t)tc->seed, 1, &d->te));
    PetscCall(mc_io_dataset_destroy(&base_tr));
    PetscCall(mc_io_dataset_destroy(&base_te));
  }
  PetscCall(PetscPrintf(comm, "train: %" PetscInt_FMT " examples %" PetscInt_FMT "x%" PetscInt_FMT "x%" PetscInt_FMT ", test: %" PetscInt_FMT ", %" PetscInt_FMT " classes (%s)\n", d->tr->n,
                        d->tr->shape[0], d->tr->shape[1], d->tr->shape[2], d->te->n, d->tr->n_classes, mc_train_variant_name(tc->variant)));
  PetscFunctionReturn(0);
}

static PetscErrorCode data_free(TrainData *d)
{
  PetscFunctionBeginUser;
  PetscCall(mc_io_dataset_destroy(&d->tr));
  PetscCall(mc_io_dataset_destroy(&d->te));
  PetscCall(PetscFree(d->tr_t));
  PetscCall(PetscFree(d->te_t));
  PetscFunctionReturn(0);
}

/* The test-set report of a trained model (on rank 0: *model; others receive a copy for the evaluation). */
static PetscErrorCode evaluate(MPI_Comm comm, const MCTrainConfig *tc, const TrainData *d, const MCTrainResult *res, MCModel *model)
{
  PetscMPIInt rank, size;
  MCModel    *m = model;
  MCForward  *f = NULL;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  if (d->te_t) {
    /* Regression: the baseline is the error of predicting each target's mean. */
    double mean_var = 0;
    for (PetscInt j = 0; j < 512; ++j) {
      double mu = 0, v = 0;
      for (PetscInt i = 0; i < d->te->n; ++i) mu += d->te_t[i * 512 + j];
      mu /= d->te->n;
      for (PetscInt i = 0; i < d->te->n; ++i) v += (d->te_t[i * 512 + j] - mu) * (d->te_t[i * 512 + j] - mu);
      mean_var += v / d->te->n / 512;
    }
    if (rank == 0)
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "test mse %.6g (predicting the mean: %.6g)\nfinal: loss %.9g sparsity %.4f steps %" PetscInt_FMT " time %.1f s\nwrote %s\n", (double)res->test_mse,
                            mean_var, (double)res->final_loss, (double)res->sparsity, res->steps, (double)res->seconds, tc->output));
    PetscFunctionReturn(0);
  }
  /* Final evaluation split across the ranks. */
  if (rank != 0) m = NULL;
  PetscCall(mc_model_bcast(comm, &m));
  PetscCall(mc_forward_create(m, (PetscInt)tc->eval_batch, &f));
  {
    PetscInt nc = m->layers[m->n_layers - 1].out_shape[2], *cor, *tot, sc = 0, st = 0;
    PetscCall(PetscMalloc2(nc, &cor, nc, &tot));
    PetscCall(mc_forward_evaluate(comm, f, d->te->n, d->te->x, d->te->y, nc, cor, tot));
    for (PetscInt c = 0; c < nc; ++c) sc += cor[c], st += tot[c];
    PetscCall(PetscPrintf(comm, "test accuracy %.4f (%" PetscInt_FMT "/%" PetscInt_FMT ", evaluated on %d ranks); per class:", (double)sc / (double)st, sc, st, (int)size));
    for (PetscInt c = 0; c < nc; ++c) PetscCall(PetscPrintf(comm, " %.3f", tot[c] ? (double)cor[c] / (double)tot[c] : 0.0));
    PetscCall(PetscPrintf(comm, "\n"));
    PetscCall(PetscFree2(cor, tot));
  }
  if (rank == 0)
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "final: loss %.9g train_acc %.6f sparsity %.4f steps %" PetscInt_FMT " time %.1f s\nwrote %s\n", (double)res->final_loss, (double)res->train_accuracy,
                          (double)res->sparsity, res->steps, (double)res->seconds, tc->output));
  PetscCall(mc_forward_destroy(&f));
  if (rank != 0) PetscCall(mc_model_destroy(&m));
  PetscFunctionReturn(0);
}

/* One training run on rank 0 (small nets: one rank is faster than synchronising gradients): the model is
   created from tc on the first run (weights from `from` when given, else initialised) and trained in place
   on later ones; written to tc->output, then evaluated on every rank. */
static PetscErrorCode train_phase(MPI_Comm comm, const MCTrainConfig *tc, const TrainData *d, const MCModel *from, MCModel **model)
{
  PetscMPIInt    rank;
  PetscErrorCode ierr = 0;
  MCTrainResult  res;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(PetscMemzero(&res, sizeof(res)));
  if (rank == 0) {
    if (!*model) {
      ierr = mc_train_model_create(tc, d->tr->shape, d->tr_t ? 512 : PetscMax(d->tr->n_classes, d->te->n_classes), model);
      if (!ierr && from) ierr = mc_train_model_load_weights(tc, *model, from);
      if (!ierr) ierr = mc_model_print(PETSC_COMM_SELF, *model);
    }
    if (!ierr) ierr = mc_train_run(tc, *model, d->tr, d->tr_t, d->te, d->te_t, PETSC_TRUE, &res);
    if (!ierr) ierr = mc_io_model_write_native(*model, tc->output);
  }
  PetscCall(mc_sys_rank0_status(comm, ierr));
  PetscCall(evaluate(comm, tc, d, &res, *model));
  PetscFunctionReturn(0);
}

static PetscErrorCode run(MPI_Comm comm, const char *path, int n_ov, const char *const ov[], PetscBool print_only)
{
  MCTrainConfig tc;
  char         *text = NULL;
  TrainData     d;
  MCModel      *model = NULL, *from = NULL;

  PetscFunctionBeginUser;
  PetscCall(mc_train_config_load(comm, path, n_ov, ov, &tc, &text));
  PetscCall(PetscPrintf(comm, "%s", text));
  PetscCall(PetscFree(text));
  if (print_only) PetscFunctionReturn(0);
  if (tc.init[0]) {
    MCModelReadOpts mo;

    PetscCall(PetscMemzero(&mo, sizeof(mo)));
    PetscCall(PetscStrncpy(mo.path, tc.init, sizeof(mo.path)));
    PetscCall(mc_io_model_read(comm, &mo, &from));
    PetscCall(PetscPrintf(comm, "train.init: starting from the weights of %s (%s), with a fresh Adam\n", tc.init, from->format));
  }
  PetscCall(data_load(comm, &tc, &d));
  PetscCall(train_phase(comm, &tc, &d, from, &model));
  if (tc.prune_epochs > 0) {
    /* The pruned copy: the trained network, pruned for prune_epochs more epochs with a fresh Adam, exactly
       as a second run with init = output would. */
    MCTrainConfig pc = tc;

    pc.prune  = PETSC_TRUE;
    pc.epochs = tc.prune_epochs;
    PetscCall(PetscStrncpy(pc.init, tc.output, sizeof(pc.init)));
    PetscCall(PetscStrncpy(pc.output, tc.pruned_output, sizeof(pc.output)));
    PetscCall(PetscPrintf(comm, "pruning phase: %" PetscInt64_FMT " epochs from the trained %s\n", pc.epochs, tc.output));
    PetscCall(train_phase(comm, &pc, &d, NULL, &model));
  }
  PetscCall(mc_model_destroy(&model));
  PetscCall(mc_model_destroy(&from));
  PetscCall(data_free(&d));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  const char   *path = NULL;
  const char  **ov   = NULL;
  int           n_ov = 0, n_keep = 1, status;
  PetscBool     print_only = PETSC_FALSE, reference = PETSC_FALSE;
  char        **keep;
  PetscErrorCode ierr;

  /* The CPU's own BLAS kernels (may re-execute the program), then our words leave argv before
     PetscInitialize, so PETSc sees only its options. */
  mc_sys_blas_prepare(argv);
  keep = (char **)calloc((size_t)argc + 1, sizeof(char *));
  ov   = (const char **)calloc((size_t)argc + 1, sizeof(char *));
  if (!keep || !ov) return 1;
  keep[0] = argv[0];
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--version")) {
      char buf[1024];
      mc_sys_version_string(buf, sizeof(buf));
      fputs(buf, stdout);
      return 0;
    } else if (!strcmp(argv[i], "--print-config")) print_only = PETSC_TRUE;
    else if (!strcmp(argv[i], "--config-reference")) reference = PETSC_TRUE;
    else if (argv[i][0] == '-') {
      keep[n_keep++] = argv[i];
      if (i + 1 < argc && argv[i + 1][0] != '-' && !strchr(argv[i + 1], '=') && !strstr(argv[i + 1], ".ini")) keep[n_keep++] = argv[++i];
    } else if (strchr(argv[i], '=')) ov[n_ov++] = argv[i];
    else if (!path) path = argv[i];
    else {
      fprintf(stderr, "modclust-train: error: unexpected argument '%s'.\n", argv[i]);
      return 1;
    }
  }
  if (!path && !reference) {
    usage(stderr);
    return 1;
  }
  argc = n_keep;
  argv = keep;
  PetscCall(PetscInitialize(&argc, &argv, NULL, help));
  ierr = mc_sys_initialize();
  if (!ierr && reference) ierr = mc_train_config_print_markdown(stdout);
  else if (!ierr) ierr = run(PETSC_COMM_WORLD, path, n_ov, ov, print_only);
  status = mc_sys_finish(PETSC_COMM_WORLD, ierr, 30.0);
  free(ov);
  if (PetscFinalize()) return 1;
  free(keep);
  return status;
}
