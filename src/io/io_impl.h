/* src/io/io_impl.h: internals shared by the io module's readers and writers (not installed). */
#pragma once
#include <hdf5.h>
#include <signal.h>
#include <time.h>
#include "mc/io.h"

/* MCCallHDF5 - The io module's one HDF5 error check: when `expr` is negative, raise PETSC_ERR_FILE_UNEXPECTED
   on PETSC_COMM_SELF naming the file `file` (its path) and `what` the call was about ("a dataset", "the
   file", ...). The failing call itself goes to -info, for developers. */
#define MCCallHDF5(expr, file, what) \
  do { \
    if ((expr) < 0) { \
      PetscCall(PetscInfo(NULL, "HDF5 call failed: %s\n", #expr)); \
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: HDF5 error on %s (a damaged or unreadable file, or a full disk when writing)", file, what); \
    } \
  } while (0)

/* Largest tensor rank the readers handle. */
#define MC_IO_MAX_DIMS 4

/* ---- h5.c: small HDF5 helpers. All are "not collective" (one reading rank) and raise on
   PETSC_COMM_SELF with messages naming `file` (the path, for messages only) and the object. ---- */

/* Turn off HDF5's own error-stack printing; our messages replace it. */
void mc__io_h5_silence(void);

/* Whether `path` starts with the HDF5 signature (at offset 0 or a power-of-two user-block offset). */
PetscErrorCode mc__io_h5_is_hdf5(const char *path, PetscBool *is_h5);

/* Open an existing file read-only; PETSC_ERR_FILE_OPEN naming the file when it cannot be opened. With
   check_heaps, its global heaps are checked first (mc__io_h5_check_heaps): for readers of values; a look at
   which objects exist (format detection) reads no heap. */
PetscErrorCode mc__io_h5_open_read(const char *path, PetscBool check_heaps, hid_t *file);

/* mc__io_h5_check_heaps - Refuse (PETSC_ERR_FILE_UNEXPECTED, naming the file and the byte) an HDF5 file whose
   global heap collections are inconsistent, before HDF5 reads them (src/io/h5_heap.c). Reads the whole file. */
PetscErrorCode mc__io_h5_check_heaps(const char *path);

/* After a reader's error: close every file HDF5 still holds open under `path`, with what the reader left open
   in it (files are opened with H5F_CLOSE_STRONG), so a failed read leaks no handle and a later open of the
   same path reads the file anew. */
void mc__io_h5_close_path(const char *path);

/* MCIOGuard - What guards rank 0 while it reads one model or dataset file (src/io/guard.c). */
typedef struct {
  char             path[PETSC_MAX_PATH_LEN];
  PetscBool        pushed, timed; /* the crash handler is pushed; the watchdog runs */
  PetscReal        seconds;       /* the watchdog's limit */
  timer_t          timer;
  struct sigaction old;           /* SIGALRM's action before */
} MCIOGuard;

/* mc__io_guard_push, mc__io_guard_pop - Around the reading of `path`: a crash (SIGSEGV, SIGBUS, SIGFPE)
   prints one line naming the file and aborts the job, and so does a read still running after 600 s plus
   120 s per GB of the file (-mc_read_timeout SECONDS; 0 = none). Nothing with -no_signal_handler. g must stay
   in place until the pop. Not collective. */
PetscErrorCode mc__io_guard_push(const char *path, MCIOGuard *g);
PetscErrorCode mc__io_guard_pop(MCIOGuard *g);

/* Whether the object at `path` (relative to loc) exists, following intermediate groups. */
PetscErrorCode mc__io_h5_exists(hid_t loc, const char *path, PetscBool *exists);

/* Whether attribute `name` exists on loc. */
PetscErrorCode mc__io_h5_attr_exists(hid_t loc, const char *name, PetscBool *exists);

/* Read the scalar (or one-element) string attribute `name` (fixed- or variable-length) into a new
   PetscMalloc'd string (*out, free with PetscFree). `what` names loc in messages. */
PetscErrorCode mc__io_h5_attr_string(const char *file, hid_t loc, const char *what, const char *name, char **out);

/* Read a 1-D string-array attribute `name` (fixed- or variable-length; a scalar counts as one entry),
   or the split form name0, name1, ... that Keras writes for large attributes, concatenated.
   *out is an array of *n PetscMalloc'd strings; free with mc__io_strings_free(). */
PetscErrorCode mc__io_h5_attr_strings(const char *file, hid_t loc, const char *what, const char *name, PetscInt *n, char ***out);
PetscErrorCode mc__io_strings_free(PetscInt n, char ***s);

/* Read an integer or floating-point attribute of at most `max` elements (converted to long long or
   double); *n receives the element count. */
PetscErrorCode mc__io_h5_attr_ints(const char *file, hid_t loc, const char *what, const char *name, PetscInt max, PetscInt *n, long long v[]);
PetscErrorCode mc__io_h5_attr_reals(const char *file, hid_t loc, const char *what, const char *name, PetscInt max, PetscInt *n, double v[]);

/* Check the shape (rank dims) of dataset dset, named `name` in messages, before anything is allocated from
   it: each dimension below 2^31, the whole below 2^38 values, and a contiguous dataset held whole by the
   file (a truncated one is refused here, not by a short read). */
PetscErrorCode mc__io_h5_check_shape(const char *file, hid_t dset, const char *name, int rank, const hsize_t dims[]);

/* Read the floating-point (or integer) dataset `path` under loc as float: *ndim, dims[] (room for
   MC_IO_MAX_DIMS) and a new PetscMalloc'd array *data (free with PetscFree). The shape is checked before
   anything is allocated: each dimension below 2^31, a contiguous dataset held whole by the file, and the
   floats within `budget` bytes (mc__io_check_budget). */
PetscErrorCode mc__io_h5_read_floats(const char *file, hid_t loc, const char *path, double budget, PetscInt *ndim, PetscInt dims[], float **data);

/* Writers: a variable-length UTF-8 string attribute, an int64 attribute of n values (n = 0: scalar of
   v[0]), a double attribute (scalar), a float dataset of the given dims, and a rows x cols dataset of
   PetscInt (is_int, stored int64) or PetscReal (stored float64) values: cols = 0 makes it 1-D, rows < 0 a
   scalar of v[0]. Errors: PETSC_ERR_FILE_WRITE naming the object and `file`. */
PetscErrorCode mc__io_h5_write_attr_string(const char *file, hid_t loc, const char *name, const char *value);
PetscErrorCode mc__io_h5_write_attr_ints(const char *file, hid_t loc, const char *name, PetscInt n, const long long v[]);
PetscErrorCode mc__io_h5_write_attr_real(const char *file, hid_t loc, const char *name, double v);
PetscErrorCode mc__io_h5_write_floats(const char *file, hid_t loc, const char *name, PetscInt ndim, const PetscInt dims[], const float *data);
PetscErrorCode mc__io_h5_write_dataset(const char *file, hid_t loc, const char *name, PetscBool is_int, PetscInt rows, PetscInt cols, const void *v);

/* mc__io_check_budget - Before allocating `bytes` for `what` of `file`: fail with PETSC_ERR_MEM, naming
   the file, what and both sizes, when they exceed `budget`, the memory one rank may hold (every rank holds a
   copy of what rank 0 reads; mc_sys_memory_per_rank at the read's entry). budget <= 0: no check; sizes up
   to 4 MiB always pass. */
PetscErrorCode mc__io_check_budget(const char *file, const char *what, double bytes, double budget);

/* ---- Model readers, each run by one rank; *out is a new model with shapes finalized. `budget` is the
   memory a rank may hold (mc__io_check_budget). ---- */
PetscErrorCode mc__io_model_read_native(const char *path, double budget, MCModel **out);
PetscErrorCode mc__io_model_read_keras(const char *path, double budget, MCModel **out);
PetscErrorCode mc__io_model_read_safetensors(const MCModelReadOpts *opts, const char *path, double budget, MCModel **out);
PetscErrorCode mc__io_model_read_onnx(const char *path, double budget, MCModel **out);

/* mc__io_half_to_float - IEEE 754 binary16 (bits h) as a float, subnormals, Inf and NaN included. */
float mc__io_half_to_float(uint16_t h);

/* mc__io_bf16_to_float - bfloat16 (bits b: the upper half of a float) as a float. */
float mc__io_bf16_to_float(uint16_t b);

/* ---- Dataset readers, run by one rank. ---- */
PetscErrorCode mc__io_dataset_read_idx(const char *dir, const char *split, double budget, MCDataset **out);
PetscErrorCode mc__io_dataset_read_h5(const char *path, const char *split, double budget, MCDataset **out);

/* mc__io_images_list - The labels list of `split` in dir (<split>.txt, else labels.txt) into path;
   *found = PETSC_FALSE when neither exists. Not collective. */
PetscErrorCode mc__io_images_list(const char *dir, const char *split, char path[], size_t n, PetscBool *found);

/* mc__io_dataset_read_images - Every image `list` names (relative to dir), decoded and prepared as opts says
   (src/io/dataset_images.c). Errors name the list's line or the image. Rank 0 only. */
PetscErrorCode mc__io_dataset_read_images(const char *dir, const char *list, const MCDatasetOpts *opts, double budget, MCDataset **out);
