/* src/report/report_importance.h: the importance sections of summary.json, report.md and stdout, and the
   importance.svg plot. Internal to report; all run on the writing rank (not collective). */
#pragma once
#include <stdio.h>
#include <cjson/cJSON.h>
#include "mc/report.h"

/* mc__report_importance_json - Add the "importance" object to `root` (nothing when run->importance is NULL). */
PetscErrorCode mc__report_importance_json(const MCRun *run, cJSON *root);

/* mc__report_importance_markdown - Append the "Importance" section to report.md (nothing when off). */
PetscErrorCode mc__report_importance_markdown(const MCRun *run, FILE *fp);

/* mc__report_importance_svg - Write importance.svg at `path`: per sub-cluster, the true accuracy drop against
   the band (min..max, mean) of its random same-size sets, grouped by layer. Nothing when off. */
PetscErrorCode mc__report_importance_svg(const MCRun *run, const char *path);

/* mc__report_importance_print - Lines for the stdout summary (rank 0 prints; collective on comm). */
PetscErrorCode mc__report_importance_print(MPI_Comm comm, const MCRun *run);
