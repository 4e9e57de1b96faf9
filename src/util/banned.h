/*
 * banned.h: functions fleetgate must not call, after git's banned.h.
 *
 * Included into every translation unit by the build (-include), so a call to
 * any of these is a compile error. Each has a bounded or re-entrant
 * replacement: fg_buf / snprintf for building strings, strtok_r or manual
 * scanning for tokens, strtol with an end pointer for numbers.
 */
#ifndef FG_BANNED_H
#define FG_BANNED_H

/* The system headers that declare these come first, so the macros below
 * only catch our own calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FG_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) FG_BANNED(strcpy)
#undef strcat
#define strcat(x, y) FG_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) FG_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) FG_BANNED(strncat)
#undef sprintf
#define sprintf(...) FG_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) FG_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) FG_BANNED(strtok)
#undef gets
#define gets(x) FG_BANNED(gets)
#undef atoi
#define atoi(x) FG_BANNED(atoi)
#undef atol
#define atol(x) FG_BANNED(atol)
#undef atoll
#define atoll(x) FG_BANNED(atoll)
#undef atof
#define atof(x) FG_BANNED(atof)
#undef tmpnam
#define tmpnam(x) FG_BANNED(tmpnam)
#undef mktemp
#define mktemp(x) FG_BANNED(mktemp)
#undef asctime
#define asctime(x) FG_BANNED(asctime)
#undef ctime
#define ctime(x) FG_BANNED(ctime)
#undef asctime_r
#define asctime_r(x, y) FG_BANNED(asctime_r)
#undef ctime_r
#define ctime_r(x, y) FG_BANNED(ctime_r)
#undef gmtime
#define gmtime(x) FG_BANNED(gmtime)
#undef localtime
#define localtime(x) FG_BANNED(localtime)

#endif
