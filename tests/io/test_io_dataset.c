/* tests/io/test_io_dataset.c: read a dataset split with mc_io_dataset_read and print a summary line that
   tests/io/check_datasets.py compares with numpy's reading of the same files:
     summary n=N shape=HxWxC classes=K y0=first label sumx=sum of all pixels sumy=sum of labels x0=first
     pixel values checksum
   Every rank checks that its copy equals rank 0's.
   Image directories: -image_shape H,W,C [-preprocess none|caffe|torch|tf] [-crop F]; -dump FILE writes the
   examples (float32) then the labels (int64) for an exact comparison.
   test_io_dataset -source PATH -split train|test */
#include <stdio.h>
#include <string.h>
#include "mc/mc.h"

static PetscErrorCode run(MPI_Comm comm)
{
  char       source[PETSC_MAX_PATH_LEN] = "", split[16] = "test";
  MCDataset *d;
  double     sx = 0, sy = 0, wx = 0, g[2], lo[2], hi[2];
  size_t     nx;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetString(NULL, NULL, "-source", source, sizeof(source), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-split", split, sizeof(split), NULL));
  {
    MCDatasetOpts o = {{0, 0, 0}, MC_PREPROCESS_NONE, 0.875};
    PetscInt      n = 3, pp = 0;
    char          dump[PETSC_MAX_PATH_LEN] = "";
    const char   *names[] = {"none", "caffe", "torch", "tf"};
    PetscBool     set;
    PetscCall(PetscOptionsGetIntArray(NULL, NULL, "-image_shape", o.shape, &n, NULL));
    PetscCall(PetscOptionsGetEList(NULL, NULL, "-preprocess", names, 4, &pp, &set));
    o.preprocess = (MCPreprocess)pp;
    PetscCall(PetscOptionsGetReal(NULL, NULL, "-crop", &o.crop, NULL));
    PetscCall(mc_io_dataset_read(comm, source, split, &o, &d));
    PetscCall(PetscOptionsGetString(NULL, NULL, "-dump", dump, sizeof(dump), &set));
    if (set) {
      PetscMPIInt rank;
      PetscCallMPI(MPI_Comm_rank(comm, &rank));
      if (!rank) {
        FILE *fp = fopen(dump, "wb");
        PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", dump);
        fwrite(d->x, sizeof(float), (size_t)d->n * (size_t)(d->shape[0] * d->shape[1] * d->shape[2]), fp);
        for (PetscInt i = 0; i < d->n; ++i) {
          long long v = d->y[i];
          fwrite(&v, sizeof(v), 1, fp);
        }
        fclose(fp);
      }
    }
  }
  nx = (size_t)d->n * (size_t)(d->shape[0] * d->shape[1] * d->shape[2]);
  for (size_t i = 0; i < nx; ++i) {
    sx += d->x[i];
    wx += d->x[i] * (double)(i % 1009);
  }
  for (PetscInt i = 0; i < d->n; ++i) sy += (double)d->y[i];
  g[0] = sx + 3 * wx;
  g[1] = sy;
  PetscCallMPI(MPI_Allreduce(g, lo, 2, MPI_DOUBLE, MPI_MIN, comm));
  PetscCallMPI(MPI_Allreduce(g, hi, 2, MPI_DOUBLE, MPI_MAX, comm));
  PetscCheck(lo[0] == hi[0] && lo[1] == hi[1], comm, PETSC_ERR_PLIB, "ranks received different copies of the dataset");
  PetscCall(PetscPrintf(comm, "summary n=%" PetscInt_FMT " shape=%" PetscInt_FMT "x%" PetscInt_FMT "x%" PetscInt_FMT " classes=%" PetscInt_FMT " y0=%" PetscInt_FMT " sumx=%.6f sumy=%.0f wx=%.6f\n", d->n,
                        d->shape[0], d->shape[1], d->shape[2], d->n_classes, d->y[0], sx, sy, wx));
  PetscCall(mc_io_dataset_destroy(&d));
  PetscCheck(d == NULL, comm, PETSC_ERR_PLIB, "destroy did not reset the pointer");
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
