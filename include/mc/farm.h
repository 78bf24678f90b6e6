/* include/mc/farm.h: dealing independent tasks to ranks (or to groups of ranks) and gathering their
   results, so that results are bitwise identical for any rank count. */
#pragma once
#include <petscsys.h>

/* A task writes its n_out results to result[0..n_out). It must depend only on `task` (and ctx), never on
   the rank: draw random numbers from streams keyed by the task. `comm` is the communicator the task runs
   on: PETSC_COMM_SELF for mc_farm_run, the group's communicator for mc_farm_run_groups (then the task is
   collective on it, and the result of the group's rank 0 is kept). */
typedef PetscErrorCode MCFarmTaskFn(void *ctx, MPI_Comm comm, PetscInt task, PetscReal result[]);

typedef struct {
  const char      *label;    /* progress label, e.g. "lesion"; NULL = no progress output */
  const PetscReal *cost;     /* n_tasks relative costs for load balance, or NULL (all equal) */
  const PetscBool *skip;     /* n_tasks flags: tasks already done (checkpoint); their result slots are
                                taken from result[] as passed in, on rank 0; or NULL */
  MCFarmTaskFn    *on_done;  /* optional: called on rank 0 of each group after each task (checkpointing);
                                result points at the task's n_out values; must not be collective */
  void            *done_ctx;
  PetscBool        stoppable;  /* stop taking tasks once SIGTERM was received (mc_sys_sigterm_catch) */
  PetscInt         stop_after; /* test-only: tasks each worker computes before stopping; 0 = no limit */
  PetscBool       *stopped;    /* optional output, the same on every rank: some worker stopped early */
} MCFarmOpts;

/* mc_farm_run - Run tasks 0..n_tasks-1 over the ranks of comm, each task on one rank. Tasks are dealt by
   a deterministic longest-processing-time rule on opts->cost (round robin without costs). On return,
   result[task * n_out + j] holds every task's results on every rank, bitwise independent of the rank
   count (each slot has exactly one contributor, so the summing reduction is exact). With opts->stoppable,
   each worker agrees before each task whether to stop; the slots of tasks never run stay zero (a task
   marks its own slots so the caller can tell). Collective on comm. opts may be NULL. */
PetscErrorCode mc_farm_run(MPI_Comm comm, PetscInt n_tasks, PetscInt n_out, MCFarmTaskFn *fn, void *ctx, const MCFarmOpts *opts,
                           PetscReal result[]);

/* mc_farm_run_groups - As mc_farm_run, but the ranks are split into groups of `group_size` consecutive
   ranks (the last group may be smaller; group_size is clamped to [1, size]) and each task runs
   collectively on one group's communicator. Collective on comm. */
PetscErrorCode mc_farm_run_groups(MPI_Comm comm, PetscInt group_size, PetscInt n_tasks, PetscInt n_out, MCFarmTaskFn *fn, void *ctx,
                                  const MCFarmOpts *opts, PetscReal result[]);
