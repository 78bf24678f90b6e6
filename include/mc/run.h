/* include/mc/run.h: glue between the configuration and the stages of the pipeline. */
#pragma once
#include "mc/config.h"
#include "mc/cluster.h"

/* mc_run_check_stages - Refuse, before any heavy work, a configuration that asks for a stage this build
   does not implement yet, naming the key that enables it. Collective on comm (the config is). */
PetscErrorCode mc_run_check_stages(MPI_Comm comm, const MCConfig *cfg);

/* mc_run_cluster_opts - Clustering options from the [cluster] section. Not collective. */
PetscErrorCode mc_run_cluster_opts(const MCConfig *cfg, MCClusterOpts *opts);
