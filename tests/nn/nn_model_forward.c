/* tests/nn/nn_model_forward.c: read a model through the project's readers (mc_config_load + mc_io_model_read:
   Keras .h5, safetensors, native) and write the engine's outputs (batches of 500; per batch each of the model's outputs in
   turn, outputs[0] first) for an input file (n examples, channels-last float32). With DTOP and GOUT (n <= 500): the backward
   pass of DTOP (n x width of outputs[0]) written to GOUT: the input gradient, then per layer in order the gradients of a
   Dense/Conv2D weight and bias or a BatchNorm gamma and beta (those present).
   With -lesion_site NAME -lesion_width C -lesion_units a,b,...: input channels a, b, ... (of C) of layer NAME
   zeroed in that layer alone (mc_forward_lesion_set_input) before the forward pass.
   Usage: nn_model_forward CONFIG.ini X N OUT [DTOP GOUT] [-lesion_site ...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mc/forward.h"
#include "mc/io.h"
#include "mc/run.h"

int main(int argc, char **argv)
{
  MCConfig       *cfg = NULL;
  MCModelReadOpts mo;
  MCModel     *m   = NULL;
  MCForward   *f   = NULL;
  float       *x;
  const float *y;
  PetscInt     n, nin, w;
  FILE        *fp;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(mc_sys_initialize());
  for (int a = 1; a < argc; ++a)
    if (argv[a][0] == '-') argc = a;
  PetscCheck(argc >= 5, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Usage: nn_model_forward CONFIG.ini X N OUT");
  PetscCall(mc_config_load(PETSC_COMM_WORLD, argv[1], 0, NULL, &cfg));
  PetscCall(mc_run_model_read_opts(cfg, cfg->model_path, &mo));
  PetscCall(mc_io_model_read(PETSC_COMM_WORLD, &mo, &m));
  n   = atoi(argv[3]);
  nin = m->input_shape[0] * m->input_shape[1] * m->input_shape[2];
  PetscCall(PetscMalloc1(n * nin, &x));
  fp = fopen(argv[2], "rb");
  PetscCheck(fp && fread(x, sizeof(float), (size_t)(n * nin), fp) == (size_t)(n * nin), PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "Cannot read %" PetscInt_FMT " floats from %s.", n * nin, argv[2]);
  fclose(fp);
  PetscCall(mc_forward_create(m, PetscMin(n, 500), &f));
  {
    /* -lesion_site NAME -lesion_width C -lesion_units a,b,...: a consumer input-slice lesion. */
    char      site[256];
    PetscInt  units[1024], nu = 1024, width = 0;
    PetscBool has_site = PETSC_FALSE;
    PetscCall(PetscOptionsGetString(NULL, NULL, "-lesion_site", site, sizeof(site), &has_site));
    if (has_site) {
      PetscInt l = 0;
      while (l < m->n_layers && strcmp(m->layers[l].name, site)) ++l;
      PetscCheck(l < m->n_layers, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "No layer named %s", site);
      PetscCall(PetscOptionsGetInt(NULL, NULL, "-lesion_width", &width, NULL));
      PetscCall(PetscOptionsGetIntArray(NULL, NULL, "-lesion_units", units, &nu, NULL));
      PetscCall(mc_forward_lesion_set_input(f, l, width, nu, units, NULL));
    }
  }
  fp = fopen(argv[4], "wb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot write %s.", argv[4]);
  for (PetscInt b = 0; b < n; b += 500) {
    PetscInt nb = PetscMin(500, n - b);
    PetscCall(mc_forward_run(f, nb, x + b * nin, 0));
    for (PetscInt o = 0; o < m->n_outputs; ++o) {
      PetscCall(mc_forward_output(f, m->outputs[o], &y, &w));
      fwrite(y, sizeof(float), (size_t)(nb * w), fp);
    }
  }
  fclose(fp);
  if (argc >= 7) {
    MCGrads *g;
    float   *dtop, *dx;

    PetscCheck(n <= 500, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "The backward check takes at most 500 examples.");
    PetscCall(mc_forward_output(f, m->outputs[0], NULL, &w));
    PetscCall(PetscMalloc2(n * w, &dtop, n * nin, &dx));
    fp = fopen(argv[5], "rb");
    PetscCheck(fp && fread(dtop, sizeof(float), (size_t)(n * w), fp) == (size_t)(n * w), PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "Cannot read %" PetscInt_FMT " floats from %s.", n * w, argv[5]);
    fclose(fp);
    PetscCall(mc_grads_create(m, &g));
    PetscCall(mc_backward_run(f, m->outputs[0], MC_GRAD_OUTPUT, dtop, g, dx));
    fp = fopen(argv[6], "wb");
    PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot write %s.", argv[6]);
    fwrite(dx, sizeof(float), (size_t)(n * nin), fp);
    for (PetscInt i = 0; i < m->n_layers; ++i) {
      const MCLayer *L = &m->layers[i];
      if (g->dweight[i]) fwrite(g->dweight[i], sizeof(float), (size_t)mc_model_weight_count(L), fp);
      if (g->dbias[i]) fwrite(g->dbias[i], sizeof(float), (size_t)L->n_out, fp);
      if (g->dgamma[i]) fwrite(g->dgamma[i], sizeof(float), (size_t)L->n_out, fp);
      if (g->dbeta[i]) fwrite(g->dbeta[i], sizeof(float), (size_t)L->n_out, fp);
    }
    fclose(fp);
    PetscCall(mc_grads_destroy(&g));
    PetscCall(PetscFree2(dtop, dx));
  }
  PetscCall(PetscFree(x));
  PetscCall(mc_forward_destroy(&f));
  PetscCall(mc_model_destroy(&m));
  PetscCall(mc_config_destroy(&cfg));
  PetscCall(PetscFinalize());
  return 0;
}
