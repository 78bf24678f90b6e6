/* include/mc/cli.h: the command line, split before PetscInitialize into our words and PETSc's options.

   modclust-mpi [--help] [--version] [--print-config] [--config-reference]
                CONFIG.ini [section.key=value ...] [-petsc_option [value] ...] */
#pragma once
#include <petscsys.h>

typedef struct {
  PetscBool    help;         /* --help / -h */
  PetscBool    version;      /* --version */
  PetscBool    print_config; /* --print-config */
  PetscBool    config_reference; /* --config-reference: print the Markdown config reference, exit 0 */
  const char  *config_path;  /* the one positional argument, NULL if absent; points into argv */
  int          n_overrides;
  const char **overrides;    /* "section.key=value" words, pointers into argv; owned array (free()) */
} MCCli;

/* mc_cli_parse - Take our words out of (*argc, *argv), leaving argv[0] and the PETSc options (words
   starting with '-', and the value that follows an option when it does not start with '-') for
   PetscInitialize. A word that looks like an override (section.key=value) or ends in ".ini" is never taken
   as an option's value. Returns 0 on success, or 2 after printing a usage error to stderr (two config
   paths, an unknown --option, a word with '=' that is not section.key=value, no config path when neither
   --help, --version nor --config-reference was given). *cli is always safe to pass to mc_cli_free().
   Plain C: legal before MPI_Init. */
int mc_cli_parse(const char *prog, int *argc, char ***argv, MCCli *cli);

/* mc_cli_usage - Print the usage text of `prog` (the --help output) to fp. */
void mc_cli_usage(const char *prog, FILE *fp);

/* mc_cli_free - Free what mc_cli_parse allocated; safe to call twice. */
void mc_cli_free(MCCli *cli);
