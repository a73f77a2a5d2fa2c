/* mailbox_login: see mailbox_login.h. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cred.h"
#include "mailbox_login.h"
#include "secret.h"
#include "../store/store.h"
#include "../util/str.h"

void
mailbox_login_verify(struct store *st, const struct secret_keys *keys,
    const char *login, const char *password, const char *ip,
    const char *service, int64_t now, struct mailbox_login *out)
{
	char canon[ADDR_MAX + 1], why[160], hash[crypto_pwhash_STRBYTES];
	int64_t app_id = 0, totp = 0, last = 0;
	struct store_auth_event ev;
	struct store_user u;
	struct addr a;
	int found = 0, rc;

	memset(out, 0, sizeof(*out));
	canon[0] = '\0';
	if (strlen(password) <= MAILBOX_PASSWORD_MAX && password[0] &&
	    addr_login_canon(login, canon, sizeof(canon), why, sizeof(why)) ==
		0 &&
	    addr_parse(canon, &a, why, sizeof(why)) == 0 &&
	    store_user_get(st, &a, &u) == 0) {
		found = 1;
		snprintf(out->address, sizeof(out->address), "%s@%s", u.local,
		    u.domain);
		str_lcpy(out->account, out->address, sizeof(out->account));
	}
	if (found) {
		/* app passwords first: cheap, and the only way with TOTP */
		rc = cred_app_verify(st, keys, u.id, password, &app_id);
		if (rc == 1) {
			out->ok = 1;
			out->kind = STORE_CRED_APP;
			store_app_used(st, app_id, now);
		} else if ((rc = store_totp_get(st, u.id, NULL, 0, &totp,
				&last)) != 0 &&
			   rc != STORE_NOTFOUND) {
			out->reason = "store failure";
		} else if (totp) {
			out->kind = STORE_CRED_APP;
			out->reason = "two-step sign-in: app passwords only";
			/* the same cost as a wrong password */
			secret_pwhash_dummy(password);
		} else if (store_login_password_get(st, u.id, hash,
			       sizeof(hash)) == 0) {
			out->kind = "login_password";
			out->ok = secret_pwhash_verify(hash, password);
			if (!out->ok)
				out->reason = "wrong password";
		} else {
			out->kind = "login_password";
			out->reason = "no login password";
			secret_pwhash_dummy(password);
		}
	} else {
		out->reason = "unknown login";
		secret_pwhash_dummy(password);
	}
	sodium_memzero(hash, sizeof(hash));
	if (!out->ok)
		out->address[0] = '\0';
	memset(&ev, 0, sizeof(ev));
	ev.time = now;
	ev.login = found ? out->account : canon[0] ? canon : login;
	ev.ip = ip;
	ev.mech = service;
	ev.kind = out->kind;
	ev.outcome = out->ok ? "ok" : "failed";
	ev.reason = out->ok ? NULL : out->reason;
	store_auth_log(st, &ev);
}
