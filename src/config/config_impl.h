/* src/config/config_impl.h: internals of the config module: modclust-mpi's schema tables (config.c), shared
   with the reference (reference.c) and the tests, and the ENUM helpers of the parser (parse.c). */
#pragma once
#include <stddef.h>
#include "mc/config.h"

/* modclust-mpi's schema, and its tables in config.def order (read-only). */
extern const MCSchema      mc__config_schema;
extern const MCKeyInfo     mc__config_keys[];
extern const PetscInt      mc__config_n_keys;
extern const MCKeyInfo     mc__config_layer_keys[];
extern const PetscInt      mc__config_n_layer_keys;
extern const MCSectionInfo mc__config_sections[];
extern const PetscInt      mc__config_n_sections;

/* mc__config_type_name - "string", "path", "integer", "real", "bool" or "enum". Not collective. */
const char *mc__config_type_name(MCConfigType type);

/* ---- ENUM keys: `choices` is '|'-separated; a value is stored as its index in the list. ---- */

/* mc__config_enum_index - Index of `value` in `choices`, -1 if it is not one of them. Not collective. */
int mc__config_enum_index(const char *choices, const char *value);

/* mc__config_enum_name - The choice at `index` (not NUL-terminated: *len characters), NULL when `index` is
   out of range (-1: an unset layer type). Not collective. */
const char *mc__config_enum_name(const char *choices, int index, size_t *len);

/* mc__config_enum_list - "a, b, c" from "a|b|c" into buf (truncated to n). Not collective. */
void mc__config_enum_list(const char *choices, char *buf, size_t n);
