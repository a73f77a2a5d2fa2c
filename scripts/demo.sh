#!/bin/sh
# make run: a demo setup in ./demo (made once, kept across runs) with the
# domain example.test and the user demo@example.test, its credentials
# printed, then the server in the foreground (Ctrl-C stops it).
set -e
bin=$1
dir=$2
conf="$dir/postern.conf"
p() { "$bin" -c "$conf" "$@"; }

if [ ! -f "$conf" ]; then
	"$bin" init --dir "$dir" --hostname localhost >/dev/null
	# capture mode: messages land in demo/data/capture, nothing leaves
	sed -i 's/^mode = mx$/mode = capture/' "$conf"
	# the panel over plain HTTP on loopback (HTTPS elsewhere), and the
	# links it mails point there
	sed -i -e 's/^tls = on$/tls = auto/' \
	    -e "s|^url = \$|url = http://$(sed -n 's/^http = //p' "$conf")/|" \
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

smtp_pw=$(p --json smtp-password show demo@example.test |
    sed -n 's/.*"password": "\(.*\)".*/\1/p')
listen() { sed -n "s/^$1 = //p" "$conf"; }
cat <<MSG

postern demo in $dir (config $conf)
  domain:            example.test
  user:              demo@example.test
  SMTP login:        demo@example.test
  SMTP password:     $smtp_pw
  login password:    $(cat "$dir/.login-password")   (control panel, IMAP)
  control panel:     http://$(listen http)/   (sign in as demo@example.test
                     with the login password above)
  submission:        $(listen submission) (STARTTLS)   submissions: $(listen submissions) (TLS)
  relay (port 25):   $(listen smtp)
  delivery:          capture -> $dir/data/capture

Try:
  swaks --server $(listen submission) -tls --auth PLAIN \\
        --auth-user demo@example.test --auth-password '$smtp_pw' \\
        --from demo@example.test --to someone@example.com
  $bin -c $conf user show demo@example.test
MSG

if "$bin" serve --help >/dev/null 2>&1; then
	echo "Starting postern (Ctrl-C stops it) ..."
	exec "$bin" -c "$conf" serve
fi
