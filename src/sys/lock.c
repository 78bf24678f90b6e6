/* src/sys/lock.c: advisory locks that keep two jobs (or the orphaned ranks of a killed one) off the same
   files, with POSIX record locks (fcntl) on a lock file: rank 0 holds byte 0 exclusively, every rank
   holds byte 1 shared, so a newcomer's rank 0 sees any live process of an earlier job. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mc/sys.h"

struct MCLock {
  int         fd;
  PetscMPIInt rank;
  char        path[PETSC_MAX_PATH_LEN];
};

/* Lock bytes [start, start + len) of fd with `type` (F_WRLCK, F_RDLCK), without waiting. 0 or errno. */
static int lock_range(int fd, short type, off_t start, off_t len)
{
  struct flock l;

  memset(&l, 0, sizeof(l));
  l.l_type   = type;
  l.l_whence = SEEK_SET;
  l.l_start  = start;
  l.l_len    = len;
  return fcntl(fd, F_SETLK, &l) == 0 ? 0 : errno;
}

/* Rank 0: create the file and take both bytes exclusively, then share byte 1. A file unlinked by the
   previous holder between our open() and our lock is detected (the path names another inode, or none)
   and the open is retried. *fd = -1 when the file system has no record locks. */
static PetscErrorCode lock_rank0(const char *path, const char *what, int *fd)
{
  PetscFunctionBeginUser;
  *fd = -1;
  for (int attempt = 0; attempt < 8; ++attempt) {
    struct stat a, b;
    int         f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644), err;

    PetscCheck(f >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create the lock file %s of %s: %s", path, what, strerror(errno));
    err = lock_range(f, F_WRLCK, 0, 2);
    if (err == ENOLCK || err == ENOSYS || err == EOPNOTSUPP || err == EINVAL) {
      close(f);
      PetscCall(PetscInfo(NULL, "no record locks on the file system of %s (%s): going without\n", path, strerror(err)));
      PetscFunctionReturn(0);
    }
    if (err == EACCES || err == EAGAIN) {
      close(f);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
              "%s is in use by another run (the lock %s is held): wait for that run to end or stop it; a launcher killed with "
              "SIGKILL can leave its ranks running (look for modclust-mpi processes)",
              what, path);
    }
    PetscCheck(err == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot lock %s: %s", path, strerror(err));
    if (fstat(f, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
      /* Converting our own lock cannot conflict. */
      PetscCheck(lock_range(f, F_RDLCK, 1, 1) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot lock %s: %s", path, strerror(errno));
      *fd = f;
      PetscFunctionReturn(0);
    }
    close(f);
  }
  SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot lock %s: the file keeps being replaced by another process", path);
}

PetscErrorCode mc_sys_lock_acquire(MPI_Comm comm, const char *path, const char *what, MCLock **lock)
{
  MCLock        *lk;
  PetscErrorCode ierr = 0;
  int            have = 0;

  PetscFunctionBeginUser;
  *lock = NULL;
  PetscCall(PetscNew(&lk));
  lk->fd = -1;
  PetscCall(PetscStrncpy(lk->path, path, sizeof(lk->path)));
  PetscCallMPI(MPI_Comm_rank(comm, &lk->rank));
  if (lk->rank == 0) {
    ierr = lock_rank0(path, what, &lk->fd);
    have = lk->fd >= 0;
  }
  if (ierr) PetscCall(PetscFree(lk));
  PetscCall(mc_sys_rank0_status(comm, ierr));
  PetscCallMPI(MPI_Bcast(&have, 1, MPI_INT, 0, comm));
  if (!have) {
    PetscCall(PetscFree(lk));
    PetscFunctionReturn(0);
  }
  /* Rank 0 holds the file until the others are done with it, so it is the file rank 0 locked. A rank that
     cannot open it (an output directory not shared with rank 0's node) goes without. */
  if (lk->rank != 0) {
    lk->fd = open(path, O_RDWR | O_CLOEXEC);
    if (lk->fd >= 0 && lock_range(lk->fd, F_RDLCK, 1, 1) != 0) {
      close(lk->fd);
      lk->fd = -1;
    }
  }
  *lock = lk;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_sys_lock_release(MCLock **lock)
{
  PetscFunctionBeginUser;
  if (!lock || !*lock) PetscFunctionReturn(0);
  /* Unlink before closing, while the lock is still held: a process that opened the old file meanwhile
     sees that its path is gone and retries. */
  if ((*lock)->rank == 0) (void)unlink((*lock)->path);
  if ((*lock)->fd >= 0) close((*lock)->fd);
  PetscCall(PetscFree(*lock));
  PetscFunctionReturn(0);
}
