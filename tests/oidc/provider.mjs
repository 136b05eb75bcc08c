// A real OpenID provider for the browser tests: the npm package `oidc-provider` (which
// `cargo xtask test` installs under target/tools), its own login and consent pages, and
// two people whose groups are fixed here. Configured by the test through the environment;
// prints "ready" once it listens on 127.0.0.1.
import Provider from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

// ada's groups give roles in Stint; zed's give none.
const people = {
  ada: { name: 'Ada Lovelace', preferred_username: 'ada', groups: ['engineering', 'stint-approvers'] },
  zed: { name: 'Zed Shaw', preferred_username: 'zed', groups: ['marketing'] },
};

const provider = new Provider(env('ISSUER'), {
  clients: [{
    client_id: 'stint',
    client_secret: env('CLIENT_SECRET'),
    redirect_uris: [env('REDIRECT_URI')],
    post_logout_redirect_uris: [env('POST_LOGOUT_REDIRECT_URI')],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  scopes: ['openid', 'profile', 'groups'],
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], groups: ['groups'] },
  async findAccount(ctx, id) {
    const person = people[id];
    if (!person) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...person }; } };
  },
  cookies: { keys: [env('COOKIE_KEY')] },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
});

const port = Number(env('PORT'));
provider.listen(port, '127.0.0.1', () => console.log('ready'));
