// A real OpenID Connect provider (node-oidc-provider) on localhost for the sign-in tests.
// Its development login form takes any user name; the account's claims are made from it:
// `<name>@example.com` (verified) and the groups listed in OIDC_TEST_GROUPS for that name.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const groups = JSON.parse(process.env.OIDC_TEST_GROUPS || '{}');
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: [process.env.REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  conformIdTokenClaims: false,
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: `${id}@example.com`,
          email_verified: true,
          name: id,
          preferred_username: id,
          groups: groups[id] || [],
        };
      },
    };
  },
  cookies: { keys: ['statuspage-tests-only'] },
  features: { devInteractions: { enabled: true } },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
