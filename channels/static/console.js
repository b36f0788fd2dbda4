/*
 * Brightwave agent console (browser side): the queue, one conversation, analytics.
 * Plain ES2020, no build step. Text is only ever inserted with textContent.
 */
(() => {
  'use strict';

  const POLL_MS = 1500;
  const $ = (id) => document.getElementById(id);

  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    return node;
  }

  async function api(path, options) {
    const response = await fetch(path, { credentials: 'same-origin', ...options });
    if (response.status === 401) {
      window.location.href = '/console/login';
      throw new Error('signed out');
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail || `The server answered ${response.status}.`);
    return body;
  }

  const post = (path, body) => api(path, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body || {}),
  });

  const label = (name) => (name || '').replace(/_/g, ' ');
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');
  const percent = (share) => (share === null || share === undefined ? '–' : `${Math.round(share * 100)}%`);

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return '–';
    const minutes = Math.floor(seconds / 60);
    return minutes ? `${minutes} min ${Math.round(seconds % 60)} s` : `${Math.round(seconds)} s`;
  }

  async function showAgent() {
    const me = await api('/api/console/me');
    $('agent-name').textContent = `Signed in as ${me.name}`;
  }

  // --- Queue -------------------------------------------------------------------

  async function refreshQueue() {
    const data = await api('/api/console/queue');
    const list = $('waiting-list');
    list.replaceChildren(...data.waiting.map((w) => {
      const item = el('li', null, { 'data-testid': 'waiting-item' });
      const link = el('a', `${w.channel === 'voice' ? 'Phone call' : 'Web chat'}: ${w.reason}`,
        { href: `/console/conversations/${encodeURIComponent(w.id)}` });
      item.append(link, el('span', ` waiting since ${when(w.requested_at)}${w.agent ? `, with ${w.agent}` : ''}`,
        { class: 'muted' }));
      return item;
    }));
    $('waiting-empty').hidden = data.waiting.length > 0;
    $('recent-body').replaceChildren(...data.recent.map((r) => {
      const row = el('tr', null, { 'data-testid': 'recent-item' });
      const open = el('a', r.summary_status === 'ok' ? 'Read' : r.summary_status,
        { href: `/console/conversations/${encodeURIComponent(r.id)}` });
      const cells = [when(r.ended_at), r.channel, r.turns, label(r.primary_intent),
        r.resolved === null ? '' : r.resolved ? 'yes' : 'no', r.handoff ? 'yes' : 'no'];
      row.append(...cells.map((c) => el('td', c)), el('td'));
      row.lastChild.append(open);
      return row;
    }));
  }

  async function refreshLocks() {
    const locks = await api('/api/console/verification-locks');
    $('locks-list').replaceChildren(...locks.map((lock) => {
      const item = el('li', null, { 'data-testid': 'lock-item' });
      const lift = el('button', 'Lift', { class: 'btn', type: 'button' });
      lift.addEventListener('click', async () => {
        lift.disabled = true;
        await post('/api/console/verification-locks/lift', { key: lock.key }).catch(() => {});
        refreshLocks().catch(() => {});
      });
      item.append(el('span', `${lock.label}: ${lock.failures} failed checks, locked until ${when(lock.until)} `), lift);
      return item;
    }));
    $('locks-empty').hidden = locks.length > 0;
  }

  // --- One conversation ----------------------------------------------------------

  const conversationId = decodeURIComponent(window.location.pathname.split('/').pop());
  let latest = null;
  let shownTurns = -1;
  let usedCitations = [];

  function showError(message) {
    $('error').hidden = !message;
    $('error').textContent = message || '';
  }

  function renderTranscript(turns) {
    if (turns.length === shownTurns) return;
    shownTurns = turns.length;
    const who = { user: 'Customer', bot: 'Assistant', agent: 'Agent' };
    $('transcript').replaceChildren(...turns.map((t) => {
      const item = el('li', null, { class: `turn turn--${t.role}`, 'data-testid': `turn-${t.role}` });
      item.append(el('span', who[t.role] || t.role, { class: 'turn__who' }), el('span', t.text, { class: 'turn__text' }));
      return item;
    }));
    $('transcript').lastElementChild?.scrollIntoView({ block: 'nearest' });
  }

  function renderSummary(summary) {
    if (!summary || summary.status !== 'ok') $('labels').replaceChildren();
    if (!summary || summary.status === 'pending') {
      $('summary').textContent = 'Preparing…';
      return;
    }
    if (summary.status !== 'ok') {
      $('summary').textContent = summary.status === 'empty' ? 'The customer said nothing.' : 'No summary could be made.';
      return;
    }
    $('summary').textContent = summary.summary;
    $('summary').classList.remove('muted');
    const chips = [summary.primary_intent, ...(summary.secondary_intents || []), ...(summary.topics || [])];
    chips.push(`mood ${summary.sentiment_start} → ${summary.sentiment_end}`, summary.resolved ? 'resolved' : 'not resolved');
    $('labels').replaceChildren(...chips.map((c) => el('span', label(c), { class: 'chip' })));
  }

  function renderSuggestion(question) {
    $('question').textContent = question ? question.text : 'No question yet.';
    const s = question ? question.suggestion : null;
    const ready = s && (s.status === 'answered' || s.status === 'no_answer' || s.status === 'refused');
    $('suggestion').textContent = !s ? '' : s.status === 'pending' ? 'Looking in the help articles…'
      : s.status === 'failed' ? 'No suggestion this time.' : s.text;
    $('suggestion').classList.toggle('muted', !ready);
    $('sources').replaceChildren(...(s && s.citations ? s.citations : []).map((c) => {
      const item = el('li');
      item.append(el('a', c.title, { href: c.url, target: '_blank', rel: 'noopener' }));
      return item;
    }));
    $('use-suggestion').hidden = !(ready && s.status === 'answered' && latest.status === 'with_agent');
  }

  function render(data) {
    latest = data;
    document.title = `Conversation ${data.id.slice(0, 8)} · Brightwave agent console`;
    $('title').textContent = `${data.channel === 'voice' ? 'Phone call' : data.channel === 'sms' ? 'SMS' : 'Web chat'} ${data.id.slice(0, 8)}`;
    const statusText = { waiting: 'waiting for an agent', with_agent: `with ${data.agent}`,
      with_assistant: 'with the assistant', ended: 'ended' }[data.status] || data.status;
    $('status').textContent = statusText;
    $('status').className = `badge badge--${data.status}`;
    $('channel').textContent = data.channel;
    const c = data.customer || {};
    $('customer').textContent = c.verified ? `Verified: ${c.initial || ''} ${c.account || ''}`.trim()
      : c.verified === false ? 'Not verified' : '';
    $('reason').textContent = data.handoff_reason || 'No handoff';
    $('tried').replaceChildren(...(data.tried || []).map((step) => el('li', step)));
    renderTranscript(data.transcript || []);
    renderSummary(data.summary);
    renderSuggestion(data.question || null);
    const live = data.status !== 'ended';
    const chat = data.channel === 'web';
    $('takeover').hidden = !(live && chat && data.status === 'waiting');
    $('handback').hidden = !(live && data.status === 'with_agent');
    $('composer').hidden = !(live && data.status === 'with_agent');
    $('end').hidden = !live;
  }

  async function refreshConversation() {
    try {
      render(await api(`/api/console/conversations/${encodeURIComponent(conversationId)}`));
    } catch (error) {
      showError(error.message);
    }
  }

  async function act(path, body) {
    try {
      showError('');
      await post(`/api/console/conversations/${encodeURIComponent(conversationId)}/${path}`, body);
      await refreshConversation();
    } catch (error) {
      showError(error.message);
    }
  }

  function initConversation() {
    $('takeover').addEventListener('click', () => act('takeover'));
    $('handback').addEventListener('click', () => act('handback'));
    $('end').addEventListener('click', () => act('end'));
    $('use-suggestion').addEventListener('click', () => {
      const s = latest.question.suggestion;
      $('agent-input').value = s.text;
      usedCitations = s.citations || [];
      $('agent-input').focus();
    });
    $('composer').addEventListener('submit', async (event) => {
      event.preventDefault();
      const text = $('agent-input').value.trim();
      if (!text) return;
      const citations = usedCitations;
      usedCitations = [];
      $('agent-input').value = '';
      await act('messages', { text, citations });
    });
    $('agent-input').addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey) {
        event.preventDefault();
        $('composer').requestSubmit();
      }
    });
  }

  // --- Analytics -----------------------------------------------------------------

  const COLOURS = ['#0b57a4', '#e07b00', '#2e8540', '#b3261e', '#6b4fbb', '#00838f', '#8d6e63', '#5f6368'];
  const charts = {};

  function chart(id, config) {
    if (charts[id]) charts[id].destroy();
    charts[id] = new window.Chart($(id), { ...config, options: { animation: false, responsive: true, ...config.options } });
  }

  function lines(series) {
    return Object.entries(series).map(([name, data], i) => ({
      label: label(name), data, borderColor: COLOURS[i % COLOURS.length], backgroundColor: COLOURS[i % COLOURS.length],
      spanGaps: true, tension: 0.2,
    }));
  }

  async function refreshAnalytics() {
    const days = $('days').value;
    $('csv').href = `/api/analytics/conversations.csv?days=${days}`;
    $('json').href = `/api/analytics?days=${days}`;
    const report = await api(`/api/analytics?days=${days}`);
    const t = report.totals;
    $('kpi-conversations').textContent = t.conversations;
    $('kpi-containment').textContent = percent(t.containment_rate);
    $('kpi-escalation').textContent = percent(t.escalation_rate);
    $('kpi-resolution').textContent = percent(t.resolution_rate);
    $('kpi-aht').textContent = duration(t.average_handling_seconds);
    const dayLabels = report.days.map((d) => d.slice(5));
    chart('chart-volume', { type: 'bar', data: { labels: dayLabels, datasets: lines(report.per_day) },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } } });
    chart('chart-intents', { type: 'line', data: { labels: dayLabels, datasets: lines(report.intents_per_day) },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } } });
    chart('chart-topics', { type: 'bar', data: { labels: report.top_topics.map((x) => x.topic),
      datasets: [{ label: 'conversations', data: report.top_topics.map((x) => x.count), backgroundColor: COLOURS[0] }] },
      options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } } });
    chart('chart-sentiment', { type: 'line', data: { labels: dayLabels, datasets: lines(report.sentiment_per_day) },
      options: { scales: { y: { min: -1, max: 1 } } } });
  }

  // --- Start-up ------------------------------------------------------------------

  function every(refresh, ms) {
    refresh();
    setInterval(refresh, ms);
  }

  document.addEventListener('DOMContentLoaded', () => {
    showAgent().catch(() => {});
    const pageName = document.body.dataset.page;
    if (pageName === 'queue') {
      every(() => refreshQueue().catch(() => {}), 3000);
      every(() => refreshLocks().catch(() => {}), 10000);
    }
    if (pageName === 'conversation') {
      initConversation();
      every(refreshConversation, POLL_MS);
    }
    if (pageName === 'analytics') {
      $('days').addEventListener('change', () => refreshAnalytics().catch(() => {}));
      every(() => refreshAnalytics().catch(() => {}), 60000);
    }
  });
})();
