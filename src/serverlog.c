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

static void put_value(struct fg_buf *b, const char *v)
{
	const char *p;

	if (*v && !strpbrk(v, " \"=\\\n\t")) {
		fg_buf_puts(b, v);
		return;
	}
	fg_buf_putc(b, '"');
	for (p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			fg_buf_putc(b, '\\');
		if (*p == '\n')
			fg_buf_puts(b, "\\n");
		else
			fg_buf_putc(b, *p);
	}
	fg_buf_putc(b, '"');
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
