/* include/mc/train.h: modclust-train - architectures, dataset variants, and the trainer (softmax cross-entropy,
   Adam, minibatches, dropout, L1/L2, polynomial-decay magnitude pruning), seeded and deterministic. */
#pragma once
#include <petscsys.h>
#include "mc/config.h"
#include "mc/model.h"
#include "mc/io.h"
#include "mc/sys.h"

/* train.arch and train.variant, in the order of their choices in src/train/train.def. */
typedef enum { MC_TRAIN_MLP, MC_TRAIN_CNN } MCTrainArch;
typedef enum {
  MC_VARIANT_PLAIN,
  MC_VARIANT_HALVES,
  MC_VARIANT_HALVES_SAME,
  MC_VARIANT_STACKED,
  MC_VARIANT_STACKED_SAME,
  MC_VARIANT_RGB,
  MC_VARIANT_POLY
} MCTrainVariant;

/* mc_train_variant_name - "plain", "halves", ... ("unknown" out of range). Not collective. */
const char *mc_train_variant_name(MCTrainVariant v);

/* The [train] section of a training configuration; fields and defaults in src/train/train.def. */
typedef struct {
#define MC_TRAIN_KEY(key, TYPE, def, lo, hi, choices, doc) MC_TRAIN_FIELD_##TYPE(key)
#define MC_TRAIN_FIELD_STRING(f) char f[PETSC_MAX_PATH_LEN];
#define MC_TRAIN_FIELD_PATH(f)   char f[PETSC_MAX_PATH_LEN];
#define MC_TRAIN_FIELD_INT(f)    PetscInt64 f;
#define MC_TRAIN_FIELD_REAL(f)   PetscReal f;
#define MC_TRAIN_FIELD_BOOL(f)   PetscBool f;
#define MC_TRAIN_FIELD_ENUM(f)   int f; /* index of the value in the key's choices */
#include "../../src/train/train.def"
#undef MC_TRAIN_KEY
  char path[PETSC_MAX_PATH_LEN]; /* the config file, as given */
} MCTrainConfig;

/* mc_train_config_schema - modclust-train's configuration schema (one [train] section), for the parser,
   the generated reference and the tests. Not collective. */
const MCSchema *mc_train_config_schema(void);

/* mc_train_config_parse - Defaults, then the INI `text` (one [train] section; `name` used in messages and to
   resolve a relative `data` path), then `n_overrides` "train.key=value" overrides, through the schema
   mechanism of include/mc/config.h (the same syntax, value rules and "file:line" errors as modclust-mpi's
   configuration). *text, if not NULL, receives the effective configuration as INI (caller frees with
   PetscFree). Errors (PETSC_ERR_USER_INPUT) also for prune_initial > prune_final.
   Collective on comm (every rank passes the same text). */
PetscErrorCode mc_train_config_parse(MPI_Comm comm, const char *name, const char *text, int n_overrides, const char *const overrides[], MCTrainConfig *tc, char **effective);

/* mc_train_config_load - Rank 0 reads `path` (mc_config_read_text), every rank parses it
   (mc_train_config_parse). Collective on comm. */
PetscErrorCode mc_train_config_load(MPI_Comm comm, const char *path, int n_overrides, const char *const overrides[], MCTrainConfig *tc, char **effective);

/* mc_train_config_print_markdown - The reference of the [train] keys (docs/training-config.md) to fp.
   Not collective. */
PetscErrorCode mc_train_config_print_markdown(FILE *fp);

/* mc_train_model_create - The architecture of tc (arch, widths, dropout) for examples of input_shape and
   n_classes outputs (final Dense with softmax), Glorot-uniform kernels and zero biases drawn from the stream
   (tc->seed, MC_STREAM_INIT, weight-layer index). Not collective. Caller owns *out (mc_model_destroy). */
PetscErrorCode mc_train_model_create(const MCTrainConfig *tc, const PetscInt input_shape[3], PetscInt n_classes, MCModel **out);

/* mc_train_model_load_weights - Copy the kernels and biases of `from` (a trained model, train.init) into the
   configured model m, weight layer by weight layer. Errors (PETSC_ERR_USER_INPUT) naming tc->init and the
   layer: another number of Dense/Conv2D layers, another type, width, kernel size or activation.
   Not collective. */
PetscErrorCode mc_train_model_load_weights(const MCTrainConfig *tc, MCModel *m, const MCModel *from);

/* mc_train_dataset_variant - A new dataset from `base`: "plain" (a copy of the first n examples), "halves",
   "halves_same", "stacked", "stacked_same", "rgb" (docs/training.md; rgb tiles a grey image to 3 channels). Example i pairs base example i with a
   partner drawn from the stream (seed, MC_STREAM_DATA, split_tag) (same class for *_same); n = 0 keeps all.
   Not collective. Caller owns *out (mc_io_dataset_destroy). */
PetscErrorCode mc_train_dataset_variant(const MCDataset *base, const char *variant, PetscInt n, uint64_t seed, PetscInt split_tag, MCDataset **out);

/* mc_train_poly_create - The POLY regression task (docs/training.md): n inputs x = (u, v) ~ N(0, I) in a
   1 x 1 x 2 dataset (no labels) and *targets (n x 512, caller frees with PetscFree): target j is the sum of the
   monomials u^a v^b (a, b in {0, 1, 2}, monomial t = 3a + b) whose bit t is set in j. Inputs from the stream
   (seed, MC_STREAM_DATA, 16 + split_tag). Not collective. Caller owns *x (mc_io_dataset_destroy). */
PetscErrorCode mc_train_poly_create(PetscInt n, uint64_t seed, PetscInt split_tag, MCDataset **x, float **targets);

/* Result of a training run. */
typedef struct {
  PetscInt  epochs_done, steps;
  PetscReal final_loss;      /* mean training loss (cross-entropy + penalties) of the last epoch */
  PetscReal train_accuracy;  /* on the last epoch's minibatches, training mode */
  PetscReal test_accuracy;   /* after training, inference mode; NaN without a test set or for regression */
  PetscReal test_mse;        /* regression: mean squared error per target on the test set; NaN otherwise */
  PetscReal sparsity;        /* fraction of zero kernel weights */
  PetscReal seconds;
} MCTrainResult;

/* mc_train_run - Train `model` in place on `train` (test may be NULL), printing one line per epoch through
   PetscPrintf on PETSC_COMM_SELF when verbose. Classification (softmax cross-entropy on the labels) when
   train_t is NULL; regression (mean squared error against train_t / test_t, n x n_outputs floats, last layer
   linear) otherwise. Single-rank and deterministic: the same config and data give bitwise the same weights.
   Not collective. */
PetscErrorCode mc_train_run(const MCTrainConfig *tc, MCModel *model, const MCDataset *train, const float *train_t, const MCDataset *test, const float *test_t, PetscBool verbose, MCTrainResult *res);
