/* src/io/checkpoint.c: task checkpoints, the files a long farmed stage (the clusterability null, the lesion
   tests) keeps its finished tasks in: locked against a second run, merged and read back on resume, removed
   when the run's output is safe. Each rank appends one text line per finished task to its own file; a
   line counts only when it is complete, so a process killed mid-write loses that task alone. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mc/io.h"
#include "mc/sys.h"

#define CKPT_MAGIC "modclust-checkpoint 2"

struct MCCheckpoint_s {
  char        prefix[PETSC_MAX_PATH_LEN];
  PetscInt    n_tasks, n_out;
  uint64_t   *key;    /* n_tasks record keys */
  FILE       *fp;     /* this rank's file <prefix>.r<rank>, opened at its first record */
  MCLock     *lock;
  PetscMPIInt rank;
  PetscBool   broken; /* a write failed (a full disk): this rank writes no more */
};

/* The keys of the tasks, sorted, with their task numbers: records are matched by binary search. */
typedef struct {
  uint64_t key;
  PetscInt task;
} KeyTask;

static int cmp_key(const void *a, const void *b)
{
  uint64_t x = ((const KeyTask *)a)->key, y = ((const KeyTask *)b)->key;
  return x < y ? -1 : x > y;
}

static PetscInt find_task(const KeyTask *kt, PetscInt n, uint64_t key)
{
  PetscInt lo = 0, hi = n;

  while (lo < hi) {
    PetscInt mid = lo + (hi - lo) / 2;
    if (kt[mid].key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && kt[lo].key == key ? kt[lo].task : -1;
}

/* Read one file's complete, well-formed records (header "CKPT_MAGIC <n_out>", then "<key> <v>..." lines
   with n_out hex floats) into result/done; anything else is skipped. A file of another layout is ignored.
   row is room for n_out values. */
static void read_file(const char *path, const KeyTask *kt, PetscInt n_tasks, PetscInt n_out, PetscReal row[], PetscReal result[], PetscBool done[])
{
  FILE   *fp = fopen(path, "r");
  char   *line = NULL, header[64];
  size_t  cap  = 0;
  ssize_t len;

  if (!fp) return;
  snprintf(header, sizeof(header), "%s %lld\n", CKPT_MAGIC, (long long)n_out);
  len = getline(&line, &cap, fp);
  if (len > 0 && !strcmp(line, header)) {
    while ((len = getline(&line, &cap, fp)) > 0) {
      char              *p = line, *end;
      unsigned long long key;
      PetscInt           t, j;

      if (line[len - 1] != '\n') break; /* the last line of a killed writer */
      errno = 0;
      key   = strtoull(p, &end, 10);
      if (end == p || errno) continue;
      t = find_task(kt, n_tasks, (uint64_t)key);
      if (t < 0) continue;
      for (j = 0, p = end; j < n_out; ++j, p = end) {
        row[j] = (PetscReal)strtod(p, &end);
        if (end == p) break;
      }
      while (*p == ' ') ++p;
      if (j < n_out || *p != '\n') continue; /* a bad line must not leave half a row */
      PetscCallVoid(PetscArraycpy(result + t * n_out, row, n_out));
      done[t] = PETSC_TRUE;
    }
  }
  free(line);
  fclose(fp);
}

/* The files <prefix>.* other than the lock: read them (kt != NULL), or remove them (and temporary ones),
   keeping <prefix>.<keep> (keep may be NULL). */
static PetscErrorCode visit(const char *prefix, const KeyTask *kt, PetscInt n_tasks, PetscInt n_out, PetscReal result[], PetscBool done[], const char *keep)
{
  PetscReal     *row = NULL;
  char           dir[PETSC_MAX_PATH_LEN], base[PETSC_MAX_PATH_LEN], path[2 * PETSC_MAX_PATH_LEN + 2];
  const char    *slash = strrchr(prefix, '/');
  size_t         nb;
  DIR           *d;
  struct dirent *e;

  PetscFunctionBeginUser;
  if (slash) {
    size_t n = (size_t)(slash - prefix);

    if (n == 0) n = 1; /* "/name": the root directory */
    PetscCall(PetscSNPrintf(dir, sizeof(dir), "%.*s", (int)n, prefix));
    PetscCall(PetscSNPrintf(base, sizeof(base), "%s.", slash + 1));
  } else {
    PetscCall(PetscStrncpy(dir, ".", sizeof(dir)));
    PetscCall(PetscSNPrintf(base, sizeof(base), "%s.", prefix));
  }
  nb = strlen(base);
  d  = opendir(dir);
  if (!d) PetscFunctionReturn(0);
  if (kt) PetscCall(PetscMalloc1(PetscMax(n_out, 1), &row));
  while ((e = readdir(d))) {
    size_t    len = strlen(e->d_name);
    PetscBool tmp = len >= 4 && !strcmp(e->d_name + len - 4, ".tmp") ? PETSC_TRUE : PETSC_FALSE;

    if (strncmp(e->d_name, base, nb) != 0) continue;
    if (!strcmp(e->d_name + nb, "lock")) continue; /* its owner removes it */
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    if (kt) {
      if (!tmp) read_file(path, kt, n_tasks, n_out, row, result, done);
    } else if (tmp || !keep || strcmp(e->d_name + nb, keep) != 0) (void)unlink(path);
  }
  closedir(d);
  PetscCall(PetscFree(row));
  PetscFunctionReturn(0);
}

/* Write one record line; 0 or errno. */
static int put_record(FILE *fp, uint64_t key, PetscInt n_out, const PetscReal v[])
{
  fprintf(fp, "%llu", (unsigned long long)key);
  for (PetscInt j = 0; j < n_out; ++j) fprintf(fp, " %a", (double)v[j]); /* hex floats keep every bit */
  fputc('\n', fp);
  return ferror(fp) ? (errno ? errno : EIO) : 0;
}

/* Rank 0: write every record found into <prefix>.merged (through a temporary file and rename), then remove
   the earlier files; on failure (*err = errno) they stay. */
static PetscErrorCode merge(MCCheckpoint *ck, const PetscReal result[], const PetscBool done[], int *err)
{
  char  path[PETSC_MAX_PATH_LEN + 16], tmp[PETSC_MAX_PATH_LEN + 32];
  FILE *fp;

  PetscFunctionBeginUser;
  *err = 0;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s.merged", ck->prefix));
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", path));
  fp = fopen(tmp, "w");
  if (!fp) {
    *err = errno ? errno : EIO;
    PetscFunctionReturn(0);
  }
  fprintf(fp, "%s %lld\n", CKPT_MAGIC, (long long)ck->n_out);
  for (PetscInt t = 0; t < ck->n_tasks && !*err; ++t)
    if (done[t]) *err = put_record(fp, ck->key[t], ck->n_out, result + t * ck->n_out);
  if (fclose(fp) != 0 && !*err) *err = errno ? errno : EIO;
  if (!*err && rename(tmp, path) != 0) *err = errno ? errno : EIO;
  if (*err) (void)remove(tmp);
  else PetscCall(visit(ck->prefix, NULL, 0, 0, NULL, NULL, "merged"));
  PetscFunctionReturn(0);
}

/* Rank 0: the records of earlier runs into result/done, merged into one file when there are any. */
static PetscErrorCode resume_rank0(MCCheckpoint *ck, PetscReal result[], PetscBool done[], PetscInt *n_resumed)
{
  KeyTask *kt;
  int      err;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(PetscMax(ck->n_tasks, 1), &kt));
  for (PetscInt t = 0; t < ck->n_tasks; ++t) {
    kt[t].key  = ck->key[t];
    kt[t].task = t;
  }
  qsort(kt, (size_t)ck->n_tasks, sizeof(*kt), cmp_key);
  for (PetscInt t = 1; t < ck->n_tasks; ++t)
    PetscCheck(kt[t].key != kt[t - 1].key, PETSC_COMM_SELF, PETSC_ERR_PLIB, "checkpoint %s: tasks %" PetscInt_FMT " and %" PetscInt_FMT " share a key", ck->prefix,
               kt[t - 1].task, kt[t].task);
  PetscCall(visit(ck->prefix, kt, ck->n_tasks, ck->n_out, result, done, NULL));
  for (PetscInt t = 0; t < ck->n_tasks; ++t) *n_resumed += done[t] != 0;
  if (*n_resumed > 0) PetscCall(merge(ck, result, done, &err)); /* on failure the earlier files stay */
  PetscCall(PetscFree(kt));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_checkpoint_prefix(const char *dir, uint64_t hash, char prefix[], size_t size)
{
  char   d[PETSC_MAX_PATH_LEN];
  size_t n;

  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(d, dir, sizeof(d)));
  n = strlen(d);
  while (n > 1 && d[n - 1] == '/') d[--n] = 0;
  PetscCall(PetscSNPrintf(prefix, size, "%s.ckpt-%016llx", d, (unsigned long long)hash));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_checkpoint_open(MPI_Comm comm, const char *prefix, const char *what, PetscInt n_tasks, const uint64_t key[], PetscInt n_out,
                                     PetscReal result[], PetscBool done[], PetscInt *n_resumed, MCCheckpoint **out)
{
  MCCheckpoint  *ck;
  char           lock[PETSC_MAX_PATH_LEN + 8];
  PetscErrorCode ierr = 0;

  PetscFunctionBeginUser;
  *out = NULL;
  PetscCall(PetscNew(&ck));
  PetscCallMPI(MPI_Comm_rank(comm, &ck->rank));
  PetscCall(PetscStrncpy(ck->prefix, prefix, sizeof(ck->prefix)));
  ck->n_tasks = n_tasks;
  ck->n_out   = n_out;
  PetscCall(PetscMalloc1(PetscMax(n_tasks, 1), &ck->key));
  for (PetscInt t = 0; t < n_tasks; ++t) ck->key[t] = key ? key[t] : (uint64_t)t;
  PetscCall(PetscArrayzero(done, n_tasks));
  *n_resumed = 0;

  PetscCall(PetscSNPrintf(lock, sizeof(lock), "%s.lock", prefix));
  ierr = mc_sys_lock_acquire(comm, lock, what, &ck->lock);
  if (!ierr) {
    PetscErrorCode ierr0 = ck->rank == 0 ? resume_rank0(ck, result, done, n_resumed) : 0;
    ierr = mc_sys_rank0_status(comm, ierr0);
  }
  if (ierr) {
    PetscCall(mc_io_checkpoint_close(&ck));
    PetscCall(ierr);
  }
  PetscCallMPI(MPI_Bcast(done, (PetscMPIInt)n_tasks, MPIU_BOOL, 0, comm));
  PetscCallMPI(MPI_Bcast(n_resumed, 1, MPIU_INT, 0, comm));
  *out = ck;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_checkpoint_record(MCCheckpoint *ck, PetscInt t, const PetscReal result[])
{
  char path[PETSC_MAX_PATH_LEN + 16];
  int  err = 0;

  PetscFunctionBeginUser;
  if (!ck || ck->broken) PetscFunctionReturn(0);
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s.r%d", ck->prefix, (int)ck->rank));
  if (!ck->fp) {
    /* A file an earlier run left (no complete record, or its merge failed) is appended to: its records stay
       valid, and a line that run was killed in the middle of is ended first, so it cannot swallow ours. */
    ck->fp = fopen(path, "a+");
    if (!ck->fp) err = errno ? errno : EIO;
    else if (fseeko(ck->fp, 0, SEEK_END) == 0 && ftello(ck->fp) == 0) {
      if (fprintf(ck->fp, "%s %lld\n", CKPT_MAGIC, (long long)ck->n_out) < 0) err = errno ? errno : EIO;
    } else if (fseeko(ck->fp, -1, SEEK_END) == 0 && fgetc(ck->fp) != '\n' && fputc('\n', ck->fp) == EOF) err = errno ? errno : EIO;
  }
  if (!err) err = put_record(ck->fp, ck->key[t], ck->n_out, result);
  if (!err && fflush(ck->fp) != 0) err = errno ? errno : EIO;
  /* The run goes on (its results are in memory); only a stop would now lose this rank's later tasks. */
  if (err) {
    ck->broken = PETSC_TRUE;
    PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "modclust-mpi: warning: cannot write the checkpoint file %s: %s; rank %d goes on without checkpointing\n", path,
                           strerror(err), (int)ck->rank));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_checkpoint_close(MCCheckpoint **ck)
{
  PetscFunctionBeginUser;
  if (!ck || !*ck) PetscFunctionReturn(0);
  if ((*ck)->fp) (void)fclose((*ck)->fp);
  PetscCall(mc_sys_lock_release(&(*ck)->lock));
  PetscCall(PetscFree((*ck)->key));
  PetscCall(PetscFree(*ck));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_checkpoint_clear(MPI_Comm comm, const char *prefix)
{
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  if (!prefix || !prefix[0]) PetscFunctionReturn(0);
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) PetscCall(visit(prefix, NULL, 0, 0, NULL, NULL, NULL));
  PetscCallMPI(MPI_Barrier(comm));
  PetscFunctionReturn(0);
}
