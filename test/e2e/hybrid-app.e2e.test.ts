import { registerUser } from '../factories/user.factory.js';
import { TcpProxy } from '../utils/tcp-proxy.js';
import { bootTestApp, describeWithRabbitMq, query, rabbitmqUrl, type TestApp } from '../utils/test-app.js';

describeWithRabbitMq('Hybrid app with RabbitMQ (e2e)', () => {
  let proxy: TcpProxy;
  let t: TestApp;
  beforeAll(async () => {
    proxy = await TcpProxy.forUrl(rabbitmqUrl()!).start();
    t = await bootTestApp({ env: { RABBITMQ_URL: proxy.url(rabbitmqUrl()!) } });
  });
  afterAll(async () => {
    await t.close();
    await proxy.stop();
  });

  it('serves HTTP with the RMQ microservice connected, and readiness follows the broker', async () => {
    expect(t.app.getMicroservices()).toHaveLength(1);
    // HTTP serves before the broker connection is up (it must, while the broker is down): wait for readiness.
    const ready = await waitForStatus(t, 200);
    expect((ready.details as Record<string, unknown>).broker).toEqual({ status: 'up' });

    await proxy.stop();
    const down = await waitForStatus(t, 503);
    expect(down.error).toEqual({ broker: { status: 'down', message: 'not connected' } });
    // HTTP keeps working without the broker.
    const user = await registerUser(t.http);
    await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${user.accessToken}`).expect(200);

    await proxy.start();
    await waitForStatus(t, 200);
  }, 40_000);
});

describe('Bootstrap admin (ADMIN_EMAIL / ADMIN_PASSWORD)', () => {
  it('creates an active, verified admin once, even when replicas start together', async () => {
    const env = { ADMIN_EMAIL: 'Root@Example.com', ADMIN_PASSWORD: 'Bootstrap-admin-pass-1' };
    const first = await bootTestApp({ env });
    try {
      const [second, third] = await Promise.all([
        bootTestApp({ env, databaseUrl: first.databaseUrl }),
        bootTestApp({ env, databaseUrl: first.databaseUrl }),
      ]);
      await Promise.all([second.close(), third.close()]);
      const rows = await query(first.databaseUrl, "SELECT role, status, email_verified FROM users WHERE email = 'root@example.com'");
      expect(rows).toEqual([{ role: 'admin', status: 'active', email_verified: true }]);
      const login = await first.http().post('/api/v1/auth/login').send({ email: 'root@example.com', password: env.ADMIN_PASSWORD }).expect(200);
      expect(login.body.user.role).toBe('admin');
    } finally {
      await first.close();
    }
  });
});

async function waitForStatus(t: TestApp, status: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const response = await t.http().get('/api/v1/health/ready');
    if (response.status === status) return response.body;
    if (Date.now() > deadline) throw new Error(`readiness never became ${status}: ${JSON.stringify(response.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
