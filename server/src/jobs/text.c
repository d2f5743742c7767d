#include "jobs/text.h"

bool jobs_text_utf8_next(const char *s, size_t len, size_t *i, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s + *i;
	size_t avail = len - *i, n;
	unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
	uint32_t v;

	if (avail == 0)
		return false;
	if (p[0] < 0x80) {
		*cp = p[0];
		*i += 1;
		return true;
	}
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		n = 1;
		v = p[0] & 0x1F;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		n = 2;
		v = p[0] & 0x0F;
		if (p[0] == 0xE0)
			lo = 0xA0; /* overlong */
		else if (p[0] == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		n = 3;
		v = p[0] & 0x07;
		if (p[0] == 0xF0)
			lo = 0x90; /* overlong */
		else if (p[0] == 0xF4)
			hi = 0x8F; /* past U+10FFFF */
	} else {
		return false;
	}
	if (avail <= n || p[1] < lo || p[1] > hi)
		return false;
	for (size_t k = 1; k <= n; k++) {
		if (p[k] < 0x80 || p[k] > 0xBF)
			return false;
		v = v << 6 | (p[k] & 0x3F);
	}
	*cp = v;
	*i += n + 1;
	return true;
}

bool jobs_text_utf8_count(const char *s, size_t len, size_t *chars)
{
	size_t i = 0, n = 0;
	uint32_t cp;

	while (i < len) {
		if (!jobs_text_utf8_next(s, len, &i, &cp))
			return false;
		n++;
	}
	*chars = n;
	return true;
}

/* Closed ranges of Cf (format) code points, Unicode 15.0. */
static const uint32_t cf_ranges[][2] = {
	{ 0x00AD, 0x00AD },   { 0x0600, 0x0605 },   { 0x061C, 0x061C },	  { 0x06DD, 0x06DD },
	{ 0x070F, 0x070F },   { 0x0890, 0x0891 },   { 0x08E2, 0x08E2 },	  { 0x180E, 0x180E },
	{ 0x200B, 0x200F },   { 0x202A, 0x202E },   { 0x2060, 0x2064 },	  { 0x2066, 0x206F },
	{ 0xFEFF, 0xFEFF },   { 0xFFF9, 0xFFFB },   { 0x110BD, 0x110BD }, { 0x110CD, 0x110CD },
	{ 0x13430, 0x1343F }, { 0x1BCA0, 0x1BCA3 }, { 0x1D173, 0x1D17A }, { 0xE0001, 0xE0001 },
	{ 0xE0020, 0xE007F },
};

bool jobs_text_is_category_c(uint32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
		return true; /* Cc */
	if (cp >= 0xD800 && cp <= 0xDFFF)
		return true; /* Cs */
	if ((cp >= 0xE000 && cp <= 0xF8FF) || cp >= 0xF0000)
		return true; /* Co (planes 15 and 16 hold only private use and noncharacters) */
	if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE)
		return true; /* noncharacters (Cn) */
	for (size_t k = 0; k < sizeof(cf_ranges) / sizeof(cf_ranges[0]); k++) {
		if (cp >= cf_ranges[k][0] && cp <= cf_ranges[k][1])
			return true;
	}
	return false;
}

bool jobs_text_is_printable(const char *s, size_t len, size_t min_chars, size_t max_chars)
{
	size_t i = 0, n = 0;
	uint32_t cp;

	if (!s)
		return false;
	while (i < len) {
		if (!jobs_text_utf8_next(s, len, &i, &cp) || jobs_text_is_category_c(cp))
			return false;
		if (++n > max_chars)
			return false;
	}
	return n >= min_chars;
}

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool jobs_text_is_valid_stream_id(const char *s)
{
	size_t i;

	if (!s || !*s)
		return false;
	for (i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= JOBS_STREAM_ID_MAX || !(is_alnum(c) || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool jobs_text_is_valid_details_key(const char *s, size_t len)
{
	if (!s || len == 0 || len > JOBS_DETAILS_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(is_alnum(c) || c == ':' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool jobs_text_is_valid_reason_code(const char *s)
{
	size_t i;

	if (!s || !*s)
		return false;
	for (i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= 128 || !((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}
