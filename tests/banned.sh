#!/bin/sh
# banned.h: each banned call must fail to compile with the project's own
# flags, naming the function; the same file calling the replacement must
# compile, so a broken compile command cannot pass this test.
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "${FG_BUILDDIR:?}" || exit 1

calls='strcpy(buf, "x")
strcat(buf, "x")
strncpy(buf, "x", 1)
strncat(buf, "x", 1)
sprintf(buf, "%d", 1)
vsprintf(buf, "%d", ap)
strtok(buf, ",")
gets(buf)
atoi("1")
atol("1")
atoll("1")
atof("1")
tmpnam(buf)
mktemp(buf)
asctime(&tm)
asctime_r(&tm, buf)
ctime(&t)
ctime_r(&t, buf)
gmtime(&t)
localtime(&t)'

compile() { # $1: file
	# shellcheck disable=SC2086
	${FG_CC:-cc} $FG_COMPILE_FLAGS -c -o "$tmp/out.o" "$1" >"$tmp/log" 2>&1
}

write() { # $1: the call
	cat >"$tmp/t.c" <<EOC
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
int use(int n, ...);
int use(int n, ...)
{
	char buf[64] = "";
	struct tm tm = { 0 };
	time_t t = 0;
	va_list ap;

	va_start(ap, n);
	(void)$1;
	va_end(ap);
	return buf[0] + tm.tm_sec + (int)t;
}
EOC
}

n=$(printf '%s\n' "$calls" | wc -l)
echo "1..$((n + 1))"
i=1
write 'snprintf(buf, sizeof(buf), "%d", 1)'
if compile "$tmp/t.c"; then
	echo "ok $i - the allowed replacement compiles"
else
	echo "not ok $i - the allowed replacement compiles"
	sed 's/^/# /' "$tmp/log"
fi
printf '%s\n' "$calls" | while IFS= read -r call; do
	i=$((i + 1))
	func=${call%%(*}
	write "$call"
	if compile "$tmp/t.c"; then
		echo "not ok $i - $func is refused (it compiled)"
	elif grep -q "sorry_${func}_is_a_banned_function" "$tmp/log"; then
		echo "ok $i - $func is refused"
	else
		echo "not ok $i - $func is refused, naming it"
		sed 's/^/# /' "$tmp/log" | head -5
	fi
done
