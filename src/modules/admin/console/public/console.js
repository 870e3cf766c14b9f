// @ts-check
// The admin console: a page over the service's own admin API, nothing else.
// Tokens: the access token lives in this module's memory only; the refresh
// token in sessionStorage (this tab only, gone when it closes), so a reload
// signs back in without asking. Nothing goes to localStorage or a cookie.
// Every value from the API reaches the page through textContent, never as HTML.

const API = '/api/v1';
const REFRESH_KEY = 'user-service.console.refreshToken';
/** Refresh this long before the access token expires (a fifth of its life at most), so a request never carries one about to expire. */
const REFRESH_MARGIN_MS = 30_000;
const PAGE_SIZE = 20;

/** @type {{ accessToken: string | null, refreshAt: number, refreshing: Promise<void> | null, me: any }} */
const session = { accessToken: null, refreshAt: 0, refreshing: null, me: null };

class SessionEnded extends Error {}

// ---- small DOM helpers -------------------------------------------------------

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * @param {string} tag
 * @param {Record<string, string>} [attributes]
 * @param {(Node | string | null | undefined)[]} children
 */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

/** @param {string | null | undefined} iso */
function when(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** @param {string | null | undefined} id */
const shortId = (id) => (id ? id.slice(0, 8) : '—');

function showNotice(/** @type {string} */ text) {
  clearError();
  const notice = $('notice');
  notice.textContent = text;
  notice.hidden = false;
}

function clearNotice() {
  $('notice').hidden = true;
}

/** The API's problem in words: its detail, and which fields were wrong. */
function showError(/** @type {unknown} */ error) {
  // Already said: the sign-in form shows why the session ended.
  if (error instanceof SessionEnded) return;
  const box = $('error');
  box.replaceChildren();
  if (error instanceof ApiError) {
    box.append(el('strong', {}, error.problem.detail || error.problem.title || `The service answered ${error.status}`));
    for (const field of error.problem.errors ?? []) box.append(el('div', {}, `${field.field}: ${field.message}`));
    if (error.problem.code) box.append(el('div', { class: 'code' }, error.problem.code));
  } else {
    box.append(el('strong', {}, 'The service could not be reached. Check the connection and try again.'));
  }
  box.hidden = false;
  clearNotice();
  box.scrollIntoView({ block: 'nearest' });
}

function clearError() {
  $('error').hidden = true;
}

// ---- the API -----------------------------------------------------------------

class ApiError extends Error {
  /** @param {number} status @param {any} problem */
  constructor(status, problem) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
  }
}

/** @param {Response} response */
async function bodyOf(response) {
  const type = response.headers.get('content-type') ?? '';
  if (response.status === 204 || !type.includes('json')) return null;
  return response.json();
}

/** @param {string} method @param {string} path @param {unknown} [body] @param {string | null} [token] */
async function call(method, path, body, token) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`${API}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
  });
  const parsed = await bodyOf(response);
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

/** @param {{ accessToken: string, refreshToken: string, expiresIn: number }} tokens */
function keepTokens(tokens) {
  session.accessToken = tokens.accessToken;
  const lifetime = tokens.expiresIn * 1000;
  session.refreshAt = Date.now() + lifetime - Math.min(REFRESH_MARGIN_MS, lifetime / 5);
  sessionStorage.setItem(REFRESH_KEY, tokens.refreshToken);
}

/** One refresh at a time: requests that find the token stale wait for the same one. */
function refresh() {
  session.refreshing ??= (async () => {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (!refreshToken) throw new SessionEnded('Sign in to continue.');
    try {
      keepTokens(await call('POST', '/auth/refresh', { refreshToken }));
    } catch (error) {
      if (error instanceof ApiError && error.status < 500 && error.status !== 429) {
        throw new SessionEnded('Your session has ended. Sign in again.');
      }
      throw error;
    }
  })().finally(() => {
    session.refreshing = null;
  });
  return session.refreshing;
}

/**
 * An authenticated call: refreshes the access token when it is about to expire
 * or the API refuses it (once), and signs out when the session is over.
 * @param {string} method @param {string} path @param {unknown} [body]
 */
async function api(method, path, body) {
  try {
    if (!session.accessToken || Date.now() >= session.refreshAt) await refresh();
    try {
      return await call(method, path, body, session.accessToken);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      await refresh();
      return await call(method, path, body, session.accessToken);
    }
  } catch (error) {
    if (error instanceof SessionEnded || (error instanceof ApiError && error.status === 401)) {
      signedOut(error instanceof SessionEnded ? error.message : 'Your session has ended. Sign in again.');
      throw new SessionEnded('Your session has ended. Sign in again.');
    }
    throw error;
  }
}

/** @param {Record<string, string | null | undefined>} params */
function queryString(params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) query.set(name, value);
  const text = query.toString();
  return text ? `?${text}` : '';
}

// ---- signing in and out ------------------------------------------------------

function show(/** @type {'sign-in' | 'users' | 'audit'} */ view) {
  const signedIn = view !== 'sign-in';
  $('sign-in-view').hidden = signedIn;
  $('users-view').hidden = view !== 'users';
  $('audit-view').hidden = view !== 'audit';
  $('nav').hidden = !signedIn;
  $('whoami').hidden = !signedIn;
  for (const tab of document.querySelectorAll('.tab')) {
    if (tab instanceof HTMLElement && tab.dataset.view === view) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
  }
}

/**
 * Forgets every token and shows the sign-in form, with why.
 * @param {string} [message]
 */
function signedOut(message) {
  session.accessToken = null;
  session.refreshAt = 0;
  session.me = null;
  sessionStorage.removeItem(REFRESH_KEY);
  $('user-detail').hidden = true;
  show('sign-in');
  if (message) showNotice(message);
  /** @type {HTMLInputElement | null} */ (document.querySelector('#sign-in-form [name=password]'))?.focus();
}

async function enter(/** @type {any} */ me) {
  session.me = me;
  $('whoami-email').textContent = me.email;
  show('users');
  await Promise.all([loadStats(), users.load()]);
}

async function onSignIn(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.target);
  const data = new FormData(form);
  const email = String(data.get('email') ?? '').trim();
  const password = String(data.get('password') ?? '');
  if (!email || !password) return showError(new ApiError(400, { detail: 'Enter the email and the password.' }));
  clearError();
  try {
    const answer = await call('POST', '/auth/login', { email, password });
    if (answer.user.role !== 'admin') {
      // Ends the session this sign-in opened: a plain user has no use for it here.
      await call('POST', '/auth/logout', undefined, answer.accessToken).catch(() => undefined);
      form.reset();
      return showError(new ApiError(403, { detail: 'This account is not an administrator: the console is for admins only.' }));
    }
    keepTokens(answer);
    form.reset();
    clearNotice();
    await enter(answer.user);
  } catch (error) {
    showError(error);
  }
}

async function onSignOut() {
  const token = session.accessToken;
  if (token) await call('POST', '/auth/logout', undefined, token).catch(() => undefined);
  signedOut('Signed out.');
}

// ---- stats -------------------------------------------------------------------

async function loadStats() {
  const stats = await api('GET', '/admin/stats');
  const cards = [
    ['Users', stats.total],
    ['Active', stats.byStatus.active],
    ['Blocked', stats.byStatus.blocked],
    ['Suspended', stats.byStatus.suspended],
    ['Deactivated', stats.byStatus.deactivated],
    ['Admins', stats.byRole.admin],
    ['Verified', stats.verified],
    ['New, 24 h', stats.registeredLast24h],
    ['New, 7 days', stats.registeredLast7d],
  ];
  $('stats').replaceChildren(...cards.map(([label, value]) => el('div', {}, el('dt', {}, String(label)), el('dd', {}, Number(value).toLocaleString()))));
}

// ---- lists with cursors --------------------------------------------------------

/**
 * A paged list: the API's cursors only go forward, so the cursors of the pages
 * already seen are kept to go back.
 * @param {{ prefix: string, path: () => string, filters: () => Record<string, string>, row: (item: any) => HTMLElement }} options
 */
function pagedList({ prefix, path, filters, row }) {
  /** @type {(string | null)[]} */
  let cursors = [null];
  let page = 0;
  /** @type {string | null} */
  let next = null;

  async function load() {
    const answer = await api('GET', `${path()}${queryString({ ...filters(), limit: String(PAGE_SIZE), cursor: cursors[page] })}`);
    next = answer.meta.nextCursor;
    const body = /** @type {HTMLElement} */ (document.querySelector(`#${prefix}-table tbody`));
    body.replaceChildren(...answer.data.map(row));
    $(`${prefix}-empty`).hidden = answer.data.length > 0;
    $(`${prefix}-page`).textContent = `Page ${page + 1}`;
    /** @type {HTMLButtonElement} */ ($(`${prefix}-prev`)).disabled = page === 0;
    /** @type {HTMLButtonElement} */ ($(`${prefix}-next`)).disabled = next === null;
  }

  $(`${prefix}-next`).addEventListener('click', () => {
    if (next === null) return;
    cursors = [...cursors.slice(0, page + 1), next];
    page += 1;
    load().catch(showError);
  });
  $(`${prefix}-prev`).addEventListener('click', () => {
    if (page === 0) return;
    page -= 1;
    load().catch(showError);
  });

  return {
    load,
    /** From the first page, e.g. with new filters. */
    restart() {
      cursors = [null];
      page = 0;
      return load();
    },
  };
}

/** @param {HTMLFormElement} form */
function formValues(form) {
  /** @type {Record<string, string>} */
  const values = {};
  for (const [name, value] of new FormData(form)) values[name] = String(value).trim();
  return values;
}

const userFilters = /** @type {HTMLFormElement} */ ($('user-filters'));
const auditFilters = /** @type {HTMLFormElement} */ ($('audit-filters'));

/** @param {string} text @param {string} [kind] */
const badge = (text, kind = text) => el('span', { class: `badge ${kind}` }, text);

const users = pagedList({
  prefix: 'users',
  path: () => '/admin/users',
  filters: () => formValues(userFilters),
  row: (user) => {
    const open = el('button', { type: 'button', class: 'link' }, user.email);
    open.addEventListener('click', () => openUser(user.id).catch(showError));
    return el(
      'tr',
      { 'data-user-id': user.id },
      el('td', {}, open),
      el('td', {}, user.name),
      el('td', {}, badge(user.role)),
      el('td', {}, badge(user.status)),
      el('td', {}, user.emailVerified ? 'yes' : 'no'),
      el('td', {}, when(user.createdAt)),
    );
  },
});

/** @param {any} entry */
function changeOf(entry) {
  const before = entry.before ?? {};
  const after = entry.after ?? {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
  return keys.map((key) => `${key}: ${before[key] ?? '—'} → ${after[key] ?? '—'}`).join('; ');
}

const audit = pagedList({
  prefix: 'audit',
  path: () => '/admin/audit-log',
  filters: () => formValues(auditFilters),
  row: (entry) => {
    const target = entry.targetId ? el('button', { type: 'button', class: 'link mono', title: entry.targetId }, shortId(entry.targetId)) : '—';
    if (target instanceof HTMLElement) target.addEventListener('click', () => openUserFromAudit(entry.targetId));
    const actor = entry.actorId ? el('button', { type: 'button', class: 'link mono', title: `Entries by ${entry.actorId}` }, shortId(entry.actorId)) : entry.actorType;
    if (actor instanceof HTMLElement) actor.addEventListener('click', () => filterAudit({ actorId: entry.actorId }));
    return el(
      'tr',
      {},
      el('td', {}, when(entry.createdAt)),
      el('td', {}, entry.action),
      el('td', {}, actor),
      el('td', {}, target),
      el('td', {}, changeOf(entry)),
      el('td', {}, entry.reason ?? ''),
      el('td', {}, entry.ip ?? ''),
    );
  },
});

// ---- one user ----------------------------------------------------------------

/** @type {any} */
let current = null;
/** @type {string | null} */
let pendingAction = null;

/** @param {any} user */
function renderUser(user) {
  current = user;
  $('detail-title').textContent = user.name || user.email;
  /** @type {[string, string | Node][]} */
  const fields = [
    ['Email', user.email],
    ['Id', el('span', { class: 'mono' }, user.id)],
    ['Status', badge(user.status)],
    ...(user.statusReason ? /** @type {[string, string][]} */ ([['Reason', user.statusReason]]) : []),
    ...(user.statusUntil ? /** @type {[string, string][]} */ ([['Until', when(user.statusUntil)]]) : []),
    ['Role', badge(user.role)],
    ['Email verified', user.emailVerified ? 'yes' : 'no'],
    ['Mobile', user.mobile ?? '—'],
    ['Signed up', when(user.createdAt)],
    ['Updated', when(user.updatedAt)],
  ];
  $('detail-fields').replaceChildren(...fields.flatMap(([label, value]) => [el('dt', {}, label), el('dd', {}, value)]));
  const isSelf = user.id === session.me?.id;
  /** @type {Record<string, boolean>} */
  const visible = {
    block: user.status !== 'blocked' && user.status !== 'deactivated',
    suspend: user.status !== 'deactivated',
    unblock: user.status === 'blocked' || user.status === 'suspended',
    promote: user.role !== 'admin' && user.status !== 'deactivated',
    demote: user.role === 'admin',
    'end-sessions': true,
    audit: true,
  };
  for (const button of document.querySelectorAll('#detail-actions button')) {
    if (!(button instanceof HTMLButtonElement)) continue;
    button.hidden = !visible[button.dataset.action ?? ''];
    // The API refuses these on oneself; the buttons say so before a round trip.
    button.title = isSelf && button.dataset.action !== 'audit' ? 'This is your own account: the service refuses most changes to it' : '';
  }
  $('user-detail').hidden = false;
}

/** @param {any[]} sessions */
function renderSessions(sessions) {
  const body = /** @type {HTMLElement} */ (document.querySelector('#sessions-table tbody'));
  body.replaceChildren(
    ...sessions.map((s) => el('tr', {}, el('td', {}, s.ip ?? '—'), el('td', { class: 'agent' }, s.userAgent ?? '—'), el('td', {}, when(s.createdAt)), el('td', {}, when(s.lastUsedAt)))),
  );
  $('sessions-empty').hidden = sessions.length > 0;
  $('sessions-table').hidden = sessions.length === 0;
}

/** @param {string} id */
async function openUser(id) {
  closeActionForm();
  const [user, sessions] = await Promise.all([api('GET', `/admin/users/${id}`), api('GET', `/admin/users/${id}/sessions`)]);
  renderUser(user);
  renderSessions(sessions);
}

/** @param {string} id */
function openUserFromAudit(id) {
  show('users');
  openUser(id).catch(showError);
}

/**
 * What an action on a user asks for (the API requires a reason for a status change and takes one for a role
 * change) and the request it makes, as [method, path below /admin/users/:id/, body].
 * @typedef {{ title: string, reason: 'required' | 'optional' | 'none', until?: boolean, request: (values: Record<string, string>) => [string, string, unknown], done: string }} UserAction
 */
const setStatus = (/** @type {string} */ status) => (/** @type {Record<string, string>} */ v) =>
  /** @type {[string, string, unknown]} */ (['PATCH', 'status', { status, reason: v.reason, ...(v.until ? { until: v.until } : {}) }]);
const setRole = (/** @type {string} */ role) => (/** @type {Record<string, string>} */ v) =>
  /** @type {[string, string, unknown]} */ (['PATCH', 'role', { role, reason: v.reason || undefined }]);

/** @type {Record<string, UserAction>} */
const ACTIONS = {
  block: { title: 'Block this user', reason: 'required', request: setStatus('blocked'), done: 'User blocked; their sessions ended.' },
  suspend: { title: 'Suspend this user until a date', reason: 'required', until: true, request: setStatus('suspended'), done: 'User suspended; their sessions ended.' },
  unblock: { title: 'Unblock this user', reason: 'required', request: setStatus('active'), done: 'User unblocked.' },
  promote: { title: 'Make this user an admin', reason: 'optional', request: setRole('admin'), done: 'User is now an admin.' },
  demote: { title: 'Make this admin a plain user', reason: 'optional', request: setRole('user'), done: 'User is now a plain user.' },
  'end-sessions': { title: 'End every session of this user', reason: 'none', request: () => ['DELETE', 'sessions', undefined], done: 'Every session of the user ended.' },
};

/** The audit log with just these filters. @param {Record<string, string>} filters */
function filterAudit(filters) {
  auditFilters.reset();
  for (const [name, value] of Object.entries(filters)) /** @type {HTMLInputElement} */ (auditFilters.elements.namedItem(name)).value = value;
  clearError();
  show('audit');
  audit.restart().catch(showError);
}

function openActionForm(/** @type {string} */ name) {
  if (name === 'audit') return filterAudit({ targetId: current.id });
  const action = ACTIONS[name];
  if (!action) return;
  pendingAction = name;
  const form = /** @type {HTMLFormElement} */ ($('action-form'));
  form.reset();
  $('action-title').textContent = action.title;
  $('reason-field').hidden = action.reason === 'none';
  $('until-field').hidden = !action.until;
  const reason = /** @type {HTMLInputElement} */ (form.elements.namedItem('reason'));
  reason.required = action.reason === 'required';
  reason.placeholder = reason.required ? 'Why, e.g. a ticket number (required)' : 'Why (optional)';
  const until = /** @type {HTMLInputElement} */ (form.elements.namedItem('until'));
  until.min = localInputValue(new Date(Date.now() + 60_000));
  form.hidden = false;
  (action.until ? until : reason).focus();
}

/** @param {Date} date The value a datetime-local input shows for it. */
function localInputValue(date) {
  const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function closeActionForm() {
  pendingAction = null;
  $('action-form').hidden = true;
}

async function onAction(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  if (!pendingAction || !current) return;
  const action = ACTIONS[pendingAction];
  const values = formValues(/** @type {HTMLFormElement} */ (event.target));
  if (action.reason === 'required' && !values.reason) {
    return showError(new ApiError(400, { detail: 'Give a reason: it is kept in the audit log.' }));
  }
  if (action.until) {
    const until = values.until ? new Date(values.until) : null;
    if (!until || Number.isNaN(until.getTime())) return showError(new ApiError(400, { detail: 'Choose the date and time the suspension ends.' }));
    values.until = until.toISOString();
  }
  const [method, suffix, body] = action.request(values);
  const id = current.id;
  try {
    await api(method, `/admin/users/${id}/${suffix}`, body);
    closeActionForm();
    await Promise.all([openUser(id), users.load(), loadStats()]);
    showNotice(action.done);
  } catch (error) {
    showError(error);
  }
}

// ---- wiring ------------------------------------------------------------------

function wire() {
  $('sign-in-form').addEventListener('submit', (event) => void onSignIn(/** @type {SubmitEvent} */ (event)));
  $('sign-out').addEventListener('click', () => void onSignOut());
  userFilters.addEventListener('submit', (event) => {
    event.preventDefault();
    clearError();
    users.restart().catch(showError);
  });
  auditFilters.addEventListener('submit', (event) => {
    event.preventDefault();
    clearError();
    audit.restart().catch(showError);
  });
  $('audit-clear').addEventListener('click', () => {
    auditFilters.reset();
    audit.restart().catch(showError);
  });
  $('action-form').addEventListener('submit', (event) => void onAction(/** @type {SubmitEvent} */ (event)));
  $('action-cancel').addEventListener('click', closeActionForm);
  for (const button of document.querySelectorAll('#detail-actions button')) {
    button.addEventListener('click', () => openActionForm(/** @type {HTMLElement} */ (button).dataset.action ?? ''));
  }
  for (const tab of document.querySelectorAll('.tab')) {
    tab.addEventListener('click', () => {
      const view = /** @type {HTMLElement} */ (tab).dataset.view === 'audit' ? 'audit' : 'users';
      clearError();
      show(view);
      (view === 'audit' ? audit.restart() : Promise.all([loadStats(), users.load()])).catch(showError);
    });
  }
}

/** A reload keeps the tab signed in through its refresh token; otherwise, the form. */
async function start() {
  wire();
  if (!sessionStorage.getItem(REFRESH_KEY)) return signedOut();
  try {
    await refresh();
    const me = await api('GET', '/users/me');
    if (me.role !== 'admin') return signedOut('This account is not an administrator: the console is for admins only.');
    await enter(me);
  } catch (error) {
    if (error instanceof SessionEnded) return signedOut(error.message);
    // The service could not answer: the tab keeps its refresh token, so a reload tries again.
    show('sign-in');
    showError(error);
  }
}

document.body.dataset.ready = 'false';
start().finally(() => {
  // For tests and people alike: the page has done its first work.
  document.body.dataset.ready = 'true';
});
