#include "serverlog.h"
#include "buf.h"
#include "fsutil.h"
#include "policy.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* logfmt: a value with a space, quote, '=', backslash or control byte is
 * quoted, with " and \ written \" and \\; the result then goes through the
 * escaping every piece of pushed content gets (fg_buf_put_escaped), which
 * writes a newline \n as logfmt does and leaves those quotes alone. */
static void put_value(struct fg_buf *b, const char *v)
{
	struct fg_buf q = FG_BUF_INIT;
	const char *p;
	int quote = !*v;

	for (p = v; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		quote |= ch <= ' ' || ch == '"' || ch == '=' || ch == '\\' || ch == 0x7f;
		if (ch == '"' || ch == '\\')
			fg_buf_putc(&q, '\\');
		fg_buf_putc(&q, (char)ch);
	}
	if (quote)
		fg_buf_putc(b, '"');
	fg_buf_put_escaped(b, fg_buf_cstr(&q), q.len);
	if (quote)
		fg_buf_putc(b, '"');
	if (q.failed)
		b->failed = 1;
	fg_buf_release(&q);
}

static void write_file(const char *path, const char *line, size_t len)
{
	int fd;

	/* a FIFO or link planted at the log path must neither hang the hook
	 * nor redirect the line */
	if (fg_open_regular(&fd, path, O_WRONLY | O_APPEND | O_CREAT, 0640, NULL) < 0 ||
	    write(fd, line, len) != (ssize_t)len)
		fprintf(stderr, "fleetgate: warning: unable to write the server log '%s'\n",
			path);
	if (fd >= 0)
		close(fd);
}

void fg_serverlog(const struct fg_policy *policy, const char *event, ...)
{
	struct fg_buf b = FG_BUF_INIT;
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	const char *key, *value;
	va_list ap;

	if (!policy || (!policy->log_file && !policy->log_syslog))
		return;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fg_buf_printf(&b, "time=%s event=%s", stamp, event);
	va_start(ap, event);
	while ((key = va_arg(ap, const char *))) {
		value = va_arg(ap, const char *);
		if (!value)
			continue;
		fg_buf_printf(&b, " %s=", key);
		put_value(&b, value);
	}
	va_end(ap);
	if (b.failed) {
		fg_buf_release(&b);
		return;
	}
	if (policy->log_syslog) {
		openlog("fleetgate", LOG_PID, LOG_USER);
		syslog(LOG_INFO, "%s", fg_buf_cstr(&b));
		closelog();
	}
	fg_buf_putc(&b, '\n');
	if (policy->log_file && !b.failed)
		write_file(policy->log_file, b.ptr, b.len);
	fg_buf_release(&b);
}
