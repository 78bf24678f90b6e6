/* src/null/checkpoint.c: the clusterability checkpoint: which files, under which hash, locked against a
   second run, resumed from and cleared (file access itself is src/io/records.c). */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include "mc/io.h"
#include "null_impl.h"

#define CKPT_HEADER "modclust-null-checkpoint 1"

/* Whether PETSc option `name` (without its dash, perhaps behind an options prefix) can change a shuffle's
   n-cut: the eigensolver's (SLEPc's eps, st, bv, ds, rg objects) and the choice of eigenproblem. */
static PetscBool option_matters(const char *name)
{
  static const char *const keys[] = {"eps_", "st_", "bv_", "ds_", "rg_", "mc_bipartite", "mc_eig_dense", "mc_dense_"};

  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); ++i)
    if (strstr(name, keys[i])) return PETSC_TRUE;
  return PETSC_FALSE;
}

/* Hash of everything the null's n-cuts depend on: the configuration keys (opts->config_hash: the [model],
   [graph], [cluster] and [layer.N] sections and the shuffle method), the eigensolver's PETSc options, and
   the true graph's blocks (so a changed model file invalidates the checkpoint). The number of shuffles and
   trials, the group size, the output keys and PETSc's reporting options (-log_view, -info...) are left
   out: a shuffle's n-cut does not depend on them. */
static PetscErrorCode checkpoint_hash(const MCNullOpts *o, const MCGraph *g, uint64_t *hash)
{
  uint64_t  h = mc_sys_hash(MC_SYS_HASH_INIT, &o->config_hash, sizeof(o->config_hash));
  char     *opts, *tok, *save = NULL;
  PetscBool keep_value = PETSC_FALSE;

  PetscFunctionBeginUser;
  for (PetscInt b = 0; b < g->n_blocks; ++b) {
    PetscInt n = (g->group_offset[b + 1] - g->group_offset[b]) * (g->group_offset[b + 2] - g->group_offset[b + 1]);

    h = mc_sys_hash(h, g->block[b], (size_t)n * sizeof(PetscReal));
  }
  /* "-name value -name ...": an option's name starts with a dash and a letter; a value may be negative. */
  PetscCall(PetscOptionsGetAll(NULL, &opts));
  for (tok = strtok_r(opts, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
    PetscBool is_name = tok[0] == '-' && tok[1] && !isdigit((unsigned char)tok[1]) && tok[1] != '.' ? PETSC_TRUE : PETSC_FALSE;

    if (is_name) keep_value = option_matters(tok + 1);
    if (keep_value) h = mc_sys_hash(h, tok, strlen(tok) + 1);
  }
  PetscCall(PetscFree(opts));
  *hash = h;
  PetscFunctionReturn(0);
}

/* Records: "s <shuffle> <n-cut>" and "r <trial> <n-cut>" into res (2 values per task); entries beyond this
   run's counts are ignored. */
typedef struct {
  const MCNullCheckpoint *ck;
  PetscReal              *res;
} ReadCtx;

static void on_record(void *ctx_, char tag, PetscInt idx, PetscReal v)
{
  ReadCtx *ctx = (ReadCtx *)ctx_;
  PetscInt t;

  if (tag == 's' && idx < ctx->ck->n_shuffles) t = idx;
  else if (tag == 'r' && idx < ctx->ck->n_trials) t = ctx->ck->n_shuffles + idx;
  else return;
  ctx->res[2 * t]     = v;
  ctx->res[2 * t + 1] = 1;
}

/* Write the finished tasks of res (2 values per task: n-cut, 1 = done) to <prefix>.<tag>. */
static PetscErrorCode write_file(MCNullCheckpoint *ck, const char *file_tag, const PetscReal res[])
{
  PetscInt   n_tasks = ck->n_shuffles + ck->n_trials, n = 0;
  char       path[PETSC_MAX_PATH_LEN], *tags;
  PetscInt  *idx;
  PetscReal *val;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3(n_tasks, &tags, n_tasks, &idx, n_tasks, &val));
  for (PetscInt t = 0; t < n_tasks; ++t) {
    if (res[2 * t + 1] == 0) continue;
    tags[n] = t < ck->n_shuffles ? 's' : 'r';
    idx[n]  = t < ck->n_shuffles ? t : t - ck->n_shuffles;
    val[n]  = res[2 * t];
    n++;
  }
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s.%s", ck->prefix, file_tag));
  if (!ck->broken) {
    int err = 0;

    PetscCall(mc_io_records_write(path, CKPT_HEADER, n, tags, idx, val, &err));
    /* The run goes on (its results are in memory); only a stop would now lose this rank's tasks. */
    if (err) {
      ck->broken = PETSC_TRUE;
      PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "modclust-mpi: warning: cannot write the checkpoint file %s: %s; rank %d goes on without checkpointing\n", path,
                             strerror(err), (int)ck->rank));
    }
  }
  PetscCall(PetscFree3(tags, idx, val));
  PetscFunctionReturn(0);
}

/* Rank 0: read every earlier file into res and merge them into one, written before the others are
   removed, so a crash in between loses nothing. */
static PetscErrorCode resume_rank0(MCNullCheckpoint *ck, PetscReal res[], PetscInt *n_resumed)
{
  ReadCtx  ctx = {ck, res};
  PetscInt n_tasks = ck->n_shuffles + ck->n_trials;

  PetscFunctionBeginUser;
  PetscCall(mc_io_records_read(ck->prefix, on_record, &ctx));
  *n_resumed = 0;
  for (PetscInt t = 0; t < n_tasks; ++t) *n_resumed += res[2 * t + 1] != 0;
  if (*n_resumed > 0) {
    PetscCall(write_file(ck, "merged", res));
    if (!ck->broken) PetscCall(mc_io_records_remove(ck->prefix, "merged")); /* else the earlier files stay */
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc__null_checkpoint_open(MPI_Comm comm, const MCNullOpts *opts, const MCGraph *graph, MCNull *nul, PetscReal res[], PetscBool skip[],
                                        MCNullCheckpoint **out)
{
  MCNullCheckpoint *ck;
  PetscInt          n_tasks = nul->n_shuffles + nul->n_random_init;
  char              dir[PETSC_MAX_PATH_LEN], lock[PETSC_MAX_PATH_LEN + 8], what[PETSC_MAX_PATH_LEN + 64];
  size_t            n;
  uint64_t          h = 0;
  PetscErrorCode    ierr = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&ck));
  PetscCallMPI(MPI_Comm_rank(comm, &ck->rank));
  ck->n_shuffles = nul->n_shuffles;
  ck->n_trials   = nul->n_random_init;
  PetscCall(PetscCalloc1(2 * n_tasks, &ck->mine));
  PetscCall(checkpoint_hash(opts, graph, &h));
  PetscCall(PetscStrncpy(dir, opts->dir, sizeof(dir)));
  n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') dir[--n] = 0;
  PetscCall(PetscSNPrintf(ck->prefix, sizeof(ck->prefix), "%s.ckpt-%016llx", dir, (unsigned long long)h));
  PetscCall(PetscStrncpy(nul->checkpoint_prefix, ck->prefix, sizeof(nul->checkpoint_prefix)));

  PetscCall(PetscSNPrintf(lock, sizeof(lock), "%s.lock", ck->prefix));
  PetscCall(PetscSNPrintf(what, sizeof(what), "the clusterability checkpoint %s.*", ck->prefix));
  PetscCall(mc_sys_lock_acquire(comm, lock, what, &nul->lock));
  if (ck->rank == 0) ierr = resume_rank0(ck, res, &nul->n_resumed);
  PetscCall(mc_sys_rank0_status(comm, ierr));
  for (PetscInt t = 0; t < n_tasks; ++t) skip[t] = res[2 * t + 1] != 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscCallMPI(MPI_Bcast(skip, (PetscMPIInt)n_tasks, MPIU_BOOL, 0, comm));
  PetscCallMPI(MPI_Bcast(&nul->n_resumed, 1, MPIU_INT, 0, comm));
  if (nul->n_resumed > 0)
    PetscCall(PetscPrintf(comm, "clusterability: resuming from checkpoint %s.*: %" PetscInt_FMT " of %" PetscInt_FMT " tasks already done\n", ck->prefix, nul->n_resumed,
                          n_tasks));
  *out = ck;
  PetscFunctionReturn(0);
}

PetscErrorCode mc__null_checkpoint_record(MCNullCheckpoint *ck, PetscInt t, PetscReal v)
{
  char tag[32];

  PetscFunctionBeginUser;
  ck->mine[2 * t]     = v;
  ck->mine[2 * t + 1] = 1;
  PetscCall(PetscSNPrintf(tag, sizeof(tag), "r%d", (int)ck->rank));
  PetscCall(write_file(ck, tag, ck->mine));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__null_checkpoint_close(MCNullCheckpoint **ck)
{
  PetscFunctionBeginUser;
  if (!ck || !*ck) PetscFunctionReturn(0);
  PetscCall(PetscFree((*ck)->mine));
  PetscCall(PetscFree(*ck));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_null_checkpoint_clear(MPI_Comm comm, const MCNull *nul)
{
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  if (!nul || !nul->checkpoint_prefix[0]) PetscFunctionReturn(0);
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) PetscCall(mc_io_records_remove(nul->checkpoint_prefix, NULL));
  PetscCallMPI(MPI_Barrier(comm));
  PetscFunctionReturn(0);
}
