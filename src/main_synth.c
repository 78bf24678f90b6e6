/* src/main_synth.c: modclust-synth, writes an MLP with planted modules as a native model file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mc/io.h"
#include "mc/synth.h"
#include "mc/sys.h"

static const char help[] = "modclust-synth: write an MLP with planted modules (native modclust HDF5 model).\n"
                           "Options: -widths 64,32,32,10 -modules 4 -strong 1.0 -weak 0.05 -p_cross 1.0 -seed 1\n"
                           "         -o model.h5 [-labels planted.txt]\n";

static PetscErrorCode run(void)
{
  MCSynthOpts o = {0};
  PetscInt    widths[64], n_widths = 64;
  PetscInt    seed = 1;
  char        out_path[PETSC_MAX_PATH_LEN] = "", labels_path[PETSC_MAX_PATH_LEN] = "";
  PetscBool   have_out, have_labels;
  MCModel    *m      = NULL;
  PetscInt   *labels = NULL, n_nodes = 0;

  PetscFunctionBeginUser;
  o.n_modules = 4;
  o.strong    = 1.0;
  o.weak      = 0.05;
  o.p_cross   = 1.0;
  widths[0] = 64; widths[1] = 32; widths[2] = 32; widths[3] = 10;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "modclust-synth options", NULL);
  PetscCall(PetscOptionsIntArray("-widths", "unit counts, input to output", NULL, widths, &n_widths, NULL));
  PetscCall(PetscOptionsInt("-modules", "planted modules", NULL, o.n_modules, &o.n_modules, NULL));
  PetscCall(PetscOptionsReal("-strong", "typical |weight| inside a module", NULL, o.strong, &o.strong, NULL));
  PetscCall(PetscOptionsReal("-weak", "typical |weight| across modules", NULL, o.weak, &o.weak, NULL));
  PetscCall(PetscOptionsReal("-p_cross", "probability of a non-zero cross-module weight", NULL, o.p_cross, &o.p_cross, NULL));
  PetscCall(PetscOptionsInt("-seed", "random seed", NULL, seed, &seed, NULL));
  PetscCall(PetscOptionsString("-o", "output model file", NULL, out_path, out_path, sizeof(out_path), &have_out));
  PetscCall(PetscOptionsString("-labels", "write the planted module of every graph node, one per line", NULL, labels_path, labels_path, sizeof(labels_path), &have_labels));
  PetscOptionsEnd();
  if (n_widths == 64) n_widths = 4; /* not given: the default above */
  PetscCheck(have_out, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT, "modclust-synth: give the output file with -o model.h5");
  o.n_widths = n_widths;
  o.widths   = widths;
  o.seed     = (uint64_t)seed;
  PetscCall(mc_synth_planted_mlp(&o, &m, have_labels ? &labels : NULL));
  PetscCall(mc_io_model_write_native(m, out_path));
  if (have_labels) {
    FILE *fp = fopen(labels_path, "w");
    PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", labels_path);
    for (PetscInt l = 0; l < n_widths; ++l) n_nodes += widths[l];
    for (PetscInt i = 0; i < n_nodes; ++i) fprintf(fp, "%" PetscInt_FMT "\n", labels[i]);
    PetscCheck(fclose(fp) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s", labels_path);
  }
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "wrote %s: %" PetscInt_FMT " layers, %" PetscInt_FMT " planted modules\n", out_path, m->n_layers, o.n_modules));
  PetscCall(PetscFree(labels));
  PetscCall(mc_model_destroy(&m));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscErrorCode ierr;
  PetscMPIInt    size;

  mc_sys_blas_prepare(argv);
  PetscCall(PetscInitialize(&argc, &argv, NULL, help));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  ierr = mc_sys_initialize();
  if (!ierr && size > 1) ierr = PetscError(PETSC_COMM_WORLD, __LINE__, "main", __FILE__, PETSC_ERR_USER_INPUT, PETSC_ERROR_INITIAL, "modclust-synth runs on one rank");
  if (!ierr) ierr = run();
  if (PetscFinalize()) return 1;
  return ierr ? 1 : 0;
}
