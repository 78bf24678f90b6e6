/* tests/fuzz/fuzz_dataset.c: the dataset readers. Built as fuzz_idx (MC_FUZZ_IDX: the input's first two
   bytes give the length of the images file, the rest is the labels file, both plain IDX in one directory)
   or fuzz_h5data (the input is an HDF5 dataset file). */
#include <string.h>
#include "harness.h"
#include "mc/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  MCDataset  *d = NULL;
  const char *path;

#ifdef MC_FUZZ_IDX
  char   dir[PETSC_MAX_PATH_LEN + 128];
  size_t n_img;

  if (size < 2 || !(path = mc_fuzz_dir("idx"))) return 0;
  strncpy(dir, path, sizeof(dir) - 1);
  dir[sizeof(dir) - 1] = '\0';
  n_img = ((size_t)data[0] | (size_t)data[1] << 8) % (size - 1);
  if (!mc_fuzz_file("idx/train-images-idx3-ubyte", data + 2, n_img)) return 0;
  if (!mc_fuzz_file("idx/train-labels-idx1-ubyte", data + 2 + n_img, size - 2 - n_img)) return 0;
  path = dir;
#else
  if (!(path = mc_fuzz_file("data.h5", data, size))) return 0;
#endif
  if (!mc_io_dataset_read(PETSC_COMM_SELF, path, "train", NULL, &d)) {
    mc_fuzz_outcome(1);
    mc_io_dataset_destroy(&d);
  } else mc_fuzz_outcome(0);
  return 0;
}
