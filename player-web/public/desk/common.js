// What every part of the curator's desk shares: the session (its state, the bearer token kept for this tab in
// sessionStorage, the API calls with it), the status line, the confirmation dialog, the server's errors
// beside the fields, copying, and the desk's formats.
import { $, el } from '../dom.js';
import { ApiError, fetchJson } from '../api.js';
import { t, own, date, number, clock } from '../i18n.js';

export { ApiError, clock };

export const TOKEN_KEY = 'sreda.desk.token';

// recordings: the archived events with their recording's details (archive.js fills it; moderation lists them).
export const state = { me: null, studios: [], events: [], ingest: null, editing: null, timers: [],
  recordings: { list: [], details: new Map(), shown: '' } };

export const token = () => sessionStorage.getItem(TOKEN_KEY);

/** The API with this tab's token; a 401 (the session ended) shows the login. */
export async function api(method, path, body) {
  const headers = {};
  if (token()) headers.authorization = `Bearer ${token()}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  try {
    return await fetchJson(path, { method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    if (path !== '/api/login') loginIfExpired(err);
    throw err;
  }
}

/** A 401 means the session ended: the login comes back (true). Other errors are the caller's (false). */
export function loginIfExpired(err) {
  if (!(err instanceof ApiError) || err.status !== 401) return false;
  showLogin(t('desk.session.expired'));
  return true;
}

export function stopTimers() {
  for (const id of state.timers) clearInterval(id);
  state.timers = [];
}

export function showLogin(message, focus = true) {
  stopTimers();
  sessionStorage.removeItem(TOKEN_KEY);
  state.me = null;
  $('app').hidden = true;
  $('who-bar').hidden = true;
  $('login-section').hidden = false;
  $('login-error').textContent = message || '';
  $('password').value = '';
  if (focus) $('username').focus();
}

/** The server's error in the curator's language: by message, by code, else the server's own words. */
export function serverText(err) {
  const byMessage = own(`srv.${err.message}`);
  if (byMessage) return byMessage;
  const byCode = own(`srv.code.${err.code}`);
  if (byCode) return err.code === 'network' || err.code === 'bad_credentials' ? byCode : `${byCode} (${err.message})`;
  return err.message;
}

export function notice(text) {
  // Cleared first so that the same text twice is announced twice.
  $('status').textContent = '';
  setTimeout(() => { $('status').textContent = text; }, 50);
}

export const fmt = {
  day: (d) => date(d, { weekday: 'short', day: 'numeric', month: 'short' }),
  dateTime: (iso) => date(iso, { weekday: 'short', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit' }),
  time: (iso) => date(iso, { hour: '2-digit', minute: '2-digit' }),
  now: () => date(new Date(), { hour: 'numeric', minute: 'numeric', second: 'numeric' }),
  number: (v, digits = 0) => number(Number(v), { maximumFractionDigits: digits }),
};

/** Re-renders a list, keeping the focus on the same button of the same item. */
export function keepFocus(host, render) {
  const a = document.activeElement;
  const li = a && host.contains(a) ? a.closest('li') : null;
  const key = li ? [li.id, a.dataset.action] : null;
  render();
  if (!key || !$(key[0])) return;
  const item = $(key[0]);
  (item.querySelector(`button[data-action="${key[1]}"]`) || item.querySelector('button') || item).focus();
}

// ---- confirmation dialog ----

export function confirmDialog(text) {
  const dlg = $('confirm');
  $('confirm-text').textContent = text;
  const back = document.activeElement;
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => {
      if (back && back.isConnected) back.focus();
      resolve(dlg.returnValue === 'yes');
    }, { once: true });
    dlg.returnValue = '';
    dlg.showModal();
    $('confirm-no').focus();
  });
}

/** Asks `question`; on yes runs `action` (its API calls and reloads), then says `done` (when given). A refusal
 *  is said in the curator's words. Whether it was done. */
export async function confirmThen(question, action, done) {
  if (!(await confirmDialog(question))) return false;
  try {
    await action();
    if (done) notice(done);
    return true;
  } catch (err) {
    if (err instanceof ApiError) notice(serverText(err.error));
    return false;
  }
}

// ---- field errors (aria-describedby points at the message beside the field) ----

export function clearErrors(form) {
  for (const p of form.querySelectorAll('.field-error, .form-error')) p.textContent = '';
  for (const f of form.querySelectorAll('[aria-invalid]')) {
    f.removeAttribute('aria-invalid');
    f.removeAttribute('aria-describedby');
  }
}

/** Shows an ApiError on `form`: per field where the server names one, else above the form. */
export function showErrors(form, prefix, err) {
  clearErrors(form);
  const list = err.error.fields || (err.error.field ? [{ field: err.error.field, message: err.error.message }] : []);
  let first = null;
  for (const fe of list) {
    const id = prefix ? `${prefix}-${fe.field}` : fe.field;
    const input = $(id);
    const out = $(`${id}-error`);
    if (!input || !out) continue;
    const e = { ...err.error, field: fe.field, message: fe.message };
    out.textContent = out.textContent ? `${out.textContent} ${serverText(e)}` : serverText(e);
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', out.id);
    first = first || input;
  }
  const formError = form.querySelector('.form-error');
  if (first) {
    formError.textContent = list.length > 1 ? t('desk.event.errors', { n: list.length }) : '';
    first.focus();
  } else {
    formError.textContent = serverText(err.error);
  }
}

// ---- copying ----

export async function copy(text, what) {
  try {
    if (!navigator.clipboard || !window.isSecureContext) throw new Error('no clipboard API');
    await navigator.clipboard.writeText(text);
  } catch {
    // Plain http on a LAN address: the old way, through a selected off-screen text area.
    const ta = el('textarea', { class: 'offscreen', readOnly: true, value: text, 'aria-hidden': 'true', tabIndex: -1 });
    document.body.append(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    if (!ok) return notice(t('desk.copy.failed'));
  }
  notice(t('desk.copied', { what }));
}

/** Fetches `url` with this tab's token and saves it as the file `name` (a CSV or JSON report). False when the
 *  server said no. */
export async function saveFile(url, name) {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token()}` } });
  if (!res.ok) return false;
  const a = el('a', { href: URL.createObjectURL(await res.blob()), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  return true;
}
