/*
 * psl: the Public Suffix List as a hash set of rules, each name with the
 * kinds of rule it is (plain "a.b", wildcard "*.a.b" kept as "a.b",
 * exception "!c.a.b" kept as "c.a.b"). A lookup tries each suffix of
 * the name once: a few hash probes per label.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "psl.h"
#include "../mail/addr.h"
#include "../util/log.h"
#include "../util/str.h"

#define PSL_PLAIN 1
#define PSL_WILD 2
#define PSL_EXC 4

struct psl_slot {
	char *name; /* NULL: empty */
	int kinds;
};

struct psl {
	struct psl_slot *slot;
	size_t mask, n;
};

static struct psl *psl_list;
static atomic_int psl_warned;

static void
psl_table_free(struct psl *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; t->slot != NULL && i <= t->mask; i++)
		free(t->slot[i].name);
	free(t->slot);
	free(t);
}

static struct psl_slot *
psl_find(const struct psl *t, const char *name)
{
	size_t i = (size_t)str_hash(name) & t->mask;

	while (t->slot[i].name != NULL && strcmp(t->slot[i].name, name) != 0)
		i = (i + 1) & t->mask;
	return &t->slot[i];
}

static int
psl_add(struct psl *t, const char *name, int kind)
{
	struct psl_slot *s = psl_find(t, name);

	if (s->name == NULL) {
		/* The table is sized for every line: it never fills. */
		if (t->n + 1 > t->mask / 2 || (s->name = strdup(name)) == NULL)
			return -1;
		t->n++;
	}
	s->kinds |= kind;
	return 0;
}

/* A rule's name in the form names are asked in; -1 to skip the rule. */
static int
psl_rule_name(const char *in, char *out, size_t outlen)
{
	char err[128];
	size_t i;

	for (i = 0; in[i] != '\0'; i++)
		if ((unsigned char)in[i] >= 0x80)
			return addr_host_canon(in, out, outlen, err,
			    sizeof(err));
	if (str_lcpy(out, in, outlen) >= outlen)
		return -1;
	str_ascii_lower(out);
	return 0;
}

static int
psl_parse(struct psl *t, char *text)
{
	char *line, *save = NULL, *rule, name[ADDR_DOMAIN_MAX + 1];
	int kind;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		/* A rule is the line's first word; "//" starts a comment. */
		rule = line + strspn(line, " \t\r");
		rule[strcspn(rule, " \t\r")] = '\0';
		if (rule[0] == '\0' || strncmp(rule, "//", 2) == 0)
			continue;
		kind = PSL_PLAIN;
		if (rule[0] == '!') {
			kind = PSL_EXC;
			rule++;
		} else if (strncmp(rule, "*.", 2) == 0) {
			kind = PSL_WILD;
			rule += 2;
		}
		if (psl_rule_name(rule, name, sizeof(name)) == -1)
			continue;
		if (psl_add(t, name, kind) == -1)
			return -1;
	}
	return 0;
}

int
psl_load(const char *path)
{
	struct psl *t;
	char *text;
	size_t len, lines = 0, i, cap = 16;

	if ((text = str_read_file(path, PSL_FILE_MAX, &len)) == NULL) {
		log_warnx("dmarc.psl path=%s error=\"cannot read\" "
			  "fallback=\"last two labels\"",
		    path);
		atomic_store(&psl_warned, 1);
		return -1;
	}
	for (i = 0; i < len; i++)
		lines += text[i] == '\n';
	if (lines > PSL_RULES_MAX)
		lines = PSL_RULES_MAX;
	while (cap < 4 * (lines + 1))
		cap *= 2;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->slot = calloc(cap, sizeof(*t->slot))) == NULL) {
		free(t);
		free(text);
		return -1;
	}
	t->mask = cap - 1;
	if (psl_parse(t, text) == -1 || t->n == 0) {
		log_warnx("dmarc.psl path=%s error=\"%s\" "
			  "fallback=\"last two labels\"",
		    path, t->n == 0 ? "no rules" : "too many rules");
		atomic_store(&psl_warned, 1);
		psl_table_free(t);
		free(text);
		return -1;
	}
	free(text);
	psl_table_free(psl_list);
	psl_list = t;
	log_info("dmarc.psl path=%s rules=%zu", path, t->n);
	return 0;
}

void
psl_free(void)
{
	psl_table_free(psl_list);
	psl_list = NULL;
}

static int
psl_kinds(const char *name)
{
	return psl_find(psl_list, name)->kinds;
}

/* Labels in the public suffix of name (1 when no rule matches: the
 * implicit "*"); the prevailing rule is an exception, else the longest
 * match. */
static int
psl_suffix_labels(const char *name, int nlabels)
{
	const char *s = name, *next;
	int k = nlabels, best = 1, exc = 0, kinds;

	for (; k >= 1; k--, s = next + 1) {
		next = strchr(s, '.');
		kinds = psl_kinds(s);
		if ((kinds & PSL_EXC) && !exc)
			exc = k - 1;
		if ((kinds & PSL_PLAIN) && k > best)
			best = k;
		/* "*.rest" matches this name when rest is the suffix
		 * one label shorter */
		if (next != NULL && (psl_kinds(next + 1) & PSL_WILD) &&
		    k > best)
			best = k;
		if (next == NULL)
			break;
	}
	return exc ? exc : best;
}

int
psl_org_domain(const char *domain, char *out, size_t outlen)
{
	const char *p;
	int n = 1, keep, skip;

	if (domain[0] == '\0')
		return -1;
	for (p = domain; *p != '\0'; p++)
		n += *p == '.';
	if (psl_list == NULL) {
		if (atomic_exchange(&psl_warned, 1) == 0)
			log_warnx("dmarc.psl error=\"no list loaded\" "
				  "fallback=\"last two labels\"");
		keep = 2;
	} else {
		keep = psl_suffix_labels(domain, n) + 1;
	}
	for (p = domain, skip = n - keep; skip > 0; skip--)
		p = strchr(p, '.') + 1;
	return str_lcpy(out, p, outlen) < outlen ? 0 : -1;
}
