/* tests/nn/nn_forward_dump.c: oracle driver. Builds a model from a spec and a weight file, runs the engine on
   an input file and writes every layer's output, every Dense/Conv2D pre-activation, and the backward pass of
   a given output gradient (weight gradients in weight-file order, then the input gradient), all float32.
   Usage: nn_forward_dump SPEC WEIGHTS X N DTOP OUT */
#include <stdio.h>
#include "mc/forward.h"
#include "nn_testutil.h"

static PetscErrorCode read_floats(const char *path, PetscInt *n, float **v)
{
  FILE *fp = fopen(path, "rb");
  long  sz;

  PetscFunctionBeginUser;
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot open %s.", path);
  fseek(fp, 0, SEEK_END);
  sz = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  *n = (PetscInt)(sz / 4);
  PetscCall(PetscMalloc1(*n + 1, v));
  PetscCheck(fread(*v, 4, (size_t)*n, fp) == (size_t)*n, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "Short read of %s.", path);
  fclose(fp);
  PetscFunctionReturn(0);
}

static void put(FILE *fp, const float *v, PetscInt n)
{
  if (n && v) fwrite(v, sizeof(float), (size_t)n, fp);
}

int main(int argc, char **argv)
{
  MCModel   *m = NULL;
  MCForward *f = NULL;
  MCGrads   *g = NULL;
  float     *w, *x, *dtop, *dx;
  char      *spec;
  PetscInt   nw, nx, nd, n;
  FILE      *fp;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(mc_sys_initialize());
  PetscCheck(argc >= 7, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Usage: nn_forward_dump SPEC WEIGHTS X N DTOP OUT");
  {
    FILE *sf = fopen(argv[1], "rb");
    long  len;
    PetscCheck(sf, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot open %s.", argv[1]);
    fseek(sf, 0, SEEK_END);
    len = ftell(sf);
    fseek(sf, 0, SEEK_SET);
    PetscCall(PetscMalloc1(len + 1, &spec));
    PetscCheck(fread(spec, 1, (size_t)len, sf) == (size_t)len, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "Short read of %s.", argv[1]);
    spec[len] = 0;
    fclose(sf);
  }
  PetscCall(read_floats(argv[2], &nw, &w));
  PetscCall(read_floats(argv[3], &nx, &x));
  n = atoi(argv[4]);
  PetscCall(read_floats(argv[5], &nd, &dtop));
  PetscCall(nn_test_build((const char *)spec, w, nw, 0, &m));
  PetscCall(mc_forward_create(m, n, &f));
  PetscCall(mc_forward_run(f, n, x, 0));
  fp = fopen(argv[6], "wb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot write %s.", argv[6]);
  for (PetscInt i = 0; i < m->n_layers; ++i) {
    const float *y;
    PetscInt     wd;
    PetscCall(mc_forward_output(f, i, &y, &wd));
    put(fp, y, n * wd);
  }
  for (PetscInt i = 0; i < m->n_layers; ++i) {
    const float *z;
    PetscInt     wd;
    if (m->layers[i].type != MC_LAYER_DENSE && m->layers[i].type != MC_LAYER_CONV2D) continue;
    PetscCall(mc_forward_preact(f, i, &z, &wd));
    put(fp, z, n * wd);
  }
  PetscCall(mc_grads_create(m, &g));
  PetscCall(PetscMalloc1(nx, &dx));
  PetscCall(mc_backward_run(f, m->n_layers - 1, MC_GRAD_OUTPUT, dtop, g, dx));
  for (PetscInt i = 0; i < m->n_layers; ++i) {
    const MCLayer *L = &m->layers[i];
    put(fp, g->dweight[i], mc_model_weight_count(L));
    if (L->type == MC_LAYER_DENSE || L->type == MC_LAYER_CONV2D) put(fp, g->dbias[i], L->n_out);
    if (L->type == MC_LAYER_BATCHNORM) {
      put(fp, g->dgamma[i], L->n_out);
      put(fp, g->dbeta[i], L->n_out);
      {
        float *zero;
        PetscCall(PetscCalloc1(2 * L->n_out, &zero));
        put(fp, zero, 2 * L->n_out); /* moving statistics get no gradient */
        PetscCall(PetscFree(zero));
      }
    }
  }
  put(fp, dx, nx);
  fclose(fp);
  (void)nd;
  PetscCall(PetscFree(dx));
  PetscCall(PetscFree(spec));
  PetscCall(PetscFree(w));
  PetscCall(PetscFree(x));
  PetscCall(PetscFree(dtop));
  PetscCall(mc_grads_destroy(&g));
  PetscCall(mc_forward_destroy(&f));
  PetscCall(mc_model_destroy(&m));
  PetscCall(PetscFinalize());
  return 0;
}
