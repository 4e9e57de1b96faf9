/*
 * error.h: the error slot every fallible fleetgate function fills.
 *
 * Ownership rule: a struct fg_error is owned by the caller, usually on the
 * stack; it holds no heap memory, so there is nothing to free.
 *
 * Convention, after libgit2: a function that can fail returns 0 on success or
 * a negative FG_E* code, and on failure writes one human-readable sentence
 * into the fg_error it was given (which may be NULL when the caller does not
 * care). Messages start lower case, quote their subject and, where the user
 * can act, say what to do.
 */
#ifndef FG_ERROR_H
#define FG_ERROR_H

#include <stddef.h>

enum fg_error_code {
	FG_OK = 0,
	FG_ERROR = -1,    /* anything not listed below */
	FG_ENOMEM = -2,   /* an allocation failed */
	FG_EINVALID = -3, /* input (file, argument, push) is malformed */
	FG_EIO = -4,      /* reading or writing a file or socket failed */
	FG_ENOTFOUND = -5,/* a file, ref, object or key does not exist */
	FG_EPERM = -6,    /* file owner/mode or pusher rights forbid it */
	FG_ENET = -7,     /* a remote service failed or was unreachable */
	FG_ELIMIT = -8    /* a size, depth or count limit was exceeded */
};

#define FG_ERROR_MESSAGE_MAX 1024

struct fg_error {
	int code;
	char message[FG_ERROR_MESSAGE_MAX];
};

#define FG_ERROR_INIT { 0, { 0 } }

/* Sets err (if non-NULL) to code and the formatted message; returns code so
 * callers can write `return fg_error_set(err, FG_EINVALID, "...")`. A message
 * too long for the slot is truncated, never overflowed. */
int fg_error_set(struct fg_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes the current message with "prefix: ", keeping the code. Used to add
 * context (a file name, a call) on the way up. Returns err->code. */
int fg_error_prefix(struct fg_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Sets FG_ENOMEM with a fixed message that needs no allocation. */
int fg_error_oom(struct fg_error *err);

/* Resets err to "no error". */
void fg_error_clear(struct fg_error *err);

#endif
