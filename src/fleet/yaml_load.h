/*
 * yaml_load.h: strict YAML to jansson, for files any pusher controls.
 *
 * libyaml parses; this module turns its events into jansson values and
 * refuses anything that is ambiguous or costly: duplicate keys, anchors and
 * aliases (the alias bomb has no cheap form then), nesting deeper than
 * limits.max_depth, more than one document, tags, invalid UTF-8, NUL bytes and
 * input larger than limits.max_bytes (checked before parsing). Plain scalars
 * follow YAML 1.2's core schema: only true/false are booleans, null/~/empty
 * are null, decimal/hex/octal integers and floats are numbers, and
 * everything else (no, NO, on, yes, 0777...) stays a string.
 *
 * It never reads the network, never executes anything, and never follows
 * anything but the one path it is given. Its messages name a place and
 * what is wrong, never a scalar's value (a refused number may be a PIN);
 * the path, keys, anchors and tags in them are escaped.
 *
 * Ownership rule: an fg_yaml_doc returned through `out` belongs to the caller
 * and is freed with fg_yaml_doc_free; doc->root is a reference the doc owns
 * (json_incref it to keep it past the doc).
 */
#ifndef FG_YAML_LOAD_H
#define FG_YAML_LOAD_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

struct fg_yaml_limits {
	size_t max_bytes;   /* input larger than this is refused unread */
	int max_depth;      /* nesting of sequences and mappings */
	size_t max_nodes;   /* scalars + collections in the document */
};

#define FG_YAML_MAX_BYTES_DEFAULT (1024 * 1024)
#define FG_YAML_LIMITS_INIT { FG_YAML_MAX_BYTES_DEFAULT, 32, 200000 }

struct fg_yaml_doc {
	char *path;       /* as given, for messages */
	json_t *root;     /* NULL for an empty document */
	json_t *locations;/* JSON pointer -> integer (line << 20 | column) */
};

/* Parses len bytes named `path` (used only in messages). On error returns
 * FG_EINVALID (bad YAML, with "path:line:column: what; what to do") or
 * FG_ELIMIT (a limit) or FG_ENOMEM, and *out is NULL. */
int fg_yaml_load_buffer(struct fg_yaml_doc **out, const char *path,
			const char *data, size_t len,
			const struct fg_yaml_limits *limits,
			struct fg_error *err);

/* Reads a regular file and parses it as above; refuses a file larger than
 * limits->max_bytes from its size before reading. The file is opened with
 * fg_open_regular (fsutil.h): FG_ENOTFOUND, FG_EPERM for a symbolic link,
 * FG_EINVALID for a FIFO, folder or device, FG_EIO when it cannot be read. */
int fg_yaml_load_file(struct fg_yaml_doc **out, const char *path,
		      const struct fg_yaml_limits *limits,
		      struct fg_error *err);

/* Looks up where the value at JSON pointer `pointer` ("" is the root) came
 * from. Returns 0 and sets *line and *column (1-based), or FG_ENOTFOUND and sets
 * them to 0. */
int fg_yaml_doc_location(const struct fg_yaml_doc *doc, const char *pointer,
			 int *line, int *column);

/* Frees the document; accepts NULL. */
void fg_yaml_doc_free(struct fg_yaml_doc *doc);

/* Appends the JSON-pointer escaping of key (~ -> ~0, / -> ~1) to a pointer:
 * returns new memory "<base>/<escaped key>" the caller frees, or NULL. */
char *fg_json_pointer_append(const char *base, const char *key);

#endif
