/*
 * header: a small RFC 5322 reader, enough for the originator fields and
 * the fields RFC 6409 wants present. Bytes are hostile: every loop is
 * bounded by len, every copy by its destination. The address grammar is
 * the strict one: where mail programs would read a value differently
 * (an unquoted @ in a display name, a group left open), it is refused
 * rather than read one way here and another way there.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "header.h"

static int
header_name_is(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

/* The originator fields (RFC 5322 3.6.2, 3.6.6) and their grammar. */
static const struct {
	const char *name, *label;
	enum header_orig kind;
	enum header_grammar grammar;
} header_origs[] = {
	{ "From", "From:", HEADER_FROM, HEADER_MAILBOX_LIST },
	{ "Sender", "Sender:", HEADER_SENDER, HEADER_MAILBOX },
	{ "Resent-From", "Resent-From:", HEADER_RESENT_FROM,
	    HEADER_MAILBOX_LIST },
	{ "Resent-Sender", "Resent-Sender:", HEADER_RESENT_SENDER,
	    HEADER_MAILBOX },
};
#define HEADER_NORIGS (sizeof(header_origs) / sizeof(header_origs[0]))

static int
header_orig_kind(const char *p, size_t n, enum header_orig *kind)
{
	size_t i;

	for (i = 0; i < HEADER_NORIGS; i++)
		if (header_name_is(p, n, header_origs[i].name)) {
			*kind = header_origs[i].kind;
			return 1;
		}
	return 0;
}

/*
 * A name that is an originator field's once blanks, control bytes and
 * anything beyond ASCII are dropped (" From", "From\v", "Fr om",
 * "From<NBSP>", "From<U+3000>"): this scan skips it, a lenient mail
 * program may take it for the field (one that reads every Unicode
 * blank as a blank and trims the name, as JavaScript's \s and trim()
 * do). A field name is printable ASCII (RFC 5322 2.2, RFC 6532 3.2).
 */
static int
header_orig_lookalike(const char *p, size_t n)
{
	char squeezed[32];
	size_t i, k = 0;
	enum header_orig kind;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c <= 0x20 || c >= 0x7f)
			continue;
		if (k == sizeof(squeezed))
			return 0;
		squeezed[k++] = (char)c;
	}
	return header_orig_kind(squeezed, k, &kind);
}

enum header_grammar
header_orig_grammar(enum header_orig kind)
{
	size_t i;

	for (i = 0; i < HEADER_NORIGS; i++)
		if (header_origs[i].kind == kind)
			return header_origs[i].grammar;
	return HEADER_MAILBOX;
}

const char *
header_orig_name(enum header_orig kind)
{
	size_t i;

	for (i = 0; i < HEADER_NORIGS; i++)
		if (header_origs[i].kind == kind)
			return header_origs[i].label;
	return "?";
}

void
header_scan(const char *msg, size_t len, struct header_info *hi)
{
	enum header_orig kind;
	size_t i = 0;

	memset(hi, 0, sizeof(*hi));
	while (i < len) {
		size_t start = i, colon = 0, end, name_end;
		unsigned char c;
		/* a blank line ends the header section */
		if (msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n') {
			hi->header_len = i + 2;
			return;
		}
		if (msg[i] == '\n') {
			hi->header_len = i + 1;
			return;
		}
		/* one field: up to a line end not followed by WSP */
		for (end = i; end < len; end++) {
			if (msg[end] == ':' && colon == 0)
				colon = end;
			if (msg[end] == '\n' &&
			    (end + 1 >= len ||
				(msg[end + 1] != ' ' && msg[end + 1] != '\t')))
				break;
		}
		i = end < len ? end + 1 : len;
		/*
		 * A line that is neither a field (its name begins with a
		 * printable ASCII byte) nor a continuation (SP, HT): a
		 * program that reads <VT>, <FF> or a Unicode blank as
		 * white space takes it for folding, and joins it to the
		 * field before it (a From: here, whatever this scan says).
		 */
		c = (unsigned char)msg[start];
		if (c != ' ' && c != '\t' && (c < 0x21 || c >= 0x7f))
			hi->lookalike++;
		if (colon == 0 || colon == start)
			continue;
		/* "From :" is still From (RFC 5322 obsolete syntax) */
		name_end = colon;
		while (name_end > start + 1 &&
		       (msg[name_end - 1] == ' ' || msg[name_end - 1] == '\t'))
			name_end--;
		if (header_orig_kind(msg + start, name_end - start, &kind)) {
			if (kind == HEADER_FROM && hi->from_count++ == 0) {
				hi->from = msg + colon + 1;
				hi->from_len = end - colon - 1;
			}
			if (kind == HEADER_SENDER)
				hi->sender_count++;
			if (hi->norig < HEADER_ORIG_MAX) {
				hi->orig[hi->norig].kind = kind;
				hi->orig[hi->norig].val = msg + colon + 1;
				hi->orig[hi->norig].len = end - colon - 1;
			}
			hi->norig++;
		} else if (header_name_is(msg + start, name_end - start,
			       "Date")) {
			hi->has_date = 1;
		} else if (header_name_is(msg + start, name_end - start,
			       "Message-ID")) {
			hi->has_msgid = 1;
		} else if (header_orig_lookalike(msg + start,
			       name_end - start)) {
			hi->lookalike++;
		}
	}
	hi->header_len = len;
}

/*
 * The address parser: a cursor over the value and, on failure, why.
 * Each function reads one production of RFC 5322 3.2-3.4 and leaves the
 * cursor after it; CFWS is skipped between tokens.
 */
struct hp {
	const char *p, *end;
	const char *why;
	int in_angle; /* between < and >: no comment */
};

struct hp_word {
	const char *s; /* as written: quotes and folding included */
	size_t n;
	int quoted;
};

struct hp_list {
	char (*out)[ADDR_MAX + 1];
	int max, n;
};

static int
hp_fail(struct hp *h, const char *why)
{
	if (h->why == NULL)
		h->why = why;
	return -1;
}

/* RFC 5322 atext, and UTF-8 beyond ASCII (RFC 6532). */
static int
hp_is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c >= 0x80 ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* dot-atom-text: atext runs joined by single dots. */
static int
hp_is_dot_atom(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == '.' ? s[i + 1] == '.'
				: !hp_is_atext((unsigned char)s[i]))
			return 0;
	return 1;
}

/* After a backslash: VCHAR, WSP, or UTF-8 (RFC 6532). */
static int
hp_is_pair(unsigned char c)
{
	return (c >= 0x21 && c != 0x7f) || c == ' ' || c == '\t';
}

/* FWS's line break (CRLF then WSP): 1 and skipped, 0 if none here, -1
 * for any other CR or LF. */
static int
hp_fold(struct hp *h)
{
	if (*h->p != '\r' && *h->p != '\n')
		return 0;
	if (h->end - h->p >= 3 && h->p[0] == '\r' && h->p[1] == '\n' &&
	    (h->p[2] == ' ' || h->p[2] == '\t')) {
		h->p += 2;
		return 1;
	}
	return hp_fail(h, "a line break that is not folding");
}

/*
 * [CFWS]: blanks, folding and comments. RFC 5322 lets a comment nest
 * and hold quoted-pairs, but simple tokenizers (postal-mime's, and
 * others) end it at its first ")", escaped or nested alike, and read
 * the rest as addresses: in "a@b (x (y) <c@d>)" they find <c@d>. So a
 * comment here is flat: no comment inside it, no backslash.
 */
static int hp_word_encoded(struct hp *, const struct hp_word *);

static int
hp_cfws(struct hp *h)
{
	struct hp_word cw;
	const char *close;
	int depth = 0, rc;

	while (h->p < h->end) {
		unsigned char c = (unsigned char)*h->p;
		if ((rc = hp_fold(h)) != 0) {
			if (rc == -1)
				return -1;
			continue;
		}
		if (c == ' ' || c == '\t') {
			h->p++;
			continue;
		}
		if (depth == 0 && c != '(')
			return 0;
		if (c == '(' && h->in_angle)
			return hp_fail(h, "a comment inside < > (mail programs "
					  "read it differently)");
		if (c == '(' && depth == 0) {
			/* its encoded-words, as a display name's: programs
			 * that decode first read what they decode to */
			close = memchr(h->p, ')', (size_t)(h->end - h->p));
			cw.s = h->p;
			cw.n = (size_t)((close ? close : h->end) - h->p);
			cw.quoted = 0;
			if (hp_word_encoded(h, &cw) == -1)
				return -1;
		}
		if (c == '(') {
			if (++depth > 1)
				return hp_fail(h, "a comment inside a comment "
						  "(mail programs read it "
						  "differently)");
		} else if (c == ')') {
			depth--;
		} else if (c == '\\') {
			return hp_fail(h, "a backslash in a comment (mail "
					  "programs read it differently)");
		} else if (c < 0x20 || c == 0x7f) {
			return hp_fail(h, "a control character");
		}
		h->p++;
	}
	return depth > 0 ? hp_fail(h, "a comment without its )") : 0;
}

/* A quoted-string at the cursor (its opening quote). */
static int
hp_quoted(struct hp *h)
{
	int rc;

	for (h->p++; h->p < h->end; h->p++) {
		unsigned char c = (unsigned char)*h->p;
		if ((rc = hp_fold(h)) != 0) {
			if (rc == -1)
				return -1;
			continue;
		}
		if (c == '"') {
			h->p++;
			return 0;
		}
		if (c == '\\') {
			if (h->end - h->p < 2 ||
			    !hp_is_pair((unsigned char)h->p[1]))
				return hp_fail(h, "a backslash at the end of "
						  "a quoted string");
			h->p++;
		} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
			return hp_fail(h, "a control character");
		}
	}
	return hp_fail(h, "a quoted string without its closing quote");
}

/* A word (an atext run, dots allowed, or a quoted-string): 1, or 0 when
 * the cursor is on something else, -1 if malformed. */
static int
hp_word(struct hp *h, struct hp_word *w)
{
	w->s = h->p;
	if (h->p == h->end)
		return 0;
	w->quoted = *h->p == '"';
	if (w->quoted) {
		if (hp_quoted(h) == -1)
			return -1;
	} else {
		while (h->p < h->end &&
		       (*h->p == '.' || hp_is_atext((unsigned char)*h->p)))
			h->p++;
	}
	w->n = (size_t)(h->p - w->s);
	return w->n > 0;
}

/* A quoted local part: without quotes if it needs none ("alice"@x is
 * alice@x), else as written; folding removed. Its length, or 0 if it
 * does not fit. */
static size_t
hp_local_quoted(const struct hp_word *w, char *out, size_t cap)
{
	char plain[ADDR_MAX + 1] = "";
	size_t i, pn = 0, on = 0;

	for (i = 1; i + 1 < w->n; i++) {
		char c = w->s[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '\\')
			c = w->s[++i];
		if (pn >= ADDR_MAX)
			return 0;
		plain[pn++] = c;
	}
	if (hp_is_dot_atom(plain, pn)) {
		if (pn >= cap)
			return 0;
		memcpy(out, plain, pn);
		return pn;
	}
	for (i = 0; i < w->n; i++) {
		if (w->s[i] == '\r' || w->s[i] == '\n')
			continue;
		if (on + 1 >= cap)
			return 0;
		out[on++] = w->s[i];
	}
	return on;
}

/* "@" domain after a local part that was read, then the address. */
static int
hp_addr_spec(struct hp *h, const struct hp_word *local, struct hp_list *l)
{
	char a[ADDR_MAX + 2];
	const char *d;
	size_t n, dn;

	if (local->quoted) {
		if ((n = hp_local_quoted(local, a, sizeof(a))) == 0)
			return hp_fail(h, "an address too long");
	} else {
		if (!hp_is_dot_atom(local->s, local->n))
			return hp_fail(h, "a local part with a leading, "
					  "trailing or double dot");
		if ((n = local->n) >= sizeof(a))
			return hp_fail(h, "an address too long");
		memcpy(a, local->s, n);
	}
	h->p++; /* the @ */
	if (hp_cfws(h) == -1)
		return -1;
	if (h->p < h->end && *h->p == '[')
		return hp_fail(h, "an address literal as the domain");
	for (d = h->p; h->p < h->end &&
		       (*h->p == '.' || hp_is_atext((unsigned char)*h->p));)
		h->p++;
	dn = (size_t)(h->p - d);
	if (!hp_is_dot_atom(d, dn))
		return hp_fail(h, dn ? "a domain with a leading, trailing or "
				       "double dot"
				     : "no domain after @");
	if (n + 1 + dn > ADDR_MAX)
		return hp_fail(h, "an address too long");
	a[n++] = '@';
	memcpy(a + n, d, dn);
	a[n + dn] = '\0';
	/* RFC 2047 5: never in an addr-spec, yet some programs decode it */
	if (strstr(a, "=?") != NULL)
		return hp_fail(h, "an encoded-word in an address");
	if (l->n >= l->max)
		return hp_fail(h, "too many addresses");
	memcpy(l->out[l->n++], a, n + dn + 1);
	return hp_cfws(h);
}

/* "<" addr-spec ">" [CFWS], the cursor on the "<". */
static int
hp_angle(struct hp *h, struct hp_list *l)
{
	struct hp_word w;
	int rc;

	/* inside < > simple tokenizers know no comment: the address is
	 * what comes before the first ">", comment or not */
	h->p++;
	h->in_angle = 1;
	if (hp_cfws(h) == -1 || (rc = hp_word(h, &w)) == -1)
		return -1;
	if (rc == 0)
		return hp_fail(h, h->p < h->end && *h->p == '@'
				      ? "a source route (obsolete)"
				      : "no address inside < >");
	if (hp_cfws(h) == -1)
		return -1;
	if (h->p == h->end || *h->p != '@')
		return hp_fail(h, "an address without @ inside < >");
	if (hp_addr_spec(h, &w, l) == -1)
		return -1;
	if (h->p == h->end || *h->p != '>')
		return hp_fail(h, "an address inside < > without its >");
	h->p++;
	h->in_angle = 0;
	return hp_cfws(h);
}

/*
 * Encoded-words (RFC 2047) in a display name or a comment. Many
 * programs decode a field's encoded-words first and parse the text
 * after, so a name that decodes to "<ceo@a>," is an address to them,
 * and a comment that decodes to ") <ceo@a>, (" lets one out. They may
 * not decode to <, >, @, a parenthesis, a quote or a backslash (nor to
 * a control character); the bytes are judged where the charset writes
 * ASCII as ASCII, and a charset whose bytes cannot be judged so
 * (UTF-7, UTF-16, an unknown name: a decoder may map anything to "<")
 * is refused.
 */
enum hp_cs {
	HP_CS_ASCII,	 /* ASCII as itself: UTF-8, ISO 8859, windows-125x */
	HP_CS_MULTIBYTE, /* ASCII as itself, "@" possible as a trail byte */
	HP_CS_ISO2022,	 /* ASCII between ESC ( B and the next designation */
	HP_CS_REFUSED,
};

static int
hp_cs_is(const char *name, const char *const *list)
{
	size_t n;

	for (; *list; list++) {
		n = strlen(*list);
		/* an entry ending in '*' is a prefix */
		if ((*list)[n - 1] == '*' ? strncmp(name, *list, n - 1) == 0
					  : strcmp(name, *list) == 0)
			return 1;
	}
	return 0;
}

static enum hp_cs
hp_charset(const char *cs, size_t n)
{
	static const char *const ascii[] = { "us-ascii", "ascii", "utf-8",
		"utf8", "utf_8", "iso-8859-*", "iso8859-*", "iso_8859-*",
		"latin1", "latin-1", "windows-125*", "cp125*", "windows-874",
		"cp874", "koi8-*", "tis-620", "macintosh", "x-mac-*", "cp850",
		"cp852", "cp866", "ibm850", "ibm852", "ibm866", NULL };
	static const char *const multibyte[] = { "shift_jis", "shift-jis",
		"sjis", "x-sjis", "ms_kanji", "csshiftjis", "cp932",
		"windows-31j", "gbk", "gb2312", "gb_2312-*", "gb18030", "cp936",
		"big5", "big5-*", "big5hkscs", "cp950", "euc-*", "x-euc-*",
		"ks_c_5601-*", "cp949", NULL };
	static const char *const iso2022[] = { "iso-2022-*", "csiso2022*",
		NULL };
	char name[32];
	size_t i;

	for (i = 0; i < n && cs[i] != '*'; i++) { /* RFC 2231 language */
		if (i + 1 >= sizeof(name))
			return HP_CS_REFUSED;
		name[i] = (char)tolower((unsigned char)cs[i]);
	}
	name[i] = '\0';
	if (hp_cs_is(name, ascii))
		return HP_CS_ASCII;
	if (hp_cs_is(name, multibyte))
		return HP_CS_MULTIBYTE;
	if (hp_cs_is(name, iso2022))
		return HP_CS_ISO2022;
	return HP_CS_REFUSED;
}

struct hp_dec {
	enum hp_cs cs;
	int ascii; /* ISO-2022: in ASCII now */
	int esc;   /* ISO-2022: where in an escape sequence */
	int bad;
};

static void
hp_dec_byte(struct hp_dec *d, unsigned char c)
{
	if ((c < 0x20 && c != '\t' &&
		!(d->cs == HP_CS_ISO2022 &&
		    (c == 0x1b || c == 0x0e || c == 0x0f))) ||
	    c == 0x7f) {
		d->bad = 1;
		return;
	}
	if (d->cs == HP_CS_ISO2022) {
		/* escape sequences: ESC ( F sets G0 (ASCII for B and J);
		 * ESC $ F and ESC $ ( F a multi-byte G0; ESC $ ) F, ESC )
		 * F... designate G1-G3, which only SO brings in */
		if (d->esc == 1) {
			d->esc = c == '('		       ? 2
				 : c == '$'		       ? 3
				 : strchr(")*+-./", c) != NULL ? 5
							       : 0;
			return;
		}
		if (d->esc == 2) {
			d->esc = 0;
			d->ascii = c == 'B' || c == 'J';
			return;
		}
		if (d->esc == 3) {
			d->esc = c == '('		       ? 4
				 : strchr(")*+-./", c) != NULL ? 5
							       : 0;
			if (d->esc == 0)
				d->ascii = 0; /* ESC $ @, ESC $ B, ESC $ A */
			return;
		}
		if (d->esc == 4 || d->esc == 5) {
			if (d->esc == 4)
				d->ascii = 0;
			d->esc = 0;
			return;
		}
		if (c == 0x1b || c == 0x0e || c == 0x0f) {
			d->esc = c == 0x1b;
			if (c != 0x1b)
				d->ascii = c == 0x0f; /* SI: back to ASCII */
			return;
		}
		if (!d->ascii)
			return;
	}
	/* an address's specials; '@' and '\\' may be trail bytes of a
	 * multi-byte set, the others (below 0x40 but '\\') never are */
	if (strchr(d->cs == HP_CS_MULTIBYTE ? "<>()\"" : "<>()\"@\\", c) !=
		NULL &&
	    c != '\0')
		d->bad = 1;
}

static int
hp_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode one encoded-word's text as a lenient decoder would (B: padding
 * optional, stray bytes skipped; Q: "_" a blank, "=XX" a byte). */
static void
hp_dec_text(struct hp_dec *d, int b, const char *t, size_t n)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned acc = 0;
	int bits = 0, hi, lo;
	const char *q;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		if (b) {
			if (c == '=')
				break;
			if (c == '\0' || (q = strchr(b64, c)) == NULL)
				continue;
			acc = (acc << 6 | (unsigned)(q - b64)) & 0xffffu;
			if ((bits += 6) >= 8) {
				bits -= 8;
				hp_dec_byte(d, (unsigned char)(acc >> bits));
			}
		} else if (c == '_') {
			hp_dec_byte(d, ' ');
		} else if (c == '=' && i + 2 < n &&
			   (hi = hp_hex((unsigned char)t[i + 1])) >= 0 &&
			   (lo = hp_hex((unsigned char)t[i + 2])) >= 0) {
			hp_dec_byte(d, (unsigned char)(hi << 4 | lo));
			i += 2;
		} else {
			hp_dec_byte(d, c);
		}
	}
}

/* The encoded-words of a display-name word (quoted or not). */
static int
hp_word_encoded(struct hp *h, const struct hp_word *w)
{
	const char *p = w->s, *e = w->s + w->n, *cs, *q1, *q2, *end;
	struct hp_dec d;

	for (; p + 1 < e; p++) {
		if (p[0] != '=' || p[1] != '?')
			continue;
		cs = p + 2;
		if ((q1 = memchr(cs, '?', (size_t)(e - cs))) == NULL ||
		    e - q1 < 3 || q1[2] != '?' ||
		    strchr("BbQq", q1[1]) == NULL || q1[1] == '\0')
			continue;
		for (q2 = q1 + 3; q2 + 1 < e && !(q2[0] == '?' && q2[1] == '=');
		     q2++)
			;
		if (q2 + 1 >= e)
			continue;
		end = q2 + 2;
		memset(&d, 0, sizeof(d));
		d.cs = hp_charset(cs, (size_t)(q1 - cs));
		d.ascii = 1;
		if (d.cs == HP_CS_REFUSED)
			return hp_fail(h, "an encoded-word in a charset whose "
					  "decoding cannot be checked (use "
					  "UTF-8)");
		hp_dec_text(&d, q1[1] == 'B' || q1[1] == 'b', q1 + 3,
		    (size_t)(q2 - (q1 + 3)));
		if (d.bad)
			return hp_fail(h, "an encoded-word that decodes to "
					  "<, >, @, a parenthesis or a quote "
					  "(programs that decode first read an "
					  "address)");
		p = end - 1;
	}
	return 0;
}

static int hp_list(struct hp *, enum header_grammar, int, struct hp_list *);

/*
 * One address: an addr-spec, a name-addr ([phrase] angle-addr), or a
 * group (phrase ":" [mailbox-list] ";") where the grammar allows one.
 * The words before the first special tell which.
 */
static int
hp_address(struct hp *h, enum header_grammar g, int in_group, struct hp_list *l)
{
	struct hp_word first, w;
	int nwords = 0, rc;

	if (hp_cfws(h) == -1)
		return -1;
	while ((rc = hp_word(h, nwords ? &w : &first)) == 1) {
		if (hp_word_encoded(h, nwords ? &w : &first) == -1)
			return -1;
		nwords++;
		if (hp_cfws(h) == -1)
			return -1;
	}
	if (rc == -1)
		return -1;
	if (h->p == h->end)
		return hp_fail(h, nwords ? "a name without an <address>"
					 : "an empty address");
	switch (*h->p) {
	case '@':
		if (nwords != 1)
			return hp_fail(h, nwords ? "a local part with spaces "
						   "must be quoted"
						 : "nothing before @");
		if (hp_addr_spec(h, &first, l) == -1)
			return -1;
		if (h->p < h->end && *h->p == '<')
			return hp_fail(h, "an @ outside quotes in a display "
					  "name (write \"Name\" <address>)");
		if (h->p < h->end && *h->p == ':')
			return hp_fail(h, "an @ outside quotes in a group "
					  "name");
		return 0;
	case '<':
		if (nwords > 0 && !first.quoted && first.s[0] == '.')
			return hp_fail(h, "a display name beginning with a "
					  "dot");
		return hp_angle(h, l);
	case ':':
		if (g != HEADER_ADDRESS_LIST)
			return hp_fail(h, "a group (name: ...;) where only "
					  "mailboxes may be");
		if (in_group)
			return hp_fail(h, "a group inside a group");
		if (nwords == 0)
			return hp_fail(h, "a group without a name");
		h->p++;
		if (hp_cfws(h) == -1)
			return -1;
		if (h->p < h->end && *h->p != ';' && hp_list(h, g, 1, l) == -1)
			return -1;
		if (h->p == h->end || *h->p != ';')
			return hp_fail(h, "a group without its closing ;");
		h->p++;
		return hp_cfws(h);
	default:
		return hp_fail(h, nwords ? "a name without an <address>"
					 : "a character out of place");
	}
}

/* address *("," address), up to the end or, in a group, its ";". */
static int
hp_list(struct hp *h, enum header_grammar g, int in_group, struct hp_list *l)
{
	for (;;) {
		if (hp_address(h, g, in_group, l) == -1)
			return -1;
		if (h->p == h->end || (in_group && *h->p == ';'))
			return 0;
		if (*h->p != ',')
			return hp_fail(h, "text after an address");
		if (g == HEADER_MAILBOX)
			return hp_fail(h, "more than one address");
		h->p++;
	}
}

int
header_addresses(const char *val, size_t len, enum header_grammar g,
    char (*out)[ADDR_MAX + 1], int max, int *n, const char **why)
{
	struct hp h = { val, val + len, NULL, 0 };
	struct hp_list l = { out, max, 0 };
	int rc = -1;

	/* the field's own line end (the scan keeps its CR) */
	if (len >= 2 && h.end[-2] == '\r' && h.end[-1] == '\n')
		h.end -= 2;
	else if (len >= 1 && h.end[-1] == '\r')
		h.end--;
	if (!addr_utf8_is_valid((const unsigned char *)h.p,
		(size_t)(h.end - h.p)))
		hp_fail(&h, "bytes that are not UTF-8");
	else if (hp_cfws(&h) == 0 && h.p == h.end)
		hp_fail(&h, "no address");
	else if (h.why == NULL)
		rc = hp_list(&h, g, 0, &l);
	*n = rc == 0 ? l.n : 0;
	if (why != NULL)
		*why = rc == 0 ? NULL : h.why;
	return rc;
}
