// The curator's desk (/desk): log in, then the desk's parts, each a module in desk/: studios (keys, OBS
// settings, the artist's link), events (and the week at a glance), the live monitor, moderation (comments,
// bans, slow mode, the log), word lists, recordings, ratings and the residents' wishes. desk/common.js holds what they share: the
// session, the API calls with its token, the status line, dialogs and field errors. Talks only to the REST
// API (/api, bearer token kept for this tab in sessionStorage). Plain DOM, text only (never innerHTML with
// server data); every string from i18n.js.
// This module logs in and out, starts the refresh rounds and draws everything again in another language.
import { $ } from './dom.js';
import * as i18n from './i18n.js';
import { state, api, ApiError, serverText, notice, clearErrors, showErrors, showLogin, TOKEN_KEY } from './desk/common.js';
import { loadStudios, renderStudios } from './desk/studios.js';
import { fillCategorySelect, resetEventForm, loadEvents, renderEvents } from './desk/events.js';
import { monitor, clearMonitor } from './desk/monitor.js';
import { mod, moderation, renderModeration, showSlow } from './desk/moderation.js';
import { renderLog } from './desk/modlog.js';
import { loadWords } from './desk/words.js';
import { loadRecordings, renderRecordings } from './desk/archive.js';
import { relabelRelays, reloadOpenPanels } from './desk/relays.js';
import { renderReports } from './desk/reports.js';
import { renderSeason } from './desk/season.js';
import { loadWishes, renderWishes } from './desk/wishes.js';

const { t } = i18n;
const MONITOR_MS = 3000;
const REFRESH_MS = 30000;

// ---- login / logout ----

async function enter(me) {
  state.me = me;
  $('login-section').hidden = true;
  $('app').hidden = false;
  $('who-bar').hidden = false;
  $('who').textContent = t('desk.logged.as', { name: me.username });
  const admin = me.role === 'admin';
  $('studio-form').hidden = !admin;
  $('studio-admin-only').hidden = admin;
  try {
    state.ingest = await api('GET', '/api/ingest');
  } catch {
    state.ingest = null;
  }
  await refresh();
  monitor();
  loadWords();
  state.timers.push(setInterval(monitor, MONITOR_MS), setInterval(moderation, MONITOR_MS), setInterval(refresh, REFRESH_MS));
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = ev.currentTarget;
  clearErrors(form);
  try {
    const j = await api('POST', '/api/login', { username: $('username').value.trim(), password: $('password').value });
    sessionStorage.setItem(TOKEN_KEY, j.token);
    $('password').value = '';
    await enter(j.curator);
    $('monitor-h').focus();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showErrors(form, '', err);
    if (!err.error.field) {
      $('password').value = '';  // typed again from scratch
      $('password').focus();
    }
  }
});

$('logout').addEventListener('click', async () => {
  try { await api('POST', '/api/logout'); } catch { /* the token goes anyway */ }
  showLogin('');
});

// ---- everything ----

async function refresh() {
  try {
    await loadStudios();
    await loadEvents();
    renderReports();
    renderSeason();
    await loadRecordings();
    await loadWishes();
    reloadOpenPanels();
  } catch (err) {
    if (err instanceof ApiError && err.status !== 401) notice(serverText(err.error));
  }
}

function showTimeZone() {
  $('event-tz').textContent = t('desk.event.tz', { tz: Intl.DateTimeFormat().resolvedOptions().timeZone });
}

function rerender() {
  document.title = t('desk.title');
  fillCategorySelect();
  showTimeZone();
  if (!state.me) return;
  $('who').textContent = t('desk.logged.as', { name: state.me.username });
  relabelRelays();
  renderStudios();
  renderEvents();
  renderRecordings();
  renderReports();
  renderSeason();
  renderModeration();
  renderWishes();
  renderLog();
  showSlow(mod.eventId, mod.slow);
  loadRecordings().catch(() => {});
  clearMonitor();
  monitor();
}

i18n.apply();
i18n.onChange(rerender);
fillCategorySelect();
resetEventForm();
showTimeZone();
if (sessionStorage.getItem(TOKEN_KEY)) {
  api('GET', '/api/me').then(enter).catch(() => showLogin('', false));
} else {
  showLogin('', false);
}
