/*
 * dictproto: the lines of Dovecot 2.3's dict protocol, as its "proxy"
 * dict client writes them (lib-dict/dict-client.c, protocol 3.x): one
 * command letter, then fields separated by tabs, each tab-escaped (\001
 * then 1, t, r, n or 0). dict.c serves them; this only reads a line into
 * a request and writes the escaped form of a value. Pure: no I/O, no
 * store, fuzzed (fuzz/fuzz_dictproto.c).
 */
#ifndef POSTERN_DICTPROTO_H
#define POSTERN_DICTPROTO_H

#include <stddef.h>
#include <stdint.h>

#define DICTP_LINE_MAX 4096 /* a key, a user name, a number: short */
#define DICTP_FIELDS_MAX 6

enum dictp_cmd {
	DICTP_HELLO = 'H',	  /* major minor value_type user dict_name */
	DICTP_LOOKUP = 'L',	  /* key [user] */
	DICTP_ITERATE = 'I',	  /* flags max_rows path [user] */
	DICTP_BEGIN = 'B',	  /* id [user] */
	DICTP_COMMIT = 'C',	  /* id */
	DICTP_COMMIT_ASYNC = 'D', /* id */
	DICTP_ROLLBACK = 'R',	  /* id */
	DICTP_SET = 'S',	  /* id key value */
	DICTP_UNSET = 'U',	  /* id key */
	DICTP_INC = 'A',	  /* id key diff */
	DICTP_TIMESTAMP = 'T',	  /* id secs nsecs */
};

struct dictp_req {
	int cmd;		   /* enum dictp_cmd */
	unsigned int major, minor; /* H */
	unsigned int id;	   /* a transaction's */
	const char *key, *value;   /* into the line */
	const char *user;	   /* "" when not given */
	const char *name;	   /* H: the dict's name */
	int64_t diff;		   /* A */
};

/*
 * One line without its LF (len bytes, NUL-terminated at len), unescaped
 * in place: 0, or -1 for anything else (an unknown command, a field
 * missing or too many, a number that is not one, a NUL). A HELLO of
 * another major version than 3 is refused too.
 */
int dictp_parse(char *line, size_t len, struct dictp_req *);

/* A signed decimal of at most 18 digits (a SET's value): 0 or -1. */
int dictp_number(const char *, int64_t *);

/* src tab-escaped into dst (NUL-terminated): its length, or -1 if it
 * does not fit. */
long dictp_escape(char *dst, size_t dstlen, const char *src);

/* What a key names, for postern. */
enum dictp_key {
	DICTP_KEY_OTHER,
	DICTP_KEY_USERDB,	 /* shared/userdb/USER: *user is USER */
	DICTP_KEY_QUOTA_BYTES,	 /* priv/quota/storage */
	DICTP_KEY_QUOTA_MESSAGES /* priv/quota/messages */
};
enum dictp_key dictp_key(const char *key, const char **user);

#endif
