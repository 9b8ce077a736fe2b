import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the fake Stripe API received it. */
export interface StripeRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  /** The form-encoded body, decoded (Stripe's API takes `application/x-www-form-urlencoded`). */
  form: Record<string, string>;
}

export interface StripeTestServer {
  /** `http://127.0.0.1:<port>`, for `STRIPE_API_URL`. */
  url: string;
  /** Every request received, oldest first. */
  requests: StripeRequest[];
  /** The next answers are this HTTP status with Stripe's error shape, until set back to null. */
  failWith: number | null;
  close(): Promise<void>;
}

const SESSION_PATH = '/v1/billing_portal/sessions';

async function formOf(request: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

function json(response: ServerResponse, status: number, body: object): void {
  response.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_test${Date.now()}` });
  response.end(JSON.stringify(body));
}

/** A billing_portal.session as Stripe's API returns it. */
function portalSession(form: Record<string, string>): object {
  const created = Math.floor(Date.now() / 1000);
  const id = `bps_test${Math.random().toString(36).slice(2, 14)}`;
  return {
    id,
    object: 'billing_portal.session',
    configuration: 'bpc_test_default',
    created,
    customer: form.customer,
    flow: null,
    livemode: false,
    locale: null,
    on_behalf_of: null,
    return_url: form.return_url ?? null,
    url: `https://billing.stripe.com/p/session/test_${id}`,
  };
}

/**
 * A local HTTP server answering like Stripe's API for `POST /v1/billing_portal/sessions`, for the
 * real SDK pointed at it with `STRIPE_API_URL`: no stub inside the SDK, so its request building,
 * authentication header and error handling all run. Anything else answers Stripe's 404 shape.
 */
export async function startStripeServer(): Promise<StripeTestServer> {
  const requests: StripeRequest[] = [];
  const state: StripeTestServer = {
    url: '',
    requests,
    failWith: null,
    close: () =>
      new Promise((done) => {
        // The SDK keeps its connections alive; close would otherwise wait for them to time out.
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
  const server = createServer((request, response) => {
    void (async () => {
      const form = await formOf(request);
      const path = (request.url ?? '').split('?')[0] ?? '';
      requests.push({
        method: request.method ?? '',
        path,
        authorization: request.headers.authorization,
        form,
      });
      if (state.failWith !== null) {
        json(response, state.failWith, {
          error: {
            type: 'api_error',
            // A message that quotes what it was given, as Stripe's can: it must not reach the caller.
            message: `Something went wrong with customer ${form.customer ?? ''} and key sk_test_leak`,
          },
        });
        return;
      }
      if (request.method !== 'POST' || path !== SESSION_PATH) {
        json(response, 404, {
          error: {
            type: 'invalid_request_error',
            message: `Unrecognized request URL (${request.method} ${path})`,
          },
        });
        return;
      }
      if (!request.headers.authorization?.startsWith('Bearer sk_')) {
        json(response, 401, {
          error: { type: 'invalid_request_error', message: 'Invalid API Key provided' },
        });
        return;
      }
      if (!form.customer) {
        json(response, 400, {
          error: {
            type: 'invalid_request_error',
            message: 'Missing required param: customer.',
            param: 'customer',
          },
        });
        return;
      }
      json(response, 200, portalSession(form));
    })();
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
