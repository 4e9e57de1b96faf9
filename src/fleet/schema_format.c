#include "schema_format.h"
#include "ecma_regex.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

static int digits(const char *s, size_t n, int *value)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*value = v;
	return 1;
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* RFC 3339 full-date: YYYY-MM-DD with a real day of the month. */
static int check_date(const char *s, size_t len)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, max;

	if (len != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) ||
	    !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d))
		return 0;
	if (m < 1 || m > 12 || d < 1)
		return 0;
	max = mdays[m - 1] + (m == 2 && is_leap(y));
	return d <= max;
}

/* RFC 3339 full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM). */
static int check_time(const char *s, size_t len)
{
	int h, m, sec, oh, om;
	size_t i = 8;

	if (len < 9 || s[2] != ':' || s[5] != ':' || !digits(s, 2, &h) ||
	    !digits(s + 3, 2, &m) || !digits(s + 6, 2, &sec))
		return 0;
	if (h > 23 || m > 59 || sec > 60)
		return 0;
	if (s[i] == '.') {
		size_t start = ++i;

		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return 0;
	}
	if (i == len)
		return 0;
	if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len)
		return 1;
	if ((s[i] != '+' && s[i] != '-') || len - i != 6 || s[i + 3] != ':' ||
	    !digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om))
		return 0;
	return oh <= 23 && om <= 59;
}

static int check_date_time(const char *s, size_t len)
{
	if (len < 11 || (s[10] != 'T' && s[10] != 't'))
		return 0;
	return check_date(s, 10) && check_time(s + 11, len - 11);
}

static int check_uuid(const char *s, size_t len)
{
	size_t i;

	if (len != 36)
		return 0;
	for (i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and inner
 * hyphens, 1-63 bytes each, 253 bytes in all. */
static int check_hostname(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && s[len - 1] != '-';
}

/* Dotted quad, no leading zeros (they read as octal elsewhere). */
static int check_ipv4(const char *s, size_t len)
{
	size_t i = 0;
	int part;

	for (part = 0; part < 4; part++) {
		size_t start = i;
		int v = 0;

		while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3)
			v = v * 10 + (s[i++] - '0');
		if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
			return 0;
		if (part < 3) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	return i == len;
}

static int check_ipv6(const char *s, size_t len)
{
	char copy[64];
	unsigned char addr[16];

	if (len >= sizeof(copy) || memchr(s, '\0', len))
		return 0;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return inet_pton(AF_INET6, copy, addr) == 1;
}

/* RFC 3986 characters: unreserved, reserved and "%" HEXDIG HEXDIG. */
static int uri_chars_ok(const char *s, size_t len)
{
	static const char allowed[] = "-._~:/?#[]@!$&'()*+,;=";
	size_t i;
	int hashes = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 2 >= len || !isxdigit((unsigned char)s[i + 1]) ||
			    !isxdigit((unsigned char)s[i + 2]))
				return 0;
			i += 2;
			continue;
		}
		if (c == '#' && ++hashes > 1)
			return 0;
		if (c >= 0x80 || !(isalnum(c) || (c && strchr(allowed, c))))
			return 0;
	}
	return 1;
}

static size_t scheme_length(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || !isalpha((unsigned char)s[0]))
		return 0;
	for (i = 1; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ':')
			return i;
		if (!isalnum(c) && c != '+' && c != '-' && c != '.')
			return 0;
	}
	return 0;
}

static int check_uri(const char *s, size_t len)
{
	return scheme_length(s, len) > 0 && uri_chars_ok(s, len);
}

static int check_email(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	size_t local, i;

	if (!at)
		return 0;
	local = (size_t)(at - s);
	if (local == 0 || local > 64 || s[0] == '.' || s[local - 1] == '.')
		return 0;
	for (i = 0; i < local; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c >= 0x7f || strchr("()<>[]:;@\\,\"", c))
			return 0;
		if (c == '.' && s[i + 1] == '.')
			return 0;
	}
	return check_hostname(at + 1, len - local - 1);
}

int fg_schema_format_check(const char *format, const char *s, size_t len)
{
	if (!strcmp(format, "date-time"))
		return check_date_time(s, len);
	if (!strcmp(format, "date"))
		return check_date(s, len);
	if (!strcmp(format, "time"))
		return check_time(s, len);
	if (!strcmp(format, "uuid"))
		return check_uuid(s, len);
	if (!strcmp(format, "hostname"))
		return check_hostname(s, len);
	if (!strcmp(format, "ipv4"))
		return check_ipv4(s, len);
	if (!strcmp(format, "ipv6"))
		return check_ipv6(s, len);
	if (!strcmp(format, "uri"))
		return check_uri(s, len);
	if (!strcmp(format, "uri-reference"))
		return uri_chars_ok(s, len);
	if (!strcmp(format, "regex"))
		return fg_ecma_regex_is_valid(s, len);
	if (!strcmp(format, "email"))
		return check_email(s, len);
	return -1;
}
