/* include/mc/io.h: every file format (models, datasets, task records) and the HDF5 writer that the report
   writes results.h5 with. The io module is the only includer of hdf5.h. Small inputs are read by rank 0
   and broadcast. */
#pragma once
#include <petscsys.h>
#include "mc/model.h"

/* ---- Model reading options ([model] and [layer.N] of the configuration, filled by src/run) ---- */

/* Enum values are listed in the order of the key's choices in src/config/config.def. */
typedef enum { MC_MODEL_FORMAT_AUTO, MC_MODEL_FORMAT_KERAS, MC_MODEL_FORMAT_SAFETENSORS, MC_MODEL_FORMAT_NATIVE, MC_MODEL_FORMAT_ONNX } MCModelFormat;
typedef enum { MC_LAYOUT_AUTO, MC_LAYOUT_KERAS, MC_LAYOUT_TORCH } MCTensorLayout;
typedef enum { MC_INFER_NONE, MC_INFER_MLP } MCModelInfer;

/* One [layer.N] section: the architecture of a tensor-only (safetensors) file. Tensor names are empty
   when not given. */
typedef struct {
  MCLayerType  type; /* MC_LAYER_UNSET when not given */
  char         weight[PETSC_MAX_PATH_LEN], bias[PETSC_MAX_PATH_LEN];
  MCActivation activation;
  char         stride[PETSC_MAX_PATH_LEN]; /* "h,w" or "n"; empty = the default */
  MCPadding    padding;
  char         pool[PETSC_MAX_PATH_LEN];
  char         gamma[PETSC_MAX_PATH_LEN], beta[PETSC_MAX_PATH_LEN], mean[PETSC_MAX_PATH_LEN], var[PETSC_MAX_PATH_LEN];
  PetscReal    eps, rate, alpha;
  PetscInt     line; /* line of the [layer.N] header, for messages */
} MCLayerSpec;

typedef struct {
  char               path[PETSC_MAX_PATH_LEN];        /* the model file, absolute */
  MCModelFormat      format;                          /* AUTO: detected from the content */
  MCTensorLayout     layout;                          /* safetensors: AUTO means torch */
  char               input_shape[PETSC_MAX_PATH_LEN]; /* "C,H,W" / "H,W,C" / "n"; empty = from the first Dense */
  MCModelInfer       infer;
  PetscInt           n_layer_specs;
  const MCLayerSpec *layer_specs;                     /* borrowed; n_layer_specs entries */
} MCModelReadOpts;

/* The values of [output] file_locking (accepted from older configs; results.h5 no longer takes a lock). */
typedef enum { MC_FILE_LOCKING_AUTO, MC_FILE_LOCKING_ON, MC_FILE_LOCKING_OFF } MCFileLocking;

/* ---- Models ---- */

/* mc_io_model_read - Read the network named by opts->path (format detected from the content, or
   opts->format), normalise it (mc_model_finalize_shapes) and broadcast it to every rank.
   Keras 2 .h5 (model.save or save_weights with the architecture in model_config), safetensors (with
   opts->layer_specs, or opts->infer = MC_INFER_MLP) and the native modclust HDF5 model file.
   Errors, on every rank: missing or unreadable file, truncated or malformed content, missing tensor,
   shape mismatch, NaN/Inf weights, unsupported layer, each naming the file and the key or layer.
   Collective on comm. Caller owns *out; release with mc_model_destroy(). */
PetscErrorCode mc_io_model_read(MPI_Comm comm, const MCModelReadOpts *opts, MCModel **out);

/* mc_io_model_write_native - Write `m` as a native modclust HDF5 model file (docs/formats.md), to
   path + ".tmp" then renamed. Not collective: call on one rank. */
PetscErrorCode mc_io_model_write_native(const MCModel *m, const char *path);

/* ---- Datasets ---- */

/* MCDataset (examples and labels in memory) is declared in mc/model.h, beside the network that runs them. */

/* How image files become a model's input ([data] preprocess): NONE pixel / 255; CAFFE BGR with the ImageNet
   mean (103.939, 116.779, 123.68) subtracted on the 0..255 scale; TORCH (pixel / 255 - mean) / std with
   ImageNet's mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225); TF pixel / 127.5 - 1. */
typedef enum { MC_PREPROCESS_NONE, MC_PREPROCESS_CAFFE, MC_PREPROCESS_TORCH, MC_PREPROCESS_TF } MCPreprocess;

/* What a directory of images needs to become examples: the model's input H x W x C, the preprocessing, and
   the share of the resized image the centre crop keeps (shorter side scaled to min(H, W) / crop). */
typedef struct {
  PetscInt     shape[3];
  MCPreprocess preprocess;
  PetscReal    crop;
} MCDatasetOpts;

/* mc_io_preprocess_name - "none", "caffe", "torch", "tf"; "unknown" out of range. Not collective. */
const char *mc_io_preprocess_name(MCPreprocess p);

/* mc_io_dataset_read - Read split "train" or "test" of `source`: a directory with the MNIST-style IDX files
   (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...), an HDF5 file with
   /<split>/images (uint8 N x H x W [x C], or float in [0, 1]) and /<split>/labels (uint8 is scaled by
   1/255), or a directory of JPEG/PNG images with a labels list <split>.txt or labels.txt ("path label"
   lines, paths relative to the directory), decoded, resized and centre-cropped to opts->shape and
   normalised by opts->preprocess (opts may be NULL for the other kinds; docs/formats.md).
   Rank 0 reads, every rank receives a copy. Errors name the file and what is wrong (missing, truncated,
   bad magic, count mismatch between images and labels); a missing source names the fix
   (apt-get install dataset-fashion-mnist, or data.source=).
   Collective on comm. Caller owns *out; release with mc_io_dataset_destroy(). */
PetscErrorCode mc_io_dataset_read(MPI_Comm comm, const char *source, const char *split, const MCDatasetOpts *opts, MCDataset **out);

/* mc_io_dataset_destroy - Free *d; sets it to NULL; does nothing on NULL. */
PetscErrorCode mc_io_dataset_destroy(MCDataset **d);

/* ---- Writing HDF5 files (results.h5) without hdf5.h: a file and a stack of open groups; every object is
   created in the innermost group. Not collective (one writing rank). Errors name the file and the object
   (PETSC_ERR_FILE_OPEN / PETSC_ERR_FILE_WRITE). ---- */
typedef struct MCH5Writer MCH5Writer;

/* mc_io_h5w_create - A new HDF5 file to be written to `path`, assembled in memory. Caller owns *w; release
   with mc_io_h5w_close, which closes the open groups and writes the file (any existing file at path is
   replaced; a failed write, a full disk, is an error naming the file and the reason), or, after a failed
   write, with mc_io_h5w_abandon, which closes whatever is open, writes nothing and reports nothing. */
PetscErrorCode mc_io_h5w_create(const char *path, MCH5Writer **w);
PetscErrorCode mc_io_h5w_close(MCH5Writer **w);
void           mc_io_h5w_abandon(MCH5Writer **w);

/* mc_io_h5w_group_push / _pop - Create group `name` in the current group and enter it; leave it. */
PetscErrorCode mc_io_h5w_group_push(MCH5Writer *w, const char *name);
PetscErrorCode mc_io_h5w_group_pop(MCH5Writer *w);

/* Scalar attributes of the current group: a variable-length UTF-8 string, a float64, an int64. */
PetscErrorCode mc_io_h5w_attr_string(MCH5Writer *w, const char *name, const char *value);
PetscErrorCode mc_io_h5w_attr_real(MCH5Writer *w, const char *name, PetscReal v);
PetscErrorCode mc_io_h5w_attr_int(MCH5Writer *w, const char *name, PetscInt64 v);

/* Datasets of the current group: rows x cols (cols = 0: 1-D of rows entries; rows = 0 is allowed) int64
   or float64, and a scalar float64 (h5py: f[name][()]). */
PetscErrorCode mc_io_h5w_ints(MCH5Writer *w, const char *name, PetscInt rows, PetscInt cols, const PetscInt v[]);
PetscErrorCode mc_io_h5w_reals(MCH5Writer *w, const char *name, PetscInt rows, PetscInt cols, const PetscReal v[]);
PetscErrorCode mc_io_h5w_scalar(MCH5Writer *w, const char *name, PetscReal v);

/* ---- Task checkpoints: the finished tasks of a long farmed stage, in files beside the output ---- */
typedef struct MCCheckpoint_s MCCheckpoint;

/* mc_io_checkpoint_prefix - "<dir>.ckpt-<hash as 16 hex digits>" (trailing slashes of dir dropped) into
   prefix[size]: the checkpoint files of a stage are <prefix>.<tag>. Not collective. */
PetscErrorCode mc_io_checkpoint_prefix(const char *dir, uint64_t hash, char prefix[], size_t size);

/* mc_io_checkpoint_open - Claim the checkpoint <prefix>.* of a stage of n_tasks tasks, each with n_out result
   values, task t recorded under key[t] (distinct; NULL: key t), so that a rerun with other task counts still
   finds its tasks. The lock <prefix>.lock is taken (mc_sys_lock_acquire; `what` names the stage in its
   message: a second live run fails here); rank 0 reads the complete records earlier runs left into
   result[t * n_out ..] with done[t] = PETSC_TRUE, and merges them into one file <prefix>.merged (the
   others are removed). done[] and *n_resumed (the tasks found) are the same on every rank on return;
   result rows are filled on rank 0 only. Collective on comm. Caller owns *ck: mc_io_checkpoint_close. */
PetscErrorCode mc_io_checkpoint_open(MPI_Comm comm, const char *prefix, const char *what, PetscInt n_tasks, const uint64_t key[], PetscInt n_out,
                                     PetscReal result[], PetscBool done[], PetscInt *n_resumed, MCCheckpoint **ck);

/* mc_io_checkpoint_record - Task t finished with result[0..n_out): append a line to this rank's file
   <prefix>.r<rank> and flush it. A failed write (a full disk) prints a warning and this rank records no
   more; it raises no error (a checkpoint is insurance: losing it must not end a run). Not collective. */
PetscErrorCode mc_io_checkpoint_record(MCCheckpoint *ck, PetscInt t, const PetscReal result[]);

/* mc_io_checkpoint_close - Close this rank's file, release the lock and free *ck (the records stay for a
   rerun until mc_io_checkpoint_clear); NULL is fine. Not collective. */
PetscErrorCode mc_io_checkpoint_close(MCCheckpoint **ck);

/* mc_io_checkpoint_clear - Rank 0 removes the files <prefix>.* (not the lock, whose holder removes it);
   an empty prefix does nothing. Call once the run's results are written. Collective on comm. */
PetscErrorCode mc_io_checkpoint_clear(MPI_Comm comm, const char *prefix);

