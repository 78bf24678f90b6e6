/* src/io/results_importance.h: the /importance group of results.h5 (docs/formats.md). Internal to io. */
#pragma once
#include <hdf5.h>
#include "mc/report.h"

/* mc__results_write_importance - Write /importance for run->importance (nothing when it is NULL) into the
   open file `file` (named `path` in messages). Not collective. */
PetscErrorCode mc__results_write_importance(hid_t file, const char *path, const MCRun *run);
