/* src/null/null_impl.h: the clusterability checkpoint, internal to the null module. */
#pragma once
#include "mc/io.h"
#include "mc/null.h"

/* mc__null_checkpoint_open - Open the checkpoint of this null (opts, graph: its hash names the files, set
   into nul->checkpoint_prefix), locked; fill res (2 values per task: n-cut, 1 = done; rank 0) and skip[]
   (every rank) from earlier runs, set nul->n_resumed and announce a resume. Collective on comm. Release *ck
   with mc_io_checkpoint_close. */
PetscErrorCode mc__null_checkpoint_open(MPI_Comm comm, const MCNullOpts *opts, const MCGraph *graph, MCNull *nul, PetscReal res[], PetscBool skip[],
                                        MCCheckpoint **ck);
