/* src/io/dataset_idx.c: MNIST-style IDX datasets (gzipped or plain), plus mc_io_dataset_read's source
   detection, rank-0 read and broadcast, and mc_io_dataset_destroy. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "io/io_impl.h"
#include "mc/sys.h"

/* Find dir/name or dir/name.gz; *found = PETSC_FALSE if neither exists. */
static PetscErrorCode find_file(const char *dir, const char *name, char *path, size_t n, PetscBool *found)
{
  struct stat st;

  PetscFunctionBeginUser;
  *found = PETSC_TRUE;
  PetscCall(PetscSNPrintf(path, n, "%s/%s", dir, name));
  if (stat(path, &st) == 0) PetscFunctionReturn(0);
  PetscCall(PetscSNPrintf(path, n, "%s/%s.gz", dir, name));
  if (stat(path, &st) == 0) PetscFunctionReturn(0);
  *found = PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* Read exactly n bytes or fail naming the file and what was being read. */
static PetscErrorCode gz_read_all(gzFile gz, const char *path, const char *what, unsigned char *buf, size_t n)
{
  size_t done = 0;

  PetscFunctionBeginUser;
  while (done < n) {
    unsigned chunk = (unsigned)PetscMin(n - done, (size_t)1 << 30);
    int      got   = gzread(gz, buf + done, chunk);

    if (got <= 0) {
      int         errnum = Z_OK;
      const char *msg    = gzerror(gz, &errnum);

      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s is truncated or corrupt: read %zu of %zu bytes of %s%s%s", path, done, n, what,
              (got < 0 && msg && msg[0]) ? ": " : "", (got < 0 && msg) ? msg : "");
    }
    done += (size_t)got;
  }
  PetscFunctionReturn(0);
}

static unsigned be32(const unsigned char *p)
{
  return ((unsigned)p[0] << 24) | ((unsigned)p[1] << 16) | ((unsigned)p[2] << 8) | (unsigned)p[3];
}

/* Read an unsigned-byte IDX file from the open gz: magic 0x00 0x00 0x08 ndim, ndim big-endian u32 dimensions,
   data. Returns the dimensions and a new buffer of the data. The header's sizes are not trusted: their
   floats must fit the memory budget, and the buffer grows with the bytes actually read (a gzipped file's size is known only by reading it), so a damaged
   header ends in a "truncated" message, not in an allocation of terabytes. */
static PetscErrorCode read_idx_open(gzFile gz, const char *path, PetscInt min_dim, PetscInt max_dim, double budget, PetscInt *ndim, PetscInt dims[], unsigned char **data)
{
  unsigned char head[4], d[4];
  size_t        count = 1, have = 0, cap = 0;
  const size_t  step = (size_t)64 << 20;

  PetscFunctionBeginUser;
  PetscCall(gz_read_all(gz, path, "the IDX header", head, 4));
  PetscCheck(head[0] == 0 && head[1] == 0 && head[2] == 0x08, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: bad IDX magic number 0x%02x%02x%02x%02x (expected 0x000008%02x: unsigned bytes)", path, head[0], head[1], head[2], head[3], (unsigned)max_dim);
  PetscCheck(head[3] >= min_dim && head[3] <= max_dim, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: IDX magic 0x%02x%02x%02x%02x says %d dimensions, expected %" PetscInt_FMT "..%" PetscInt_FMT,
             path, head[0], head[1], head[2], head[3], head[3], min_dim, max_dim);
  *ndim = head[3];
  for (PetscInt i = 0; i < *ndim; ++i) {
    PetscCall(gz_read_all(gz, path, "the IDX header", d, 4));
    dims[i] = (PetscInt)be32(d);
    PetscCheck(dims[i] >= 1 && dims[i] < ((PetscInt)1 << 30), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: IDX dimension %" PetscInt_FMT " is %u", path, i, be32(d));
    PetscCheck(count <= ((size_t)1 << 40) / (size_t)dims[i], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the IDX header's dimensions describe more than 2^40 bytes (a damaged header?)", path);
    count *= (size_t)dims[i];
  }
  /* Each byte becomes a float in memory (budget 0: no check, for the small label files). */
  PetscCall(mc__io_check_budget(path, "the examples", 4.0 * (double)count, budget));
  while (have < count) {
    size_t want = PetscMin(count - have, step);
    int    got;

    if (have + want > cap) {
      cap = PetscMin(count, PetscMax(2 * cap, have + want));
      PetscCall(PetscRealloc(cap, data));
    }
    got = gzread(gz, *data + have, (unsigned)want);
    PetscCheck(got > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s is truncated or corrupt: its IDX header describes %zu data bytes (%" PetscInt_FMT " items) but the file holds %zu", path,
               count, dims[0], have);
    have += (size_t)got;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode read_idx_u8(const char *path, PetscInt min_dim, PetscInt max_dim, double budget, PetscInt *ndim, PetscInt dims[], unsigned char **data)
{
  gzFile         gz;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  *data = NULL;
  gz    = gzopen(path, "rb"); /* zlib reads plain files transparently */
  PetscCheck(gz, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s", path);
  ierr = read_idx_open(gz, path, min_dim, max_dim, budget, ndim, dims, data);
  gzclose(gz); /* also after an error: no file handle left open */
  if (ierr) PetscCall(PetscFree(*data));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_dataset_read_idx(const char *dir, const char *split, double budget, MCDataset **out)
{
  const char    *prefix = !strcmp(split, "train") ? "train" : "t10k";
  char           name[64], ipath[PETSC_MAX_PATH_LEN], lpath[PETSC_MAX_PATH_LEN];
  PetscBool      found = PETSC_FALSE;
  PetscInt       nd_i, nd_l, di[4], dl[4], hwc;
  unsigned char *img, *lab;
  MCDataset     *d;

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(name, sizeof(name), "%s-images-idx3-ubyte", prefix));
  PetscCall(find_file(dir, name, ipath, sizeof(ipath), &found));
  PetscCheck(found, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "dataset directory %s has no %s or %s.gz (data.source; Fashion-MNIST: apt-get install dataset-fashion-mnist)", dir, name, name);
  PetscCall(PetscSNPrintf(name, sizeof(name), "%s-labels-idx1-ubyte", prefix));
  PetscCall(find_file(dir, name, lpath, sizeof(lpath), &found));
  PetscCheck(found, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "dataset directory %s has no %s or %s.gz (data.source; Fashion-MNIST: apt-get install dataset-fashion-mnist)", dir, name, name);
  PetscCall(read_idx_u8(ipath, 3, 4, budget, &nd_i, di, &img));
  PetscCall(read_idx_u8(lpath, 1, 1, 0, &nd_l, dl, &lab));
  PetscCheck(di[0] == dl[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s has %" PetscInt_FMT " images but %s has %" PetscInt_FMT " labels", ipath, di[0], lpath, dl[0]);
  PetscCall(PetscNew(&d));
  d->n        = di[0];
  d->shape[0] = di[1];
  d->shape[1] = di[2];
  d->shape[2] = nd_i == 4 ? di[3] : 1;
  hwc         = d->shape[0] * d->shape[1] * d->shape[2];
  PetscCall(PetscMalloc1((size_t)d->n * hwc, &d->x));
  PetscCall(PetscMalloc1(d->n, &d->y));
  for (size_t i = 0; i < (size_t)d->n * (size_t)hwc; ++i) d->x[i] = (float)img[i] / 255.0f;
  d->n_classes = 0;
  for (PetscInt i = 0; i < d->n; ++i) {
    d->y[i]      = lab[i];
    d->n_classes = PetscMax(d->n_classes, d->y[i] + 1);
  }
  PetscCall(PetscFree(img));
  PetscCall(PetscFree(lab));
  PetscCall(PetscStrncpy(d->source, ipath, sizeof(d->source)));
  *out = d;
  PetscFunctionReturn(0);
}

static PetscErrorCode read_on_rank0(const char *source, const char *split, const MCDatasetOpts *opts, double budget, MCDataset **out)
{
  struct stat st;
  PetscBool   is_h5 = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCheck(source && source[0], PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "no dataset given: set data.source to an IDX directory or an HDF5 file (Fashion-MNIST: apt-get install dataset-fashion-mnist, then data.source=/usr/share/datasets/fashion-mnist)");
  PetscCheck(!strcmp(split, "train") || !strcmp(split, "test"), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "dataset split '%s' is neither train nor test", split);
  PetscCheck(stat(source, &st) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
             "dataset %s does not exist (data.source; for Fashion-MNIST: apt-get install dataset-fashion-mnist, then data.source=/usr/share/datasets/fashion-mnist)", source);
  if (S_ISDIR(st.st_mode)) {
    char      list[PETSC_MAX_PATH_LEN];
    PetscBool images;
    PetscCall(mc__io_images_list(source, split, list, sizeof(list), &images));
    if (images) PetscCall(mc__io_dataset_read_images(source, list, opts, budget, out));
    else PetscCall(mc__io_dataset_read_idx(source, split, budget, out));
  } else {
    PetscCall(mc__io_h5_is_hdf5(source, &is_h5));
    PetscCheck(is_h5, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "dataset %s is neither a directory of IDX files nor an HDF5 file (data.source)", source);
    PetscCall(mc__io_dataset_read_h5(source, split, budget, out));
  }
  PetscCheck((*out)->n >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "dataset %s has no %s examples", source, split);
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_dataset_read(MPI_Comm comm, const char *source, const char *split, const MCDatasetOpts *opts, MCDataset **out)
{
  PetscMPIInt    rank;
  PetscErrorCode ierr = 0;
  MCDataset     *d    = NULL, head;
  size_t         nx;
  double         budget;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(mc_sys_memory_per_rank(comm, &budget)); /* every rank will hold the examples */
  if (rank == 0) {
    MCIOGuard guard;

    PetscCall(mc__io_guard_push(source, &guard));
    ierr = read_on_rank0(source, split, opts, budget, &d);
    PetscCall(mc__io_guard_pop(&guard));
  }
  if (ierr) mc__io_h5_close_path(source);
  PetscCall(mc_sys_rank0_status(comm, ierr));
  PetscCall(PetscMemzero(&head, sizeof(head)));
  if (rank == 0) head = *d;
  PetscCallMPI(MPI_Bcast(&head, (PetscMPIInt)sizeof(head), MPI_BYTE, 0, comm));
  if (rank != 0) {
    PetscCall(PetscNew(&d));
    *d = head;
    PetscCall(PetscMalloc1((size_t)d->n * d->shape[0] * d->shape[1] * d->shape[2], &d->x));
    PetscCall(PetscMalloc1(d->n, &d->y));
  }
  nx = (size_t)d->n * (size_t)(d->shape[0] * d->shape[1] * d->shape[2]);
  for (size_t off = 0; off < nx;) {
    size_t chunk = PetscMin(nx - off, (size_t)1 << 28);

    PetscCallMPI(MPI_Bcast(d->x + off, (PetscMPIInt)chunk, MPI_FLOAT, 0, comm));
    off += chunk;
  }
  for (PetscInt off = 0; off < d->n;) {
    PetscInt chunk = PetscMin(d->n - off, (PetscInt)1 << 28);

    PetscCallMPI(MPI_Bcast(d->y + off, (PetscMPIInt)chunk, MPIU_INT, 0, comm));
    off += chunk;
  }
  *out = d;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_dataset_destroy(MCDataset **d)
{
  PetscFunctionBeginUser;
  if (!*d) PetscFunctionReturn(0);
  PetscCall(PetscFree((*d)->x));
  PetscCall(PetscFree((*d)->y));
  PetscCall(PetscFree(*d));
  PetscFunctionReturn(0);
}
