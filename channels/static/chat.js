/*
 * Brightwave Support web chat (browser side).
 *
 * Plain ES2020, no dependencies, no build step. Talks to the gateway described in the
 * hotline web-chat protocol: REST for sessions and history, one WebSocket per session.
 * Message text is only ever inserted with textContent (never as HTML).
 */
(() => {
  'use strict';

  const STORAGE_KEY = 'hotline.session';
  const SESSIONS_URL = '/api/chat/sessions';
  const MAX_LENGTH = 1000;
  const COUNTER_THRESHOLD = 800;
  const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];   // then 8 s forever
  const STABLE_CONNECTION_MS = 5000;                   // open this long => reset backoff
  const FETCH_TIMEOUT_MS = 10000;
  const TYPING_SAFETY_MS = 120000;                     // hide dots if "typing off" never comes
  const NEAR_BOTTOM_PX = 80;

  const TEXT = {
    reconnecting: 'Reconnecting…',
    handoff: "You're being connected to a member of our team…",
    agentJoined: (name) => `You're chatting with ${name} from our team.`,
    ended: 'This chat has ended. Thanks for contacting Brightwave. Start a new conversation any time.',
    agentLabel: 'Agent',
    sources: 'Sources',
    quickReplies: 'Quick replies',
    tooLongLocal: `Messages can be up to ${MAX_LENGTH} characters.`,
    errors: {
      too_long: `That message is too long. Please keep it under ${MAX_LENGTH} characters.`,
      empty: 'Please type a message first.',
      rate_limited: "You're sending messages quickly. Please wait a moment and try again.",
      bad_request: "Sorry, we couldn't process that message.",
      unavailable: 'Sorry, the assistant is unavailable right now. Please try again shortly.',
    },
  };

  // ---------------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------------

  const state = {
    sessionId: null,
    generation: 0,        // bumped by "New conversation"; stale async work checks it
    ws: null,
    wsOpenedAt: 0,
    ready: false,         // socket open and history rendered: frames can go out now
    connectingGen: null,  // generation of the connect cycle in flight, if any
    attempt: 0,           // reconnect attempts since the last stable connection
    retryTimer: null,
    typingTimer: null,
    draft: null,       // the answer being written: checked sentences, replaced by the final message
    queue: [],            // [{frame, item, chips}] typed while offline
    activeChips: new Set(), // chip groups that can still be clicked
    pending: null,        // last frame sent and not yet answered by the server
    handoff: false,
  };

  let ui = null;

  // ---------------------------------------------------------------------------
  // Small helpers
  // ---------------------------------------------------------------------------

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, className, attrs) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (attrs) {
      for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    }
    return node;
  }

  function asText(value) {
    if (value === null || value === undefined) return '';
    return typeof value === 'string' ? value : String(value);
  }

  /** Only http(s) links, resolved against this page; anything else (javascript:, data:) is refused. */
  function safeUrl(raw) {
    const text = asText(raw).trim();
    if (!text) return null;
    try {
      const url = new URL(text, window.location.href);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  // ---------------------------------------------------------------------------
  // Session storage (localStorage may be unavailable, e.g. blocked cookies)
  // ---------------------------------------------------------------------------

  function loadSessionId() {
    try {
      return window.localStorage.getItem(STORAGE_KEY) || null;
    } catch (_) {
      return null;
    }
  }

  function saveSessionId(id) {
    try {
      window.localStorage.setItem(STORAGE_KEY, id);
    } catch (_) { /* keep it in memory only */ }
  }

  function clearSessionId() {
    try {
      window.localStorage.removeItem(STORAGE_KEY);
    } catch (_) { /* nothing stored */ }
  }

  // ---------------------------------------------------------------------------
  // REST
  // ---------------------------------------------------------------------------

  async function fetchWithTimeout(url, options) {
    const controller = typeof AbortController === 'function' ? new AbortController() : null;
    const timer = controller ? setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS) : null;
    try {
      return await fetch(url, Object.assign({ credentials: 'same-origin', cache: 'no-store' }, options,
        controller ? { signal: controller.signal } : {}));
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  async function createSession() {
    const res = await fetchWithTimeout(SESSIONS_URL, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: '{}',
    });
    if (!res.ok) throw new Error(`create session: HTTP ${res.status}`);
    const data = await res.json();
    const id = data && typeof data.session_id === 'string' ? data.session_id : '';
    if (!id) throw new Error('create session: no session_id');
    return id;
  }

  /** Returns the history object, or null when the session is unknown (404). Throws otherwise. */
  async function fetchHistory(id) {
    const res = await fetchWithTimeout(`${SESSIONS_URL}/${encodeURIComponent(id)}/history`, {
      headers: { Accept: 'application/json' },
    });
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`history: HTTP ${res.status}`);
    const data = await res.json();
    return data && typeof data === 'object' ? data : { messages: [] };
  }

  function socketUrl(id) {
    const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${window.location.host}/ws/chat/${encodeURIComponent(id)}`;
  }

  // ---------------------------------------------------------------------------
  // Rendering
  // ---------------------------------------------------------------------------

  function isNearBottom() {
    const log = ui.log;
    return log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_BOTTOM_PX;
  }

  function scrollToBottom() {
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  /** Append a node to the log, keeping the view pinned to the bottom when it was already there. */
  function appendToLog(node, forceScroll) {
    const stick = forceScroll || isNearBottom();
    ui.log.appendChild(node);
    if (stick) scrollToBottom();
    return node;
  }

  function clearLog() {
    ui.log.textContent = '';
    state.draft = null;
    state.activeChips.clear();
  }

  function renderCitations(citations) {
    const links = (Array.isArray(citations) ? citations : []).filter((c) => c && (c.title || c.url));
    if (!links.length) return null;
    const box = el('div', 'msg__sources');
    const title = el('p', 'msg__sources-title');
    title.textContent = TEXT.sources;
    const list = el('ul', 'msg__sources-list');
    for (const c of links) {
      const li = el('li');
      const href = safeUrl(c.url);
      const label = asText(c.title).trim() || asText(c.url).trim();
      if (href) {
        const a = el('a', null, { href, target: '_blank', rel: 'noopener', 'data-testid': 'citation' });
        a.textContent = label;
        li.appendChild(a);
      } else {
        const span = el('span', 'msg__source-text');
        span.textContent = label;
        li.appendChild(span);
      }
      list.appendChild(li);
    }
    box.append(title, list);
    return box;
  }

  function setChipsActive(group, active) {
    if (active) state.activeChips.add(group);
    else state.activeChips.delete(group);
    for (const chip of Array.from(group.children)) chip.disabled = !active;
  }

  /**
   * Quick replies belong to the latest unanswered assistant turn: once the user sends
   * anything (typed text or a chip), every group still active is disabled.
   * Returns the groups it disabled so a refused send can re-enable them.
   */
  function disableActiveChips() {
    const groups = Array.from(state.activeChips);
    for (const group of groups) setChipsActive(group, false);
    return groups;
  }

  function renderChips(buttons, enabled) {
    const items = (Array.isArray(buttons) ? buttons : []).filter((b) => b && (b.title || b.payload));
    if (!items.length) return null;
    const group = el('div', 'msg__chips', { role: 'group', 'aria-label': TEXT.quickReplies });
    for (const b of items) {
      const title = asText(b.title).trim() || asText(b.payload);
      const chip = el('button', 'chip', { type: 'button', 'data-testid': 'chip' });
      chip.textContent = title;
      chip.addEventListener('click', () => onChipClick(group, chip, title, asText(b.payload)));
      group.appendChild(chip);
    }
    setChipsActive(group, !!enabled);
    return group;
  }

  /**
   * Build one message item. role: "user" | "bot" | "agent".
   * The data-testid sits on the item (msg-user / msg-bot / msg-agent); the text goes in a
   * pre-wrap bubble via textContent so newlines show as line breaks and nothing is parsed as HTML.
   */
  function buildMessage(role, text, buttons, citations, chipsEnabled) {
    const kind = role === 'user' || role === 'agent' ? role : 'bot';
    const item = el('div', `msg msg--${kind}`, { 'data-testid': `msg-${kind}` });
    if (kind === 'agent') {
      const label = el('p', 'msg__label');
      label.textContent = TEXT.agentLabel;
      item.appendChild(label);
    }
    const bubble = el('div', 'msg__bubble');
    bubble.textContent = asText(text);
    item.appendChild(bubble);
    if (kind !== 'user') {
      const sources = renderCitations(citations);
      if (sources) item.appendChild(sources);
      const chips = renderChips(buttons, chipsEnabled);
      if (chips) item.appendChild(chips);
    }
    return item;
  }

  /** A sentence of the answer being written, shown as soon as the server has checked it. */
  function showDraft(text) {
    if (!text) return;
    if (!state.draft) {
      state.draft = buildMessage('bot', text, [], [], false);
      state.draft.classList.add('msg--draft');
      state.draft.setAttribute('data-testid', 'msg-draft');
      appendToLog(state.draft, false);
      return;
    }
    const bubble = state.draft.querySelector('.msg__bubble');
    bubble.textContent = `${bubble.textContent} ${text}`;
    if (isNearBottom()) scrollToBottom();
  }

  /** A turn that ended without its final message (an error) takes its unfinished answer with it. */
  function dropDraft() {
    if (state.draft) state.draft.remove();
    state.draft = null;
  }

  function appendMessage(role, text, buttons, citations) {
    const forceScroll = role === 'user';
    return appendToLog(buildMessage(role, text, buttons, citations, true), forceScroll);
  }

  /** A small system notice in the log (not a bubble). */
  function appendNotice(text, isError) {
    const notice = el('p', isError ? 'notice notice--error' : 'notice', { 'data-testid': 'notice' });
    notice.textContent = asText(text);
    return appendToLog(notice, true);
  }

  /**
   * Replace the log with the server's history. Chips stay usable only on the last message,
   * only if it is an assistant message (older quick replies are stale) and only if nothing
   * is waiting in the offline queue. Queued messages are put back after the history.
   */
  function renderHistory(history) {
    const messages = Array.isArray(history.messages) ? history.messages : [];
    clearLog();
    const fragment = document.createDocumentFragment();
    messages.forEach((m, i) => {
      if (!m || typeof m !== 'object') return;
      const role = m.role === 'user' ? 'user' : m.role === 'agent' ? 'agent' : 'bot';
      const chipsEnabled = i === messages.length - 1 && role !== 'user' && !state.queue.length;
      fragment.appendChild(buildMessage(role, m.text, m.buttons, m.citations, chipsEnabled));
    });
    ui.log.appendChild(fragment);
    for (const q of state.queue) {
      if (q.item) ui.log.appendChild(q.item);
    }
    setHandoff(history.handoff === true);
    scrollToBottom();
  }

  // ---------------------------------------------------------------------------
  // Status UI: typing dots, banners, counter, textarea
  // ---------------------------------------------------------------------------

  function setTyping(on) {
    clearTimeout(state.typingTimer);
    state.typingTimer = null;
    const stick = isNearBottom();
    ui.typing.hidden = !on;
    if (on) state.typingTimer = setTimeout(() => setTyping(false), TYPING_SAFETY_MS);
    if (stick) scrollToBottom();
  }

  function showStatus(node, text) {
    if (!node.hidden && node.textContent === text) return;
    node.hidden = false;
    node.textContent = text;   // set after un-hiding so the status region announces it
  }

  function showReconnecting() {
    showStatus(ui.banner, TEXT.reconnecting);
  }

  function hideReconnecting() {
    ui.banner.hidden = true;
  }

  function setHandoff(on) {
    state.handoff = on;
    if (on) showStatus(ui.handoff, TEXT.handoff);
    else ui.handoff.hidden = true;
  }

  function updateCounter() {
    const n = ui.input.value.length;
    const show = n > COUNTER_THRESHOLD;
    ui.counter.hidden = !show;
    if (show) {
      ui.counter.textContent = `${n}/${MAX_LENGTH}`;
      ui.counter.classList.toggle('composer__counter--limit', n >= MAX_LENGTH);
    }
  }

  function autoGrow() {
    const input = ui.input;
    input.style.height = 'auto';
    // CSS max-height caps the growth; beyond it the textarea scrolls.
    input.style.height = `${input.scrollHeight + 2}px`;
  }

  function onInputChanged() {
    updateCounter();
    autoGrow();
  }

  // ---------------------------------------------------------------------------
  // Sending
  // ---------------------------------------------------------------------------

  function socketIsOpen() {
    return !!(state.ready && state.ws && state.ws.readyState === 1 /* OPEN */);
  }

  function transmit(entry) {
    if (!socketIsOpen()) return false;
    try {
      state.ws.send(JSON.stringify(entry.frame));
    } catch (_) {
      return false;
    }
    if (entry.item) entry.item.classList.remove('msg--queued');
    state.pending = entry;
    return true;
  }

  /** Send now if connected, otherwise queue (the bubble is shown either way). */
  function sendFrame(entry) {
    if (!transmit(entry)) {
      if (entry.item) entry.item.classList.add('msg--queued');
      state.queue.push(entry);
    }
  }

  function flushQueue() {
    while (state.queue.length && socketIsOpen()) {
      const entry = state.queue[0];
      if (!transmit(entry)) break;
      state.queue.shift();
    }
  }

  function submitInput() {
    const text = ui.input.value.trim();
    if (!text) {
      ui.input.focus();
      return;
    }
    if (text.length > MAX_LENGTH) {
      appendNotice(TEXT.tooLongLocal, true);
      ui.input.focus();
      return;
    }
    const chips = disableActiveChips();
    const item = appendMessage('user', text);
    ui.input.value = '';
    onInputChanged();
    sendFrame({ frame: { type: 'message', text }, item, chips, text });
    ui.input.focus();
  }

  function onChipClick(group, chip, title, payload) {
    if (chip.disabled) return;
    const chips = disableActiveChips();
    if (!chips.includes(group)) {
      setChipsActive(group, false);
      chips.push(group);
    }
    chip.classList.add('chip--chosen');
    const item = appendMessage('user', title);
    sendFrame({ frame: { type: 'button', title, payload }, item, chips, chip });
    ui.input.focus();   // the clicked chip is now disabled; keep focus somewhere useful
  }

  /**
   * The server refused the last frame (too_long / rate_limited): take its bubble back out,
   * put the typed text back in the input (if the user has not typed something new since)
   * and re-enable the quick replies it had disabled.
   */
  function undoPending() {
    const entry = state.pending;
    state.pending = null;
    if (!entry) return;
    if (entry.item && entry.item.parentNode) entry.item.remove();
    if (entry.chip) entry.chip.classList.remove('chip--chosen');
    for (const group of entry.chips || []) {
      if (ui.log.contains(group)) setChipsActive(group, true);
    }
    if (entry.frame.type === 'message' && !ui.input.value) {
      ui.input.value = entry.text;
      onInputChanged();
    }
  }

  // ---------------------------------------------------------------------------
  // Incoming frames
  // ---------------------------------------------------------------------------

  function handleFrame(raw) {
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch (_) {
      return;
    }
    if (!frame || typeof frame !== 'object') return;

    switch (frame.type) {
      case 'typing':
        if (frame.on) state.pending = null;   // the server accepted what we sent
        else dropDraft();
        setTyping(!!frame.on);
        break;
      case 'draft':
        showDraft(asText(frame.text));
        break;
      case 'bot':
        state.pending = null;
        if (state.draft) {
          // The final message (with its sources) takes the place of the sentences shown so far.
          const final = buildMessage('bot', frame.text, frame.buttons, frame.citations, true);
          state.draft.replaceWith(final);
          state.draft = null;
          if (isNearBottom()) scrollToBottom();
        } else {
          appendMessage('bot', frame.text, frame.buttons, frame.citations);
        }
        break;
      case 'agent':
        state.pending = null;
        appendMessage('agent', frame.text, frame.buttons, frame.citations);
        break;
      case 'handoff':
        setHandoff(true);
        break;
      case 'agent_joined':
        state.handoff = true;
        showStatus(ui.handoff, TEXT.agentJoined(asText(frame.name) || TEXT.agentLabel));
        break;
      case 'handback':
        setHandoff(false);
        break;
      case 'ended':
        showEnded();
        break;
      case 'error': {
        const code = asText(frame.code);
        // The gateway sends this before closing a socket for an unknown session (close code 4404);
        // the reconnect cycle then gets 404 on history and starts a new session, so say nothing.
        if (code === 'unknown_session') break;
        if (code === 'too_long' || code === 'rate_limited') undoPending();
        else state.pending = null;
        if (code === 'unavailable') { setTyping(false); dropDraft(); }
        appendNotice(asText(frame.message).trim() || TEXT.errors[code] || TEXT.errors.bad_request, true);
        break;
      }
      default:
        break;   // unknown frame types are ignored
    }
  }

  // ---------------------------------------------------------------------------
  // Connection lifecycle
  // ---------------------------------------------------------------------------

  function backoffDelay(attempt) {
    return BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
  }

  function scheduleReconnect(gen) {
    if (gen !== state.generation || state.retryTimer) return;
    const delay = backoffDelay(state.attempt);
    state.attempt += 1;
    state.retryTimer = setTimeout(() => {
      state.retryTimer = null;
      connect(gen);
    }, delay);
  }

  /**
   * One connect cycle: make sure we have a session, fetch and render history (404 -> new
   * session), then open the socket. Queued messages go out once the socket is open.
   */
  async function connect(gen) {
    if (gen !== state.generation || state.connectingGen === gen || state.ws) return;
    state.connectingGen = gen;
    try {
      if (!state.sessionId) {
        const id = await createSession();
        if (gen !== state.generation) return;
        state.sessionId = id;
        saveSessionId(id);
      }
      let history = await fetchHistory(state.sessionId);
      if (gen !== state.generation) return;
      if (history === null) {
        // Unknown session: forget it and start a new one.
        clearSessionId();
        state.sessionId = null;
        const id = await createSession();
        if (gen !== state.generation) return;
        state.sessionId = id;
        saveSessionId(id);
        history = await fetchHistory(id);
        if (gen !== state.generation) return;
        if (history === null) throw new Error('new session not found');
      }
      renderHistory(history);
      openSocket(gen);
    } catch (_) {
      if (gen !== state.generation) return;
      showReconnecting();
      scheduleReconnect(gen);
    } finally {
      if (state.connectingGen === gen) state.connectingGen = null;
    }
  }

  function openSocket(gen) {
    let ws;
    try {
      ws = new WebSocket(socketUrl(state.sessionId));
    } catch (_) {
      showReconnecting();
      scheduleReconnect(gen);
      return;
    }
    state.ws = ws;
    state.ready = false;

    ws.addEventListener('open', () => {
      if (state.ws !== ws || gen !== state.generation) return;
      state.wsOpenedAt = Date.now();
      state.ready = true;
      hideReconnecting();
      flushQueue();
    });
    ws.addEventListener('message', (event) => {
      if (state.ws !== ws || gen !== state.generation) return;
      handleFrame(event.data);
    });
    ws.addEventListener('close', () => onSocketDown(ws, gen));
    ws.addEventListener('error', () => onSocketDown(ws, gen));
  }

  /** Close or error on the current socket (handled once): banner, then retry with backoff. */
  function onSocketDown(ws, gen) {
    if (state.ws !== ws) return;
    const wasStable = state.ready && Date.now() - state.wsOpenedAt >= STABLE_CONNECTION_MS;
    state.ws = null;
    state.ready = false;
    state.pending = null;
    try { ws.close(); } catch (_) { /* already closing */ }
    if (gen !== state.generation) return;
    if (wasStable) state.attempt = 0;
    setTyping(false);
    showReconnecting();
    scheduleReconnect(gen);
  }

  function dropSocket() {
    const ws = state.ws;
    state.ws = null;
    state.ready = false;
    if (ws) {
      try { ws.close(); } catch (_) { /* ignore */ }
    }
  }

  function onOffline() {
    showReconnecting();
    if (state.ws) onSocketDown(state.ws, state.generation);
  }

  function onOnline() {
    if (state.ready) {
      hideReconnecting();
      return;
    }
    // Back online: retry right away instead of waiting out the backoff.
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    state.attempt = 0;
    connect(state.generation);
  }

  /** Tell the gateway a session is over so it is summarised now, not after the idle timeout. */
  function endSession(sessionId) {
    if (!sessionId) return;
    fetch(`${SESSIONS_URL}/${encodeURIComponent(sessionId)}/end`, { method: 'POST', keepalive: true }).catch(() => {});
  }

  /** The chat is over (the customer ended it, an agent closed it, or it timed out): no more sending. */
  function showEnded() {
    state.generation += 1;
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    dropSocket();
    state.sessionId = null;
    clearSessionId();
    setTyping(false);
    setHandoff(false);
    ui.input.disabled = true;
    ui.send.disabled = true;
    ui.endChat.hidden = true;
    appendNotice(TEXT.ended);
  }

  function endChat() {
    endSession(state.sessionId);
    showEnded();
  }

  function newConversation() {
    if (!ui.input.disabled) endSession(state.sessionId);
    ui.input.disabled = false;
    ui.send.disabled = false;
    ui.endChat.hidden = false;
    state.generation += 1;
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    state.attempt = 0;
    dropSocket();
    state.queue = [];
    state.pending = null;
    state.sessionId = null;
    clearSessionId();
    clearLog();
    setTyping(false);
    setHandoff(false);
    hideReconnecting();
    connect(state.generation);
    ui.input.focus();
  }

  // ---------------------------------------------------------------------------
  // Start-up
  // ---------------------------------------------------------------------------

  function init() {
    ui = {
      log: $('chat-log'),
      typing: $('typing'),
      banner: $('reconnect-banner'),
      handoff: $('handoff-notice'),
      form: $('composer'),
      input: $('input'),
      send: $('send'),
      counter: $('counter'),
      newConversation: $('new-conversation'),
      endChat: $('end-chat'),
    };
    const missing = Object.keys(ui).filter((k) => !ui[k]);
    if (missing.length) {
      // eslint-disable-next-line no-console
      console.error('Brightwave chat: missing elements:', missing.join(', '));
      return;
    }

    ui.input.setAttribute('maxlength', String(MAX_LENGTH));
    ui.form.addEventListener('submit', (event) => {
      event.preventDefault();
      submitInput();
    });
    ui.input.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter' || event.shiftKey) return;
      if (event.isComposing || event.keyCode === 229) return;   // IME composition in progress
      event.preventDefault();
      submitInput();
    });
    ui.input.addEventListener('input', onInputChanged);
    ui.newConversation.addEventListener('click', newConversation);
    ui.endChat.addEventListener('click', endChat);
    window.addEventListener('offline', onOffline);
    window.addEventListener('online', onOnline);

    onInputChanged();
    if (navigator.onLine === false) showReconnecting();
    state.sessionId = loadSessionId();
    connect(state.generation);
  }

  // Exposed only for the Node self-check; harmless in the browser.
  if (typeof window !== 'undefined' && window.__BRIGHTWAVE_CHAT_TEST__) {
    window.__BRIGHTWAVE_CHAT_TEST__.internals = { state, backoffDelay, safeUrl, handleFrame };
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init, { once: true });
  } else {
    init();
  }
})();
