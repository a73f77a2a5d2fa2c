/*
 * xml: escaping and element helpers shared by the generators in http/.
 * Values are escaped here and nowhere else.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "xml.h"

int
xml_text(struct buf *b, const char *s)
{
	const char *run = s;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		const char *rep = NULL;

		if (c < 0x20 && c != '\t' && c != '\n')
			return -1; /* not allowed in XML 1.0 */
		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&apos;";
			break;
		}
		if (rep == NULL)
			continue;
		if (buf_append(b, run, (size_t)(s - run)) == -1 ||
		    buf_append(b, rep, strlen(rep)) == -1)
			return -1;
		run = s + 1;
	}
	return buf_append(b, run, (size_t)(s - run));
}

static int
xml_indent(struct buf *b, int indent)
{
	static const char tabs[] = "\t\t\t\t\t\t\t\t";

	if (indent < 0 || indent > 8)
		return -1;
	return buf_append(b, tabs, (size_t)indent);
}

int
xml_elem(struct buf *b, int indent, const char *name, const char *s)
{
	if (xml_indent(b, indent) == -1 || buf_printf(b, "<%s>", name) == -1 ||
	    xml_text(b, s) == -1 || buf_printf(b, "</%s>\n", name) == -1)
		return -1;
	return 0;
}

int
xml_elem_int(struct buf *b, int indent, const char *name, long v)
{
	if (xml_indent(b, indent) == -1 ||
	    buf_printf(b, "<%s>%ld</%s>\n", name, v, name) == -1)
		return -1;
	return 0;
}

void
xml_uuid(char out[37])
{
	unsigned char r[16];

	randombytes_buf(r, sizeof(r));
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37,
	    "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X",
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
	    r[11], r[12], r[13], r[14], r[15]);
}
