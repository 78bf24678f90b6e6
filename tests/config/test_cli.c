/* tests/config/test_cli.c: mc_cli_parse splits our words from PETSc's options. Plain C, no MPI. */
#include <stdio.h>
#include <string.h>
#include "mc/cli.h"

static int n_failed = 0;

#define CHECK(cond, what) \
  do { \
    if (!(cond)) { \
      fprintf(stderr, "FAIL line %d: %s (%s)\n", __LINE__, what, #cond); \
      ++n_failed; \
    } \
  } while (0)

/* Parse a NULL-terminated list of words as argv (argv[0] = "prog"). */
static int parse(const char *const words[], int *argc, char **argv, MCCli *cli)
{
  int n = 0;

  argv[n++] = (char *)"prog";
  for (; words[n - 1]; ++n) argv[n] = (char *)words[n - 1];
  argv[n] = NULL;
  *argc   = n;
  return mc_cli_parse("prog", argc, &argv, cli);
}

int main(void)
{
  char *argv[32];
  int   argc, rc;
  MCCli cli;

  {
    const char *w[] = {"--print-config", "cfg.ini", "cluster.k=8", "-log_view", "-eps_type", "arpack", "layer.0.type=dense", NULL};

    rc = parse(w, &argc, argv, &cli);
    CHECK(rc == 0, "a full command line parses");
    CHECK(cli.print_config && !cli.help && !cli.version && !cli.config_reference, "flags");
    CHECK(cli.config_path && !strcmp(cli.config_path, "cfg.ini"), "config path");
    CHECK(cli.n_overrides == 2 && !strcmp(cli.overrides[0], "cluster.k=8") && !strcmp(cli.overrides[1], "layer.0.type=dense"), "overrides in order");
    CHECK(argc == 4 && !strcmp(argv[1], "-log_view") && !strcmp(argv[2], "-eps_type") && !strcmp(argv[3], "arpack") && argv[4] == NULL, "PETSc keeps its options");
    mc_cli_free(&cli);
    mc_cli_free(&cli);
  }
  {
    const char *w[] = {"-log_view", "tiny.ini", NULL};

    rc = parse(w, &argc, argv, &cli);
    CHECK(rc == 0 && cli.config_path && !strcmp(cli.config_path, "tiny.ini") && argc == 2, "an .ini after a flag is the config, not its value");
    mc_cli_free(&cli);
  }
  {
    const char *w[] = {"-log_view", "cluster.k=3", "-options_file", "petsc.opts", "run.cfg", NULL};

    rc = parse(w, &argc, argv, &cli);
    CHECK(rc == 0 && cli.n_overrides == 1 && argc == 4 && !strcmp(argv[3], "petsc.opts"), "an override after a flag is not its value; a plain word is");
    CHECK(cli.config_path && !strcmp(cli.config_path, "run.cfg"), "config path with any extension");
    mc_cli_free(&cli);
  }
  {
    const char *w[] = {"--config-reference", NULL};

    rc = parse(w, &argc, argv, &cli);
    CHECK(rc == 0 && cli.config_reference && !cli.config_path, "--config-reference needs no config");
    mc_cli_free(&cli);
  }
  {
    const char *w[] = {"-h", NULL};

    rc = parse(w, &argc, argv, &cli);
    CHECK(rc == 0 && cli.help, "-h");
    mc_cli_free(&cli);
  }
  {
    const char *w[] = {"--version", NULL};

    rc = parse(w, &argc, argv, &cli);
    CHECK(rc == 0 && cli.version, "--version");
    mc_cli_free(&cli);
  }
  fprintf(stderr, "(usage errors expected below)\n");
  {
    const char *w[] = {"a.ini", "b.ini", NULL};

    CHECK(parse(w, &argc, argv, &cli) == 2, "two config paths");
    mc_cli_free(&cli);
  }
  {
    const char *w[] = {"--bogus", "a.ini", NULL};

    CHECK(parse(w, &argc, argv, &cli) == 2, "unknown --option");
    mc_cli_free(&cli);
  }
  {
    const char *w[] = {"a.ini", "k=8", NULL};

    CHECK(parse(w, &argc, argv, &cli) == 2, "override without a section");
    mc_cli_free(&cli);
  }
  {
    const char *w[] = {"-log_view", NULL};

    CHECK(parse(w, &argc, argv, &cli) == 2, "no config path");
    mc_cli_free(&cli);
  }
  {
    FILE *fp = tmpfile();
    char  text[8192];
    size_t n;

    CHECK(fp != NULL, "tmpfile");
    if (fp) {
      mc_cli_usage("prog", fp);
      rewind(fp);
      n       = fread(text, 1, sizeof(text) - 1, fp);
      text[n] = '\0';
      fclose(fp);
      CHECK(strstr(text, "mpirun -n 2 prog inputs/default.ini cluster.k=8 -log_view"), "usage has the mpirun example");
      CHECK(strstr(text, "docs/config.md"), "usage points to docs/config.md");
      CHECK(strstr(text, "--config-reference") && strstr(text, "--print-config") && strstr(text, "--version"), "usage lists the flags");
    }
  }
  if (n_failed) fprintf(stderr, "test_cli: %d check(s) failed\n", n_failed);
  else printf("test_cli: all checks passed\n");
  return n_failed ? 1 : 0;
}
