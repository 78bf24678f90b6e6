/* src/null/null_impl.h: the clusterability checkpoint, internal to the null module. */
#pragma once
#include "mc/null.h"

/* The finished tasks of a null, in files <prefix>.<tag> next to the output directory: rank 0 merges
   earlier files at the start, and every group leader rewrites its own file r<rank> after each task. */
typedef struct {
  char        prefix[PETSC_MAX_PATH_LEN]; /* <dir>.ckpt-<HASH> */
  PetscInt    n_shuffles, n_trials;
  PetscReal  *mine;                       /* this rank's finished tasks: (n-cut, 1) per task, (0, 0) if not */
  PetscMPIInt rank;
  PetscBool   broken;                     /* a write failed (a full disk): this rank writes no more */
} MCNullCheckpoint;

/* mc__null_checkpoint_open - Lock the checkpoint of this null (opts, graph) into nul->lock, read what
   earlier runs left (rank 0; merged into one file), and fill res (2 values per task: n-cut, 1 = done) and
   skip[] on every rank; nul->checkpoint_prefix and nul->n_resumed are set. Collective on comm.
   Release *ck with mc__null_checkpoint_close. */
PetscErrorCode mc__null_checkpoint_open(MPI_Comm comm, const MCNullOpts *opts, const MCGraph *graph, MCNull *nul, PetscReal res[], PetscBool skip[],
                                        MCNullCheckpoint **ck);

/* mc__null_checkpoint_record - Task t finished with n-cut v: rewrite this rank's file. Not collective. */
PetscErrorCode mc__null_checkpoint_record(MCNullCheckpoint *ck, PetscInt t, PetscReal v);

/* mc__null_checkpoint_close - Free *ck (the files stay); NULL is fine. Not collective. */
PetscErrorCode mc__null_checkpoint_close(MCNullCheckpoint **ck);
