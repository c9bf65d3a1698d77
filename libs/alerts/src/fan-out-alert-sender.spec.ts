import { type Alert, AlertSender } from './alert-sender';
import { alertSenderFor } from './alerts.module';
import { CommandAlertSender, LogAlertSender } from './command-alert-sender';
import { AlertDispatcher, FanOutAlertSender } from './fan-out-alert-sender';
import { WebhookAlertSender } from './webhook-alert-sender';

const alert: Alert = {
  kind: 'backup',
  node: 'node-a',
  service: 'mcp-agent',
  component: 'registry',
  desired: 'snapshot',
  observed: 'failed',
  message: 'snapshot failed',
  time: new Date('2026-11-24T00:00:00Z'),
};

/** A sender whose deliveries stay open until the test releases them. */
class HeldSender extends AlertSender {
  readonly started: Alert[] = [];
  private readonly releases: Array<() => void> = [];
  send(received: Alert): Promise<void> {
    this.started.push(received);
    return new Promise((resolve) => this.releases.push(resolve));
  }
  releaseAll(): void {
    for (const release of this.releases.splice(0)) release();
  }
}

class RecordingSender extends AlertSender {
  readonly sent: Alert[] = [];
  async send(received: Alert): Promise<void> {
    this.sent.push(received);
  }
}

class RejectingSender extends AlertSender {
  async send(): Promise<void> {
    throw new Error('broken sender');
  }
}

describe(FanOutAlertSender.name, () => {
  it('should start every sender at once, so a held one does not delay the others', async () => {
    const held = new HeldSender();
    const recorder = new RecordingSender();
    const sut = new FanOutAlertSender([held, recorder]);
    let done = false;

    const sending = sut.send(alert).then(() => (done = true));
    await Promise.resolve();

    expect(held.started).toEqual([alert]);
    expect(recorder.sent).toEqual([alert]);
    expect(done).toBe(false);
    held.releaseAll();
    await sending;
    expect(done).toBe(true);
  });

  it('should resolve when one sender rejects, still delivering through the others', async () => {
    const recorder = new RecordingSender();
    const sut = new FanOutAlertSender([new RejectingSender(), recorder]);

    await expect(sut.send(alert)).resolves.toBeUndefined();
    expect(recorder.sent).toEqual([alert]);
  });
});

describe(AlertDispatcher.name, () => {
  it('should return at once and track the delivery until it finishes', async () => {
    const held = new HeldSender();
    const sut = new AlertDispatcher({ sender: held, maxInFlight: 10 });
    let settled = false;

    expect(sut.dispatch(alert)).toBe(true);
    const waiting = sut.settled().then(() => (settled = true));
    await Promise.resolve();

    expect(sut.pending).toBe(1);
    expect(settled).toBe(false);
    held.releaseAll();
    await waiting;
    expect(sut.pending).toBe(0);
  });

  it('should drop alerts beyond maxInFlight instead of piling them up', async () => {
    const held = new HeldSender();
    const sut = new AlertDispatcher({ sender: held, maxInFlight: 2 });

    const accepted = [sut.dispatch(alert), sut.dispatch({ ...alert, component: 'other' }), sut.dispatch({ ...alert, component: 'third' })];
    await Promise.resolve();

    expect(accepted).toEqual([true, true, false]);
    expect(held.started.map((a) => a.component)).toEqual(['registry', 'other']);
    held.releaseAll();
  });

  it("should deliver one component's alerts in dispatch order, the next only after the last finished, others alongside", async () => {
    const held = new HeldSender();
    const sut = new AlertDispatcher({ sender: held, maxInFlight: 10 });
    const drift: Alert = { ...alert, kind: 'drift', component: 'web' };

    sut.dispatch(drift);
    sut.dispatch({ ...drift, kind: 'recovered' });
    sut.dispatch({ ...alert, component: 'db' });
    await Promise.resolve();

    expect(held.started.map((a) => `${a.kind} ${a.component}`)).toEqual(['drift web', 'backup db']);
    held.releaseAll();
    await new Promise((resolve) => setImmediate(resolve));
    expect(held.started.map((a) => `${a.kind} ${a.component}`)).toEqual(['drift web', 'backup db', 'recovered web']);
    held.releaseAll();
    await sut.settled();
    expect(sut.pending).toBe(0);
  });

  it('should survive a sender that rejects', async () => {
    const sut = new AlertDispatcher({ sender: new RejectingSender(), maxInFlight: 1 });

    expect(sut.dispatch(alert)).toBe(true);
    await expect(sut.settled()).resolves.toBeUndefined();
    expect(sut.pending).toBe(0);
  });
});

describe(alertSenderFor.name, () => {
  const webhook = { url: 'http://127.0.0.1:9/hook', format: 'json' as const, timeoutMs: 1000, maxAttempts: 1, backoffMs: 10 };

  it('should log only when neither a command nor a webhook is configured', () => {
    expect(alertSenderFor({ command: [], timeoutMs: 1000, baseEnv: {} })).toBeInstanceOf(LogAlertSender);
  });

  it('should use the command or the webhook alone when only one is configured', () => {
    expect(alertSenderFor({ command: ['/bin/true'], timeoutMs: 1000, baseEnv: {} })).toBeInstanceOf(CommandAlertSender);
    expect(alertSenderFor({ command: [], timeoutMs: 1000, baseEnv: {}, webhook })).toBeInstanceOf(WebhookAlertSender);
  });

  it('should fan out to both when both are configured', () => {
    expect(alertSenderFor({ command: ['/bin/true'], timeoutMs: 1000, baseEnv: {}, webhook })).toBeInstanceOf(FanOutAlertSender);
  });
});
