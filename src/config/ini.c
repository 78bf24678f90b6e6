/* src/config/ini.c: the strict INI reader (section headers and key = value lines) and the rank-0 read of a
   config file. The schema (which sections and keys exist) lives in config.c. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include "mc/config.h"
#include "mc/sys.h"

/* Larger files are surely not configs; refusing them avoids broadcasting a mistaken data file. */
#define MAX_CONFIG_BYTES (64L * 1024 * 1024)

static char *trim(char *s)
{
  size_t n;

  while (isspace((unsigned char)*s)) ++s;
  n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
  return s;
}

/* An inline comment starts at ';' or '#' at the start of the value or after whitespace, so values such as
   "a#b" or "net;v2.h5" keep their characters. */
static void cut_comment(char *s)
{
  for (char *p = s; *p; ++p) {
    if ((*p == ';' || *p == '#') && (p == s || isspace((unsigned char)p[-1]))) {
      *p = '\0';
      return;
    }
  }
}

static PetscBool valid_name(const char *s, PetscBool allow_dot)
{
  if (!*s) return PETSC_FALSE;
  for (; *s; ++s) {
    if (!(isalnum((unsigned char)*s) || *s == '_' || (allow_dot && *s == '.'))) return PETSC_FALSE;
  }
  return PETSC_TRUE;
}

PetscErrorCode mc_config_ini_parse(MPI_Comm comm, const char *name, const char *text, MCIniFn *fn, void *ctx)
{
  char       *buf, *line, *next;
  const char *section = NULL;
  PetscInt    lineno  = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscStrallocpy(text ? text : "", &buf));
  line = buf;
  if (!strncmp(line, "\xEF\xBB\xBF", 3)) line += 3;
  for (; line; line = next) {
    char *s, *eq, *key, *value;

    /* One physical line at a time, however long: it is cut out in place, never copied into a fixed buffer. */
    next = strchr(line, '\n');
    if (next) *next++ = '\0';
    ++lineno;
    s = trim(line);
    if (!*s || *s == ';' || *s == '#') continue;
    if (*s == '[') {
      char *close = strchr(s, ']'), *rest, *sec;

      PetscCheck(close, comm, PETSC_ERR_USER_INPUT, "%s:%" PetscInt_FMT ": unterminated section header '%s'; expected ']'", name, lineno, s);
      *close = '\0';
      rest   = trim(close + 1);
      sec    = trim(s + 1);
      PetscCheck(!*rest || *rest == ';' || *rest == '#', comm, PETSC_ERR_USER_INPUT, "%s:%" PetscInt_FMT ": unexpected text '%s' after section header [%s]", name,
                 lineno, rest, sec);
      PetscCheck(*sec, comm, PETSC_ERR_USER_INPUT, "%s:%" PetscInt_FMT ": empty section name '[]'", name, lineno);
      PetscCheck(valid_name(sec, PETSC_TRUE), comm, PETSC_ERR_USER_INPUT,
                 "%s:%" PetscInt_FMT ": invalid section name '[%s]'; names are letters, digits, '_' and '.'", name, lineno, sec);
      section = sec;
      PetscCall(fn(ctx, section, NULL, NULL, lineno));
      continue;
    }
    eq = strchr(s, '=');
    PetscCheck(eq, comm, PETSC_ERR_USER_INPUT, "%s:%" PetscInt_FMT ": expected 'key = value', '[section]' or a comment, got '%s'", name, lineno, s);
    *eq   = '\0';
    key   = trim(s);
    value = eq + 1;
    cut_comment(value);
    value = trim(value);
    PetscCheck(*key, comm, PETSC_ERR_USER_INPUT, "%s:%" PetscInt_FMT ": missing key before '='", name, lineno);
    PetscCheck(valid_name(key, PETSC_FALSE), comm, PETSC_ERR_USER_INPUT, "%s:%" PetscInt_FMT ": invalid key '%s'; keys are letters, digits and '_'", name,
               lineno, key);
    PetscCheck(section, comm, PETSC_ERR_USER_INPUT, "%s:%" PetscInt_FMT ": key '%s' comes before any [section] header", name, lineno, key);
    PetscCall(fn(ctx, section, key, value, lineno));
  }
  PetscCall(PetscFree(buf));
  PetscFunctionReturn(0);
}

/* Rank 0 only: errors are raised on PETSC_COMM_SELF and agreed on by mc_sys_rank0_status(). */
static PetscErrorCode read_file(const char *path, char **text, long *n_text)
{
  struct stat st;
  FILE       *fp;
  long        n = 0;
  char       *buf;

  PetscFunctionBeginUser;
  PetscCheck(path && path[0], PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "no config file given");
  PetscCheck(stat(path, &st) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open config file '%s': %s", path, strerror(errno));
  PetscCheck(!S_ISDIR(st.st_mode), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "config file '%s' is a directory, not an INI file", path);
  fp = fopen(path, "rb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open config file '%s': %s", path, strerror(errno));
  PetscCheck(fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ,
             "cannot read config file '%s': not a regular file", path);
  PetscCheck(n <= MAX_CONFIG_BYTES, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "config file '%s' has %ld bytes; a config file has at most %ld", path, n,
             MAX_CONFIG_BYTES);
  PetscCall(PetscMalloc1(n + 1, &buf));
  PetscCheck((long)fread(buf, 1, (size_t)n, fp) == n, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "cannot read config file '%s': %s", path, strerror(errno));
  fclose(fp);
  buf[n] = '\0';
  PetscCheck(memchr(buf, '\0', (size_t)n) == NULL, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "config file '%s' contains NUL bytes; is it a text file?", path);
  *text   = buf;
  *n_text = n;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_config_read_text(MPI_Comm comm, const char *path, char **text)
{
  PetscMPIInt    rank;
  PetscErrorCode ierr = 0;
  long           n    = 0;
  char          *buf  = NULL;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) ierr = read_file(path, &buf, &n);
  PetscCall(mc_sys_rank0_status(comm, ierr));
  PetscCallMPI(MPI_Bcast(&n, 1, MPI_LONG, 0, comm));
  if (rank != 0) PetscCall(PetscMalloc1(n + 1, &buf));
  PetscCallMPI(MPI_Bcast(buf, (PetscMPIInt)(n + 1), MPI_CHAR, 0, comm));
  *text = buf;
  PetscFunctionReturn(0);
}
