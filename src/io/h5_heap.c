/* src/io/h5_heap.c: a check of an HDF5 file's global heap collections before HDF5 reads them. HDF5 1.10.8
   trusts them: a corrupt object length makes it copy wild memory (H5HG_read) or loop forever (H5HG__protect),
   as fuzzing the readers found within a hundred inputs. Variable-length strings (the attributes of Keras
   and native model files) live there. Each collection is "GCOL", version 1, three zero bytes, its size
   (8 bytes, at least 4096), then objects: index (2 bytes), reference count (2), reserved (4), size (8),
   data padded to 8 bytes; index 0 is the free space and ends the list (HDF5 file format spec, III.E). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "io/io_impl.h"

#define GCOL_MIN  4096
#define GCOL_HEAD 16
#define CHUNK     ((size_t)1 << 20)

static uint64_t le64(const unsigned char *p)
{
  uint64_t v = 0;

  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

/* Walk the collection of `size` bytes at file offset `at` (its header already read). */
static PetscErrorCode check_collection(FILE *fp, const char *path, uint64_t at, uint64_t size)
{
  unsigned char *c;
  uint64_t       off = GCOL_HEAD;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(size, &c));
  if (fseeko(fp, (off_t)at, SEEK_SET) || fread(c, 1, size, fp) != size) {
    PetscCall(PetscFree(c));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s is truncated: its HDF5 global heap at byte %llu needs %llu bytes", path, (unsigned long long)at, (unsigned long long)size);
  }
  while (off + GCOL_HEAD <= size) {
    unsigned index = (unsigned)c[off] | (unsigned)c[off + 1] << 8;
    uint64_t len   = le64(c + off + 8);

    if (index == 0) break; /* the free space: the rest of the collection */
    if (len > size - off - GCOL_HEAD) {
      PetscCall(PetscFree(c));
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
              "%s is a corrupt HDF5 file: object %u of the global heap at byte %llu claims %llu bytes in a collection of %llu (HDF5 1.10 would read wild memory or hang on it)",
              path, index, (unsigned long long)at, (unsigned long long)len, (unsigned long long)size);
    }
    off += GCOL_HEAD + ((len + 7) & ~(uint64_t)7);
  }
  PetscCall(PetscFree(c));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_h5_check_heaps(const char *path)
{
  FILE          *fp;
  struct stat    st;
  unsigned char *buf;
  size_t         have = 0, got;
  uint64_t       base = 0; /* file offset of buf[0] */
  PetscErrorCode ierr = 0;

  PetscFunctionBeginUser;
  if (stat(path, &st) || !(fp = fopen(path, "rb"))) PetscFunctionReturn(0); /* the open that follows says why */
  PetscCall(PetscMalloc1(CHUNK + GCOL_HEAD, &buf));
  /* Chunks overlap by the header's length, so a header across a boundary is seen once whole. */
  while (!ierr && (got = fread(buf + have, 1, CHUNK + GCOL_HEAD - have, fp)) > 0) {
    size_t n = have + got, scan = n >= GCOL_HEAD ? n - GCOL_HEAD + 1 : 0;
    long   resume;

    for (size_t i = 0; i < scan && !ierr; ++i) {
      const unsigned char *h = buf + i;
      uint64_t             size;

      if (h[0] != 'G' || memcmp(h, "GCOL\1\0\0\0", 8)) continue;
      size = le64(h + 8);
      if (size < GCOL_MIN || size > (uint64_t)st.st_size || base + i > (uint64_t)st.st_size - size) { /* no overflow: size first */
        fclose(fp);
        PetscCall(PetscFree(buf));
        SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s is a corrupt HDF5 file: its global heap at byte %llu claims %llu bytes (the file has %lld)", path,
                (unsigned long long)(base + i), (unsigned long long)size, (long long)st.st_size);
      }
      resume = ftell(fp);
      ierr   = check_collection(fp, path, base + i, size);
      if (!ierr && fseek(fp, resume, SEEK_SET)) break;
    }
    if (n < GCOL_HEAD) break;
    memmove(buf, buf + n - (GCOL_HEAD - 1), GCOL_HEAD - 1);
    base += n - (GCOL_HEAD - 1);
    have = GCOL_HEAD - 1;
  }
  fclose(fp);
  PetscCall(PetscFree(buf));
  PetscCall(ierr);
  PetscFunctionReturn(0);
}
