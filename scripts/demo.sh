#!/bin/sh
# make run: a demo setup in ./demo (made once, kept across runs) with the
# domain example.test and the user demo@example.test, its credentials
# printed, then the whole service on this machine: postern (submission,
# the MX, the panel) and a Dovecot of the demo's own for the mailboxes
# (config, mail and sockets in demo/dovecot, IMAP on loopback ports, never
# the system's /etc/dovecot). A message the demo user sends to themselves
# is checked to land in their INBOX. Ctrl-C stops both.
set -e
bin=$1
dir=$2
conf="$dir/postern.conf"
p() { "$bin" -c "$conf" "$@"; }
# the value of a key of the config (every key name is used once)
get() { sed -n "s/^$1 = //p" "$conf"; }
# key = value in [section]: replaced, or added under the section's head
set_key() {
	if grep -q "^$2 = " "$conf"; then
		sed -i "s|^$2 = .*|$2 = $3|" "$conf"
	else
		sed -i "/^\[$1\]\$/a $2 = $3" "$conf"
	fi
}

# made once; a config made beforehand (other ports: the tests) is used
[ -f "$conf" ] || "$bin" init --dir "$dir" --hostname localhost >/dev/null
if [ ! -f "$dir/.login-password" ]; then
	# capture mode: messages for the world land in demo/data/capture,
	# nothing leaves (the demo's own mailboxes still get theirs)
	sed -i 's/^mode = mx$/mode = capture/' "$conf"
	# the panel over plain HTTP on loopback (HTTPS elsewhere), and the
	# links it mails point there
	sed -i -e 's/^tls = on$/tls = auto/' \
	    -e "s|^url = \$|url = http://$(get http)/|" \
	    -e 's/^name = $/name = Example Mail (demo)/' "$conf"
	p domain add example.test >/dev/null
	printf 'demo-login-%s\n' "$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')" \
	    >"$dir/.login-password"
	chmod 600 "$dir/.login-password"
	p user add demo@example.test --password-stdin <"$dir/.login-password" >/dev/null
	printf 'Demo terms: be kind to the mail system.\n' >"$dir/tos.txt"
	p tos set "$dir/tos.txt" >/dev/null
	p tos accept demo@example.test >/dev/null
fi
dir=$(cd "$dir" && pwd)
conf="$dir/postern.conf"
login_pw=$(cat "$dir/.login-password")

# Dovecot: its folder is demo/dovecot; its users (dovecot for the mail,
# dovenull for logins) must reach it, and a clone in /root is out of
# their reach: then the folder is in /var/tmp and demo/dovecot points there
imap=""
why=""
if [ "$(id -u)" != 0 ]; then
	why="not root"
elif ! command -v dovecot >/dev/null 2>&1 || ! id dovecot >/dev/null 2>&1; then
	why="no Dovecot (scripts/deps.sh run installs dovecot-imapd dovecot-lmtpd)"
else
	imap=yes
	if [ -L "$dir/dovecot" ]; then
		mkdir -p "$(readlink "$dir/dovecot")"
	elif ! runuser -u dovecot -- test -x "$dir"; then
		far="/var/tmp/postern-demo-$(printf %s "$dir" | cksum | cut -d' ' -f1)"
		mkdir -p "$far"
		ln -s "$far" "$dir/dovecot"
	fi
	mkdir -p "$dir/dovecot"
	dc=$(cd "$dir/dovecot" && pwd -P)
	chmod 755 "$dc"
	mkdir -p "$dc/run" "$dc/state" "$dc/mail"
	chmod 755 "$dc/run" "$dc/state" "$dc/mail"
	chown dovecot:dovecot "$dc/mail"
	dconf="$dc/dovecot.conf"
	# a Dovecot left running by an earlier demo (kill -9) goes first
	dovecot -c "$dconf" stop >/dev/null 2>&1 || true
	# postern hands its users' mail to this Dovecot and answers its
	# logins; the set-up files name its IMAP ports (loopback, 2143 with
	# STARTTLS and 2993 with TLS unless the config names others)
	set_key mailbox lmtp "unix:$dc/lmtp"
	set_key mailbox auth_socket data/auth.sock
	# removing a user ends their open IMAP sessions
	set_key mailbox doveadm "$(command -v doveadm) -c $dc/dovecot.conf"
	case $(get imap_port) in "" | 993) set_key panel imap_port 2993 ;; esac
	case $(get imap_starttls_port) in
	"" | 143) set_key panel imap_starttls_port 2143 ;;
	esac
	imap_port=$(get imap_starttls_port)
	imaps_port=$(get imap_port)
	p dovecot-config --base-dir "$dc" --mail-dir "$dc/mail" \
	    --mail-user dovecot --listen 127.0.0.1 --imap-port "$imap_port" \
	    --imaps-port "$imaps_port" --auth-as-root >"$dconf"
fi

smtp_pw=$(p --json smtp-password show demo@example.test |
    sed -n 's/.*"password": "\(.*\)".*/\1/p')
cat <<MSG

postern demo in $dir (config $conf)
  domain:            example.test
  user:              demo@example.test
  SMTP login:        demo@example.test
  SMTP password:     $smtp_pw
  login password:    $login_pw   (control panel, IMAP)
  control panel:     http://$(get http)/   (sign in as demo@example.test
                     with the login password above)
  submission:        $(get submission) (STARTTLS)   submissions: $(get submissions) (TLS)
  relay, MX (port 25): $(get smtp)
MSG
if [ -n "$imap" ]; then
	cat <<MSG
  IMAP:              127.0.0.1:$imap_port (STARTTLS)   IMAPS: 127.0.0.1:$imaps_port (TLS)
                     user demo@example.test, the login password above
                     (never the SMTP password); Dovecot in $dc
  delivery:          example.test -> its INBOX (Dovecot, over LMTP)
                     anywhere else -> capture, $dir/data/capture
MSG
else
	cat <<MSG
  IMAP:              off ($why)
  delivery:          capture -> $dir/data/capture
MSG
fi
cat <<MSG

Try:
  swaks --server $(get submission) -tls --auth PLAIN \\
        --auth-user demo@example.test --auth-password '$smtp_pw' \\
        --from demo@example.test --to someone@example.com
  $bin -c $conf user show demo@example.test
MSG
[ -z "$imap" ] || cat <<MSG
  curl -k --url imaps://127.0.0.1:$imaps_port/INBOX \\
       --user 'demo@example.test:$login_pw'
MSG

if ! "$bin" serve --help >/dev/null 2>&1; then
	exit 0
fi

pid=""
# shellcheck disable=SC2317 # called by the traps
stop() {
	trap - INT TERM HUP EXIT
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [ -n "$imap" ]; then
		echo "Stopping Dovecot ..."
		dovecot -c "$dconf" stop >/dev/null 2>&1 || true
		echo "Dovecot stopped."
	fi
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM HUP
trap stop EXIT

if [ -n "$imap" ]; then
	echo "Starting Dovecot ($dconf) ..."
	if ! dovecot -c "$dconf"; then
		echo "Dovecot did not start: see $dc/dovecot.log" >&2
		exit 1
	fi
fi
echo "Starting postern (Ctrl-C stops it) ..."
"$bin" -c "$conf" serve &
pid=$!

# the demo user writes to themselves (submission, AUTH); the message
# must be in their INBOX, as Dovecot sees it
if [ -n "$imap" ] && ! command -v swaks >/dev/null 2>&1; then
	echo "No swaks (scripts/deps.sh run installs it): the demo's message" \
	    "to itself is not sent."
elif [ -n "$imap" ]; then
	token="demo-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
	inbox="$dc/mail/example.test/demo"
	ok=""
	i=0
	while [ $i -lt 50 ] && kill -0 "$pid" 2>/dev/null; do
		if swaks --silent 2 --server "$(get submission)" -tls \
		    --auth PLAIN --auth-user demo@example.test \
		    --auth-password "$smtp_pw" --from demo@example.test \
		    --to demo@example.test \
		    --header "Subject: postern demo: to myself ($token)" \
		    --body "Sent by make run through submission with AUTH." \
		    >"$dir/.selftest.log" 2>&1; then
			ok=sent
			break
		fi
		i=$((i + 1))
		sleep 0.2
	done
	i=0
	while [ "$ok" = sent ] && [ $i -lt 100 ]; do
		if grep -rqs "$token" "$inbox/new" "$inbox/cur"; then
			ok=delivered
			break
		fi
		i=$((i + 1))
		sleep 0.2
	done
	if [ "$ok" = delivered ] && doveadm -c "$dconf" auth test -x \
	    service=imap demo@example.test "$login_pw" >/dev/null 2>&1; then
		echo "Checked: demo@example.test wrote to itself (submission, AUTH)" \
		    "and the message is in its INBOX; IMAP takes the login password."
	elif [ "$ok" = delivered ]; then
		echo "Checked: the demo's message to itself is in its INBOX," \
		    "but Dovecot refused the login password: see $dc/dovecot.log" >&2
	elif [ "$ok" = sent ]; then
		echo "The demo's message to itself did not reach its INBOX:" \
		    "see postern's log above and $dc/dovecot.log" >&2
	else
		echo "The demo's message to itself was not accepted:" \
		    "see $dir/.selftest.log" >&2
	fi
fi

# until postern ends (Ctrl-C: the traps stop it and Dovecot)
rc=0
wait "$pid" || rc=$?
pid=""
exit $rc
