/*
 * postern panel: plain JavaScript, no framework, no build step. Every
 * action is a call to the JSON API with the session cookie and, for a
 * change, the CSRF token. Secrets never go into a URL; the password link
 * carries its token in the fragment (#reset=...), which browsers do not
 * send to any server.
 */
'use strict';

(function () {
  var state = { csrf: '', address: '', servers: null, ticket: '', linkPurpose: 'reset' };

  function $(id) { return document.getElementById(id); }
  function show(el, on) { (typeof el === 'string' ? $(el) : el).hidden = !on; }
  function text(id, s) { $(id).textContent = s; }
  function enc(s) { return encodeURIComponent(s); }
  // The API's paths, in one place. /me routes act on the session's own
  // account only.
  var API = {
    about: '/api/v1/about',
    session: '/api/v1/session',
    totpLogin: '/api/v1/session/totp',
    me: '/api/v1/me',
    servers: '/api/v1/me/servers',
    smtp: '/api/v1/me/smtp-password',
    tos: '/api/v1/me/tos',
    apps: '/api/v1/me/app-passwords',
    app: function (label) { return '/api/v1/me/app-passwords/' + enc(label); },
    authLog: '/api/v1/me/auth-log?limit=50',
    totp: '/api/v1/me/totp',
    totpConfirm: '/api/v1/me/totp/confirm',
    totpDisable: '/api/v1/me/totp/disable',
    profile: '/api/v1/me/profile',
    passwordLink: '/api/v1/password/link',
    passwordSet: '/api/v1/password/reset',
    forward: '/api/v1/me/forward',
    forwardTarget: function (t) { return '/api/v1/me/forward/' + enc(t); },
    forwardMode: '/api/v1/me/forward/mode',
    forwardConfirm: '/api/v1/forward/confirm'
  };

  function ApiError(status, msg) { this.status = status; this.message = msg; }

  async function call(method, path, body, raw) {
    var opts = { method: method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    if (method !== 'GET' && state.csrf) opts.headers['X-CSRF-Token'] = state.csrf;
    var r = await fetch(path, opts);
    if (raw && r.ok) return r;
    var data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) {
      var msg = data && data.error ? data.error : 'The server answered ' + r.status + '.';
      if (r.status === 401 && path !== API.session && path !== API.totpLogin) signedOut();
      throw new ApiError(r.status, msg);
    }
    return data || {};
  }

  function fail(id, e) {
    var el = $(id);
    el.textContent = e && e.message ? e.message : String(e);
    el.hidden = false;
  }

  function when(t) {
    if (!t) return '—';
    var d = new Date(t * 1000);
    return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  async function copy(value, flag) {
    try {
      await navigator.clipboard.writeText(value);
    } catch (e) {
      // older browsers, or no permission: a selected, off-screen field
      var t = document.createElement('textarea');
      t.value = value;
      t.setAttribute('readonly', '');
      t.className = 'offscreen';
      document.body.appendChild(t);
      t.select();
      document.execCommand('copy');
      document.body.removeChild(t);
    }
    if (flag) {
      show(flag, true);
      setTimeout(function () { show(flag, false); }, 2000);
    }
  }

  // ---- routing between views ----

  var outViews = ['login', 'totp', 'forgot', 'reset', 'fwdconfirm'];
  var inViews = ['relay', 'apps', 'forward', 'signins', 'setup', 'security'];

  function showOut(name) {
    show('in', false);
    show('out', true);
    outViews.forEach(function (v) { show('v-' + v, v === name); });
    var focus = { login: 'login-address', totp: 'totp-code', forgot: 'forgot-address', reset: 'reset-password' }[name];
    if (focus) $(focus).focus();
  }

  function showIn(name) {
    if (inViews.indexOf(name) < 0) name = 'relay';
    show('out', false);
    show('in', true);
    show('global-error', false);
    inViews.forEach(function (v) { show('v-' + v, v === name); });
    document.querySelectorAll('.side a').forEach(function (a) {
      a.classList.toggle('active', a.dataset.view === name);
    });
    loaders[name]().catch(function (e) { fail('global-error', e); });
  }

  function route() {
    var h = location.hash.replace(/^#/, '');
    if (h.indexOf('reset=') === 0 || h.indexOf('create=') === 0) {
      // keep the token in memory only, and out of the address bar
      state.linkToken = h.slice(h.indexOf('=') + 1);
      history.replaceState(null, '', location.pathname + '#reset');
      return showOut('reset');
    }
    if (h === 'reset' && state.linkToken) return showOut('reset');
    if (h.indexOf('forward=') === 0) {
      // a forwarding target's link: whoever holds it confirms, signed in
      // or not; the token stays in memory, out of the address bar
      state.fwdToken = h.slice(h.indexOf('=') + 1);
      history.replaceState(null, '', location.pathname + '#confirm-forward');
      return showFwdConfirm();
    }
    if (h === 'confirm-forward' && state.fwdToken) return showOut('fwdconfirm');
    if (h === 'forgot' || h === 'create') {
      state.linkPurpose = h === 'create' ? 'create' : 'reset';
      text('forgot-title', h === 'create' ? 'Create a local password' : 'Forgot password');
      text('forgot-intro', h === 'create'
        ? 'Your account has no login password yet. We will send a link to your address; follow it to choose one.'
        : 'We will send a link to your address. Follow it to choose a new login password.');
      show('forgot-sent', false);
      show('f-forgot', true);
      return showOut('forgot');
    }
    if (!state.address) return showOut(state.ticket ? 'totp' : 'login');
    showIn(h);
  }

  function signedOut() {
    state.csrf = '';
    state.address = '';
    state.servers = null;
    state.ticket = '';
    if (location.hash !== '#login') location.hash = '#login';
    else route();
  }

  function signedIn(s) {
    state.csrf = s.csrf_token || '';
    state.address = s.address;
    state.ticket = '';
    text('who-address', s.address);
    location.hash = '#relay';
    route();
  }

  // ---- signing in and out ----

  $('f-login').addEventListener('submit', async function (ev) {
    ev.preventDefault();
    show('login-error', false);
    $('login-submit').disabled = true;
    try {
      var r = await call('POST', API.session, {
        address: $('login-address').value.trim(),
        password: $('login-password').value
      });
      $('login-password').value = '';
      if (r.totp_required) {
        state.ticket = r.ticket;
        $('totp-code').value = '';
        show('totp-error', false);
        showOut('totp');
      } else {
        signedIn(r);
      }
    } catch (e) {
      fail('login-error', e);
    } finally {
      $('login-submit').disabled = false;
    }
  });

  $('f-totp').addEventListener('submit', async function (ev) {
    ev.preventDefault();
    show('totp-error', false);
    $('totp-submit').disabled = true;
    try {
      signedIn(await call('POST', API.totpLogin, {
        ticket: state.ticket,
        code: $('totp-code').value.trim(),
        address: $('login-address').value.trim()
      }));
    } catch (e) {
      if (e.status === 401 && /expired|again/i.test(e.message)) state.ticket = '';
      fail('totp-error', e);
    } finally {
      $('totp-submit').disabled = false;
    }
  });

  $('logout').addEventListener('click', async function () {
    try { await call('DELETE', API.session); } catch (e) { /* gone already */ }
    signedOut();
  });

  document.querySelectorAll('.to-login').forEach(function (a) {
    a.addEventListener('click', function () { state.ticket = ''; });
  });

  // ---- password by e-mailed link ----

  $('f-forgot').addEventListener('submit', async function (ev) {
    ev.preventDefault();
    show('forgot-error', false);
    $('forgot-submit').disabled = true;
    try {
      var r = await call('POST', API.passwordLink, {
        address: $('forgot-address').value.trim(),
        purpose: state.linkPurpose
      });
      text('forgot-sent', r.message);
      show('forgot-sent', true);
      show('f-forgot', false);
    } catch (e) {
      fail('forgot-error', e);
    } finally {
      $('forgot-submit').disabled = false;
    }
  });

  $('f-reset').addEventListener('submit', async function (ev) {
    ev.preventDefault();
    show('reset-error', false);
    if ($('reset-password').value !== $('reset-again').value) {
      return fail('reset-error', 'The two passwords differ.');
    }
    $('reset-submit').disabled = true;
    try {
      await call('POST', API.passwordSet, { token: state.linkToken || '', password: $('reset-password').value });
      state.linkToken = '';
      $('reset-password').value = $('reset-again').value = '';
      show('f-reset', false);
      show('reset-done', true);
    } catch (e) {
      fail('reset-error', e);
    } finally {
      $('reset-submit').disabled = false;
    }
  });

  // ---- SMTP Auth Relay ----

  function portsText(me) {
    var p = [];
    if (me.submissions_port) p.push(me.submissions_port + ' (SSL/TLS)');
    if (me.submission_port) p.push(me.submission_port + ' (STARTTLS)');
    return p.join(' or ');
  }

  function hideSmtp() {
    var el = $('smtp-password');
    el.textContent = '••••••••••••••••••••';
    el.dataset.hidden = '1';
    $('reveal-smtp').setAttribute('aria-pressed', 'false');
    $('reveal-smtp').title = 'Show the password';
  }

  function showSmtp(pw) {
    var el = $('smtp-password');
    el.textContent = pw;
    el.dataset.hidden = '0';
    $('reveal-smtp').setAttribute('aria-pressed', 'true');
    $('reveal-smtp').title = 'Hide the password';
  }

  async function servers() {
    if (!state.servers) state.servers = await call('GET', API.servers);
    return state.servers;
  }

  async function loadRelay() {
    var me = await call('GET', API.me);
    var sv = await servers();
    hideSmtp();
    show('regen-confirm', false);
    show('regen-done', false);
    show('relay-blocked', !!me.blocked);
    if (me.blocked) {
      // user.show gives the reason as "blocked" (null when not blocked)
      text('blocked-reason', typeof me.blocked === 'string' ? me.blocked : 'not given');
      text('blocked-contact', sv.contact);
      $('blocked-contact').href = 'mailto:' + sv.contact;
    }
    var terms = !me.tos_accepted;
    show('relay-terms', terms);
    show('relay-creds', !terms);
    if (terms) text('terms-text', (await call('GET', API.tos)).text || '');
    text('relay-host', sv.hostname);
    text('relay-ports', portsText(sv));
    text('relay-login', me.address);
    showMailbox(me.quota && me.quota.mailbox);
  }

  // bytes as people read them: 1024-based, as quotas are given (2G)
  function size(n) {
    var u = ['bytes', 'KB', 'MB', 'GB', 'TB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 || n >= 10 || n % 1 === 0 ? Math.round(n) : n.toFixed(1)) + ' ' + u[i];
  }

  // the mailbox quota and what Dovecot last counted (null: not yet)
  function showMailbox(m) {
    show('mailbox-card', !!m);
    if (!m) return;
    var used = m.used || 0, msgs = m.messages || 0;
    var s = size(used) + ' in ' + msgs + (msgs === 1 ? ' message' : ' messages');
    text('mailbox-used', m.limit > 0 ? s + ', of ' + size(m.limit) : s + ' (no quota)');
    show('mailbox-bar', m.limit > 0);
    $('mailbox-bar').max = m.limit > 0 ? m.limit : 1;
    $('mailbox-bar').value = Math.min(used, m.limit > 0 ? m.limit : 0);
    show('mailbox-full', m.limit > 0 && used >= m.limit);
  }

  $('terms-accept').addEventListener('click', async function () {
    try {
      await call('POST', API.tos, {});
      await loadRelay();
    } catch (e) { fail('global-error', e); }
  });

  $('reveal-smtp').addEventListener('click', async function () {
    if ($('smtp-password').dataset.hidden === '0') return hideSmtp();
    try {
      var r = await call('GET', API.smtp);
      showSmtp(r.password);
    } catch (e) { fail('global-error', e); }
  });

  $('copy-smtp').addEventListener('click', async function () {
    try {
      var pw = $('smtp-password').dataset.hidden === '0' ? $('smtp-password').textContent
        : (await call('GET', API.smtp)).password;
      await copy(pw, 'copied-smtp');
    } catch (e) { fail('global-error', e); }
  });

  $('copy-login').addEventListener('click', function () { copy(state.address); });

  $('regen-start').addEventListener('click', function () {
    show('regen-confirm', true);
    show('regen-done', false);
  });
  $('regen-no').addEventListener('click', function () { show('regen-confirm', false); });
  $('regen-yes').addEventListener('click', async function () {
    $('regen-yes').disabled = true;
    try {
      var r = await call('POST', API.smtp, {});
      showSmtp(r.password);
      show('regen-confirm', false);
      show('regen-done', true);
    } catch (e) {
      fail('global-error', e);
    } finally {
      $('regen-yes').disabled = false;
    }
  });

  // ---- app passwords ----

  function cell(tr, s, cls) {
    var td = document.createElement('td');
    if (s instanceof Node) td.appendChild(s); else td.textContent = s;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  async function loadApps() {
    var r = await call('GET', API.apps);
    var rows = $('app-rows');
    rows.textContent = '';
    var live = (r.app_passwords || []).filter(function (a) { return !a.revoked; });
    live.forEach(function (a) {
      var tr = document.createElement('tr');
      cell(tr, a.label);
      cell(tr, when(a.created));
      cell(tr, a.last_used ? when(a.last_used) : 'never');
      var b = document.createElement('button');
      b.className = 'small';
      b.textContent = 'Revoke';
      b.dataset.label = a.label;
      b.addEventListener('click', async function () {
        if (b.dataset.armed !== '1') {
          b.dataset.armed = '1';
          b.textContent = 'Revoke now?';
          b.className = 'small danger';
          return;
        }
        try {
          await call('DELETE', API.app(a.label));
          await loadApps();
        } catch (e) { fail('app-error', e); }
      });
      cell(tr, b, 'right');
      rows.appendChild(tr);
    });
    show('app-table', live.length > 0);
    show('app-none', live.length === 0);
  }

  $('f-app').addEventListener('submit', async function (ev) {
    ev.preventDefault();
    show('app-error', false);
    var label = $('app-label').value.trim();
    try {
      var r = await call('POST', API.apps, { label: label });
      text('app-new-label', label);
      text('app-new-password', r.password);
      show('app-new', true);
      $('app-label').value = '';
      await loadApps();
    } catch (e) { fail('app-error', e); }
  });

  $('copy-app').addEventListener('click', function () {
    copy($('app-new-password').textContent, 'copied-app');
  });

  // ---- recent sign-ins ----

  async function loadSignins() {
    var r = await call('GET', API.authLog);
    var rows = $('signin-rows');
    rows.textContent = '';
    var ev = r.events || [];
    ev.forEach(function (e) {
      var tr = document.createElement('tr');
      cell(tr, when(e.time));
      cell(tr, e.ip);
      cell(tr, e.mech);
      cell(tr, (e.kind || '').replace(/_/g, ' '));
      var b = document.createElement('span');
      var ok = e.outcome === 'ok';
      b.className = 'badge ' + (ok ? 'ok' : 'fail');
      b.textContent = ok ? 'ok' : 'failed' + (e.reason ? ': ' + e.reason : '');
      cell(tr, b);
      rows.appendChild(tr);
    });
    show('signin-table', ev.length > 0);
    show('signin-none', ev.length === 0);
  }

  // ---- set up your mail program ----

  async function loadSetup() {
    var me = await servers();
    document.querySelectorAll('.host-code').forEach(function (e) { e.textContent = me.hostname; });
    document.querySelectorAll('.address-code').forEach(function (e) { e.textContent = me.address; });
    text('setup-ports', portsText(me));
    text('setup-imap-host', me.imap_host);
    var ip = [];
    if (me.imap_port) ip.push(me.imap_port + ' (SSL/TLS)');
    if (me.imap_starttls_port) ip.push(me.imap_starttls_port + ' (STARTTLS)');
    text('setup-imap-ports', ip.join(' or '));
    text('autoconfig-url', '/.well-known/autoconfig/mail/config-v1.1.xml');
    show('profile-error', false);
  }

  $('f-profile').addEventListener('submit', async function (ev) {
    ev.preventDefault();
    show('profile-error', false);
    show('profile-done', false);
    var device = $('profile-device').value.trim();
    try {
      var r = await call('POST', API.profile, { device: device }, true);
      var blob = await r.blob();
      var a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = state.address.replace(/[^A-Za-z0-9@._-]/g, '_') + '.mobileconfig';
      document.body.appendChild(a);
      a.click();
      document.body.removeChild(a);
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
      text('profile-done', 'Downloaded. It carries a new app password named “' + device + '”, listed under App passwords.');
      show('profile-done', true);
    } catch (e) { fail('profile-error', e); }
  });

  // ---- security: two-step sign-in ----

  async function loadSecurity() {
    var r = await call('GET', API.totp);
    show('totp-enrol', false);
    show('totp-codes', false);
    show('totp-off', !r.enabled);
    show('totp-on', !!r.enabled);
    show('totp-disable-error', false);
    if (r.enabled) {
      text('totp-since', when(r.since));
      text('totp-left', String(r.recovery_left));
    }
  }

  $('totp-start').addEventListener('click', async function () {
    try {
      var r = await call('POST', API.totp, {});
      $('totp-qr').src = 'data:image/svg+xml;base64,' + btoa(r.qr_svg);
      text('totp-secret', r.secret.replace(/(.{4})/g, '$1 ').trim());
      $('totp-confirm-code').value = '';
      show('totp-confirm-error', false);
      show('totp-off', false);
      show('totp-enrol', true);
      $('totp-confirm-code').focus();
    } catch (e) { fail('global-error', e); }
  });

  $('totp-cancel').addEventListener('click', function () { loadSecurity(); });

  $('f-totp-confirm').addEventListener('submit', async function (ev) {
    ev.preventDefault();
    show('totp-confirm-error', false);
    try {
      var r = await call('POST', API.totpConfirm, { code: $('totp-confirm-code').value.trim() });
      var ul = $('totp-code-list');
      ul.textContent = '';
      r.recovery_codes.forEach(function (c) {
        var li = document.createElement('li');
        li.textContent = c;
        ul.appendChild(li);
      });
      state.codes = r.recovery_codes.join('\n');
      show('totp-enrol', false);
      show('totp-codes', true);
    } catch (e) { fail('totp-confirm-error', e); }
  });

  $('copy-codes').addEventListener('click', function () { copy(state.codes || '', 'copied-codes'); });

  $('f-totp-disable').addEventListener('submit', async function (ev) {
    ev.preventDefault();
    show('totp-disable-error', false);
    try {
      await call('POST', API.totpDisable, { code: $('totp-disable-code').value.trim() });
      $('totp-disable-code').value = '';
      await loadSecurity();
    } catch (e) { fail('totp-disable-error', e); }
  });

  // ---- forwarding ----

  function fwdStatus(t) {
    var b = document.createElement('span');
    b.className = 'badge ' + (t.status === 'confirmed' ? 'ok' : t.status === 'pending' ? 'wait' : 'fail');
    b.textContent = t.status === 'confirmed' ? 'confirmed'
      : t.status === 'pending' ? 'waiting for confirmation' : 'link expired: add it again';
    return b;
  }

  async function loadForward() {
    var r = await call('GET', API.forward);
    text('fwd-address', r.address);
    $('fwd-keep').checked = r.mode !== 'only';
    $('fwd-only').checked = r.mode === 'only';
    var rows = $('fwd-rows');
    rows.textContent = '';
    (r.targets || []).forEach(function (t) {
      var tr = document.createElement('tr');
      cell(tr, t.target);
      cell(tr, fwdStatus(t));
      cell(tr, when(t.created));
      var b = document.createElement('button');
      b.className = 'small';
      b.textContent = 'Remove';
      b.addEventListener('click', async function () {
        if (b.dataset.armed !== '1') {
          b.dataset.armed = '1';
          b.textContent = 'Remove now?';
          b.className = 'small danger';
          return;
        }
        try {
          await call('DELETE', API.forwardTarget(t.target));
          show('fwd-sent', false);
          await loadForward();
        } catch (e) { fail('fwd-error', e); }
      });
      cell(tr, b, 'right');
      rows.appendChild(tr);
    });
    var n = (r.targets || []).length;
    show('fwd-table', n > 0);
    show('fwd-none', n === 0);
    $('fwd-add').disabled = n >= (r.max_targets || 10);
  }

  $('f-fwd').addEventListener('submit', async function (ev) {
    ev.preventDefault();
    show('fwd-error', false);
    show('fwd-sent', false);
    try {
      var r = await call('POST', API.forward, { target: $('fwd-target').value.trim() });
      text('fwd-sent', 'A link was sent to ' + r.target + '. Open it there to confirm.');
      show('fwd-sent', true);
      $('fwd-target').value = '';
      await loadForward();
    } catch (e) { fail('fwd-error', e); }
  });

  document.querySelectorAll('input[name="fwd-mode"]').forEach(function (el) {
    el.addEventListener('change', async function () {
      show('fwd-mode-saved', false);
      try {
        await call('PUT', API.forwardMode, { mode: el.value });
        show('fwd-mode-saved', true);
      } catch (e) { fail('fwd-error', e); }
    });
  });

  // the confirmation page: a GET shows what the link is for, and only
  // the button (a POST) confirms, so a link scanner confirms nothing
  async function showFwdConfirm() {
    showOut('fwdconfirm');
    ['fwdc-ask', 'fwdc-explain', 'fwdc-submit', 'fwdc-done', 'fwdc-error'].forEach(function (id) { show(id, false); });
    try {
      var r = await call('GET', API.forwardConfirm + '?token=' + enc(state.fwdToken || ''));
      text('fwdc-user', r.address);
      text('fwdc-target', r.target);
      show('fwdc-ask', true);
      show('fwdc-explain', true);
      show('fwdc-submit', true);
    } catch (e) { fail('fwdc-error', e); }
  }

  $('fwdc-submit').addEventListener('click', async function () {
    $('fwdc-submit').disabled = true;
    try {
      var r = await call('POST', API.forwardConfirm, { token: state.fwdToken || '' });
      state.fwdToken = '';
      text('fwdc-done-user', r.address);
      text('fwdc-done-target', r.target);
      ['fwdc-ask', 'fwdc-explain', 'fwdc-submit'].forEach(function (id) { show(id, false); });
      show('fwdc-done', true);
    } catch (e) {
      fail('fwdc-error', e);
    } finally {
      $('fwdc-submit').disabled = false;
    }
  });

  var loaders = { relay: loadRelay, apps: loadApps, forward: loadForward, signins: loadSignins, setup: loadSetup, security: loadSecurity };

  // ---- start: is there a session already? ----

  window.addEventListener('hashchange', route);
  (async function () {
    try {
      var about = await call('GET', API.about);
      document.querySelectorAll('.host-name').forEach(function (e) { e.textContent = about.name; });
      document.title = about.name + ' · Mail account';
    } catch (e) { /* the page works without the name */ }
    try {
      var s = await call('GET', API.session);
      state.csrf = s.csrf_token || '';
      state.address = s.address || '';
      text('who-address', state.address);
    } catch (e) { /* not signed in */ }
    route();
  })();
})();
