/*
 * xml: the little XML postern writes (set-up profiles, autoconfig,
 * autodiscover, the QR code's SVG): every value goes through xml_text,
 * which escapes markup and refuses what XML 1.0 cannot carry.
 */
#ifndef POSTERN_XML_H
#define POSTERN_XML_H

#include "../util/buf.h"

/* Append s with & < > " ' escaped; -1 on a control character or full. */
int xml_text(struct buf *, const char *s);
/* Append "<indent><name>s</name>\n" with s escaped. */
int xml_elem(struct buf *, int indent, const char *name, const char *s);
/* The same with a decimal value. */
int xml_elem_int(struct buf *, int indent, const char *name, long v);
/* A random (version 4) UUID, upper case, as Apple's profiles show it. */
void xml_uuid(char out[37]);

#endif
