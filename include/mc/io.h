/* include/mc/io.h: every file format (models, datasets, results). The io module is the only includer of
   hdf5.h. Small inputs are read by rank 0 and broadcast. */
#pragma once
#include <petscsys.h>
#include "mc/config.h"
#include "mc/model.h"

/* ---- Models ---- */

/* mc_io_model_read - Read the network named by cfg->model_path (format detected from the content, or
   cfg->model_format), normalise it (mc_model_finalize_shapes) and broadcast it to every rank.
   Keras 2 .h5 (model.save or save_weights with the architecture in model_config), safetensors (with
   [layer.N] sections of cfg, or model.infer = mlp) and the native modclust HDF5 model file.
   Errors, on every rank: missing or unreadable file, truncated or malformed content, missing tensor,
   shape mismatch, NaN/Inf weights, unsupported layer, each naming the file and the key or layer.
   Collective on comm. Caller owns *out; release with mc_model_destroy(). */
PetscErrorCode mc_io_model_read(MPI_Comm comm, const MCConfig *cfg, MCModel **out);

/* mc_io_model_write_native - Write `m` as a native modclust HDF5 model file (docs/formats.md), to
   path + ".tmp" then renamed. Not collective: call on one rank. */
PetscErrorCode mc_io_model_write_native(const MCModel *m, const char *path);

/* ---- Datasets ---- */

typedef struct {
  PetscInt  n;          /* examples */
  PetscInt  shape[3];   /* H, W, C of one example */
  float    *x;          /* n * H*W*C values in [0, 1], channels-last; owned */
  PetscInt *y;          /* n labels in [0, n_classes); owned */
  PetscInt  n_classes;  /* 1 + the largest label */
  char      source[PETSC_MAX_PATH_LEN];
} MCDataset;

/* mc_io_dataset_read - Read split "train" or "test" of `source`: a directory with the MNIST-style IDX files
   (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...), or an HDF5 file with
   /<split>/images (uint8 N x H x W [x C], or float in [0, 1]) and /<split>/labels. uint8 is scaled by 1/255.
   Rank 0 reads, every rank receives a copy. Errors name the file and what is wrong (missing, truncated,
   bad magic, count mismatch between images and labels); a missing source names the fix
   (apt-get install dataset-fashion-mnist, or data.source=).
   Collective on comm. Caller owns *out; release with mc_io_dataset_destroy(). */
PetscErrorCode mc_io_dataset_read(MPI_Comm comm, const char *source, const char *split, MCDataset **out);

/* mc_io_dataset_destroy - Free *d; sets it to NULL; does nothing on NULL. */
PetscErrorCode mc_io_dataset_destroy(MCDataset **d);

/* mc_io_hdf5_version - the HDF5 library version (major, minor, release). Not collective. */
void mc_io_hdf5_version(unsigned v[3]);
