/*
 * qr: a QR code (libqrencode) drawn as SVG markup by postern: one path,
 * no script, no style attribute, so it passes the panel's
 * Content-Security-Policy as an image or inline.
 */
#ifndef POSTERN_QR_H
#define POSTERN_QR_H

#include "../util/buf.h"

#define QR_TEXT_MAX 1024

/* Append the SVG of text (at most QR_TEXT_MAX bytes); 0 or -1. */
int qr_svg(struct buf *, const char *text);

#endif
