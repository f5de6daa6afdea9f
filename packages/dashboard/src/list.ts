import { PHASE_ORDER, formatDuration, isTerminal, type ExecutionHistory, type PipelinePhase, type PipelineStatus, type StartPipelineInput } from '@agent-forge/sdk';
import { badge, fill, h, progress, shortId, timeAgo } from './dom';
import { client, describeError, loadPermissions, setLiveIndicator, toast, type View } from './shared';

interface LiveRow {
  status: PipelineStatus;
  current_phase: PipelinePhase | null;
  progress_percent: number;
}

/** The sessions list (GET /history, kept live by /ws/dashboard) and the start form. */
export function listView(root: HTMLElement): View {
  let disposed = false;
  let rows: ExecutionHistory[] = [];
  const live = new Map<string, LiveRow>();
  let summary = '';

  const tbody = h('tbody', { 'data-testid': 'sessions-body' });
  const summaryEl = h('span', { class: 'muted', 'data-testid': 'sessions-summary' });
  const empty = h('p', { class: 'muted empty' }, 'No sessions yet: start one above, or with `agent-forge start --preset quick_test`.');

  // ---- start form --------------------------------------------------------------------------
  const presetSelect = h('select', { id: 'preset', 'data-testid': 'preset-select' }, h('option', { value: '' }, '— choose phases below —'));
  const phaseBoxes = PHASE_ORDER.map((p) => h('input', { type: 'checkbox', value: p, id: `phase-${p}`, 'data-testid': `phase-${p}` }));
  const maxAgents = h('input', { type: 'number', id: 'max-agents', min: 1, max: 100, placeholder: 'default' });
  const topology = h('select', { id: 'topology' }, ...['hierarchical', 'mesh', 'star', 'ring'].map((t) => h('option', { value: t }, t)));
  const configInput = h('textarea', {
    id: 'config',
    rows: 3,
    spellcheck: 'false',
    placeholder: '{"seed": 7, "training": {"learning_rate": 0.002}}',
    'data-testid': 'config-input',
  });
  const startButton = h('button', { type: 'submit', class: 'primary', 'data-testid': 'start-button' }, 'Start pipeline');
  const formError = h('p', { class: 'form-error', 'data-testid': 'start-error' });
  const form = h(
    'form',
    { class: 'start-form', onsubmit: (ev: Event) => void onStart(ev) },
    h('div', { class: 'field' }, h('label', { for: 'preset' }, 'Preset'), presetSelect),
    h('div', { class: 'field phases' }, h('span', { class: 'label' }, 'Phases'), h('div', { class: 'checks' }, ...phaseBoxes.map((b) => h('label', { class: 'check' }, b, b.value)))),
    h('div', { class: 'field' }, h('label', { for: 'max-agents' }, 'Max agents'), maxAgents),
    h('div', { class: 'field' }, h('label', { for: 'topology' }, 'Topology'), topology),
    h('div', { class: 'field wide' }, h('label', { for: 'config' }, 'Config (JSON, optional)'), configInput),
    h('div', { class: 'field actions' }, startButton),
    formError,
  );

  async function onStart(ev: Event): Promise<void> {
    ev.preventDefault();
    formError.textContent = '';
    const req: StartPipelineInput = { swarm_topology: topology.value as StartPipelineInput['swarm_topology'] };
    if (presetSelect.value) req.preset = presetSelect.value;
    const phases = phaseBoxes.filter((b) => b.checked).map((b) => b.value as PipelinePhase);
    if (phases.length > 0) req.phases = phases;
    if (!req.preset && !req.phases) {
      formError.textContent = 'Choose a preset or at least one phase.';
      return;
    }
    if (maxAgents.value) req.max_agents = Number(maxAgents.value);
    if (configInput.value.trim()) {
      try {
        const config = JSON.parse(configInput.value) as unknown;
        if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new Error('expected a JSON object');
        req.config = config as Record<string, unknown>;
      } catch (err) {
        formError.textContent = `Config is not a JSON object: ${(err as Error).message}`;
        return;
      }
    }
    startButton.disabled = true;
    try {
      const started = await client.start(req);
      location.hash = `#/sessions/${started.session_id}`;
    } catch (err) {
      formError.textContent = describeError(err);
    } finally {
      startButton.disabled = false;
    }
  }

  root.replaceChildren(
    h('section', { class: 'card' }, h('h2', {}, 'Start a pipeline'), form),
    h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', {}, 'Sessions'), summaryEl), h('table', { class: 'sessions' }, h('thead', {}, h('tr', {}, ...['Session', 'Status', 'Phases', 'Progress', 'Started', 'Duration'].map((t) => h('th', {}, t)))), tbody), empty),
  );

  void loadPermissions().then((p) => {
    if (!p.can('pipeline:write')) {
      startButton.disabled = true;
      formError.textContent = 'Your role can watch but not start pipelines.';
    }
  });
  client
    .presets()
    .then((names) => {
      for (const n of names) presetSelect.appendChild(h('option', { value: n }, n));
    })
    .catch((err: unknown) => toast(describeError(err), 'error'));

  function render(): void {
    if (disposed) return;
    empty.hidden = rows.length > 0;
    summaryEl.textContent = summary;
    fill(
      tbody,
      ...rows.map((r) => {
        const l = live.get(r.session_id);
        const status = l?.status ?? r.status;
        const pct = l ? l.progress_percent : status === 'completed' ? 100 : null;
        return h(
          'tr',
          { 'data-session': r.session_id },
          h('td', {}, h('a', { href: `#/sessions/${r.session_id}`, class: 'mono', title: r.session_id }, shortId(r.session_id))),
          h('td', {}, badge(status)),
          h('td', { class: 'phases-cell' }, r.phases.join(' → ')),
          h('td', { class: 'progress-cell' }, pct === null ? h('span', { class: 'muted' }, '—') : h('div', { class: 'inline-progress' }, progress(pct), h('span', { class: 'pct' }, `${Math.round(pct)}%`)), l?.current_phase && !isTerminal(status) ? h('div', { class: 'muted small' }, l.current_phase) : null),
          h('td', { class: 'muted' }, timeAgo(r.start_time)),
          h('td', {}, r.duration_seconds !== null ? formatDuration(r.duration_seconds) : isTerminal(status) ? '—' : 'running'),
        );
      }),
    );
  }

  let reloadTimer: ReturnType<typeof setTimeout> | undefined;
  async function reload(): Promise<void> {
    try {
      rows = await client.history({ limit: 50 });
      render();
    } catch (err) {
      toast(describeError(err), 'error');
    }
  }
  const reloadSoon = (): void => {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => void reload(), 300);
  };

  const socket = client.live('dashboard');
  socket.on('state', (state, info) => setLiveIndicator(state, info.closeCode ? `last close ${info.closeCode}` : ''));
  socket.on('gap', reloadSoon);
  socket.on('error', (err) => toast(describeError(err), 'error'));
  socket.on('event', (e) => {
    if (e.event_type !== 'dashboard_update' || e.session_id !== null) return;
    const m = e.data.metrics as { active_sessions?: number; sessions?: (LiveRow & { session_id: string })[] };
    const sessions = Array.isArray(m.sessions) ? m.sessions : [];
    const before = new Set([...live.keys()]);
    live.clear();
    let unknown = false;
    for (const s of sessions) {
      live.set(s.session_id, s);
      if (!rows.some((r) => r.session_id === s.session_id)) unknown = true;
    }
    // A session that stopped being active has ended: its history entry has the final word.
    const ended = [...before].some((id) => !live.has(id));
    summary = `${m.active_sessions ?? sessions.length} active · ${e.data.active_agents} agents`;
    if (unknown || ended) reloadSoon();
    render();
  });
  const refresh = setInterval(() => void reload(), 15_000);
  void reload();

  return {
    dispose() {
      disposed = true;
      clearInterval(refresh);
      clearTimeout(reloadTimer);
      socket.close();
    },
  };
}
