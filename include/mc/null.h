/* include/mc/null.h: the clusterability test (docs/method.md section 7): the true n-cut against the n-cuts of
   n_shuffles networks with shuffled layer weights, each re-clustered with the identical pipeline, farmed
   over groups of ranks, with checkpointing; optionally the random-initialization baseline. */
#pragma once
#include <petscsys.h>
#include "mc/model.h"
#include "mc/graph.h"
#include "mc/cluster.h"
#include "mc/pvalue.h"
#include "mc/shuffle.h"
#include "mc/sys.h"

/* Options of the test ([clusterability] section, with the [graph] and [cluster] options of the run). */
typedef struct {
  PetscInt      n_shuffles;         /* >= 1 */
  MCShuffleKind shuffle;
  MCTies        ties;
  PetscInt      group_size;         /* ranks per shuffle; 0 = automatic (mc_null_group_size_auto) */
  PetscInt      random_init_trials; /* random-initialization baseline networks; 0 = off */
  MCGraphOpts   graph;              /* how the random-init networks' graphs are built */
  MCClusterOpts cluster;            /* the very options of the true clustering (cluster.seed seeds every stream) */
  PetscBool     checkpoint;         /* keep finished tasks in <dir>.ckpt-HASH.* files */
  char          dir[PETSC_MAX_PATH_LEN]; /* the output directory the checkpoint files sit beside */
  uint64_t      config_hash;        /* hash of the configuration keys the n-cuts depend on (mc_config_hash);
                                       the checkpoint's HASH adds the graph's blocks and eigensolver options */
} MCNullOpts;

typedef struct {
  MCShuffleKind shuffle;        /* [clusterability] shuffle */
  MCTies     p_ties;            /* ties in the p-value */
  PetscInt   n_shuffles;        /* N */
  PetscInt   group_size;        /* ranks per shuffle actually used (after the automatic rule and clamping) */
  PetscInt   n_groups;          /* groups the ranks were split into */
  PetscReal  ncut_true;         /* the true graph's n-cut */
  PetscReal *ncut_shuffled;     /* n_shuffles n-cuts, by shuffle index; replicated, owned */
  PetscReal  p_value;           /* (#{ncut_shuffled <= ncut_true} + 1) / (N + 1) ('<' with p_ties = strict) */
  PetscReal  z_score;           /* (ncut_true - mean) / population std; NaN if the std is 0 */
  PetscReal  mean, std;         /* of ncut_shuffled (population std) */
  PetscInt   n_resumed;         /* tasks taken from a checkpoint instead of being recomputed */
  PetscInt   n_random_init;     /* random-initialization trials (0 = baseline off) */
  PetscReal *ncut_random_init;  /* n_random_init n-cuts; owned, NULL when off */
  PetscReal  random_init_mean, random_init_std;
  PetscReal  seconds;           /* wall time of the null on rank 0 */
  char       checkpoint_prefix[PETSC_MAX_PATH_LEN]; /* checkpoint files are <prefix>.<tag>; "" when off */
} MCNull;

/* mc_null_group_size_auto - The automatic group size: ceil(nnz / 4e6) ranks (one rank per shuffle for
   graphs up to 4 million stored non-zeros), raised to size / n_tasks when there are fewer tasks than
   groups (so no rank idles), clamped to [1, size]. Not collective. */
PetscInt mc_null_group_size_auto(PetscInt64 nnz, PetscMPIInt size, PetscInt n_tasks);

/* mc_null_run - The clusterability test for `graph` (its layer blocks are shuffled) whose true
   clustering is `truth`, with `opts` (n_shuffles >= 1). When truth is a local partitioning (truth->local_k),
   every shuffled network is partitioned locally with the same k per layer (mc_cluster_local_given).
   Task t < n_shuffles clusters shuffle t; task n_shuffles + i clusters random-initialization trial i of
   `model` (Glorot-uniform kernels from the stream (seed, MC_STREAM_INIT, (i + 1) * 4096 + weight layer)).
   Tasks run on groups of ranks (mc_farm_run_groups); each group solves whole graphs with its own
   distributed eigensolve. Finished tasks are checkpointed (see MCNull.checkpoint_prefix) and a rerun
   with the same configuration and graph skips them. While the tasks run (whether they end, stop or fail) the
   checkpoint is locked (mc_sys_lock_acquire on <prefix>.lock): a second run of the same configuration and
   output directory fails at once with PETSC_ERR_FILE_OPEN instead of sharing the files.
   Stopping early: with the test-only PETSc option -null_stop_after m each group stops after computing m
   tasks; on SIGTERM (Slurm's --signal) every group finishes its current task and stops. Either way the
   function then fails with PETSC_ERR_SIG on every rank, leaving the checkpoint behind for a rerun.
   Errors: PETSC_ERR_USER_INPUT if the graph has no layer blocks. Collective on comm.
   Caller owns *out; release with mc_null_destroy(). */
PetscErrorCode mc_null_run(MPI_Comm comm, const MCNullOpts *opts, const MCModel *model, const MCGraph *graph, const MCClustering *truth,
                           MCNull **out);

/* mc_null_checkpoint_clear - Remove the checkpoint files of a finished null (rank 0). Call after the
   report is written. Does nothing for NULL or when checkpointing was off. Collective on comm. */
PetscErrorCode mc_null_checkpoint_clear(MPI_Comm comm, const MCNull *nul);

/* mc_null_destroy - Free *n; sets it to NULL; does nothing on NULL.
   Not collective. */
PetscErrorCode mc_null_destroy(MCNull **n);
