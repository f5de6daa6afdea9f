import {
  NotFoundError,
  SessionTracker,
  allowedActions,
  formatDuration,
  headlineMetrics,
  isTerminal,
  numericSeries,
  type CheckpointResponse,
  type ControlAction,
  type LiveEvent,
  type PipelinePhase,
  type QualityGateResponse,
} from '@agent-forge/sdk';
import { lineChart } from './chart';
import { badge, fill, h, progress, shortId } from './dom';
import { client, describeError, loadPermissions, setLiveIndicator, toast, type Permissions, type View } from './shared';

const ACTIONS: { action: ControlAction; label: string; hint: string }[] = [
  { action: 'pause', label: 'Pause', hint: 'Park the running phase at its next step (frees the worker)' },
  { action: 'resume', label: 'Resume', hint: 'Continue from the parked step' },
  { action: 'stop', label: 'Stop', hint: 'Gracefully: checkpoint, then end (cancelled)' },
  { action: 'cancel', label: 'Cancel', hint: 'Abort now' },
];

type GateState = QualityGateResponse | 'loading' | { error: string };

function describeEvent(e: LiveEvent): string {
  switch (e.event_type) {
    case 'pipeline_progress':
      return `${e.data.phase ?? '—'} ${Math.round(e.data.progress_percent)}% (total ${Math.round(e.data.total_progress_percent)}%) ${e.data.status}${e.data.message ? ` · ${e.data.message}` : ''}`;
    case 'phase_complete':
      return `${e.data.phase} ${e.data.success ? 'completed' : 'failed'} in ${formatDuration(e.data.duration_seconds)}${e.data.error_message ? `: ${e.data.error_message}` : ''}`;
    case 'agent_update':
      return `${e.data.agent_id} ${e.data.state}${e.data.task ? ` · ${e.data.task}` : ''}`;
    case 'error':
      return `${e.data.error_code}: ${e.data.error_message}${e.data.recoverable ? ' (retrying)' : ''}`;
    case 'metrics':
      return `cpu ${e.data.metrics.cpu_percent}% · mem ${e.data.metrics.memory_mb} MB`;
    case 'dashboard_update':
      return `${e.data.pipeline_status ?? '—'} ${Math.round(e.data.progress_percent)}%`;
    default:
      return '';
  }
}

/** The theater verdict in one line: detected or not, score, confidence, and which indicators fired. */
function theaterVerdict(t: NonNullable<QualityGateResponse['theater_detection']>): string {
  const figures = `score ${t.theater_score.toFixed(2)}, confidence ${t.confidence.toFixed(2)}`;
  if (!t.theater_detected) return `genuine (${figures})`;
  const fired = Object.entries(t.indicators)
    .filter(([, v]) => typeof v === 'object' && v !== null && (v as { fired?: unknown }).fired === true)
    .map(([k]) => k.replace(/_/g, ' '));
  return `theater suspected (${figures})${fired.length ? `: ${fired.join(', ')}` : ''}`;
}

/** One session, live: header, controls, phase timeline, charts, agents, gates, checkpoints, events. */
export function sessionView(root: HTMLElement, sessionId: string): View {
  let disposed = false;
  let perms: Permissions = { known: false, can: () => true };
  const tracker = new SessionTracker(sessionId, { maxSamples: 300 });
  const gates = new Map<PipelinePhase, GateState>();
  let checkpoints: CheckpointResponse[] = [];
  const log: { at: string; type: string; text: string }[] = [];
  let notFound = false;
  let busy = false;

  // ---- skeleton ------------------------------------------------------------------------------
  const statusEl = h('span', { 'data-testid': 'session-status' });
  const totalBar = h('div', { class: 'total-bar' });
  const totalPct = h('span', { class: 'total-pct', 'data-testid': 'total-progress' }, '0%');
  const stats = h('div', { class: 'stats' });
  const controls = h('div', { class: 'controls' });
  const controlButtons = new Map<ControlAction, HTMLButtonElement>();
  for (const a of ACTIONS) {
    const b = h('button', { type: 'button', class: `ctl ctl-${a.action}`, title: a.hint, 'data-testid': `btn-${a.action}`, onclick: () => void control(a.action) }, a.label);
    controlButtons.set(a.action, b);
    controls.appendChild(b);
  }
  const forceBox = h('input', { type: 'checkbox', id: 'force' });
  controls.appendChild(h('label', { class: 'check small', title: 'cancel even if the worker does not answer' }, forceBox, 'force'));
  const timeline = h('div', { class: 'timeline', 'data-testid': 'timeline' });
  const charts = h('div', { class: 'charts', 'data-testid': 'charts' });
  const agentsBody = h('tbody', { 'data-testid': 'agents-body' });
  const gatesEl = h('div', { class: 'gates', 'data-testid': 'gates' });
  const cpName = h('input', { type: 'text', placeholder: 'checkpoint name (optional)', maxlength: 128, 'data-testid': 'checkpoint-name' });
  const cpSave = h('button', { type: 'button', 'data-testid': 'checkpoint-save', onclick: () => void saveCheckpoint() }, 'Save checkpoint');
  const cpBody = h('tbody', { 'data-testid': 'checkpoints-body' });
  const logEl = h('ol', { class: 'log', 'data-testid': 'event-log' });
  const errorsEl = h('div', { class: 'errors' });

  root.replaceChildren(
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, '← Sessions')),
    h(
      'section',
      { class: 'card session-head' },
      h('div', { class: 'title-row' }, h('h2', {}, 'Session ', h('span', { class: 'mono', title: sessionId }, sessionId)), statusEl),
      h('div', { class: 'total' }, totalBar, totalPct),
      stats,
      controls,
      errorsEl,
    ),
    h('section', { class: 'card' }, h('h3', {}, 'Phases'), timeline),
    h('section', { class: 'card' }, h('h3', {}, 'Metrics'), charts),
    h('div', { class: 'grid-2' }, h('section', { class: 'card' }, h('h3', {}, 'Agents'), h('div', { class: 'scroll-x' }, h('table', { class: 'agents' }, h('thead', {}, h('tr', {}, ...['Agent', 'Phase', 'State', 'Task', 'CPU', 'Memory'].map((t) => h('th', {}, t)))), agentsBody))), h('section', { class: 'card' }, h('h3', {}, 'Quality gates'), gatesEl)),
    h(
      'div',
      { class: 'grid-2' },
      h('section', { class: 'card' }, h('h3', {}, 'Checkpoints'), h('div', { class: 'cp-form' }, cpName, cpSave), h('table', { class: 'checkpoints' }, h('thead', {}, h('tr', {}, ...['Checkpoint', 'Phase', 'Saved', 'Size', ''].map((t) => h('th', {}, t)))), cpBody)),
      h('section', { class: 'card' }, h('h3', {}, 'Live events'), logEl),
    ),
  );

  // ---- rendering -----------------------------------------------------------------------------
  let frame = 0;
  let chartsDrawnAt = 0;
  let chartsKey = '';
  const schedule = (): void => {
    if (frame || disposed) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      render();
    });
  };

  function render(): void {
    if (disposed) return;
    const v = tracker.view;
    if (notFound) {
      fill(statusEl, badge('unknown', 'session-badge'));
      fill(stats, h('p', { class: 'form-error' }, `Session ${sessionId} does not exist (or has expired).`));
      return;
    }
    fill(statusEl, badge(v.status, 'session-badge'));
    statusEl.dataset.status = v.status ?? '';
    fill(totalBar, progress(v.total_progress_percent, 'total-bar'));
    totalPct.textContent = `${Math.round(v.total_progress_percent)}%`;
    const stat = (label: string, value: string, testid?: string) => h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, label), h('span', { class: 'stat-value', 'data-testid': testid }, value));
    fill(
      stats,
      stat('Current phase', v.current_phase ?? '—', 'current-phase'),
      stat('Elapsed', formatDuration(v.elapsed_seconds)),
      stat('ETA', isTerminal(v.status) ? '—' : formatDuration(v.eta_seconds), 'eta'),
      stat('Agents', String(v.agent_count), 'agent-count'),
      stat('Events', String(v.events)),
      stat('Last checkpoint', v.last_checkpoint ? shortId(v.last_checkpoint) : '—'),
    );
    const allowed = new Set(allowedActions(v.status));
    for (const [action, button] of controlButtons) button.disabled = busy || !allowed.has(action) || !perms.can('pipeline:write');
    cpSave.disabled = busy || !v.status || !perms.can('checkpoints:write');
    const errors = v.errors.filter((e) => !e.recoverable).slice(-3);
    fill(errorsEl, ...errors.map((e) => h('p', { class: 'form-error' }, `${e.phase ?? ''} ${e.error_code}: ${e.error_message}`)));

    fill(
      timeline,
      ...v.phases.map((p) =>
        h(
          'div',
          { class: `phase phase-${p.status}`, 'data-testid': `phase-${p.phase}`, 'data-status': p.status },
          h('div', { class: 'phase-head' }, h('span', { class: 'phase-name' }, p.phase), badge(p.status)),
          progress(p.progress_percent),
          h('div', { class: 'phase-foot' }, h('span', {}, `${Math.round(p.progress_percent)}%`), h('span', { class: 'muted' }, p.duration_seconds !== null ? formatDuration(p.duration_seconds) : '')),
          p.message && p.status === 'running' ? h('div', { class: 'muted small ellipsis', title: p.message }, p.message) : null,
          h('div', { class: 'headline' }, ...headlineMetrics(p.custom_metrics, 3).map(([k, val]) => h('span', { class: 'kv' }, h('span', { class: 'k' }, k), ' ', val))),
          p.error_message ? h('div', { class: 'form-error small' }, p.error_message) : null,
        ),
      ),
    );

    fill(
      agentsBody,
      ...(v.agents.length === 0
        ? [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'no agents'))]
        : v.agents.map((a) =>
            h('tr', {}, h('td', { class: 'mono', title: `${a.agent_id} (${a.role})` }, shortId(a.agent_id)), h('td', {}, a.phase), h('td', {}, badge(a.state)), h('td', { class: 'ellipsis' }, a.current_task ?? '—'), h('td', {}, `${a.cpu_usage_percent.toFixed(0)}%`), h('td', {}, `${a.memory_usage_mb.toFixed(0)} MB`)),
          )),
    );

    renderGates();
    renderCheckpoints();
    fill(logEl, ...log.slice(-40).reverse().map((l) => h('li', {}, h('span', { class: 'muted mono' }, l.at.slice(11, 19)), ' ', h('span', { class: `ev ev-${l.type}` }, l.type), ' ', l.text)));

    // Charts: at most once a second, and only when their data changed.
    const series = v.phases.flatMap((p) => numericSeries(p.custom_metrics).map((s) => ({ phase: p.phase, ...s })));
    const key = `${v.samples.length}:${v.samples[v.samples.length - 1]?.t ?? 0}:${series.map((s) => `${s.phase}.${s.name}.${s.values.length}`).join(',')}`;
    if (key !== chartsKey && Date.now() - chartsDrawnAt > 1000) {
      chartsKey = key;
      chartsDrawnAt = Date.now();
      const t0 = v.samples[0]?.t ?? 0;
      const of = (source: 'worker' | 'host', key: 'cpu_percent' | 'memory_mb') => {
        const picked = v.samples.filter((s) => s.source === source && s[key] !== null);
        return { values: picked.map((s) => s[key] as number), xs: picked.map((s) => (s.t - t0) / 1000) };
      };
      const seconds = (x: number): string => `${Math.round(x)} s`;
      const workerMem = of('worker', 'memory_mb');
      fill(
        charts,
        workerMem.values.length > 0
          ? lineChart('CPU · worker process', [{ label: '%', ...of('worker', 'cpu_percent') }], { unit: '%', xLabel: seconds, testid: 'chart-cpu' })
          : lineChart('CPU · host', [{ label: '%', ...of('host', 'cpu_percent') }], { unit: '%', xLabel: seconds, testid: 'chart-cpu' }),
        workerMem.values.length > 0
          ? lineChart('Memory · worker process', [{ label: 'MB', ...workerMem }], { unit: ' MB', xLabel: seconds, testid: 'chart-memory' })
          : lineChart('Memory · host used', [{ label: 'MB', ...of('host', 'memory_mb') }], { unit: ' MB', xLabel: seconds, testid: 'chart-memory' }),
        ...series.slice(0, 8).map((s) => lineChart(`${s.phase} · ${s.name}`, [{ label: s.name, values: s.values }], { testid: `chart-${s.phase}-${s.name}` })),
      );
    }
  }

  function renderGates(): void {
    const done = tracker.view.phases.filter((p) => p.status === 'completed' || p.status === 'failed');
    if (done.length === 0) {
      fill(gatesEl, h('p', { class: 'muted' }, 'Gates are judged when a phase finishes.'));
      return;
    }
    fill(
      gatesEl,
      ...done.map((p) => {
        const g = gates.get(p.phase);
        if (!g || g === 'loading') return h('div', { class: 'gate-phase' }, h('h4', {}, p.phase), h('p', { class: 'muted' }, 'judging…'));
        if ('error' in g) return h('div', { class: 'gate-phase' }, h('h4', {}, p.phase), h('p', { class: 'form-error' }, g.error));
        const theater = g.theater_detection;
        return h(
          'div',
          { class: 'gate-phase', 'data-testid': `gates-${p.phase}` },
          h('h4', {}, p.phase, ' ', h('span', { class: `badge ${g.all_gates_passed ? 'status-completed' : 'status-failed'}` }, g.all_gates_passed ? `passed ${g.gates_passed}/${g.gate_results.length}` : `failed ${g.gates_failed}/${g.gate_results.length}`)),
          h(
            'table',
            { class: 'gate-table' },
            h(
              'tbody',
              {},
              ...g.gate_results.map((r) =>
                h('tr', {}, h('td', {}, r.passed ? '✓' : '✗'), h('td', {}, r.gate_name), h('td', { class: 'muted' }, `score ${r.score.toFixed(2)} / ${r.threshold}`), h('td', { class: 'muted small' }, r.details.state === 'pending' ? 'pending' : r.recommendations[0] ?? '')),
              ),
            ),
          ),
          h('p', { class: 'small' }, 'Theater detection: ', theater === null ? h('span', { class: 'muted', 'data-testid': 'theater' }, 'not evaluated') : h('span', { 'data-testid': 'theater' }, theaterVerdict(theater))),
          g.blocking_failures.length > 0 ? h('p', { class: 'form-error small' }, `blocking: ${g.blocking_failures.join(', ')}`) : null,
        );
      }),
    );
  }

  function renderCheckpoints(): void {
    const canLoad = perms.can('checkpoints:write');
    fill(
      cpBody,
      ...(checkpoints.length === 0
        ? [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'none yet'))]
        : checkpoints.map((c) =>
            h(
              'tr',
              {},
              h('td', { class: 'mono', title: c.checkpoint_id }, c.checkpoint_name ?? shortId(c.checkpoint_id)),
              h('td', {}, c.phase ?? '—'),
              h('td', { class: 'muted' }, c.timestamp.slice(11, 19)),
              h('td', { class: 'muted' }, `${(c.size_mb * 1024).toFixed(1)} KB`),
              h('td', {}, h('button', { type: 'button', class: 'small-btn', disabled: busy || !canLoad, 'data-testid': 'checkpoint-load', onclick: () => void loadCheckpoint(c.checkpoint_id) }, 'Load')),
            ),
          )),
    );
  }

  // ---- data ----------------------------------------------------------------------------------
  async function refreshStatus(): Promise<void> {
    try {
      tracker.applyStatus(await client.status(sessionId));
      notFound = false;
      afterChange();
    } catch (err) {
      if (err instanceof NotFoundError) notFound = true;
      else toast(describeError(err), 'error');
      schedule();
    }
  }

  async function refreshCheckpoints(): Promise<void> {
    try {
      checkpoints = await client.checkpoints(sessionId);
      schedule();
    } catch (err) {
      if (!(err instanceof NotFoundError)) toast(describeError(err), 'error');
    }
  }

  function loadGates(phase: PipelinePhase): void {
    gates.set(phase, 'loading');
    loadPermissions()
      .then((p) => {
        if (!p.can('quality_gates:run')) throw new Error('your role cannot run quality gates');
        return client.qualityGates(sessionId, { phase });
      })
      .then((g) => gates.set(phase, g))
      .catch((err: unknown) => gates.set(phase, { error: describeError(err) }))
      .finally(schedule);
  }

  let finishedPhases = '';
  function afterChange(): void {
    const done = tracker.view.phases.filter((p) => p.status === 'completed' || p.status === 'failed');
    for (const p of done) if (!gates.has(p.phase)) loadGates(p.phase);
    const key = done.map((p) => p.phase).join(',') + (isTerminal(tracker.view.status) ? '!' : '');
    if (key !== finishedPhases) {
      finishedPhases = key;
      void refreshCheckpoints();
    }
    schedule();
  }

  async function control(action: ControlAction): Promise<void> {
    busy = true;
    schedule();
    try {
      const res = await client.control(sessionId, action, action === 'cancel' && forceBox.checked ? { force: true } : {});
      toast(`${action}: session is ${res.pipeline_status}`);
      await refreshStatus();
    } catch (err) {
      toast(describeError(err), 'error');
    } finally {
      busy = false;
      schedule();
    }
  }

  async function saveCheckpoint(): Promise<void> {
    busy = true;
    schedule();
    try {
      const cp = await client.saveCheckpoint({ session_id: sessionId, ...(cpName.value.trim() ? { checkpoint_name: cpName.value.trim() } : {}) });
      cpName.value = '';
      toast(`checkpoint ${cp.checkpoint_name ?? cp.checkpoint_id} saved (${(cp.size_mb * 1024).toFixed(1)} KB)`);
      await refreshCheckpoints();
    } catch (err) {
      toast(describeError(err), 'error');
    } finally {
      busy = false;
      schedule();
    }
  }

  async function loadCheckpoint(id: string): Promise<void> {
    busy = true;
    schedule();
    try {
      const res = await client.loadCheckpoint(id);
      toast(`checkpoint loaded into session ${shortId(res.session_id)}${res.next_phase ? `, continuing with ${res.next_phase}` : ''}`);
      if (res.session_id !== sessionId) location.hash = `#/sessions/${res.session_id}`;
      else await refreshStatus();
    } catch (err) {
      toast(describeError(err), 'error');
    } finally {
      busy = false;
      schedule();
    }
  }

  // ---- live ----------------------------------------------------------------------------------
  // From the start of the retained history (`0-0`): the charts and the event log show the whole
  // run, not only what happened since the page opened; REST gives the state to begin with.
  const socket = client.live('dashboard', { sessionId, lastEventId: '0-0' });
  socket.on('state', (state, info) => setLiveIndicator(state, info.closeCode ? `last close ${info.closeCode}` : ''));
  socket.on('snapshot', (s) => {
    if (s) {
      notFound = false;
      tracker.applySnapshot(s);
    }
    afterChange();
  });
  socket.on('event', (e) => {
    tracker.applyEvent(e);
    if (e.event_type !== 'metrics' && e.event_type !== 'dashboard_update') {
      log.push({ at: e.timestamp, type: e.event_type, text: describeEvent(e) });
      if (log.length > 200) log.splice(0, log.length - 200);
    }
    afterChange();
  });
  socket.on('error', (err) => toast(describeError(err), 'error'));

  void loadPermissions().then((p) => {
    perms = p;
    schedule();
  });
  void refreshStatus();
  // The socket carries everything; this poll only covers a socket blocked on the way (proxies).
  const poll = setInterval(() => void refreshStatus(), 5_000);
  const clock = setInterval(() => {
    tracker.tick();
    schedule();
  }, 1_000);

  return {
    dispose() {
      disposed = true;
      clearInterval(poll);
      clearInterval(clock);
      if (frame) cancelAnimationFrame(frame);
      socket.close();
    },
  };
}
