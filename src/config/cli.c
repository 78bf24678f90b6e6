/* src/config/cli.c: our command-line words, taken out of argv before PetscInitialize. Plain C (no PETSc
   calls): it runs before MPI exists. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "mc/cli.h"

/* "section.key=value" (also "layer.0.type=dense"): names of letters, digits and '_', joined by dots. */
static int is_override(const char *w)
{
  const char *eq = strchr(w, '=');
  int         dots = 0;

  if (!eq || eq == w || *w == '.' || eq[-1] == '.') return 0;
  for (const char *c = w; c < eq; ++c) {
    if (*c == '.') {
      if (c[1] == '.') return 0;
      ++dots;
    } else if (!(isalnum((unsigned char)*c) || *c == '_')) return 0;
  }
  return dots > 0;
}

static int ends_with(const char *w, const char *suffix)
{
  size_t n = strlen(w), m = strlen(suffix);

  return n >= m && !strcmp(w + n - m, suffix);
}

static int usage_error(const char *prog, const char *what, const char *word)
{
  fprintf(stderr, "%s: error: %s%s%s%s\nRun '%s --help' for usage.\n", prog, what, word ? " '" : "", word ? word : "", word ? "'" : "", prog);
  return 2;
}

int mc_cli_parse(const char *prog, int *argc, char ***argv, MCCli *cli)
{
  int    n = *argc, kept = 1;
  char **av = *argv;

  memset(cli, 0, sizeof(*cli));
  cli->overrides = (const char **)malloc(sizeof(char *) * (size_t)(n > 0 ? n : 1));
  if (!cli->overrides) return usage_error(prog, "out of memory", NULL);
  for (int i = 1; i < n; ++i) {
    const char *w = av[i];

    if (!strcmp(w, "--help") || !strcmp(w, "-h")) cli->help = PETSC_TRUE;
    else if (!strcmp(w, "--version")) cli->version = PETSC_TRUE;
    else if (!strcmp(w, "--print-config")) cli->print_config = PETSC_TRUE;
    else if (!strcmp(w, "--config-reference")) cli->config_reference = PETSC_TRUE;
    else if (!strncmp(w, "--", 2)) return usage_error(prog, "unknown option", w);
    else if (w[0] == '-' && w[1]) {
      /* A PETSc option, with its value if the next word is one. Overrides and .ini files never are, so
         "-log_view tiny.ini" keeps the config path. */
      av[kept++] = av[i];
      if (i + 1 < n && av[i + 1][0] != '-' && !is_override(av[i + 1]) && !ends_with(av[i + 1], ".ini")) av[kept++] = av[++i];
    } else if (strchr(w, '=')) {
      if (!is_override(w)) return usage_error(prog, "expected section.key=value, got", w);
      cli->overrides[cli->n_overrides++] = w;
    } else if (cli->config_path) {
      fprintf(stderr, "%s: error: two config files, '%s' and '%s'; give one\nRun '%s --help' for usage.\n", prog, cli->config_path, w, prog);
      return 2;
    } else cli->config_path = w;
  }
  if (!cli->config_path && !cli->help && !cli->version && !cli->config_reference) return usage_error(prog, "no config file given (CONFIG.ini)", NULL);
  av[kept] = NULL;
  *argc    = kept;
  return 0;
}

void mc_cli_usage(const char *prog, FILE *fp)
{
  fprintf(fp,
          "Usage: %s [--print-config] CONFIG.ini [section.key=value ...] [-petsc_option [value] ...]\n"
          "       %s --help | --version | --config-reference\n"
          "\n"
          "Detect modularity in a trained neural network: spectral clustering of its units (neurons or\n"
          "channels), then statistical tests. Settings come from the INI file CONFIG.ini; any key can be\n"
          "overridden on the command line as section.key=value (layer.N.key=value for [layer.N] sections).\n"
          "Precedence: compiled-in defaults < CONFIG.ini < command line.\n"
          "\n"
          "Options:\n"
          "  -h, --help             print this help and exit\n"
          "  --version              print the versions of the tool and its libraries and exit\n"
          "  --print-config         print the complete effective configuration as INI and exit\n"
          "  --config-reference     print the configuration reference (Markdown) and exit\n"
          "  -petsc_option [value]  any PETSc or SLEPc option, e.g. -log_view, -eps_type arpack,\n"
          "                         -mc_traceback (full error traceback)\n"
          "\n"
          "Examples:\n"
          "  %s inputs/default.ini\n"
          "  mpirun -n 2 %s inputs/default.ini cluster.k=8 -log_view\n"
          "  %s --print-config inputs/default.ini output.dir=run2 cluster.seed=7\n"
          "\n"
          "Exit status: 0 done; 1 an error (one 'error:' line names the file, key or value); 2 a bad\n"
          "command line; 75 stopped early on SIGTERM (scancel, kill) with its finished work checkpointed:\n"
          "run the same command again to resume. Batch jobs: jobs/ and docs/cluster.md.\n"
          "\n"
          "Every key with its type, default and range: docs/config.md (or --config-reference).\n",
          prog, prog, prog, prog, prog);
}

void mc_cli_free(MCCli *cli)
{
  free((void *)cli->overrides);
  cli->overrides   = NULL;
  cli->n_overrides = 0;
}
