// A real OpenID provider (panva/oidc-provider) for the gateway's tests, on loopback only.
// Prints "OIDC_READY http://127.0.0.1:<port>". Each start signs with a fresh RS256 key, so restarting it on the
// same PORT is a key rotation. Env: PORT (0 = any), AUDIENCE, RESOURCE.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';

const SECRET = 'gateway-tests-secret';
const AUDIENCE = process.env.AUDIENCE || 'gateway-api';
const RESOURCE = process.env.RESOURCE || 'urn:gateway:api';

// Client-credentials clients; each one's claims stand for a kind of user.
const clients = [
  { client_id: 'gateway-admin', claims: { roles: ['admin'] } },
  { client_id: 'gateway-customer', claims: { roles: ['customer'], sid: 'sess-customer' } },
  { client_id: 'gateway-reader', claims: { roles: ['reader'] } },
  { client_id: 'gateway-short', claims: { roles: ['admin'] }, token_ttl: 2 },
  { client_id: 'gateway-keycloak', claims: { realm_access: { roles: ['customer'] }, resource_access: { 'b-commerce-gateway': { roles: ['admin'] }, other: { roles: ['ignored'] } } } },
];
const byId = new Map(clients.map((c) => [c.client_id, c]));

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };

const server = createServer();
await new Promise((res) => server.listen(Number(process.env.PORT || 0), '127.0.0.1', res));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: clients.map((c) => ({
    client_id: c.client_id, client_secret: SECRET, grant_types: ['client_credentials'], response_types: [], redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic', scope: 'api:read api:write', token_ttl: c.token_ttl,
  })),
  extraClientMetadata: { properties: ['token_ttl'] },
  jwks: { keys: [jwk] },
  scopes: ['api:read', 'api:write'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resourceIndicator, client) => {
        if (resourceIndicator !== RESOURCE) throw new errors.InvalidTarget();
        return { scope: 'api:read api:write', audience: AUDIENCE, accessTokenFormat: 'jwt',
                 accessTokenTTL: client.token_ttl ?? 3600, jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
  extraTokenClaims: async (ctx, token) => ({ ...(byId.get(token.clientId)?.claims ?? {}) }),
});
provider.on('server_error', (_ctx, err) => console.error('server_error', err));
server.on('request', provider.callback());
console.log(`OIDC_READY ${issuer}`);
const stop = () => { server.close(() => process.exit(0)); server.closeAllConnections(); };
process.on('SIGTERM', stop); process.on('SIGINT', stop);
