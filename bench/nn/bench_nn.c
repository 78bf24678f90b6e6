/* bench/nn/bench_nn.c: throughput of the nn engine (built from tests/nn/CMakeLists.txt as bench_nn).
   Prints key=value lines: SGEMM peak, MLP and small-CNN inference over Fashion-MNIST test images, one MLP
   training epoch. Usage: bench_nn [-data DIR] [-cnn_images N] [-reps R] [-batch B] [-train 0] */
#include <cblas.h>
#include "mc/forward.h"
#include "mc/train.h"

static double now(void)
{
  return MPI_Wtime();
}

static PetscErrorCode sgemm_peak(double *gflops)
{
  const int n = 1024;
  float    *a, *b, *c;
  double    best = 1e30;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3(n * n, &a, n * n, &b, n * n, &c));
  for (int i = 0; i < n * n; ++i) a[i] = (float)(i % 7) * 0.1f, b[i] = (float)(i % 5) * 0.1f;
  for (int r = 0; r < 4; ++r) {
    double t = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    t = now() - t;
    if (t < best) best = t;
  }
  *gflops = 2.0 * n * n * (double)n / best * 1e-9;
  PetscCall(PetscFree3(a, b, c));
  PetscFunctionReturn(0);
}

static double model_flops(const MCModel *m)
{
  double fl = 0;
  for (PetscInt i = 0; i < m->n_layers; ++i) {
    const MCLayer *L = &m->layers[i];
    if (L->type == MC_LAYER_DENSE) fl += 2.0 * L->n_in * L->n_out;
    if (L->type == MC_LAYER_CONV2D) fl += 2.0 * L->out_shape[0] * L->out_shape[1] * (double)mc_model_weight_count(L);
  }
  return fl;
}

static PetscErrorCode infer(const char *label, MCTrainConfig *tc, const MCDataset *te, PetscInt n_img, PetscInt batch, PetscInt reps)
{
  MCModel   *m;
  MCForward *f;
  double     best = 1e30, fl;

  PetscFunctionBeginUser;
  PetscCall(mc_train_model_create(tc, te->shape, 10, &m));
  fl = model_flops(m);
  PetscCall(mc_forward_create(m, batch, &f));
  for (PetscInt r = 0; r < reps; ++r) {
    double t = now();
    for (PetscInt b = 0; b < n_img; b += batch) PetscCall(mc_forward_run(f, PetscMin(batch, n_img - b), te->x + b * te->shape[0] * te->shape[1] * te->shape[2], 0));
    t = now() - t;
    if (t < best) best = t;
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s_images=%" PetscInt_FMT " %s_batch=%" PetscInt_FMT " %s_seconds=%.4f %s_images_per_s=%.0f %s_gflops=%.2f\n", label, n_img, label, batch, label, best, label, n_img / best, label, fl * n_img / best * 1e-9));
  PetscCall(mc_forward_destroy(&f));
  PetscCall(mc_model_destroy(&m));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  char           data[PETSC_MAX_PATH_LEN] = "/usr/share/datasets/fashion-mnist";
  PetscInt       cnn_images = 1000, reps = 3, batch = 1000;
  PetscBool      train = PETSC_TRUE;
  MCDataset     *tr, *te;
  MCTrainConfig  tc;
  MCTrainResult  res;
  double         peak = 0;

  mc_sys_blas_prepare(argv); /* the CPU's own BLAS kernels */
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(mc_sys_initialize());
  PetscCall(PetscOptionsGetString(NULL, NULL, "-data", data, sizeof(data), NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-cnn_images", &cnn_images, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-reps", &reps, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-batch", &batch, NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-train", &train, NULL));
  PetscCall(mc_io_dataset_read(PETSC_COMM_SELF, data, "train", NULL, &tr));
  PetscCall(mc_io_dataset_read(PETSC_COMM_SELF, data, "test", NULL, &te));
  PetscCall(sgemm_peak(&peak));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "sgemm_1024_gflops=%.2f\n", peak));
  PetscCall(mc_train_config_parse(PETSC_COMM_SELF, "bench", "[train]\narch = mlp\nwidths = 256,256,256,256\n", 0, NULL, &tc, NULL));
  PetscCall(infer("mlp", &tc, te, te->n, batch, reps));
  PetscCall(mc_train_config_parse(PETSC_COMM_SELF, "bench", "[train]\narch = cnn\nwidths = 64,64,64,128\n", 0, NULL, &tc, NULL));
  PetscCall(infer("cnn", &tc, te, cnn_images, PetscMin(batch, 250), 1));
  if (train) {
    MCModel *m;
    PetscCall(mc_train_config_parse(PETSC_COMM_SELF, "bench", "[train]\narch = mlp\nwidths = 256,256,256,256\nepochs = 1\nbatch = 128\n", 0, NULL, &tc, NULL));
    PetscCall(mc_train_model_create(&tc, tr->shape, 10, &m));
    PetscCall(mc_train_run(&tc, m, tr, NULL, NULL, NULL, PETSC_FALSE, &res));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "mlp_train_epoch_seconds=%.3f mlp_train_epoch_gflops=%.2f mlp_train_loss=%.4f\n", (double)res.seconds, 3.0 * model_flops(m) * tr->n / res.seconds * 1e-9, (double)res.final_loss));
    PetscCall(mc_model_destroy(&m));
  }
  PetscCall(mc_io_dataset_destroy(&tr));
  PetscCall(mc_io_dataset_destroy(&te));
  PetscCall(PetscFinalize());
  return 0;
}
