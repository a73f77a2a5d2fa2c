/*
 * qr: libqrencode makes the matrix (error correction level M, 8-bit
 * mode); each dark module becomes a unit square of one SVG path, inside
 * a quiet zone of four modules as ISO/IEC 18004 asks.
 */
#include <string.h>

#include <qrencode.h>

#include "qr.h"

#define QR_QUIET 4

int
qr_svg(struct buf *b, const char *text)
{
	QRcode *q;
	int x, y, size, rc = -1;

	if (strlen(text) > QR_TEXT_MAX)
		return -1;
	if ((q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M)) == NULL)
		return -1;
	size = q->width + 2 * QR_QUIET;
	if (buf_printf(b,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
		"width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\" "
		"role=\"img\" aria-label=\"QR code\">"
		"<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
		"<path fill=\"#000\" d=\"",
		size, size, size * 6, size * 6, size, size) == -1)
		goto out;
	for (y = 0; y < q->width; y++) {
		for (x = 0; x < q->width; x++) {
			/* bit 0 of each byte: the module is dark */
			if ((q->data[y * q->width + x] & 1) &&
			    buf_printf(b, "M%d %dh1v1h-1z", x + QR_QUIET,
				y + QR_QUIET) == -1)
				goto out;
		}
	}
	if (buf_printf(b, "\"/></svg>\n") == -1)
		goto out;
	rc = 0;
out:
	QRcode_free(q);
	return rc;
}
