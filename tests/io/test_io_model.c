/* tests/io/test_io_model.c: read a model with mc_io_model_read and check it.

   test_io_model -selftest -out DIR
       Build a small CNN by hand, check shape propagation, write it natively, read it back on every rank,
       compare bitwise.
   test_io_model -model FILE [-sidecar INI] [-expect NATIVE.h5] [-roundtrip OUT.h5]
       Read FILE (format detected; the sidecar is a configuration file, loaded with mc_config_load and
       model.path=FILE, that gives [model] layout/input_shape/infer and [layer.N] sections). With -expect, compare every layer and tensor bitwise with the model
       in NATIVE.h5 (written independently by tools/make_fixtures.py in the canonical layout). With
       -roundtrip, rank 0 writes the model natively and every rank reads it back and compares.
       Every rank checks that its broadcast copy equals rank 0's (checksums).
   A failure prints one message and exits non-zero. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "mc/mc.h"

/* The options for reading `model`: from the sidecar INI through the real config module (model.path
   overridden on the "command line"; *cfg keeps the [layer.N] sections the options borrow), or the
   defaults when there is none (*cfg = NULL). Release *cfg with mc_config_destroy. */
static PetscErrorCode fill_opts(MPI_Comm comm, const char *model, const char *sidecar, MCConfig **cfg, MCModelReadOpts *o)
{
  PetscFunctionBeginUser;
  *cfg = NULL;
  if (sidecar && sidecar[0]) {
    char        ov[PETSC_MAX_PATH_LEN + 16];
    const char *ovs[1] = {ov};

    PetscCall(PetscSNPrintf(ov, sizeof(ov), "model.path=%s", model));
    PetscCall(mc_config_load(comm, sidecar, 1, ovs, cfg));
    PetscCall(mc_run_model_read_opts(*cfg, (*cfg)->model_path, o));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscMemzero(o, sizeof(*o)));
  PetscCall(PetscStrncpy(o->path, model, sizeof(o->path)));
  o->format = MC_MODEL_FORMAT_AUTO;
  o->layout = MC_LAYOUT_AUTO;
  o->infer  = MC_INFER_NONE;
  PetscFunctionReturn(0);
}

static PetscErrorCode compare_tensor(const char *what, PetscInt li, const char *name, const float *a, const float *b, PetscInt n)
{
  PetscFunctionBeginUser;
  PetscCheck((a == NULL) == (b == NULL), PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: layer %" PetscInt_FMT " tensor %s present in one model only", what, li, name);
  if (!a) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < n; ++i)
    PetscCheck(memcmp(&a[i], &b[i], sizeof(float)) == 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: layer %" PetscInt_FMT " tensor %s differs at %" PetscInt_FMT ": %.9g vs %.9g", what, li, name, i,
               (double)a[i], (double)b[i]);
  PetscFunctionReturn(0);
}

/* Bitwise comparison of two models: every layer's type, activation, geometry, shapes and tensors. */
static PetscErrorCode compare_models(const char *what, const MCModel *a, const MCModel *b, PetscBool names)
{
  PetscFunctionBeginUser;
  PetscCheck(a->n_layers == b->n_layers, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: %" PetscInt_FMT " vs %" PetscInt_FMT " layers", what, a->n_layers, b->n_layers);
  for (int k = 0; k < 3; ++k) PetscCheck(a->input_shape[k] == b->input_shape[k], PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: input shapes differ", what);
  PetscCheck(a->n_outputs == b->n_outputs, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: %" PetscInt_FMT " vs %" PetscInt_FMT " outputs", what, a->n_outputs, b->n_outputs);
  for (PetscInt o = 0; o < a->n_outputs; ++o) PetscCheck(a->outputs[o] == b->outputs[o], PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: output %" PetscInt_FMT " differs", what, o);
  for (PetscInt i = 0; i < a->n_layers; ++i) {
    const MCLayer *x = &a->layers[i], *y = &b->layers[i];

    PetscCheck(x->type == y->type, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: layer %" PetscInt_FMT " type %s vs %s", what, i, mc_model_layer_type_name(x->type), mc_model_layer_type_name(y->type));
    PetscCheck(!names || !strcmp(x->name, y->name), PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: layer %" PetscInt_FMT " name %s vs %s", what, i, x->name, y->name);
    PetscCheck(x->act == y->act, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: layer %" PetscInt_FMT " activation %s vs %s", what, i, mc_model_activation_name(x->act), mc_model_activation_name(y->act));
    PetscCheck(x->alpha == y->alpha, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: layer %" PetscInt_FMT " alpha", what, i);
    for (int k = 0; k < 3; ++k)
      PetscCheck(x->in_shape[k] == y->in_shape[k] && x->out_shape[k] == y->out_shape[k], PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: layer %" PetscInt_FMT " shapes differ", what, i);
    PetscCheck(x->n_in == y->n_in && x->n_out == y->n_out, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: layer %" PetscInt_FMT " n_in/n_out %" PetscInt_FMT "/%" PetscInt_FMT " vs %" PetscInt_FMT "/%" PetscInt_FMT, what, i, x->n_in, x->n_out, y->n_in, y->n_out);
    if (x->type == MC_LAYER_CONV2D || x->type == MC_LAYER_MAXPOOL2D || x->type == MC_LAYER_AVGPOOL2D)
      PetscCheck(x->kh == y->kh && x->kw == y->kw && x->stride_h == y->stride_h && x->stride_w == y->stride_w && x->padding == y->padding, PETSC_COMM_SELF, PETSC_ERR_PLIB,
                 "%s: layer %" PetscInt_FMT " geometry differs", what, i);
    PetscCheck(x->act_beta == y->act_beta && x->n_inputs == y->n_inputs, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: layer %" PetscInt_FMT " activation parameter or input count differs", what, i);
    for (PetscInt j = 0; j < x->n_inputs; ++j) PetscCheck(x->inputs[j] == y->inputs[j], PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: layer %" PetscInt_FMT " input %" PetscInt_FMT " differs", what, i, j);
    PetscCheck(x->groups == y->groups && x->dil_h == y->dil_h && x->dil_w == y->dil_w && x->pad_t == y->pad_t && x->pad_b == y->pad_b && x->pad_l == y->pad_l && x->pad_r == y->pad_r, PETSC_COMM_SELF,
               PETSC_ERR_PLIB, "%s: layer %" PetscInt_FMT " groups, dilation or padding differ", what, i);
    if (x->type == MC_LAYER_BATCHNORM) PetscCheck(x->eps == y->eps, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: layer %" PetscInt_FMT " eps %g vs %g", what, i, (double)x->eps, (double)y->eps);
    PetscCall(compare_tensor(what, i, "weight", x->weight, y->weight, mc_model_weight_count(x)));
    PetscCall(compare_tensor(what, i, "bias", x->bias, y->bias, x->n_out));
    PetscCall(compare_tensor(what, i, "gamma", x->gamma, y->gamma, x->n_out));
    PetscCall(compare_tensor(what, i, "beta", x->beta, y->beta, x->n_out));
    PetscCall(compare_tensor(what, i, "moving_mean", x->moving_mean, y->moving_mean, x->n_out));
    PetscCall(compare_tensor(what, i, "moving_var", x->moving_var, y->moving_var, x->n_out));
  }
  PetscFunctionReturn(0);
}

/* Every rank's copy must equal rank 0's: compare the model hash (every layer, tensor, input and output). */
static PetscErrorCode check_bcast(MPI_Comm comm, const MCModel *m)
{
  unsigned long long h = (unsigned long long)mc_model_hash(m, 1469598103934665603ULL), lo, hi;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(&h, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, comm));
  PetscCallMPI(MPI_Allreduce(&h, &hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, comm));
  PetscCheck(lo == hi, comm, PETSC_ERR_PLIB, "broadcast copies of the model differ between ranks");
  PetscFunctionReturn(0);
}

static PetscErrorCode read_native(MPI_Comm comm, const char *path, MCModel **m)
{
  MCConfig       *cfg;
  MCModelReadOpts o;

  PetscFunctionBeginUser;
  PetscCall(fill_opts(comm, path, NULL, &cfg, &o));
  o.format = MC_MODEL_FORMAT_NATIVE;
  PetscCall(mc_io_model_read(comm, &o, m));
  PetscFunctionReturn(0);
}

static PetscErrorCode roundtrip(MPI_Comm comm, const MCModel *m, const char *path)
{
  PetscMPIInt    rank;
  PetscErrorCode ierr = 0;
  MCModel       *back;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) ierr = mc_io_model_write_native(m, path);
  PetscCall(mc_sys_rank0_status(comm, ierr));
  PetscCall(read_native(comm, path, &back));
  PetscCall(compare_models("native round trip", m, back, PETSC_TRUE));
  PetscCall(mc_model_destroy(&back));
  PetscFunctionReturn(0);
}

static void fill(float *v, PetscInt n, float scale)
{
  for (PetscInt i = 0; i < n; ++i) v[i] = scale * (float)((i * 37) % 101 - 50);
}

/* A hand-built CNN exercising every layer type and both paddings; shapes checked against Keras' rules. */
static PetscErrorCode selftest(MPI_Comm comm, const char *dir)
{
  const PetscInt in[3] = {28, 28, 1};
  MCModel       *m;
  MCLayer       *l;
  char           path[PETSC_MAX_PATH_LEN];
  /* expected output shapes per layer */
  const PetscInt expect[12][3] = {{14, 14, 8}, {14, 14, 8}, {7, 7, 8}, {5, 5, 4}, {5, 5, 4}, {2, 2, 4}, {2, 2, 4}, {1, 1, 16}, {1, 1, 10}, {1, 1, 10}, {1, 1, 10}, {1, 1, 10}};

  PetscFunctionBeginUser;
  PetscCall(mc_model_create(12, in, &m));
  PetscCall(PetscStrncpy(m->format, "synthetic", sizeof(m->format)));
  l = &m->layers[0]; /* conv 3x3 stride 2 same: ceil(28/2) = 14 */
  l->type = MC_LAYER_CONV2D; l->kh = l->kw = 3; l->stride_h = l->stride_w = 2; l->padding = MC_PAD_SAME; l->n_in = 1; l->n_out = 8; l->act = MC_ACT_RELU;
  PetscCall(PetscMalloc1(3 * 3 * 1 * 8, &l->weight)); fill(l->weight, 72, 0.01f);
  PetscCall(PetscMalloc1(8, &l->bias)); fill(l->bias, 8, 0.001f);
  l = &m->layers[1];
  l->type = MC_LAYER_BATCHNORM; l->n_out = 8; l->eps = 1e-3f;
  PetscCall(PetscMalloc1(8, &l->gamma)); fill(l->gamma, 8, 0.02f);
  PetscCall(PetscMalloc1(8, &l->moving_mean)); fill(l->moving_mean, 8, 0.03f);
  PetscCall(PetscMalloc1(8, &l->moving_var));
  for (int j = 0; j < 8; ++j) l->moving_var[j] = 1.0f + j;
  l = &m->layers[2]; /* max pool 2: 7 */
  l->type = MC_LAYER_MAXPOOL2D; l->kh = l->kw = 2;
  l = &m->layers[3]; /* conv 3x3 valid: 5 */
  l->type = MC_LAYER_CONV2D; l->kh = l->kw = 3; l->n_out = 4;
  PetscCall(PetscMalloc1(3 * 3 * 8 * 4, &l->weight)); fill(l->weight, 288, 0.005f);
  l = &m->layers[4];
  l->type = MC_LAYER_ACTIVATION; l->act = MC_ACT_LEAKY_RELU; l->alpha = 0.2f;
  l = &m->layers[5]; /* avg pool 3 stride 2 valid: (5 - 3) / 2 + 1 = 2 */
  l->type = MC_LAYER_AVGPOOL2D; l->kh = l->kw = 3; l->stride_h = l->stride_w = 2;
  l = &m->layers[6];
  l->type = MC_LAYER_DROPOUT; l->rate = 0.25f;
  l = &m->layers[7];
  l->type = MC_LAYER_FLATTEN;
  l = &m->layers[8];
  l->type = MC_LAYER_DENSE; l->n_in = 16; l->n_out = 10;
  PetscCall(PetscMalloc1(160, &l->weight)); fill(l->weight, 160, 0.1f);
  l = &m->layers[9];
  l->type = MC_LAYER_ACTIVATION; l->act = MC_ACT_TANH;
  l = &m->layers[10];
  l->type = MC_LAYER_DENSE; l->n_out = 10; l->act = MC_ACT_SOFTMAX;
  PetscCall(PetscMalloc1(100, &l->weight)); fill(l->weight, 100, 0.2f);
  PetscCall(PetscMalloc1(10, &l->bias)); fill(l->bias, 10, 0.3f);
  l = &m->layers[11];
  l->type = MC_LAYER_SOFTMAX;
  for (PetscInt i = 0; i < m->n_layers; ++i) PetscCall(PetscSNPrintf(m->layers[i].name, sizeof(m->layers[i].name), "layer_%" PetscInt_FMT, i));
  PetscCall(mc_model_finalize_shapes(PETSC_COMM_SELF, m));
  for (PetscInt i = 0; i < m->n_layers; ++i)
    for (int k = 0; k < 3; ++k)
      PetscCheck(m->layers[i].out_shape[k] == expect[i][k], PETSC_COMM_SELF, PETSC_ERR_PLIB, "selftest: layer %" PetscInt_FMT " output dim %d is %" PetscInt_FMT ", expected %" PetscInt_FMT, i, k,
                 m->layers[i].out_shape[k], expect[i][k]);
  PetscCheck(m->layers[2].stride_h == 2 && m->layers[0].stride_w == 2 && m->layers[3].stride_h == 1, PETSC_COMM_SELF, PETSC_ERR_PLIB, "selftest: default strides");
  PetscCheck(mc_model_weight_layers(m, NULL) == 4, PETSC_COMM_SELF, PETSC_ERR_PLIB, "selftest: weight layers");
  PetscCall(mc_model_print(comm, m));
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/selftest_native.h5", dir));
  PetscCall(roundtrip(comm, m, path));

  /* Each broken variant must be rejected by finalize with a message naming the layer. */
  m->layers[8].weight[3] = NAN;
  PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
  PetscCheck(mc_model_finalize_shapes(PETSC_COMM_SELF, m) != 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "selftest: NaN weight accepted");
  m->layers[8].weight[3] = 1.0f;
  m->layers[7].type      = MC_LAYER_DROPOUT; /* no Flatten before the Dense: must fail */
  PetscCheck(mc_model_finalize_shapes(PETSC_COMM_SELF, m) != 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "selftest: Dense on 2x2x4 without Flatten accepted");
  m->layers[7].type  = MC_LAYER_FLATTEN;
  m->layers[1].n_out = 7;
  PetscCheck(mc_model_finalize_shapes(PETSC_COMM_SELF, m) != 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "selftest: BatchNorm width mismatch accepted");
  m->layers[1].n_out = 8;
  PetscCall(PetscPopErrorHandler());
  PetscCall(mc_model_finalize_shapes(PETSC_COMM_SELF, m));
  PetscCall(mc_model_destroy(&m));
  PetscCall(PetscPrintf(comm, "selftest passed\n"));
  PetscFunctionReturn(0);
}

static PetscErrorCode run(MPI_Comm comm)
{
  char      model[PETSC_MAX_PATH_LEN] = "", sidecar[PETSC_MAX_PATH_LEN] = "", expect[PETSC_MAX_PATH_LEN] = "", rt[PETSC_MAX_PATH_LEN] = "", dir[PETSC_MAX_PATH_LEN] = ".";
  PetscBool self = PETSC_FALSE, print = PETSC_FALSE;
  MCConfig       *cfg;
  MCModelReadOpts mo;
  MCModel  *m, *e;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-selftest", &self, NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-print", &print, NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-out", dir, sizeof(dir), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-model", model, sizeof(model), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-sidecar", sidecar, sizeof(sidecar), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-expect", expect, sizeof(expect), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-roundtrip", rt, sizeof(rt), NULL));
  if (self) PetscCall(selftest(comm, dir));
  if (!model[0]) PetscFunctionReturn(0);
  PetscCall(fill_opts(comm, model, sidecar, &cfg, &mo));
  PetscCall(mc_io_model_read(comm, &mo, &m));
  PetscCall(check_bcast(comm, m));
  if (print) PetscCall(mc_model_print(comm, m));
  if (expect[0]) {
    PetscCall(read_native(comm, expect, &e));
    PetscCall(compare_models(model, m, e, PETSC_FALSE));
    PetscCall(mc_model_destroy(&e));
  }
  if (rt[0]) PetscCall(roundtrip(comm, m, rt));
  PetscCall(mc_model_destroy(&m));
  PetscCall(mc_config_destroy(&cfg));
  PetscCall(PetscPrintf(comm, "ok %s\n", model));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscErrorCode ierr;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(mc_sys_initialize());
  ierr = run(PETSC_COMM_WORLD);
  if (mc_sys_finish(PETSC_COMM_WORLD, ierr, 30.0)) {
    PetscFinalize();
    return 1;
  }
  PetscCall(PetscFinalize());
  return 0;
}
