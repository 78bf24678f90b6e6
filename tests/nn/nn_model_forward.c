/* tests/nn/nn_model_forward.c: read a model through the project's readers (mc_config_load + mc_io_model_read:
   Keras .h5, safetensors, native) and write the engine's last-layer output (batches of 500) for an input file (n examples,
   channels-last float32). Usage: nn_model_forward CONFIG.ini X N OUT */
#include <stdio.h>
#include <stdlib.h>
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
  fp = fopen(argv[4], "wb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "Cannot write %s.", argv[4]);
  for (PetscInt b = 0; b < n; b += 500) {
    PetscInt nb = PetscMin(500, n - b);
    PetscCall(mc_forward_run(f, nb, x + b * nin, 0));
    PetscCall(mc_forward_output(f, m->n_layers - 1, &y, &w));
    fwrite(y, sizeof(float), (size_t)(nb * w), fp);
  }
  fclose(fp);
  PetscCall(PetscFree(x));
  PetscCall(mc_forward_destroy(&f));
  PetscCall(mc_model_destroy(&m));
  PetscCall(mc_config_destroy(&cfg));
  PetscCall(PetscFinalize());
  return 0;
}
