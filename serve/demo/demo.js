// Live demo of the recommendation API: plain browser JavaScript, no build step.
// It only calls the public endpoints: /recommend, /users/:id/profile, /events, /events/purchase
// (and their /customer/{customer_id} forms when the visitor plays a new customer).

const $ = (id) => document.getElementById(id);
// customer: { id, userIdx } while the visitor plays a new customer (userIdx once the API numbered it).
const state = {
  shown: new Set(),
  firstLoad: true,
  loading: false,
  again: false,
  source: null,
  customer: null,
};

/** A customer id the API has never seen: 64 hex characters, like H&M's. */
function newCustomerId() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Who the page acts for: the endpoints to read and the user fields of an event. */
function who() {
  if (state.customer) {
    const id = state.customer.id;
    return {
      recs: `/recommend/customer/${id}`,
      profile: `/users/customer/${id}/profile`,
      event: { customer_id: id },
    };
  }
  const user = $('user').value || '0';
  return { recs: `/recommend/${user}`, profile: `/users/${user}/profile`, event: { user_idx: Number(user) } };
}

const COLOURS = {
  Black: '#111',
  White: '#fafafa',
  'Off White': '#f3efe3',
  Grey: '#888',
  'Dark Grey': '#555',
  'Light Grey': '#ccc',
  Blue: '#2f5bd3',
  'Dark Blue': '#1c2f6b',
  'Light Blue': '#9cc3f0',
  Red: '#c62828',
  'Dark Red': '#7a1616',
  Pink: '#f28cb1',
  'Light Pink': '#f8c8d8',
  Beige: '#d9c3a0',
  'Dark Beige': '#a88b63',
  Green: '#2e7d32',
  'Dark Green': '#1b4d20',
  Yellow: '#f2c94c',
  Orange: '#f2994a',
  Brown: '#6d4c41',
  Purple: '#7e57c2',
  Turquoise: '#26a69a',
  Gold: '#c9a227',
  Silver: '#bfc5cc',
};

function apiHeaders(json) {
  const headers = {};
  if (json) headers['content-type'] = 'application/json';
  const key = $('api-key').value.trim();
  if (key) headers['x-api-key'] = key;
  return headers;
}

function params() {
  const q = new URLSearchParams({
    k: $('k').value || '12',
    diversity_lambda: $('lambda').value,
    explain: String($('explain').checked),
  });
  if ($('group').value) q.set('product_group', $('group').value);
  return q;
}

async function getJson(url) {
  const res = await fetch(url, { headers: apiHeaders(false) });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.detail || body.title || `${res.status} ${res.statusText}`);
  return body;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

function renderItems(body) {
  const list = $('items');
  const previous = state.shown;
  state.shown = new Set(body.items.map((i) => i.item_idx));
  list.replaceChildren(
    ...body.items.map((item) => {
      const m = item.metadata;
      const isNew = !state.firstLoad && !previous.has(item.item_idx);
      const why = (item.explanation ?? []).map((e) =>
        el('li', {}, `${e.item_name} — ${Math.round(e.contribution_pct)}% (sim ${e.similarity.toFixed(2)})`),
      );
      return el(
        'li',
        { class: `card${isNew ? ' new' : ''}`, 'data-item': String(item.item_idx) },
        isNew ? el('span', { class: 'badge' }, 'new') : '',
        item.bought_before
          ? el(
              'span',
              {
                class: 'badge again',
                title: `last bought ${item.bought_before.last_purchased_at.slice(0, 10)}`,
              },
              item.bought_before.times > 1 ? `bought ${item.bought_before.times}× before` : 'bought before',
            )
          : '',
        el('h3', {}, m.prod_name),
        el(
          'div',
          { class: 'facts' },
          `${m.product_type_name} · ${m.product_group_name}`,
          el('br'),
          el('span', { class: 'swatch', style: `background:${COLOURS[m.colour_group_name] ?? '#ddd'}` }),
          m.colour_group_name,
          ` · ${m.section_name}`,
        ),
        el(
          'div',
          { class: 'score' },
          `item ${item.item_idx} · article ${m.article_id} · score ${item.score.toFixed(3)}`,
        ),
        why.length
          ? el(
              'div',
              {},
              el('strong', { class: 'facts' }, 'Because you bought:'),
              el('ul', { class: 'why' }, ...why),
            )
          : '',
        el(
          'div',
          { class: 'actions' },
          el('button', { type: 'button', class: 'view', onclick: () => act('click', item) }, 'view'),
          el('button', { type: 'button', class: 'buy', onclick: () => act('purchase', item) }, 'buy'),
        ),
      );
    }),
  );
  state.firstLoad = false;
  state.source = body.source;
  const fallback = body.fallback_reason ? ` · fallback: ${body.fallback_reason}` : '';
  const c = state.customer;
  if (c && body.user_idx != null) c.userIdx = body.user_idx;
  const subject = c
    ? `new customer ${c.id.slice(0, 12)}… · user ${c.userIdx ?? 'not numbered yet'}`
    : `user ${body.user_idx ?? '?'}`;
  $('meta').textContent = `${subject} · source ${body.source} · model ${body.model_version}${fallback}`;
  $('meta').title = c ? `customer_id ${c.id}` : '';
  $('hint').hidden = !c;
  $('hint').textContent = !c
    ? ''
    : body.source === 'personalized'
      ? 'Personal now: the online updater learnt from your purchases. Buy more and watch the list follow.'
      : 'You are a brand-new customer: the API knows no purchases of yours, so it shows what every new ' +
        'visitor sees — the trending list. Buy an item and the list becomes personal.';
}

function renderProfile(p) {
  const groups = (p.top_product_groups ?? []).map((g) =>
    el(
      'li',
      {},
      `${g.name} ${g.percentage.toFixed(0)}%`,
      el('div', { class: 'bar', style: `width:${g.percentage}%` }),
    ),
  );
  const recent = (p.recent_purchases ?? []).map((r) =>
    el(
      'li',
      {},
      `${r.metadata?.prod_name ?? `item ${r.item_idx}`} `,
      el('span', { class: 'facts' }, (r.ts ?? '').slice(0, 10)),
    ),
  );
  $('profile').replaceChildren(
    el('div', {}, `${p.total_purchases} purchases`),
    el(
      'div',
      { class: 'facts' },
      `${(p.first_purchase_at ?? '—').slice(0, 10)} → ${(p.last_purchase_at ?? '—').slice(0, 10)}`,
    ),
    el('h3', {}, 'Top product groups'),
    el('ol', {}, ...groups),
    el('h3', {}, 'Recent purchases'),
    el('ol', {}, ...recent),
  );
  const select = $('group');
  const known = new Set([...select.options].map((o) => o.value));
  for (const g of p.top_product_groups ?? []) {
    if (!known.has(g.name)) select.append(el('option', { value: g.name }, g.name));
  }
}

async function refresh() {
  if (state.loading) {
    state.again = true; // asked while loading (e.g. another user picked): load once more after
    return;
  }
  state.loading = true;
  state.again = false;
  const target = who();
  try {
    const [recs, profile] = await Promise.all([
      getJson(`${target.recs}?${params()}`),
      getJson(`${target.profile}?recent_limit=8`).catch((e) => ({ error: e.message })),
    ]);
    renderItems(recs);
    if (profile.error && state.customer && state.customer.userIdx === null)
      $('profile').replaceChildren(el('span', { class: 'facts' }, 'New customer: no purchases yet.'));
    else if (profile.error) $('profile').replaceChildren(el('span', { class: 'facts' }, profile.error));
    else renderProfile(profile);
  } catch (error) {
    $('status').innerHTML = '';
    $('status').append(el('span', { class: 'error' }, String(error.message ?? error)));
  } finally {
    state.loading = false;
    if (state.again) refresh();
  }
}

async function act(type, item) {
  const url = type === 'purchase' ? '/events/purchase' : '/events';
  const target = { ...who().event, item_idx: item.item_idx };
  const body = type === 'purchase' ? target : { event_type: type, ...target };
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers: apiHeaders(true), body: JSON.stringify(body) });
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) {
    $('status').replaceChildren(
      el('span', { class: 'error' }, answer.detail || answer.title || `HTTP ${res.status}`),
    );
    return;
  }
  // A new customer's first event numbers it: the 202 gives its user_idx.
  if (state.customer && typeof answer.user_idx === 'number') state.customer.userIdx = answer.user_idx;
  const before = [...state.shown].join(',');
  // The updater applies the event asynchronously: poll briefly until the list reflects it (for a
  // new customer: until it is personalized, no longer trending).
  for (let attempt = 0; attempt < 20; attempt++) {
    await new Promise((r) => setTimeout(r, 100));
    await refresh();
    if ([...state.shown].join(',') !== before && state.source === 'personalized') break;
  }
  const ms = Math.round(performance.now() - started);
  $('status').textContent =
    `${type === 'purchase' ? 'bought' : 'viewed'} "${item.metadata.prod_name}" — list refreshed in ${ms} ms`;
}

$('lambda').addEventListener('input', () => {
  $('lambda-value').textContent = Number($('lambda').value).toFixed(2);
});
for (const id of ['lambda', 'group', 'k', 'explain']) $(id).addEventListener('change', refresh);
/** Switches to a known user (customer null) or to a customer id, and reloads the list. */
function actAs(customerId) {
  state.customer = customerId ? { id: customerId, userIdx: null } : null;
  state.firstLoad = true;
  const q = customerId ? `customer=${customerId}` : `user=${$('user').value || '0'}`;
  history.replaceState(null, '', `${location.pathname}?${q}`);
  $('status').textContent = '';
  refresh();
}
$('user').addEventListener('change', () => actAs(null));
$('prev-user').addEventListener('click', () => {
  $('user').value = String(Math.max(0, Number($('user').value) - 1));
  actAs(null);
});
$('next-user').addEventListener('click', () => {
  $('user').value = String(Number($('user').value) + 1);
  actAs(null);
});
$('new-customer').addEventListener('click', () => actAs(newCustomerId()));
const fromUrl = new URLSearchParams(location.search);
const userFromUrl = fromUrl.get('user');
const customerFromUrl = fromUrl.get('customer');
if (userFromUrl !== null && /^\d+$/.test(userFromUrl)) $('user').value = userFromUrl;
if (customerFromUrl !== null && /^[0-9a-fA-F]{64}$/.test(customerFromUrl))
  state.customer = { id: customerFromUrl.toLowerCase(), userIdx: null };
$('api-key').value = localStorage.getItem('recsys-api-key') ?? '';
$('api-key').addEventListener('change', () => localStorage.setItem('recsys-api-key', $('api-key').value));
refresh();
